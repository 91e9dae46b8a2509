// The console's notifications: the alerts a supervisor works through (take, resolve with a
// cause), where alerts and reports go (Telegram, email, the clinic's webhook) and by which rules,
// and the outbox of messages on their way. Live on the `alert` and `outbox` events.

import {
  Live,
  ApiError,
  consoleToken,
  FieldError,
  getJson,
  send,
  sendForm,
  type AlertRule,
  type AlertView,
  type ChannelState,
  type Desk,
  type Health,
  type NotifyChannel,
  type NotifyConfig,
  type NotifyState,
  type OutboxItem,
  type Pairing,
  type ReportRule,
  type Settings,
  type TelegramChat,
} from "./api";
import { h } from "./dom";
import {fill, levelColor, levelNames, locale, num, t } from "./i18n";

/** "{n} min" with its values. */
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The installation's time zone (Settings.timezone), so times read as on the clinic's clocks. */
let zone: string | undefined;

function setZone(tz: string | undefined) {
  try {
    new Intl.DateTimeFormat(undefined, { timeZone: tz });
    zone = tz;
  } catch {
    zone = undefined;
  }
}

function clock(iso: string) {
  return new Intl.DateTimeFormat(locale(), { hour: "2-digit", minute: "2-digit", timeZone: zone }).format(new Date(iso));
}

function dayOf(d: Date) {
  return new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit", timeZone: zone }).format(d);
}

/** Today's times as HH:MM, older ones with their date. */
function when(iso: string) {
  const d = new Date(iso);
  if (dayOf(d) === dayOf(new Date())) return clock(iso);
  return new Intl.DateTimeFormat(locale(), { dateStyle: "short", timeStyle: "short", timeZone: zone }).format(d);
}

/** "5 minutes ago", in the console's language. */
function ago(iso: string) {
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: "auto" });
  const mins = Math.max(0, Math.floor((Date.now() - new Date(iso).getTime()) / 60_000));
  if (mins < 60) return rtf.format(-mins, "minute");
  if (mins < 48 * 60) return rtf.format(-Math.floor(mins / 60), "hour");
  return rtf.format(-Math.floor(mins / 1440), "day");
}

function expired(e: unknown) {
  if (e instanceof ApiError && e.status === 401) {
    consoleToken.set(null);
    location.reload();
    return true;
  }
  return false;
}

function showError(el: HTMLElement, e: unknown) {
  if (expired(e)) return;
  el.textContent = `${t().failed}${errorText(e)}`;
  el.className = "status error";
}

function showOk(el: HTMLElement, text: string) {
  el.textContent = text;
  el.className = "status ok";
  window.setTimeout(() => {
    if (el.textContent === text) el.textContent = "";
  }, 4000);
}

/** Runs `fn` once shortly after the last of a burst of calls (events come in bursts). */
function debounce(fn: () => void, ms = 300) {
  let timer = 0;
  return () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(fn, ms);
  };
}

function channelName(c: string) {
  return t().notify.channelNames[c] ?? c;
}

/** Someone is typing in this element: a redraw would lose it. */
const typingIn = (el: HTMLElement) => {
  const a = document.activeElement;
  return !!a && a !== document.body && el.contains(a) && a.tagName !== "BUTTON";
};

export function notifyCards(alertsCard: HTMLElement, settingsCard: HTMLElement, outboxCard: HTMLElement) {
  const alerts = new AlertsCard(alertsCard);
  const settings = new SettingsCard(settingsCard);
  const outbox = new OutboxCard(outboxCard);
  void getJson<Settings>("/api/v1/settings")
    .then((s) => setZone(s.timezone))
    .catch(() => setZone(undefined))
    .finally(() => {
      void alerts.load();
      void settings.load();
      void outbox.load();
    });
  const alertsLater = debounce(() => void alerts.load());
  const outboxLater = debounce(() => {
    void outbox.load();
    void settings.loadChannels();
  }, 500);
  const handlers: Record<string, (data: unknown) => void> = {
      alert: (data) => {
        // The event carries the alert: shown at once, then the lists are read again.
        if (data && typeof data === "object" && "id" in data) alerts.apply(data as AlertView);
        alertsLater();
        outboxLater();
      },
      outbox: outboxLater,
      // A new rating queues its webhook message (no `outbox` event for that).
      rating: outboxLater,
  };
  new Live({
    full: true,
    onState: () => {},
    onEvent: (name, data) => handlers[name]?.(data),
    onResync: () => {
      void alerts.load();
      void outbox.load();
      void settings.loadChannels();
    },
  });
  // Channel states change without events of their own (a server stops answering): polled.
  window.setInterval(() => {
    void settings.loadChannels();
    void outbox.load();
  }, 5000);
  // Ages ("5 minutes ago") move on.
  window.setInterval(() => alerts.render(), 30_000);
}

// ---------------------------------------------------------------------------------------------
// Alerts: the supervisor's daily view.

class AlertsCard {
  private active: AlertView[] = [];
  private done: AlertView[] = [];
  /** Alerts with the cause form open, and what was typed there. */
  private resolving = new Map<number, string>();
  private msg = h("p", { class: "status", role: "status", "aria-live": "polite" });
  private list = h("ul", { class: "alerts", "data-testid": "alerts-active" });
  private doneList = h("ul", { class: "alerts resolved", "data-testid": "alerts-resolved" });

