// Words of the screens in the installation's language, with dates and numbers in its locale.

const ru = {
  title: "Отклик",
  leaderboard: "Рейтинг регистраторов",
  today: "сегодня",
  week: "эта неделя",
  month: "этот месяц",
  rank: "Место",
  name: "Регистратор",
  ratings: "Оценок",
  satisfaction: "Довольны",
  notRanked: "Мало оценок для места",
  noRatings: "Оценок за этот период ещё нет",
  lost: "Нет связи с сервером «Отклика». Данные могут быть устаревшими, переподключаемся…",
  connecting: "Подключение…",
  total: "Всего оценок",
  unassigned: "без регистратора",
  desk: "Окно",
  desks: "Окна",
  todayTotals: "Итоги дня",
  nobodyAtDesk: "Никого нет",
  screens: "Экраны",
  display: "Табло рейтинга",
  displayHint: "для настенного экрана в холле; откройте этот адрес на любом компьютере или телевизоре в сети клиники",
  deskPanel: "Панель регистратора",
  patientPanel: "Панель оценки для пациента",
  admin: "Консоль руководителя",
  health: "Состояние",
  api: "API для медицинской информационной системы",
  levels: {
    3: ["Плохо", "Нормально", "Отлично"],
    4: ["Плохо", "Так себе", "Хорошо", "Отлично"],
    5: ["Очень плохо", "Плохо", "Нормально", "Хорошо", "Отлично"],
    7: ["Ужасно", "Очень плохо", "Плохо", "Нормально", "Хорошо", "Очень хорошо", "Отлично"],
  } as Record<number, string[]>,
  // Patient panel
  rateQuestion: "Оцените, пожалуйста, как вас обслужили",
  thanks: "Спасибо за оценку!",
  thanksMore: "Ваше мнение помогает нам работать лучше",
  tooSoon: "Оценка уже принята. Спасибо!",
  noSuchDesk: "Такого окна нет. Проверьте адрес панели.",
  deskOff: "Это окно отключено",
  failed: "Не удалось: ",
  // Desk panel
  whoAreYou: "Кто вы? Выберите себя, чтобы начать смену",
  pin: "PIN-код",
  startShift: "Начать смену",
  endShift: "Завершить смену",
  atDeskSince: "на смене с",
  myToday: "Мои оценки сегодня",
  myRank: "место",
  myLow: "Мои низкие оценки сегодня",
  noLow: "Низких оценок сегодня нет",
  contest: "Оспорить",
  contestWhy: "Почему оценка ошибочна? (например: ребёнок нажал кнопку)",
  send: "Отправить",
  cancel: "Отмена",
  contested: "Оспорена, ждёт решения",
  upheld: "Оставлена в силе",
  annulled: "Аннулирована",
  wrongPin: "Неверный PIN-код",
  back: "Назад",
  // Admin console
  password: "Пароль",
  login: "Войти",
  logout: "Выйти",
  setPassword: "Задайте пароль консоли (не короче 4 символов)",
  setPasswordRemote: "Пароль консоли ещё не задан. Задайте его на компьютере регистратуры.",
  save: "Сохранить",
  registrars: "Регистраторы",
  add: "Добавить",
  rename: "Переименовать",
  deactivate: "Отключить",
  activate: "Включить",
  inactive: "отключён",
  setPin: "PIN",
  removePin: "Убрать PIN",
  hasPin: "есть PIN",
  newName: "Новое имя",
  contests: "Оспоренные оценки",
  noContests: "Нет оспоренных оценок",
  uphold: "Оставить",
  annul: "Аннулировать",
  nowAtDesks: "Кто где сейчас",
  todayLive: "Сегодня",
  settings: "Настройки",
  language: "Язык",
  clinicName: "Название клиники",
  displayPeriod: "Период на табло",
  rotate: "Смена видов табло, секунд (0 — не менять)",
  initials: "Показывать только инициалы",
  hideUnranked: "Скрывать регистраторов с малым числом оценок",
  minRatings: "Минимум оценок для места",
  lockout: "Блокировка панели пациента после оценки, секунд",
  kiosk: "Табло на втором мониторе (полный экран)",
  kioskMonitor: "Номер монитора для табло",
  saved: "Сохранено",
  score: "Оценка",
  comment: "Комментарий",
  when: "Когда",
};

export type Dict = typeof ru;

