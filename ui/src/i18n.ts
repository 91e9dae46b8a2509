// Words of the screens, in the installation's language.

const ru = {
  title: "Отклик",
  leaderboard: "Рейтинг регистраторов",
  today: "сегодня",
  week: "эта неделя",
  month: "этот месяц",
  period: "период",
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
  newRating: "Новая оценка",
  desk: "Окно",
  screens: "Экраны",
  display: "Табло рейтинга",
  displayHint: "для настенного экрана в холле; откройте этот адрес на любом компьютере или телевизоре в сети клиники",
  health: "Состояние",
  api: "API для медицинской информационной системы",
  levels3: ["недоволен", "нейтрально", "доволен"],
};

type Dict = typeof ru;

const en: Dict = {
  title: "Otklik",
  leaderboard: "Registrar leaderboard",
  today: "today",
  week: "this week",
  month: "this month",
  period: "period",
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
  newRating: "New rating",
  desk: "Desk",
  screens: "Screens",
  display: "Leaderboard display",
  displayHint: "for the wall screen in the waiting hall; open this address on any computer or TV on the clinic's network",
  health: "Health",
  api: "API for the medical information system",
  levels3: ["dissatisfied", "neutral", "satisfied"],
};

let current: Dict = ru;

export function setLanguage(lang: string) {
  current = lang === "en" ? en : ru;
  document.documentElement.lang = lang === "en" ? "en" : "ru";
}

export function t(): Dict {
  return current;
}

/** Colour of a level on an n-level scale: red at the bottom, green at the top. */
export function levelColor(level: number, levels: number): string {
  const hue = levels <= 1 ? 120 : Math.round(((level - 1) / (levels - 1)) * 120);
  return `hsl(${hue} 70% 45%)`;
}