  constructor(card: HTMLElement) {
    const n = t().notify;
    card.classList.add("alerts-card");
    card.replaceChildren(
      h("h2", {}, n.alerts),
      this.msg,
      h("h3", {}, n.waitingAlerts),
      this.list,
      h("h3", {}, n.resolvedAlerts),
      this.doneList,
    );
  }

  async load() {
    try {
      const [open, taken, done] = await Promise.all([
        getJson<AlertView[]>("/api/v1/alerts?state=open&limit=100"),
        getJson<AlertView[]>("/api/v1/alerts?state=taken&limit=100"),
        getJson<AlertView[]>("/api/v1/alerts?state=resolved&limit=10"),
      ]);
      this.active = [...open, ...taken];
      this.done = done;
      for (const id of this.resolving.keys()) if (!this.active.some((a) => a.id === id)) this.resolving.delete(id);
      this.render();
    } catch (e) {
      showError(this.msg, e);
    }
  }

  /** One alert as an event brought it. */
  apply(a: AlertView) {
    this.active = this.active.filter((x) => x.id !== a.id);
    this.done = this.done.filter((x) => x.id !== a.id);
    if (a.state === "resolved") this.done.unshift(a);
    else if (a.state === "open") this.active.unshift(a);
    else this.active.splice(this.active.filter((x) => x.state === "open").length, 0, a);
    this.render();
  }

  /** Redraws from what was loaded, keeping an open cause form, its text and its focus. */
  render() {
    const n = t().notify;
    const focused = document.activeElement instanceof HTMLInputElement && this.list.contains(document.activeElement) ? document.activeElement : null;
    const focusId = focused?.dataset.cause;
    const caret = focused?.selectionStart ?? null;
    this.list.replaceChildren(...(this.active.length ? this.active.map((a) => this.item(a)) : [h("li", { class: "muted empty" }, n.noAlerts)]));
    this.doneList.replaceChildren(...(this.done.length ? this.done.map((a) => this.resolvedItem(a)) : [h("li", { class: "muted empty" }, n.noResolved)]));
    if (focusId) {
      const input = this.list.querySelector<HTMLInputElement>(`input[data-cause="${focusId}"]`);
      input?.focus();
      if (input && caret !== null) input.setSelectionRange(caret, caret);
    }
  }

  private headline(a: AlertView) {
    const tr = t();
    const dot = h("span", { class: "dot" });
    dot.style.background = levelColor(a.score, a.scale);
    return h(
      "div",
      { class: "alert-head" },
      dot,
      " ",
      // A window rule's alert says what it saw first (in the clinic's language, as sent).
      a.detail ? h("strong", { class: "alert-window" }, `⚠️ ${a.detail} · `) : "",
      h("strong", {}, levelNames(a.scale)[a.score - 1] ?? String(a.score)),
      ` · ${a.desk} · ${a.registrar ?? tr.unassigned} · `,
      h("time", { datetime: a.at }, when(a.at)),
    );
  }

  private item(a: AlertView) {
    const tr = t();
    const n = tr.notify;
    const li = h("li", { "data-alert": String(a.id), "data-state": a.state, class: `alert ${a.state}` });
    const state =
      a.state === "open"
        ? h("span", { class: "alert-state open" }, n.open)
        : h("span", { class: "alert-state taken" }, fill(n.takenBy, { who: a.taken_by ?? "", time: a.taken_at ? clock(a.taken_at) : "" }));
    li.append(
      this.headline(a),
      h("div", { class: "alert-meta" }, state, " · ", h("span", { class: "muted" }, ago(a.created_at)), a.escalated_at ? h("span", { class: "badge escalated" }, n.escalated) : null),
    );
    const buttons = h("div", { class: "actions" });
    if (a.state === "open") {
      const take = h("button", { type: "button", class: "primary", "data-action": "take" }, n.take);
      take.addEventListener("click", () => void this.act(a, "take"));
      buttons.append(take);
    }
    if (!this.resolving.has(a.id)) {
      const resolve = h("button", { type: "button", class: a.state === "open" ? "secondary" : "primary", "data-action": "resolve" }, n.resolve);
      resolve.addEventListener("click", () => {
        this.resolving.set(a.id, "");
        this.render();
        this.list.querySelector<HTMLInputElement>(`input[data-cause="${a.id}"]`)?.focus();
      });
      buttons.append(resolve);
      li.append(buttons);
    } else {
      if (buttons.childElementCount) li.append(buttons);
      const cause = h("input", { name: "cause", "data-cause": String(a.id), value: this.resolving.get(a.id) ?? "", maxlength: "200", placeholder: n.causeHint, "aria-label": n.cause, required: "" });
      cause.addEventListener("input", () => this.resolving.set(a.id, cause.value));
      const cancel = h("button", { type: "button", class: "link" }, tr.cancel);
      cancel.addEventListener("click", () => {
        this.resolving.delete(a.id);
        this.render();
      });
      const form = h("form", { class: "inline cause-form" }, h("span", {}, `${n.cause}:`), cause, h("button", { type: "submit", class: "primary" }, n.resolve), cancel);
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        void this.act(a, "resolve", cause.value.trim());
      });
      li.append(form);
    }
    return li;
  }

  private resolvedItem(a: AlertView) {
    const n = t().notify;
    return h(
      "li",
      { "data-alert": String(a.id), "data-state": a.state, class: "alert resolved" },
      this.headline(a),
      h("div", { class: "alert-cause" }, `${n.cause}: `, h("q", {}, a.cause ?? "")),
      h(
        "div",
        { class: "alert-meta muted" },
        fill(n.resolvedBy, { who: a.resolved_by ?? "" }),
        a.minutes_to_resolve !== null ? ` ${fill(n.resolvedIn, { n: num(a.minutes_to_resolve) })}` : "",
        a.resolved_at ? ` · ${when(a.resolved_at)}` : "",
        a.escalated_at ? h("span", { class: "badge escalated" }, n.escalated) : null,
      ),
    );
  }

  private async act(a: AlertView, what: "take" | "resolve", cause = "") {
    if (what === "resolve" && !cause) {
      this.list.querySelector<HTMLInputElement>(`input[data-cause="${a.id}"]`)?.focus();
      return;
    }
    try {
      // The engine takes it in the logged-in supervisor's name.
      await send("POST", `/api/v1/alerts/${a.id}/${what}`, what === "take" ? {} : { cause });
      this.resolving.delete(a.id);
      this.msg.textContent = "";
      this.msg.className = "status";
      (document.activeElement as HTMLElement | null)?.blur();
    } catch (e) {
      showError(this.msg, e);
    }
    await this.load();
  }
}