const en: Dict = {
  title: "Otklik",
  leaderboard: "Registrar leaderboard",
  today: "today",
  week: "this week",
  month: "this month",
  rank: "Rank",
  name: "Registrar",
  ratings: "Ratings",
  satisfaction: "Satisfied",
  notRanked: "Too few ratings to rank",
  noRatings: "No ratings in this period yet",
  lost: "Lost connection to the Otklik server. Figures may be out of date; reconnecting…",
  connecting: "Connecting…",
  total: "Total ratings",
  unassigned: "with no registrar",
  desk: "Desk",
  desks: "Desks",
  todayTotals: "Today so far",
  nobodyAtDesk: "Nobody here",
  screens: "Screens",
  display: "Leaderboard display",
  displayHint: "for the wall screen in the waiting hall; open this address on any computer or TV on the clinic's network",
  deskPanel: "Registrar panel",
  patientPanel: "Patient rating panel",
  admin: "Supervisor console",
  health: "Health",
  api: "API for the medical information system",
  levels: {
    3: ["Bad", "OK", "Excellent"],
    4: ["Bad", "So-so", "Good", "Excellent"],
    5: ["Very bad", "Bad", "OK", "Good", "Excellent"],
    7: ["Awful", "Very bad", "Bad", "OK", "Good", "Very good", "Excellent"],
  },
  rateQuestion: "Please rate how you were served",
  thanks: "Thank you for your rating!",
  thanksMore: "Your opinion helps us do better",
  tooSoon: "Your rating is already in. Thank you!",
  noSuchDesk: "There is no such desk. Check the panel's address.",
  deskOff: "This desk is switched off",
  failed: "Failed: ",
  whoAreYou: "Who are you? Pick yourself to start your shift",
  pin: "PIN",
  startShift: "Start shift",
  endShift: "End shift",
  atDeskSince: "on shift since",
  myToday: "My ratings today",
  myRank: "rank",
  myLow: "My low ratings today",
  noLow: "No low ratings today",
  contest: "Contest",
  contestWhy: "Why is this rating wrong? (e.g. a child pressed the button)",
  send: "Send",
  cancel: "Cancel",
  contested: "Contested, awaiting decision",
  upheld: "Upheld",
  annulled: "Annulled",
  wrongPin: "Wrong PIN",
  back: "Back",
  password: "Password",
  login: "Log in",
  logout: "Log out",
  setPassword: "Set the console password (at least 4 characters)",
  setPasswordRemote: "No console password is set yet. Set it on the reception PC.",
  save: "Save",
  registrars: "Registrars",
  add: "Add",
  rename: "Rename",
  deactivate: "Deactivate",
  activate: "Activate",
  inactive: "inactive",
  setPin: "PIN",
  removePin: "Remove PIN",
  hasPin: "has a PIN",
  newName: "New name",
  contests: "Contested ratings",
  noContests: "No contested ratings",
  uphold: "Uphold",
  annul: "Annul",
  nowAtDesks: "Who is where now",
  todayLive: "Today",
  settings: "Settings",
  language: "Language",
  clinicName: "Clinic name",
  displayPeriod: "Display period",
  rotate: "Rotate display views every N seconds (0 = never)",
  initials: "Show initials only",
  hideUnranked: "Hide registrars with too few ratings",
  minRatings: "Minimum ratings to be ranked",
  lockout: "Patient panel lock-out after a rating, seconds",
  kiosk: "Display on a second monitor (full screen)",
  kioskMonitor: "Monitor number for the display",
  saved: "Saved",
  score: "Rating",
  comment: "Comment",
  when: "When",
};

