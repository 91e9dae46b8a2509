// The engine's HTTP API and event stream: the same for the desktop window and LAN browsers.
// The request and response types are the engine's own OpenAPI document's (ui/src/gen/api.ts,
// made by scripts/ui-types.sh); what is written here is only what the document cannot say.

import type { components } from "./gen/api";

type Schemas = components["schemas"];

/** A response as the engine sends it. utoipa leaves every `Option<T>` field (and every field with
 * a serde default) out of `required`, but serde sends each field, as null if need be, unless it
 * is marked `skip_serializing_if`: so every field is there (tests/openapi/fields.mjs checks it).
 * Not for the types that have such skipped fields (DeskInput, ErrorBody, the settings file). */
type Sent<T> = T extends (infer U)[] ? Sent<U>[] : T extends object ? { [K in keyof T]-?: Sent<Exclude<T[K], undefined>> } : T;

export type Entry = Sent<Schemas["Entry"]>;
export type Leaderboard = Sent<Schemas["Leaderboard"]>;
export type Rating = Sent<Schemas["Rating"]>;
export type RatingPage = Sent<Schemas["RatingPage"]>;
/** Its `keys`, `serve_key`, `path` and `baud` are left out when empty. */
export type DeskInput = Schemas["DeskInput"];
export type InputStatus = Sent<Schemas["InputStatus"]>;
export type Desk = Sent<Schemas["Desk"]>;
export type Registrar = Sent<Schemas["Registrar"]>;
export type Settings = Sent<Schemas["Settings"]>;
/** What every screen may read of the settings without a login. */
export type PublicSettings = Sent<Schemas["PublicSettings"]>;
export type Contest = Sent<Schemas["Contest"]>;
export type ContestView = Sent<Schemas["ContestView"]>;
export type LowRating = Sent<Schemas["LowRating"]>;
/** GET /api/v1/console (no token needed). */
export type ConsoleState = Sent<Schemas["ConsoleState"]>;
/** POST /api/v1/console/login */
export type Login = Sent<Schemas["Login"]>;
/** GET /api/v1/supervisors: the people who log into the console. */
export type Supervisor = Sent<Schemas["Supervisor"]>;
/** POST /api/v1/events/ticket */
export type Ticket = Sent<Schemas["Ticket"]>;
/** GET /api/v1/reports */
export type Report = Sent<Schemas["Report"]>;
export type ReportGroup = Sent<Schemas["Group"]>;
/** GET /api/v1/backups */
export type Backups = Sent<Schemas["Backups"]>;
/** POST /api/v1/backups */
export type BackupInfo = Sent<Schemas["BackupInfo"]>;
/** POST /api/v1/backups/restore */
export type Staged = Sent<Schemas["Staged"]>;
export type PendingRestore = Sent<Schemas["PendingRestore"]>;
/** /healthz (no token needed); the database's `error` is left out while it is well. */
export type Health = Sent<Omit<Schemas["Health"], "database">> & { database: Sent<Omit<Schemas["DatabaseHealth"], "error">> & Pick<Schemas["DatabaseHealth"], "error"> };
export type HealthComponent = Sent<Schemas["Component"]>;
export type DeskDevice = Sent<Schemas["DeskDevice"]>;
export type HealthState = Schemas["State"];

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

const EVENTS = ["rating", "reason", "session", "leaderboard", "desk", "registrar", "correction", "settings", "contest", "input", "evidence", "media", "alert", "outbox", "thanks"];
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
      void send<Ticket>("POST", "/api/v1/events/ticket", {})
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

/** An IP camera's password goes in `PUT .../evidence` but never comes back (`has_password` says
 * whether one is kept); being write-only (`skip_serializing`), it is not in the document. */
export type DeskEvidence = Sent<Schemas["DeskEvidence"]>;
export type Media = Sent<Schemas["Media"]>;

/** A media file fetched with the console's login, as an object URL for <img> or <audio>. */
export async function mediaUrl(path: string): Promise<string> {
  const token = consoleToken.get();
  const resp = await fetch(path, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  if (!resp.ok) throw new ApiError(resp.status, `${resp.status} ${resp.statusText}`);
  return URL.createObjectURL(await resp.blob());
}

// Notifications: alerts, their channels and the outbox (the console's Alerts, Notifications and
// Outbox cards).

export type NotifyChannel = Schemas["Channel"];
export type AlertRule = Sent<Schemas["AlertRule"]>;
export type ReportRule = Sent<Schemas["ReportRule"]>;
export type NotifyConfig = Sent<Schemas["NotifyConfig"]>;
/** A channel's state, in `GET /api/v1/notify` and `/healthz`. */
export type ChannelState = Sent<Schemas["ChannelHealth"]>;
export type TelegramChat = Sent<Schemas["TelegramChat"]>;
/** A code to pair a Telegram group with. */
export type Pairing = Sent<Schemas["Pairing"]>;
export type NotifyState = Sent<Schemas["NotifyState"]>;
export type AlertView = Sent<Schemas["AlertView"]>;
export type OutboxItem = Sent<Schemas["ItemView"]>;

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
export type SetupStatus = Sent<Schemas["SetupStatus"]>;
/** GET /api/v1/desks/{id}/microphone/level */
export type MicLevel = Sent<Schemas["MicLevel"]>;
/** POST /api/v1/demo */
export type DemoFilled = Sent<Schemas["DemoFilled"]>;
/** POST /api/v1/settings/import: what changed. */
export type Imported = Sent<Schemas["Imported"]>;
/** POST /api/v1/settings/import refused (422): every problem by its path; nothing changed. */
export type ImportRefused = Sent<Schemas["ImportRefused"]>;

export type PanelRole = Schemas["Role"];
export type Panel = Sent<Schemas["Panel"]>;
/** POST /api/v1/panels/pair */
export type Paired = Sent<Schemas["Paired"]>;
/** GET /api/v1/panels/me */
export type PanelCheck = Sent<Schemas["PanelCheck"]>;
/** A code shown in the console, to be typed on the panel. */
export type PanelPairing = Sent<Schemas["PanelPairing"]>;

/** A paired panel's own token, kept by this browser for good (until revoked in the console). */
export const panelToken = {
  key: (desk: number, role: PanelRole) => `otklik-panel:${desk}:${role}`,
  get: (desk: number, role: PanelRole) => localStorage.getItem(panelToken.key(desk, role)),
  set: (desk: number, role: PanelRole, t: string | null) => (t ? localStorage.setItem(panelToken.key(desk, role), t) : localStorage.removeItem(panelToken.key(desk, role))),
};