// ---------------------------------------------------------------------------------------------
// Notifications: channels, rules, secrets.

const EVERY = ["1h", "2h", "3h", "4h", "6h", "8h", "12h"];
/** The channels a rule may name: the webhook gets every rating, by no rule (the engine refuses it in one). */
const CHANNELS: NotifyChannel[] = ["telegram", "email"];

/** Field words for a 422's `field`: `email.to[1]` → "Email → recipients, address 2". */
function fieldWords(field: string): string {
  const n = t().notify;
  const parts: string[] = [];
  let last = "";
  for (const m of field.matchAll(/([A-Za-z_]+)|\[(\d+)\]/g)) {
    if (m[1]) {
      last = m[1];
      parts.push(n.fields[m[1]] ?? m[1]);
    } else {
      const i = Number(m[2]) + 1;
      const prev = parts.pop() ?? "";
      parts.push(last === "alerts" || last === "reports" ? `${prev} ${i}` : `${prev}, ${fill(n.address, { n: i })}`);
    }
  }
  return parts.join(" → ") || field;
}

// Inputs bound to a draft; `field` is the engine's name for it, to point at a refusal.
function textInput(value: string, set: (v: string) => void, field: string, attrs: Record<string, string> = {}) {
  const i = h("input", { ...attrs, value, "data-field": field });
  i.addEventListener("input", () => set(i.value));
  return i;
}

function numberInput(value: number, set: (v: number) => void, field: string, attrs: Record<string, string> = {}) {
  const i = h("input", { type: "number", min: "0", ...attrs, value: String(value), "data-field": field });
  i.addEventListener("input", () => set(i.value === "" ? Number.NaN : Number(i.value)));
  return i;
}

function checkbox(value: boolean, set: (v: boolean) => void, field: string) {
  const c = h("input", { type: "checkbox", "data-field": field });
  c.checked = value;
  c.addEventListener("change", () => set(c.checked));
  return c;
}

