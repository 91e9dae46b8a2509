// The engine's HTTP API and event stream: the same for the desktop window and LAN browsers.

export interface Entry {
  registrar_id: number;
  name: string;
  count: number;
  levels: number[];
  satisfaction: number;
  score: number;
  rank: number | null;
  flagged: number;
}

export interface Leaderboard {
  period: "today" | "week" | "month" | null;
  from: string;
  to: string;
  scale: number;
  min_ratings: number;
  entries: Entry[];
  totals: { count: number; levels: number[]; satisfaction: number; unassigned: number; flagged: number };
}

export interface Rating {
  id: number;
  desk_id: number;
  score: number;
  scale: number;
  source: string;
  at: string;
  registrar_id: number | null;
  session_id: number | null;
  annulled: boolean;
  flag: "burst" | "no_session" | null;
}

export interface DeskInput {
  desk_id: number;
  kind: "panel" | "keys" | "serial" | "api";
  keys?: string[];
  path?: string;
  baud?: number;
  debounce_ms: number;
}

export interface InputStatus {
  desk_id: number;
  kind: string;
  state: "connected" | "ready" | "waiting" | "error";
  detail: string;
  last_event: string | null;
  error: string | null;
}

export interface Desk {
  id: number;
  name: string;
  active: boolean;
  session: { session_id: number; registrar_id: number; registrar_name: string; started_at: string } | null;
}

export interface Settings {
  clinic_name: string;
  language: "ru" | "en" | "es";
  timezone: string;
  scale: number;
  min_ratings: number;
  listen: string;
  display_period: "today" | "week" | "month";
  display_rotate_secs: number;
  display_initials: boolean;
  display_hide_unranked: boolean;
  panel_lockout_secs: number;
  kiosk_display: boolean;
  kiosk_monitor: number;
  suspicion_burst_count: number;
  suspicion_burst_secs: number;
  audio_before_secs: number;
  audio_after_secs: number;
  photo_retention_days: number;
  audio_retention_days: number;
  photo_max_width: number;
  photo_quality: number;
}

/** What every screen may read of the settings without a login. */
export type PublicSettings = Pick<
  Settings,
  "clinic_name" | "language" | "timezone" | "scale" | "min_ratings" | "display_period" | "display_rotate_secs" | "display_initials" | "display_hide_unranked" | "panel_lockout_secs"
>;

export interface Registrar {
  id: number;
  name: string;
  active: boolean;
  desk_id: number | null;
  has_pin: boolean;
}

export interface Contest {
  id: number;
  rating_id: number;
  registrar_id: number;
  comment: string;
  created_at: string;
  decision: "upheld" | "annulled" | null;
  decision_comment: string | null;
  decided_by: string | null;
  decided_at: string | null;
}

export interface ContestView extends Contest {
  rating: Rating;
  registrar_name: string;
  desk_name: string;
}

export interface LowRating {
  rating: Rating;
  contest: Contest | null;
}

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
    /** The engine's stable error code: `too_soon`, `forbidden`, `invalid`, ... */
    public code = "",
    /** Seconds to wait, from `Retry-After` (a 429 or 503). */
    public retryAfter: number | null = null,
  ) {
    super(message);
  }
}

/** GET /api/v1/console (no token needed). */
export interface ConsoleState {
  /** Whether any supervisor is set up. */
  password_set: boolean;
  /** This is the reception PC and nobody is set up yet: it may set up the first supervisor. */
  can_set_up: boolean;
  /** The supervisor whose login came with the request, if it is live. */
  logged_in_as: string | null;
}

/** POST /api/v1/console/login */
export interface Login {
  token: string;
  idle_expiry_secs: number;
  at: string;
  name: string;
}

/** GET /api/v1/supervisors: the people who log into the console. */
export interface Supervisor {
  id: number;
  name: string;
  created_at: string;
}

/** The supervisor's console login, kept for this browser tab only. */
export const consoleToken = {
  get: () => sessionStorage.getItem("otklik-console"),
  set: (t: string | null) => (t ? sessionStorage.setItem("otklik-console", t) : sessionStorage.removeItem("otklik-console")),
};

export async function getJson<T>(path: string): Promise<T> {
  return send<T>("GET", path);
}

/** A request to the engine; the console login goes along when there is one, or `bearer` (a
 * paired panel's token) when given. */
export async function send<T>(method: string, path: string, body?: unknown, bearer?: string | null): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const token = bearer ?? consoleToken.get();
  if (token) headers["Authorization"] = `Bearer ${token}`;
  const resp = await fetch(path, {
    method,
    headers,
    cache: "no-store",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!resp.ok) throw await refusal(resp);
  if (resp.status === 204) return undefined as T;
  return (await resp.json()) as T;
}

export type LiveState = "connecting" | "live" | "lost";