const es: Dict = {
  title: "Otklik",
  leaderboard: "Clasificación de recepcionistas",
  today: "hoy",
  week: "esta semana",
  month: "este mes",
  rank: "Puesto",
  name: "Recepcionista",
  ratings: "Valoraciones",
  satisfaction: "Satisfechos",
  notRanked: "Pocas valoraciones para clasificar",
  noRatings: "Aún no hay valoraciones en este periodo",
  lost: "Sin conexión con el servidor de Otklik. Los datos pueden estar desactualizados; reconectando…",
  connecting: "Conectando…",
  total: "Valoraciones en total",
  unassigned: "sin recepcionista",
  desk: "Ventanilla",
  desks: "Ventanillas",
  todayTotals: "Resumen de hoy",
  nobodyAtDesk: "Sin nadie",
  screens: "Pantallas",
  display: "Pantalla de clasificación",
  displayHint: "para la pantalla de la sala de espera; abra esta dirección en cualquier ordenador o televisor de la red de la clínica",
  deskPanel: "Panel del recepcionista",
  patientPanel: "Panel de valoración para el paciente",
  admin: "Consola del supervisor",
  health: "Estado",
  api: "API para el sistema de información médica",
  levels: {
    3: ["Mal", "Normal", "Excelente"],
    4: ["Mal", "Regular", "Bien", "Excelente"],
    5: ["Muy mal", "Mal", "Normal", "Bien", "Excelente"],
    7: ["Pésimo", "Muy mal", "Mal", "Normal", "Bien", "Muy bien", "Excelente"],
  },
  rateQuestion: "Por favor, valore cómo le han atendido",
  thanks: "¡Gracias por su valoración!",
  thanksMore: "Su opinión nos ayuda a mejorar",
  tooSoon: "Su valoración ya está registrada. ¡Gracias!",
  noSuchDesk: "Esa ventanilla no existe. Compruebe la dirección del panel.",
  deskOff: "Esta ventanilla está desactivada",
  failed: "Error: ",
  whoAreYou: "¿Quién es usted? Elíjase para empezar el turno",
  pin: "PIN",
  startShift: "Empezar turno",
  endShift: "Terminar turno",
  atDeskSince: "de turno desde",
  myToday: "Mis valoraciones de hoy",
  myRank: "puesto",
  myLow: "Mis valoraciones bajas de hoy",
  noLow: "Hoy no hay valoraciones bajas",
  contest: "Impugnar",
  contestWhy: "¿Por qué es errónea? (p. ej., un niño pulsó el botón)",
  send: "Enviar",
  cancel: "Cancelar",
  contested: "Impugnada, pendiente de decisión",
  upheld: "Confirmada",
  annulled: "Anulada",
  wrongPin: "PIN incorrecto",
  back: "Volver",
  password: "Contraseña",
  login: "Entrar",
  logout: "Salir",
  setPassword: "Establezca la contraseña de la consola (al menos 4 caracteres)",
  setPasswordRemote: "Aún no hay contraseña de consola. Establézcala en el ordenador de recepción.",
  save: "Guardar",
  registrars: "Recepcionistas",
  add: "Añadir",
  rename: "Renombrar",
  deactivate: "Desactivar",
  activate: "Activar",
  inactive: "inactivo",
  setPin: "PIN",
  removePin: "Quitar PIN",
  hasPin: "con PIN",
  newName: "Nuevo nombre",
  contests: "Valoraciones impugnadas",
  noContests: "No hay valoraciones impugnadas",
  uphold: "Confirmar",
  annul: "Anular",
  nowAtDesks: "Quién está dónde ahora",
  todayLive: "Hoy",
  settings: "Ajustes",
  language: "Idioma",
  clinicName: "Nombre de la clínica",
  displayPeriod: "Periodo en pantalla",
  rotate: "Alternar vistas cada N segundos (0 = nunca)",
  initials: "Mostrar solo iniciales",
  hideUnranked: "Ocultar recepcionistas con pocas valoraciones",
  minRatings: "Mínimo de valoraciones para clasificar",
  lockout: "Bloqueo del panel del paciente tras una valoración, segundos",
  kiosk: "Pantalla en un segundo monitor (pantalla completa)",
  kioskMonitor: "Número de monitor para la pantalla",
  saved: "Guardado",
  score: "Valoración",
  comment: "Comentario",
  when: "Cuándo",
};

export type Lang = "ru" | "en" | "es";
export const LANGS: Record<Lang, { dict: Dict; locale: string; label: string }> = {
  ru: { dict: ru, locale: "ru-RU", label: "Русский" },
  en: { dict: en, locale: "en-GB", label: "English" },
  es: { dict: es, locale: "es-ES", label: "Español" },
};

let current: Lang = "ru";

export function isLang(x: unknown): x is Lang {
  return x === "ru" || x === "en" || x === "es";
}

export function setLanguage(lang: string) {
  current = isLang(lang) ? lang : "ru";
  document.documentElement.lang = current;
}

export function t(): Dict {
  return LANGS[current].dict;
}

export function locale(): string {
  return LANGS[current].locale;
}

export function num(n: number): string {
  return new Intl.NumberFormat(locale()).format(n);
}

export function percent(share: number): string {
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 0 }).format(share);
}

export function time(iso: string): string {
  return new Intl.DateTimeFormat(locale(), { hour: "2-digit", minute: "2-digit" }).format(new Date(iso));
}

export function dateTime(iso: string): string {
  return new Intl.DateTimeFormat(locale(), { dateStyle: "short", timeStyle: "short" }).format(new Date(iso));
}

/** Names of the levels of an n-level scale, lowest first. */
export function levelNames(levels: number): string[] {
  return t().levels[levels] ?? Array.from({ length: levels }, (_, i) => String(i + 1));
}

/** Colour of a level on an n-level scale: red at the bottom, green at the top. */
export function levelColor(level: number, levels: number): string {
  const hue = levels <= 1 ? 120 : Math.round(((level - 1) / (levels - 1)) * 120);
  return `hsl(${hue} 70% 45%)`;
}

/** "Иванова Мария Петровна" → "И. М. П." */
export function initials(name: string): string {
  return name
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => `${[...w][0]!.toUpperCase()}.`)
    .join(" ");
}