function listInput(value: string[], set: (v: string[]) => void, field: string) {
  const a = h("textarea", { rows: "2", "data-field": field, placeholder: "head@clinic.example" }, value.join("\n"));
  a.addEventListener("input", () =>
    set(
      a.value
        .split(/[,;\n]/)
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  );
  return a;
}

function selectInput(value: string, options: [string, string][], set: (v: string) => void, field: string) {
  const s = h(
    "select",
    { "data-field": field },
    ...options.map(([v, label]) => {
      const o = h("option", { value: v }, label);
      o.selected = v === value;
      return o;
    }),
  );
  s.addEventListener("change", () => set(s.value));
  return s;
}

/** A checkbox per option; `get` and `set` hold the chosen values. */
function checkboxes<T extends string | number>(options: [T, Node | string][], get: () => T[], set: (v: T[]) => void, field: string) {
  const box = h("span", { class: "checks", "data-field": field });
  for (const [value, label] of options) {
    const c = h("input", { type: "checkbox", value: String(value) });
    c.checked = get().includes(value);
    c.addEventListener("change", () => {
      const now = get().filter((x) => x !== value);
      if (c.checked) now.push(value);
      set(options.map(([v]) => v).filter((v) => now.includes(v)));
    });
    box.append(h("label", { class: "check" }, c, label));
  }
  return box;
}

function channelChecks(get: () => NotifyChannel[], set: (v: NotifyChannel[]) => void, field: string) {
  return checkboxes<NotifyChannel>(CHANNELS.map((c) => [c, channelName(c)]), get, set, field);
}

type Secret = "telegram_token" | "smtp_password";

export interface ChannelHooks {
  /** The secrets' states (and so the channels') changed. */
  changed?: () => void;
  /** Before a test message or a pairing code; false stops it (having said why). */
  before?: (what: NotifyChannel | "pair") => Promise<boolean>;
}

/**
 * Telegram and email over one draft of the settings: the write-only token and password, a group
 * paired with a code, the groups, a test message each, and saving the draft with a refusal
 * pointed at its input. The console's card shows these blocks among its rules; the wizard's
 * channels step shows them alone.
 */
export class ChannelForms {
  readonly draft: NotifyConfig;
  private chats = h("div", { class: "chats", "data-testid": "telegram-chats" });
  private pairingBox = h("div", { class: "pairing" });
  private pairingTimer = 0;
  private secrets: Partial<Record<Secret, { mark: HTMLElement; input: HTMLInputElement; forget: HTMLElement }>> = {};

  constructor(
    public state: NotifyState,
    private hooks: ChannelHooks = {},
  ) {
    this.draft = clone(state.config);
  }

  /** The draft differs from what the engine holds. */
  get dirty() {
    return JSON.stringify(this.draft) !== JSON.stringify(this.state.config);
  }

  /** Stops looking for a newly paired group. */
  stop() {
    window.clearInterval(this.pairingTimer);
  }

  /** Puts the draft; a refusal names the field and marks the input under `root` that holds it. */
  async save(msg: HTMLElement, root: HTMLElement): Promise<boolean> {
    const n = t().notify;
    for (const el of root.querySelectorAll(".invalid")) el.classList.remove("invalid");
    try {
      this.state = await sendForm<NotifyState>("PUT", "/api/v1/notify", this.draft);
      showOk(msg, t().saved);
      return true;
    } catch (e) {
      if (expired(e)) return false;
      if (e instanceof FieldError && e.status === 422 && e.field) {
        const message = e.message.startsWith(`${e.field}: `) ? e.message.slice(e.field.length + 2) : e.message;
        msg.textContent = fill(n.notSaved, { field: fieldWords(e.field), message });
        msg.className = "status error";
        msg.dataset.refused = e.field;
        // Point at the input: the field itself, or the nearest thing that holds it.
        let target: Element | null = null;
        for (let f = e.field; ; ) {
          target = root.querySelector(`[data-field="${CSS.escape(f)}"]`);
          const shorter = f.replace(/(\.[A-Za-z_]+|\[\d+\])$/, "");
          if (target || shorter === f || !shorter) break;
          f = shorter;
        }
        if (target) {
          target.classList.add("invalid");
          target.scrollIntoView({ block: "center" });
          if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) target.focus();
        }
      } else {
        showError(msg, e);
      }
      return false;
    }
  }

  private secretForm(name: Secret, label: string) {
    const n = t().notify;
    const mark = h("span", { class: "secret-state" });
    const input = h("input", { type: "password", name, autocomplete: "new-password", "aria-label": label });
    const form = h("form", { class: "inline secret", "data-secret": name }, input, h("button", { type: "submit" }, t().save));
    const status = h("span", { class: "status" });
    const put = async (value: string | null) => {
      try {
        await sendForm("PUT", "/api/v1/notify/secrets", { [name]: value });
        input.value = "";
        const fresh = await getJson<NotifyState>("/api/v1/notify");
        this.state.telegram_token_set = fresh.telegram_token_set;
        this.state.smtp_password_set = fresh.smtp_password_set;
        this.state.bot_username = fresh.bot_username;
        this.state.channels = fresh.channels;
        this.drawSecrets();
        this.hooks.changed?.();
        showOk(status, t().saved);
      } catch (e) {
        showError(status, e);
      }
    };
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      if (input.value) void put(input.value);
    });
    const forget = h("button", { type: "button", class: "link", "data-forget": name }, n.forget);
    forget.addEventListener("click", () => void put(null));
    this.secrets[name] = { mark, input, forget };
    this.drawSecrets();
    return h("div", { class: "secret-row" }, h("span", { class: "label" }, label, " ", mark), h("div", { class: "secret-cell" }, form, forget, status));
  }

  /** "set" / "not set": the secrets themselves never come back. */
  private drawSecrets() {
    const n = t().notify;
    for (const [name, on] of [
      ["telegram_token", this.state.telegram_token_set],
      ["smtp_password", this.state.smtp_password_set],
    ] as const) {
      const s = this.secrets[name];
      if (!s) continue;
      s.mark.textContent = on ? n.secretSet : n.secretNotSet;
      s.mark.className = `secret-state ${on ? "set" : "unset"}`;
      s.forget.hidden = !on;
      s.input.placeholder = on ? "••••••••" : "";
    }
  }

  private testButton(channel: NotifyChannel) {
    const n = t().notify;
    const status = h("span", { class: "status" });
    const b = h("button", { type: "button", "data-test": channel }, n.test);
    b.addEventListener("click", async () => {
      if (this.hooks.before && !(await this.hooks.before(channel))) return;
      try {
        await sendForm("POST", "/api/v1/notify/test", { channel });
        showOk(status, n.testQueued);
      } catch (e) {
        showError(status, e);
      }
    });
    return h("div", { class: "actions" }, b, status);
  }

  telegramBlock() {
    const n = t().notify;
    const d = this.draft;
    const pair = h("button", { type: "button", class: "secondary", "data-action": "pair" }, n.pair);
    const pairStatus = h("span", { class: "status" });
    pair.addEventListener("click", async () => {
      if (this.hooks.before && !(await this.hooks.before("pair"))) return;
      try {
        const p = await sendForm<Pairing>("POST", "/api/v1/notify/pairing");
        pairStatus.textContent = "";
        this.drawPairing(p);
      } catch (e) {
        showError(pairStatus, e);
      }
    });
    this.drawChats();
    this.drawPairing(this.state.pairing);
    return h(
      "fieldset",
      { class: "block settings", "data-block": "telegram" },
      h("legend", {}, "Telegram"),
      h("label", {}, h("span", {}, n.enabled), checkbox(d.telegram.enabled, (v) => (d.telegram.enabled = v), "telegram.enabled")),
      this.secretForm("telegram_token", n.token),
      h("label", {}, h("span", {}, n.apiUrl), textInput(d.telegram.api_url, (v) => (d.telegram.api_url = v.trim()), "telegram.api_url", { type: "url" })),
      h("div", { class: "actions" }, pair, pairStatus),
      this.pairingBox,
      h("h3", {}, n.chats),
      this.chats,
      this.testButton("telegram"),
      h("p", { class: "muted small" }, fill(n.secretsPlace, { place: this.state.secrets_place })),
    );
  }

  private drawPairing(p: Pairing | null) {
    const n = t().notify;
    window.clearInterval(this.pairingTimer);
    if (!p || new Date(p.expires_at).getTime() <= Date.now()) {
      this.pairingBox.replaceChildren();
      return;
    }
    const st = this.state;
    const bot = st.bot_username ? `@${st.bot_username.replace(/^@/, "")}` : "";
    this.pairingBox.replaceChildren(
      h("p", {}, fill(n.pairHow, { bot }).replace(/\s{2,}/g, " ")),
      ...(!st.telegram_token_set || !st.config.telegram.enabled ? [h("p", { class: "notice" }, n.pairNeedsBot)] : []),
      h("div", { class: "pair-code", "data-testid": "pair-code" }, `/pair ${p.code}`),
      h("p", { class: "muted" }, fill(n.pairUntil, { time: clock(p.expires_at) })),
    );
    // While the code is valid the group may appear at any moment: look every few seconds.
    this.pairingTimer = window.setInterval(async () => {
      if (new Date(p.expires_at).getTime() <= Date.now()) {
        this.drawPairing(null);
        return;
      }
      try {
        const fresh = await getJson<NotifyState>("/api/v1/notify");
        const added = fresh.chats.length !== this.state.chats.length;
        this.state.chats = fresh.chats;
        this.state.pairing = fresh.pairing;
        this.drawChats();
        if (added || !fresh.pairing) this.drawPairing(fresh.pairing && !added ? fresh.pairing : null);
      } catch (e) {
        expired(e);
      }
    }, 3000);
  }

  private async reloadChats() {
    const fresh = await getJson<NotifyState>("/api/v1/notify");
    this.state.chats = fresh.chats;
    this.drawChats();
  }

  private drawChats() {
    const n = t().notify;
    const chats = this.state.chats;
    if (!chats.length) {
      this.chats.replaceChildren(h("p", { class: "muted" }, n.noChats));
      return;
    }
    const status = h("p", { class: "status" });
    const row = (c: TelegramChat) => {
      const role = h(
        "select",
        { "aria-label": c.title },
        ...(["main", "escalation"] as const).map((r) => {
          const o = h("option", { value: r }, n.roles[r] ?? r);
          o.selected = r === c.role;
          return o;
        }),
      );
      role.addEventListener("change", async () => {
        try {
          await send("PATCH", `/api/v1/notify/chats/${c.chat_id}`, { role: role.value });
          await this.reloadChats();
        } catch (e) {
          showError(status, e);
        }
      });
      const remove = h("button", { type: "button", class: "link" }, n.remove);
      remove.addEventListener("click", async () => {
        try {
          await send("DELETE", `/api/v1/notify/chats/${c.chat_id}`);
          await this.reloadChats();
        } catch (e) {
          showError(status, e);
        }
      });
      return h("tr", { "data-chat": String(c.chat_id) }, h("td", {}, c.title), h("td", {}, role), h("td", { class: "muted" }, when(c.paired_at)), h("td", {}, remove));
    };
    this.chats.replaceChildren(h("table", {}, ...chats.map(row)), status);
  }

  emailBlock() {
    const n = t().notify;
    const e = this.draft.email;
    const field = (label: string, input: HTMLElement) => h("label", {}, h("span", {}, label), input);
    return h(
      "fieldset",
      { class: "block settings", "data-block": "email" },
      h("legend", {}, n.email),
      field(n.enabled, checkbox(e.enabled, (v) => (e.enabled = v), "email.enabled")),
      field(n.host, textInput(e.host, (v) => (e.host = v.trim()), "email.host", { placeholder: "smtp.clinic.example" })),
      field(n.port, numberInput(e.port, (v) => (e.port = v), "email.port", { min: "1", max: "65535" })),
      field(
        n.security,
        selectInput(e.security, (["starttls", "tls", "none"] as const).map((s) => [s, n.securities[s] ?? s]), (v) => (e.security = v as NotifyConfig["email"]["security"]), "email.security"),
      ),
      field(n.user, textInput(e.user, (v) => (e.user = v.trim()), "email.user", { autocomplete: "off" })),
      this.secretForm("smtp_password", n.smtpPassword),
      field(n.from, textInput(e.from, (v) => (e.from = v.trim()), "email.from", { placeholder: "Otklik <otklik@clinic.example>" })),
      field(n.to, listInput(e.to, (v) => (e.to = v), "email.to")),
      field(n.escalationTo, listInput(e.escalation_to, (v) => (e.escalation_to = v), "email.escalation_to")),
      field(n.caFile, textInput(e.ca_file, (v) => (e.ca_file = v.trim()), "email.ca_file", { placeholder: "C:\\otklik\\mail-ca.pem" })),
      this.testButton("email"),
    );
  }
}