export interface LiveHandlers {
  /** The full stream (alerts, outbox, devices), for the console: needs its login. The public one
   * carries what the wall display and the panels show. */
  full?: boolean;
  onEvent(name: string, data: unknown): void;
  onState(state: LiveState): void;
  /** The stream cannot say what was missed (first connect, restart, too far behind): reload everything. */
  onResync(): void;
}

const EVENTS = ["rating", "session", "leaderboard", "desk", "registrar", "correction", "settings", "contest", "input", "evidence", "media", "alert", "outbox"];
/** The server pings every 10 s; silence for longer means the connection is dead even if the socket is not. */
const SILENCE_MS = 25_000;

/** The event stream, reconnecting by itself and saying honestly whether it is live. */
export class Live {
  private source: EventSource | null = null;
  private watchdog = 0;
  private state: LiveState = "connecting";

  constructor(private h: LiveHandlers) {
    this.open();
  }

  private setState(s: LiveState) {
    if (s !== this.state) {
      this.state = s;
      this.h.onState(s);
    }
  }

  private open() {
    if (this.h.full) {
      // EventSource sends no Authorization header: a one-time ticket opens the full stream.
      void send<{ ticket: string }>("POST", "/api/v1/events/ticket", {})
        .then((t) => this.connect(`/api/v1/events/all?ticket=${encodeURIComponent(t.ticket)}`))
        .catch(() => {
          this.setState("lost");
          window.setTimeout(() => this.open(), 5000);
        });
    } else this.connect("/api/v1/events");
  }

  private connect(url: string) {
    const es = new EventSource(url);
    this.source = es;
    const alive = () => {
      window.clearTimeout(this.watchdog);
      this.watchdog = window.setTimeout(() => this.restart(), SILENCE_MS);
    };
    es.addEventListener("hello", () => {
      alive();
      const wasLost = this.state !== "live";
      this.setState("live");
      // After a gap the browser resends Last-Event-ID and the server replays what was missed;
      // a reload covers the case where it cannot (a restarted engine says `resync`).
      if (wasLost) this.h.onResync();
    });
    es.addEventListener("ping", alive);
    es.addEventListener("resync", () => {
      alive();
      this.h.onResync();
    });
    for (const name of EVENTS) {
      es.addEventListener(name, (e) => {
        alive();
        this.h.onEvent(name, JSON.parse((e as MessageEvent).data));
      });
    }
    es.onerror = () => {
      this.setState("lost");
      if (es.readyState === EventSource.CLOSED) {
        window.setTimeout(() => this.restart(), 2000);
      }
    };
    alive();
  }

  private restart() {
    this.source?.close();
    this.setState("lost");
    this.open();
  }

  close() {
    window.clearTimeout(this.watchdog);
    this.source?.close();
  }
}

export interface RatingPage {
  items: Rating[];
  next_after_id: number | null;
}

export interface DeskEvidence {
  desk_id: number;
  photo: boolean;
  camera: { kind: "usb"; index: number } | { kind: "ip"; url: string; user?: string | null; password?: string; has_password?: boolean } | null;
  audio: boolean;
  microphone: string | null;
}

export interface Media {
  id: number;
  kind: "photo" | "audio";
  state: "saved" | "missing" | "purged";
  reason: string | null;
  url: string | null;
  created_at: string;
}