/** The notifications card: the channels' states, their blocks, the alert and report rules, the rest. */
class SettingsCard {
  private forms: ChannelForms | null = null;
  private scale = 3;
  private desks: Desk[] = [];
  private chips = h("div", { class: "chan-chips", "data-testid": "channel-chips" });
  private msg = h("p", { class: "status", role: "status", "aria-live": "polite", "data-testid": "notify-status" });
  private rules = h("div", { class: "rules" });
  private reports = h("div", { class: "rules" });

  constructor(private card: HTMLElement) {
    card.classList.add("notify-card");
    card.replaceChildren(h("h2", {}, t().notify.settings), this.msg);
  }

  /** A fresh draft of `state`. */
  private use(state: NotifyState) {
    this.forms?.stop();
    this.forms = new ChannelForms(state, { changed: () => this.drawChips() });
    return this.forms;
  }

  async load() {
    try {
      const [state, settings, desks] = await Promise.all([getJson<NotifyState>("/api/v1/notify"), getJson<Settings>("/api/v1/settings"), getJson<Desk[]>("/api/v1/desks")]);
      this.use(state);
      this.scale = settings.scale;
      this.desks = desks;
      this.render();
    } catch (e) {
      showError(this.msg, e);
    }
  }

  /** Channel states only (the form is left alone). */
  async loadChannels() {
    const st = this.forms?.state;
    if (!st) return;
    try {
      const health = await getJson<Pick<Health, "channels">>("/healthz").catch(() => null);
      st.channels = health?.channels?.length ? health.channels : (await getJson<NotifyState>("/api/v1/notify")).channels;
      this.drawChips();
    } catch (e) {
      expired(e);
    }
  }

  private drawChips() {
    const n = t().notify;
    const list = this.forms?.state.channels ?? [];
    this.chips.replaceChildren(
      ...list.map((c) => {
        const words = c.state === "ok" ? n.stateOk : c.state === "off" ? n.stateOff : fill(n.stateDown, { time: c.since ? when(c.since) : "?" });
        return h(
          "div",
          { class: `chan-chip ${c.state}`, "data-channel": c.channel, "data-state": c.state },
          h("span", { class: `state ${c.state === "ok" ? "connected" : c.state === "down" ? "error" : "off"}` }),
          " ",
          h("strong", {}, channelName(c.channel)),
          ` — ${words}`,
          c.pending ? " " : null,
          c.pending ? h("span", { class: "count" }, fill(n.pendingN, { n: num(c.pending) })) : null,
          c.failed ? " " : null,
          c.failed ? h("span", { class: "count failed" }, fill(n.failedN, { n: num(c.failed) })) : null,
          c.state === "down" && c.last_error ? h("div", { class: "error" }, c.last_error) : null,
        );
      }),
    );
  }

  private render() {
    const f = this.forms;
    if (!f) return;
    const d = f.draft;
    const n = t().notify;
    this.drawChips();
    const save = h("button", { type: "button", class: "primary", "data-testid": "notify-save" }, n.saveAll);
    save.addEventListener("click", () => void this.save());
    this.drawRules();
    this.drawReports();
    const webhook = textInput(d.webhook_url, (v) => (d.webhook_url = v.trim()), "webhook_url", { type: "url", placeholder: "https://mis.clinic.example/otklik", class: "wide-input" });
    const linkBase = textInput(d.link_base, (v) => (d.link_base = v.trim()), "link_base", { type: "url", placeholder: `http://${location.hostname}:${location.port || "8787"}`, class: "wide-input" });
    this.card.replaceChildren(
      h("h2", {}, n.settings),
      this.chips,
      h(
        "div",
        { class: "notify-blocks" },
        f.telegramBlock(),
        f.emailBlock(),
        h("fieldset", { class: "block settings", "data-block": "alert-rules" }, h("legend", {}, n.alertRules), this.rules),
        h("fieldset", { class: "block settings", "data-block": "report-rules" }, h("legend", {}, n.reportRules), this.reports),
        h(
          "fieldset",
          { class: "block settings wide", "data-block": "other" },
          h("legend", {}, n.other),
          h("label", {}, h("span", {}, n.webhook), webhook),
          h("label", {}, h("span", {}, n.linkBase), linkBase),
        ),
      ),
      h("div", { class: "actions save-row" }, save, this.msg),
    );
  }