/** A media file fetched with the console's login, as an object URL for <img> or <audio>. */
export async function mediaUrl(path: string): Promise<string> {
  const token = consoleToken.get();
  const resp = await fetch(path, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  if (!resp.ok) throw new ApiError(resp.status, `${resp.status} ${resp.statusText}`);
  return URL.createObjectURL(await resp.blob());
}

// Notifications: alerts, their channels and the outbox (the console's Alerts, Notifications and
// Outbox cards).

export type NotifyChannel = "telegram" | "email";

export interface AlertRule {
  scores: number[];
  /** Empty = every desk. */
  desks: number[];
  channels: NotifyChannel[];
  /** 0 = never escalate. */
  escalate_after_mins: number;
}

export interface ReportRule {
  /** `1h` … `12h`, or `daily@HH:MM`. */
  every: string;
  condition: "always" | "any" | "negative";
  channels: NotifyChannel[];
}

export interface NotifyConfig {
  telegram: { enabled: boolean; api_url: string; min_interval_ms: number };
  email: {
    enabled: boolean;
    host: string;
    port: number;
    security: "starttls" | "tls" | "none";
    user: string;
    from: string;
    to: string[];
    escalation_to: string[];
    ca_file: string;
  };
  alerts: AlertRule[];
  reports: ReportRule[];
  /** Empty = off. */
  webhook_url: string;
  retry_max_secs: number;
  link_base: string;
}

export interface ChannelState {
  channel: "telegram" | "email" | "webhook";
  state: "off" | "ok" | "down";
  since: string | null;
  last_error: string | null;
  pending: number;
  failed: number;
}

export interface TelegramChat {
  chat_id: number;
  title: string;
  role: "main" | "escalation";
  paired_at: string;
}

export interface Pairing {
  code: string;
  expires_at: string;
}

export interface NotifyState {
  config: NotifyConfig;
  telegram_token_set: boolean;
  smtp_password_set: boolean;
  /** Where the secrets are kept, in words. */
  secrets_place: string;
  bot_username: string | null;
  chats: TelegramChat[];
  pairing: Pairing | null;
  channels: ChannelState[];
}

export interface AlertView {
  id: number;
  rating_id: number;
  desk_id: number;
  desk: string;
  registrar: string | null;
  score: number;
  scale: number;
  at: string;
  state: "open" | "taken" | "resolved";
  created_at: string;
  taken_by: string | null;
  taken_at: string | null;
  resolved_by: string | null;
  resolved_at: string | null;
  cause: string | null;
  escalated_at: string | null;
  minutes_to_take: number | null;
  minutes_to_resolve: number | null;
}

export interface OutboxItem {
  id: number;
  channel: "telegram" | "email" | "webhook";
  target: string;
  kind: string;
  summary: string;
  attachments: string[];
  alert_id: number | null;
  state: "pending" | "sent" | "failed";
  attempts: number;
  created_at: string;
  sent_at: string | null;
  last_error: string | null;
}

/** An error that names the field the engine refused (`email.to[1]`), if it did. */
export class FieldError extends ApiError {
  constructor(status: number, message: string, code: string, public field: string | null) {
    super(status, message, code);
  }
}

/** Like `send`, but a refusal keeps the field the engine named (a 422 of a settings form). */
export async function sendForm<T>(method: string, path: string, body?: unknown): Promise<T> {
  const token = consoleToken.get();
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers["Authorization"] = `Bearer ${token}`;
  const resp = await fetch(path, { method, headers, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body) });
  if (resp.ok) return (resp.status === 204 ? undefined : await resp.json()) as T;
  throw await refusal(resp);
}

/** The engine's refusal as an error: its words, code and the field it named (if any). */
export async function refusal(resp: Response): Promise<FieldError> {
  let message = `${resp.status} ${resp.statusText}`;
  let code = "";
  let field: string | null = null;
  try {
    const b = await resp.json();
    message = b.error ?? message;
    code = b.code ?? "";
    field = typeof b.field === "string" ? b.field : null;
  } catch {
    // not JSON: keep the status line
  }
  const err = new FieldError(resp.status, message, code, field);
  err.retryAfter = Number(resp.headers.get("Retry-After")) || null;
  return err;
}

// The first run (ui/src/wizard.ts): the setup status, live device tests, demo data, the settings file.

/** GET /api/v1/setup (no token needed). */
export interface SetupStatus {
  /** No desks, no registrars, no ratings and the wizard not finished: the console opens the wizard. */
  fresh: boolean;
  setup_done: boolean;
  /** The wizard step last reached (1–9), or null. */
  step: number | null;
  /** The installation holds demo data. */
  demo: boolean;
  desks: number;
  registrars: number;
  ratings: number;
}

/** The settings the wizard sets beyond those of `Settings`. */
export type WizardSettings = Settings & { start_with_system: boolean; setup_done: boolean };

/** GET /api/v1/desks/{id}/microphone/level */
export interface MicLevel {
  /** RMS of the last 300 ms, 0–1. */
  level: number;
  peak: number;
  state: string;
  detail: string;
  error: string | null;
}

/** POST /api/v1/demo */
export interface DemoFilled {
  days: number;
  desks: number;
  registrars: number;
  sessions: number;
  ratings: number;
  first_day: string;
  last_day: string;
}

/** POST /api/v1/settings/import: what changed. */
export interface Imported {
  settings_changed: string[];
  notify: boolean;
  desks_created: number;
  desks_updated: number;
  registrars_created: number;
  registrars_updated: number;
}

/** POST /api/v1/settings/import refused (422): every problem by its path; nothing changed. */
export interface ImportRefused {
  error: string;
  code: string;
  field: string;
  errors: { field: string; error: string }[];
}

export type PanelRole = "patient" | "registrar";

/** A paired panel's own token, kept by this browser for good (until revoked in the console). */
export const panelToken = {
  key: (desk: number, role: PanelRole) => `otklik-panel:${desk}:${role}`,
  get: (desk: number, role: PanelRole) => localStorage.getItem(panelToken.key(desk, role)),
  set: (desk: number, role: PanelRole, t: string | null) => (t ? localStorage.setItem(panelToken.key(desk, role), t) : localStorage.removeItem(panelToken.key(desk, role))),
};

export interface Panel {
  id: number;
  desk_id: number;
  desk_name: string;
  role: PanelRole;
  label: string;
  paired_at: string;
  paired_by: string;
  revoked_at: string | null;
}

export interface Pairing {
  code: string;
  desk_id: number;
  role: PanelRole;
  expires_at: string;
}