  private drawRules() {
    const n = t().notify;
    const d = this.forms!.draft;
    const names = levelNames(this.scale);
    const row = (r: AlertRule, i: number) => {
      const top = Math.max(this.scale, ...r.scores);
      const levels: [number, Node][] = Array.from({ length: top }, (_, k) => {
        const dot = h("span", { class: "dot" });
        dot.style.background = levelColor(Math.min(k + 1, this.scale), this.scale);
        return [k + 1, h("span", {}, dot, " ", names[k] ?? String(k + 1))];
      });
      const deskIds = [...new Set([...this.desks.filter((x) => x.active).map((x) => x.id), ...r.desks])];
      const desks: [number, string][] = deskIds.map((id) => [id, this.desks.find((x) => x.id === id)?.name ?? `#${id}`]);
      const remove = h("button", { type: "button", class: "link", "data-action": "remove-rule" }, n.removeRule);
      remove.addEventListener("click", () => {
        d.alerts.splice(i, 1);
        this.drawRules();
      });
      return h(
        "fieldset",
        { class: "rule settings", "data-rule": String(i), "data-field": `alerts[${i}]` },
        h("legend", {}, fill(n.rule, { n: i + 1 })),
        h("div", { class: "row" }, h("span", {}, n.scores), checkboxes<number>(levels, () => r.scores, (v) => (r.scores = v), `alerts[${i}].scores`)),
        h("div", { class: "row" }, h("span", {}, n.desks), checkboxes<number>(desks, () => r.desks, (v) => (r.desks = v), `alerts[${i}].desks`)),
        h("div", { class: "row" }, h("span", {}, n.channels), channelChecks(() => r.channels, (v) => (r.channels = v), `alerts[${i}].channels`)),
        h("label", {}, h("span", {}, n.escalateAfter), numberInput(r.escalate_after_mins, (v) => (r.escalate_after_mins = v), `alerts[${i}].escalate_after_mins`, { max: "1440" })),
        remove,
      );
    };
    const add = h("button", { type: "button", "data-action": "add-rule" }, n.addRule);
    add.addEventListener("click", () => {
      d.alerts.push({ scores: [1], desks: [], channels: ["telegram", "email"], escalate_after_mins: 15 });
      this.drawRules();
    });
    this.rules.replaceChildren(...d.alerts.map(row), add);
  }

  private drawReports() {
    const n = t().notify;
    const d = this.forms!.draft;
    const row = (r: ReportRule, i: number) => {
      const daily = r.every.startsWith("daily@");
      // HH:MM as typed, not <input type=time>: that one shows 7:30 PM in an English browser.
      const at = h("input", { name: "at", value: daily ? r.every.slice(6) : "20:00", placeholder: "20:00", maxlength: "5", inputmode: "numeric", "aria-label": n.everyOptions.daily ?? "", "data-field": `reports[${i}].every` });
      at.hidden = !daily;
      const options: [string, string][] = [...EVERY.map((e): [string, string] => [e, n.everyOptions[e] ?? e]), ["daily", n.everyOptions.daily ?? "daily"]];
      const every = selectInput(daily ? "daily" : r.every, options, (v) => {
        at.hidden = v !== "daily";
        r.every = v === "daily" ? `daily@${at.value || "20:00"}` : v;
      }, `reports[${i}].every`);
      at.addEventListener("input", () => (r.every = `daily@${at.value}`));
      const remove = h("button", { type: "button", class: "link", "data-action": "remove-report" }, n.removeReport);
      remove.addEventListener("click", () => {
        d.reports.splice(i, 1);
        this.drawReports();
      });
      return h(
        "fieldset",
        { class: "rule settings", "data-report": String(i), "data-field": `reports[${i}]` },
        h("legend", {}, fill(n.report, { n: i + 1 })),
        h("label", {}, h("span", {}, n.every), h("span", { class: "every" }, every, at)),
        h(
          "label",
          {},
          h("span", {}, n.condition),
          selectInput(r.condition, (["always", "any", "negative"] as const).map((c) => [c, n.conditions[c] ?? c]), (v) => (r.condition = v as ReportRule["condition"]), `reports[${i}].condition`),
        ),
        h("div", { class: "row" }, h("span", {}, n.channels), channelChecks(() => r.channels, (v) => (r.channels = v), `reports[${i}].channels`)),
        remove,
      );
    };
    const add = h("button", { type: "button", "data-action": "add-report" }, n.addReport);
    add.addEventListener("click", () => {
      d.reports.push({ every: "daily@20:00", condition: "always", channels: ["telegram", "email"] });
      this.drawReports();
    });
    this.reports.replaceChildren(...d.reports.map(row), add);
  }

  private async save() {
    const f = this.forms;
    if (!f || !(await f.save(this.msg, this.card))) return;
    (document.activeElement as HTMLElement | null)?.blur();
    this.use(f.state);
    this.render();
  }
}

// ---------------------------------------------------------------------------------------------
// Outbox: what failed, what waits, what went.

/** A message's first line; the webhook's is its JSON body (cut at 200 characters), said in words. */
function summary(m: OutboxItem, desks: Map<number, string>): string {
  if (m.kind !== "webhook" || !m.summary.startsWith("{")) return m.summary;
  const field = (name: string) => new RegExp(`"${name}":"?([^",}]+)`).exec(m.summary)?.[1];
  const score = field("score");
  const desk = field("desk_id");
  if (!score || !desk) return m.summary.slice(0, 80);
  const tr = t();
  const scale = Number(field("scale") ?? 0);
  const at = field("at");
  const level = scale ? levelNames(scale)[Number(score) - 1] ?? score : score;
  return [`${tr.score}: ${level}`, desks.get(Number(desk)) ?? `${tr.desk} ${desk}`, at && !Number.isNaN(Date.parse(at)) ? when(at) : ""].filter(Boolean).join(" · ");
}

class OutboxCard {
  private msg = h("p", { class: "status", role: "status" });

  constructor(private card: HTMLElement) {
    card.classList.add("outbox-card");
    card.replaceChildren(h("h2", {}, t().notify.outbox), this.msg);
  }

  async load() {
    if (typingIn(this.card)) return;
    const n = t().notify;
    try {
      const [failed, pending, sent, health, chats, desks] = await Promise.all([
        getJson<OutboxItem[]>("/api/v1/outbox?state=failed&limit=50"),
        getJson<OutboxItem[]>("/api/v1/outbox?state=pending&limit=50"),
        getJson<OutboxItem[]>("/api/v1/outbox?state=sent&limit=20"),
        getJson<Pick<Health, "channels">>("/healthz").catch(() => ({ channels: [] as ChannelState[] })),
        getJson<NotifyState>("/api/v1/notify").then((s) => s.chats).catch(() => [] as TelegramChat[]),
        getJson<Desk[]>("/api/v1/desks").catch(() => [] as Desk[]),
      ]);
      const deskNames = new Map(desks.map((d) => [d.id, d.name]));
      const channels = health.channels ?? [];
      const chatNames = new Map(chats.map((c) => [String(c.chat_id), c.title]));
      const target = (m: OutboxItem) => (m.channel === "telegram" ? chatNames.get(m.target) ?? m.target : m.target);
      const line = (m: OutboxItem, extra: (Node | string | null)[]) =>
        h(
          "li",
          { "data-outbox": String(m.id), "data-state": m.state, "data-channel": m.channel, class: `msg ${m.state}` },
          h("div", {}, h("strong", {}, channelName(m.channel)), ` · ${n.kinds[m.kind] ?? m.kind} · `, h("span", { class: "muted" }, target(m)), ` · ${when(m.sent_at && m.state === "sent" ? m.sent_at : m.created_at)}`),
          m.summary ? h("div", { class: "summary" }, summary(m, deskNames)) : null,
          m.attachments.length ? h("div", { class: "muted small" }, `📎 ${m.attachments.join(", ")}`) : null,
          ...extra,
        );
      const failedItems = failed.map((m) => {
        const retry = h("button", { type: "button", class: "primary", "data-action": "retry" }, n.retry);
        retry.addEventListener("click", async () => {
          try {
            await send("POST", `/api/v1/outbox/${m.id}/retry`, {});
            await this.load();
          } catch (e) {
            showError(this.msg, e);
          }
        });
        return line(m, [m.last_error ? h("div", { class: "error" }, m.last_error) : null, h("div", { class: "actions" }, retry, h("span", { class: "muted small" }, fill(n.attempts, { n: num(m.attempts) })))]);
      });
      // The queue goes out oldest first: shown in that order.
      const pendingItems = [...pending].reverse().map((m) => {
        const ch = channels.find((c) => c.channel === m.channel);
        const why = ch?.state === "down" ? fill(n.unreachable, { channel: channelName(m.channel) }) : "";
        return line(m, [
          h("div", { class: "waiting" }, `${n.waiting}${why ? ` — ${why}` : ""}`, m.attempts ? h("span", { class: "muted small" }, ` · ${fill(n.attempts, { n: num(m.attempts) })}`) : null),
          m.last_error ? h("div", { class: "error" }, m.last_error) : null,
        ]);
      });
      const totalPending = channels.reduce((a, c) => a + c.pending, 0);
      const totalFailed = channels.reduce((a, c) => a + c.failed, 0);
      const more = (shown: number, total: number) => (total > shown ? h("li", { class: "muted" }, fill(n.more, { n: num(total - shown) })) : null);
      this.card.replaceChildren(
        h("h2", {}, n.outbox),
        this.msg,
        ...(failedItems.length ? [h("h3", { class: "failed" }, n.failed), h("ul", { class: "outbox", "data-testid": "outbox-failed" }, ...failedItems, more(failedItems.length, totalFailed))] : []),
        h("h3", {}, n.pending),
        pendingItems.length
          ? h("ul", { class: "outbox", "data-testid": "outbox-pending" }, ...pendingItems, more(pendingItems.length, totalPending))
          : h("p", { class: "muted" }, n.emptyQueue),
        h("h3", {}, n.sent),
        sent.length ? h("ul", { class: "outbox", "data-testid": "outbox-sent" }, ...sent.map((m) => line(m, []))) : h("p", { class: "muted" }, n.noneSent),
      );
    } catch (e) {
      showError(this.msg, e);
    }
  }
}
