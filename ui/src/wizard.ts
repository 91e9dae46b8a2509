// The first-run wizard at /setup: language, clinic and time zone, desks, registrars, the rating
// scale, then (optional) each desk's input with a live test, cameras and microphones with a live
// frame and level meter, Telegram and email; done. Every step saves through the API as it goes
// and the engine remembers the step reached, so a reload (or a crash) resumes there. Also the
// console's part of it: sending a fresh installation here, the demo-data banner, and exporting
// and importing the settings file.

import {
  ApiError,
  consoleToken,
  getJson,
  Live,
  refusal,
  send,
  type Desk,
  type DeskEvidence,
  type DeskInput,
  type Imported,
  type ImportRefused,
  type InputStatus,
  type MicLevel,
  type NotifyState,
  type Rating,
  type Registrar,
  type SetupStatus,
  type Settings,
} from "./api";
import { face } from "./rate";
import { h } from "./dom";
import {fill, isLang, LANGS, levelNames, locale, plural, setLanguage, t, time } from "./i18n";
import { ChannelForms } from "./notify";

const STEPS = ["language", "clinic", "desks", "registrars", "scale", "inputs", "devices", "channels", "done"] as const;
type Step = (typeof STEPS)[number];
const OPTIONAL: ReadonlySet<Step> = new Set<Step>(["inputs", "devices", "channels"]);

/** "{n} desks" with its values. */
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The browser's time zones (ES2022's Intl.supportedValuesOf), with `keep` among them. */
function timeZones(keep: string[]): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (key: string) => string[] };
  let zones: string[] = [];
  try {
    zones = intl.supportedValuesOf?.("timeZone") ?? [];
  } catch {
    zones = [];
  }
  const all = new Set([...zones, ...keep.filter(Boolean), "UTC"]);
  return [...all].sort();
}

function browserZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** A request with the console's login whose body is not JSON (a file, a photo). */
async function fetchRaw(path: string, init: RequestInit = {}) {
  const token = consoleToken.get();
  const headers: Record<string, string> = { ...(init.headers as Record<string, string> | undefined) };
  if (token) headers["Authorization"] = `Bearer ${token}`;
  return fetch(path, { ...init, headers, cache: "no-store" });
}


/** Imports a settings file; a refusal lists every problem. */
async function importFile(file: File): Promise<{ ok: true; imported: Imported } | { ok: false; problems: string[] }> {
  let doc: unknown;
  try {
    doc = JSON.parse(await file.text());
  } catch (e) {
    return { ok: false, problems: [errorText(e)] };
  }
  const resp = await fetchRaw("/api/v1/settings/import", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(doc) });
  if (resp.ok) return { ok: true, imported: (await resp.json()) as Imported };
  try {
    const b = (await resp.json()) as Partial<ImportRefused>;
    if (b.errors?.length) return { ok: false, problems: b.errors.map((p) => `${p.field}: ${p.error}`) };
    return { ok: false, problems: [b.error ?? `${resp.status}`] };
  } catch {
    return { ok: false, problems: [`${resp.status} ${resp.statusText}`] };
  }
}

/** Downloads the settings file. */
async function exportFile() {
  const resp = await fetchRaw("/api/v1/settings/export");
  if (!resp.ok) throw await refusal(resp);
  const name = /filename="([^"]+)"/.exec(resp.headers.get("content-disposition") ?? "")?.[1] ?? "otklik-settings.json";
  const url = URL.createObjectURL(await resp.blob());
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A button that opens a file picker and imports the chosen settings file. */
function importButton(label: string, done: (r: Imported) => void, failed: (problems: string[]) => void) {
  const input = h("input", { type: "file", accept: ".json,application/json", hidden: "", "data-testid": "import-file" });
  const button = h("button", { type: "button", class: "secondary", "data-action": "import-settings" }, label);
  button.addEventListener("click", () => input.click());
  input.addEventListener("change", async () => {
    const file = input.files?.[0];
    input.value = "";
    if (!file) return;
    const r = await importFile(file);
    if (r.ok) done(r.imported);
    else failed(r.problems);
  });
  return h("span", { class: "import" }, button, input);
}

// ---------------------------------------------------------------------------------------------
// The console's part.

/**
 * Called when the console opens: a fresh installation (or one whose wizard is under way, or a
 * login that came from /setup) goes to the wizard; otherwise the console gets the settings
 * file's export and import, a way back to the wizard, and a banner over demo data.
 */
export async function consoleSetup(main: HTMLElement) {
  const s = await getJson<SetupStatus>("/api/v1/setup").catch(() => null);
  if (!s) return;
  const asked = new URLSearchParams(location.search).get("next") === "setup";
  if (asked || (!s.setup_done && (s.fresh || s.step !== null))) {
    location.replace("/setup");
    return;
  }
  const tr = t();
  const w = tr.wizard;
  const msg = h("div", { class: "status", role: "status", "aria-live": "polite", "data-testid": "settings-file-status" });
  const exp = h("button", { type: "button", class: "secondary", "data-action": "export-settings" }, w.exportSettings);
  exp.addEventListener("click", async () => {
    try {
      await exportFile();
      msg.textContent = "";
    } catch (e) {
      msg.textContent = `${tr.failed}${errorText(e)}`;
      msg.className = "status error";
    }
  });
  const imp = importButton(
    w.importSettings,
    (r) => {
      msg.replaceChildren(fill(w.imported, { desks: r.desks_created + r.desks_updated, registrars: r.registrars_created + r.registrars_updated }));
      msg.className = "status ok";
    },
    (problems) => {
      msg.replaceChildren(h("strong", {}, w.importRefused), h("ul", { class: "problems" }, ...problems.map((p) => h("li", {}, p))));
      msg.className = "status error";
    },
  );
  const tools = h("div", { class: "setup-tools actions", "data-testid": "setup-tools" }, exp, imp, h("a", { href: "/setup" }, w.runWizard), msg);
  const banner = s.demo ? h("p", { class: "notice demo-banner", "data-testid": "demo-banner" }, w.demoBanner) : null;
  const header = main.querySelector("header");
  if (header) header.after(...(banner ? [banner, tools] : [tools]));
}

// ---------------------------------------------------------------------------------------------
// The wizard.

export async function mountWizard(root: HTMLElement) {
  const main = h("main", { class: "wizard" });
  root.replaceChildren(main);
  // The console's login: without it, log in (or set the password) first and come back.
  const token = consoleToken.get();
  let ok = false;
  if (token) {
    try {
      await getJson("/api/v1/audit?limit=1");
      ok = true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) consoleToken.set(null);
    }
  }
  if (!ok) {
    location.replace("/admin?next=setup");
    return;
  }
  const status = await getJson<SetupStatus>("/api/v1/setup");
  const wizard = new Wizard(main, status);
  await wizard.go(status.step ?? 1, false);
}

interface StepView {
  body: HTMLElement[];
  /** Saves what the step shows before moving on; false = stay (it says why). */
  next?: () => Promise<boolean>;
}

class Wizard {
  private step = 1;
  private reached: number;
  private settings!: Settings;
  private msg = h("p", { class: "status", role: "status", "aria-live": "polite", "data-testid": "wizard-status" });
  /** What leaving the step must stop: event streams, timers. */
  private cleanup: (() => void)[] = [];

  constructor(
    private main: HTMLElement,
    status: SetupStatus,
  ) {
    this.reached = status.step ?? 1;
  }

  private leave() {
    for (const f of this.cleanup.splice(0)) f();
  }

  private say(text: string, kind: "error" | "ok" | "" = "") {
    this.msg.textContent = text;
    this.msg.className = `status ${kind}`;
  }

  private fail(e: unknown) {
    if (e instanceof ApiError && e.status === 401) {
      consoleToken.set(null);
      location.replace("/admin?next=setup");
      return;
    }
    this.say(`${t().failed}${errorText(e)}`, "error");
  }

  async go(n: number, remember = true) {
    this.leave();
    this.step = Math.min(Math.max(1, n), STEPS.length);
    this.reached = Math.max(this.reached, this.step);
    this.say("");
    if (remember || this.step !== n) await send("PUT", "/api/v1/setup", { step: this.step }).catch(() => {});
    await this.render();
  }

  async render() {
    const tr = t();
    const w = tr.wizard;
    try {
      this.settings = await getJson<Settings>("/api/v1/settings");
    } catch (e) {
      this.fail(e);
      return;
    }
    if (isLang(this.settings.language)) setLanguage(this.settings.language);
    const name = STEPS[this.step - 1]!;
    let view: StepView;
    try {
      view = await this.view(name);
    } catch (e) {
      view = { body: [h("p", { class: "status error" }, `${tr.failed}${errorText(e)}`)] };
    }
    const later = h("button", { type: "button", class: "link", "data-action": "later" }, w.later);
    later.addEventListener("click", async () => {
      try {
        await send("PATCH", "/api/v1/settings", { setup_done: true });
        location.href = "/admin";
      } catch (e) {
        this.fail(e);
      }
    });
    const progress = h(
      "ol",
      { class: "wizard-progress", "data-testid": "wizard-progress" },
      ...STEPS.map((s, i) => {
        const n = i + 1;
        const state = n === this.step ? "current" : n <= this.reached ? "done" : "todo";
        const label = h("span", { class: "label" }, w.stepNames[i] ?? s, OPTIONAL.has(s) ? h("small", {}, w.optional) : null);
        const dot = h("span", { class: "num" }, state === "done" ? "✓" : n);
        if (state === "done") {
          const b = h("button", { type: "button", class: "link" }, dot, label);
          b.addEventListener("click", () => void this.go(n));
          return h("li", { class: state, "data-step": s }, b);
        }
        return h("li", { class: state, "data-step": s, "aria-current": state === "current" ? "step" : "false" }, dot, label);
      }),
    );
    const back = h("button", { type: "button", class: "secondary", "data-testid": "wizard-back" }, w.back);
    back.disabled = this.step === 1;
    back.addEventListener("click", () => void this.go(this.step - 1));
    const skip = h("button", { type: "button", class: "secondary", "data-testid": "wizard-skip" }, w.skip);
    skip.hidden = !OPTIONAL.has(name);
    skip.addEventListener("click", () => void this.go(this.step + 1));
    const last = this.step === STEPS.length;
    const next = h("button", { type: "button", class: "primary", "data-testid": "wizard-next" }, last ? w.openConsole : w.next);
    next.addEventListener("click", async () => {
      if (last) {
        location.href = "/admin";
        return;
      }
      next.disabled = true;
      try {
        if (!view.next || (await view.next())) await this.go(this.step + 1);
      } catch (e) {
        this.fail(e);
      } finally {
        next.disabled = false;
      }
    });
    this.main.dataset.step = name;
    this.main.replaceChildren(
      h("header", {}, h("h1", {}, w.title), h("span", { class: "muted" }, fill(w.stepOf, { n: this.step, total: STEPS.length })), later),
      progress,
      h("section", { class: "card wizard-body", "data-step": name }, ...view.body),
      this.msg,
      h("div", { class: "wizard-nav" }, back, h("span", { class: "spacer" }), skip, next),
    );
  }

  private view(name: Step): Promise<StepView> {
    switch (name) {
      case "language":
        return this.language();
      case "clinic":
        return this.clinic();
      case "desks":
        return this.desks();
      case "registrars":
        return this.registrars();
      case "scale":
        return this.scale();
      case "inputs":
        return this.inputs();
      case "devices":
        return this.devices();
      case "channels":
        return this.channels();
      case "done":
        return this.done();
    }
  }

  // 1. Language, or demo data, or a settings file from another installation.
  private async language(): Promise<StepView> {
    const tr = t();
    const w = tr.wizard;
    const choices = (Object.keys(LANGS) as (keyof typeof LANGS)[]).map((code) => {
      const picked = this.settings.language === code;
      const b = h("button", { type: "button", class: `choice${picked ? " picked" : ""}`, "data-lang": code, "aria-pressed": String(picked) }, LANGS[code].label);
      b.addEventListener("click", async () => {
        try {
          await send("PATCH", "/api/v1/settings", { language: code });
          setLanguage(code);
          await this.render();
        } catch (e) {
          this.fail(e);
        }
      });
      return b;
    });
    const demo = h("button", { type: "button", class: "secondary", "data-testid": "wizard-demo" }, w.demo);
    demo.addEventListener("click", async () => {
      demo.disabled = true;
      this.say(w.demoFilling);
      try {
        await send("POST", "/api/v1/demo", {});
        location.href = "/admin";
      } catch (e) {
        demo.disabled = false;
        this.fail(e);
      }
    });
    const imp = importButton(
      w.importSettings,
      (r) => {
        this.say(fill(w.imported, { desks: r.desks_created + r.desks_updated, registrars: r.registrars_created + r.registrars_updated }), "ok");
        void this.render();
      },
      (problems) => {
        this.say("");
        this.msg.className = "status error";
        this.msg.replaceChildren(h("strong", {}, w.importRefused), h("ul", { class: "problems" }, ...problems.map((p) => h("li", {}, p))));
      },
    );
    return {
      body: [
        h("h2", {}, w.languageTitle),
        h("p", { class: "muted" }, w.languageHint),
        h("div", { class: "choices" }, ...choices),
        h("div", { class: "wizard-aside" }, h("h3", {}, w.demoTitle), h("p", { class: "muted" }, w.demoHint), demo),
        h("div", { class: "wizard-aside" }, h("h3", {}, w.importTitle), h("p", { class: "muted" }, w.importHint), imp),
      ],
    };
  }

  // 2. The clinic's name and time zone.
  private async clinic(): Promise<StepView> {
    const w = t().wizard;
    const name = h("input", { value: this.settings.clinic_name, maxlength: "200", "data-testid": "wizard-clinic", placeholder: w.clinicPlaceholder, class: "wide-input" });
    // Until this step was saved once, the browser's zone is the best guess.
    const saved = this.reached > 2 || this.settings.clinic_name !== "";
    const current = saved ? this.settings.timezone : browserZone();
    const zone = h(
      "select",
      { "data-testid": "wizard-timezone" },
      ...timeZones([current, this.settings.timezone]).map((z) => {
        const o = h("option", { value: z }, z.replace(/_/g, " "));
        o.selected = z === current;
        return o;
      }),
    );
    const clock = h("span", { class: "muted" });
    const tick = () => {
      try {
        clock.textContent = new Intl.DateTimeFormat(locale(), { timeZone: zone.value, hour: "2-digit", minute: "2-digit" }).format(new Date());
      } catch {
        clock.textContent = "";
      }
    };
    zone.addEventListener("change", tick);
    tick();
    name.addEventListener("input", () => this.say(""));
    window.setTimeout(() => name.focus(), 0);
    return {
      body: [
        h("h2", {}, w.clinicTitle),
        h("p", { class: "muted" }, w.clinicHint),
        h("div", { class: "settings clinic-form" }, h("label", {}, h("span", {}, t().clinicName), name), h("label", {}, h("span", {}, w.timezone), h("span", { class: "inline" }, zone, clock))),
      ],
      next: async () => {
        if (!name.value.trim()) {
          this.say(w.needName, "error");
          name.focus();
          return false;
        }
        await send("PATCH", "/api/v1/settings", { clinic_name: name.value, timezone: zone.value });
        return true;
      },
    };
  }

  /** A list of names with an "Add" field: desks or registrars. */
  private async names(kind: "desks" | "registrars"): Promise<StepView> {
    const tr = t();
    const w = tr.wizard;
    const path = `/api/v1/${kind}`;
    const list = h("ul", { class: "name-list", "data-testid": `wizard-${kind}` });
    const input = h("input", { maxlength: "100", "aria-label": kind === "desks" ? w.deskName : w.registrarName, placeholder: kind === "desks" ? w.deskName : w.registrarName, "data-testid": `wizard-${kind}-name` });
    let count = 0;
    const draw = async () => {
      const items = await getJson<(Desk | Registrar)[]>(path);
      count = items.length;
      list.replaceChildren(...(items.length ? items.map((x) => h("li", { class: x.active ? "" : "inactive" }, x.name)) : [h("li", { class: "muted" }, w.noneYet)]));
      // Desks are numbered by default: "Add" alone adds the next one.
      if (kind === "desks") input.value = `${tr.desk} ${items.length + 1}`;
    };
    const form = h("form", { class: "inline" }, input, h("button", { type: "submit", "data-testid": `wizard-${kind}-add` }, tr.add));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (!input.value.trim()) return;
      try {
        await send("POST", path, { name: input.value });
        input.value = "";
        this.say("");
        await draw();
        input.focus();
        if (kind === "desks") input.select();
      } catch (e) {
        this.fail(e);
      }
    });
    await draw();
    window.setTimeout(() => input.focus(), 0);
    return {
      body: [h("h2", {}, kind === "desks" ? w.desksTitle : w.registrarsTitle), h("p", { class: "muted" }, kind === "desks" ? w.desksHint : w.registrarsHint), list, form],
      next: async () => {
        if (kind === "desks" && count === 0) {
          this.say(w.needDesk, "error");
          return false;
        }
        return true;
      },
    };
  }

  private desks() {
    return this.names("desks");
  }

  private registrars() {
    return this.names("registrars");
  }

  // 5. The scale, with the faces patients will see.
  private async scale(): Promise<StepView> {
    const w = t().wizard;
    const choices = [3, 4, 5, 7].map((n) => {
      const picked = this.settings.scale === n;
      const names = levelNames(n);
      const faces = h("span", { class: "faces-preview" });
      // Best first, as on the patient panel.
      for (let level = n; level >= 1; level--) faces.append(h("span", { class: "mini-face", title: names[level - 1] ?? String(level) }, face(level, n)));
      const b = h(
        "button",
        { type: "button", class: `choice scale-choice${picked ? " picked" : ""}`, "data-scale": String(n), "aria-pressed": String(picked) },
        h("strong", {}, plural(n, w.levelsN)),
        faces,
        h("small", { class: "muted" }, [...names].reverse().join(" · ")),
      );
      b.addEventListener("click", async () => {
        try {
          await send("PATCH", "/api/v1/settings", { scale: n });
          await this.render();
        } catch (e) {
          this.fail(e);
        }
      });
      return b;
    });
    return { body: [h("h2", {}, w.scaleTitle), h("p", { class: "muted" }, w.scaleHint), h("div", { class: "choices scales" }, ...choices)] };
  }

  // 6. Where each desk's ratings come from, with a live test.
  private async inputs(): Promise<StepView> {
    const tr = t();
    const w = tr.wizard;
    const desks = (await getJson<Desk[]>("/api/v1/desks")).filter((d) => d.active);
    const configs = await Promise.all(desks.map((d) => getJson<DeskInput>(`/api/v1/desks/${d.id}/input`)));
    const scale = this.settings.scale;
    const boxes = new Map<number, HTMLElement>();
    const states = new Map<number, HTMLElement>();
    const savers: (() => Promise<boolean>)[] = [];

    const showRating = (r: Rating) => {
      const box = boxes.get(r.desk_id);
      if (!box) return;
      const name = levelNames(r.scale)[r.score - 1] ?? String(r.score);
      box.className = "live-test got";
      box.replaceChildren(
        h("span", { class: "mini-face" }, face(r.score, r.scale)),
        h("span", {}, h("strong", {}, name), ` — ${fill(w.got, { score: r.score, scale: r.scale, time: time(r.at), source: r.source === "api" ? "API" : (tr.kinds[r.source] ?? r.source) })}`),
      );
      box.dataset.score = String(r.score);
    };
    const live = new Live({
      full: true,
      onState: () => {},
      onResync: () => {},
      onEvent(name, data) {
        if (name === "rating") showRating(data as Rating);
      },
    });
    this.cleanup.push(() => live.close());
    const poll = async () => {
      const list = await getJson<InputStatus[]>("/api/v1/inputs").catch(() => []);
      for (const [id, el] of states) {
        const st = list.find((x) => x.desk_id === id);
        const state = st?.state ?? "ready";
        el.replaceChildren(h("span", { class: `state ${state}` }), ` ${tr.states[state] ?? state}`, st?.error ? h("span", { class: "error" }, ` — ${st.error}`) : "");
      }
    };
    const timer = window.setInterval(() => void poll(), 3000);
    this.cleanup.push(() => window.clearInterval(timer));

    const rows = desks.map((d, i) => {
      const cfg = configs[i]!;
      let dirty = false;
      const kind = h(
        "select",
        { name: "kind", "aria-label": tr.input },
        ...(["panel", "keys", "serial", "api"] as const).map((k) => {
          const o = h("option", { value: k }, tr.kinds[k] ?? k);
          o.selected = k === cfg.kind;
          return o;
        }),
      );
      const example = Array.from({ length: scale }, (_, k) => `F${13 + k}`).join(" ");
      const keys = h("input", { name: "keys", value: (cfg.keys ?? []).join(" "), placeholder: example, "aria-label": tr.keysHint, class: "wide-input" });
      const path = h("input", { name: "path", value: cfg.path ?? "", placeholder: "/dev/ttyACM0, COM3", "aria-label": tr.port });
      const baud = h("input", { name: "baud", type: "number", value: String(cfg.baud ?? 9600), "aria-label": tr.baud });
      const keysRow = h("label", {}, h("span", {}, fill(w.keysFor, { n: scale })), keys);
      const serialRow = h("label", {}, h("span", {}, tr.port), h("span", { class: "inline" }, path, baud));
      const panelRow = h("p", { class: "muted" }, h("a", { href: `/rate/${d.id}`, target: "_blank" }, w.openPanel));
      const show = () => {
        keysRow.hidden = kind.value !== "keys";
        serialRow.hidden = kind.value !== "serial";
        panelRow.hidden = kind.value !== "panel";
      };
      kind.addEventListener("change", show);
      show();
      const state = h("span", { class: "input-state" });
      states.set(d.id, state);
      const box = h("div", { class: "live-test waiting", "data-testid": `input-test-${d.id}`, role: "status", "aria-live": "polite" }, w.pressNow);
      boxes.set(d.id, box);
      const save = async () => {
        const body: Record<string, unknown> = { kind: kind.value, debounce_ms: cfg.debounce_ms };
        if (kind.value === "keys") body.keys = keys.value.split(/[\s,]+/).filter(Boolean);
        if (kind.value === "serial") Object.assign(body, { path: path.value, baud: Number(baud.value) });
        try {
          await send("PUT", `/api/v1/desks/${d.id}/input`, body);
          dirty = false;
          this.say(`${d.name}: ${tr.saved}`, "ok");
          void poll();
          return true;
        } catch (e) {
          this.say(`${d.name}: ${tr.failed}${errorText(e)}`, "error");
          return false;
        }
      };
      savers.push(async () => (dirty ? save() : true));
      const saveButton = h("button", { type: "button", "data-action": "save-input" }, tr.save);
      saveButton.addEventListener("click", () => void save());
      const block = h(
        "fieldset",
        { class: "block settings wizard-desk", "data-input-desk": String(d.id) },
        h("legend", {}, d.name),
        h("label", {}, h("span", {}, tr.input), kind),
        keysRow,
        serialRow,
        panelRow,
        h("div", { class: "actions" }, saveButton, state),
        box,
      );
      block.addEventListener("input", () => (dirty = true));
      block.addEventListener("change", () => (dirty = true));
      return block;
    });
    void poll();
    return {
      body: [h("h2", {}, w.inputsTitle), h("p", { class: "muted" }, w.inputsHint), h("div", { class: "wizard-desks" }, ...rows)],
      next: async () => {
        for (const s of savers) if (!(await s())) return false;
        return true;
      },
    };
  }

  // 7. Cameras and microphones, with the frame and a level meter.
  private async devices(): Promise<StepView> {
    const tr = t();
    const w = tr.wizard;
    const desks = (await getJson<Desk[]>("/api/v1/desks")).filter((d) => d.active);
    const configs = await Promise.all(desks.map((d) => getJson<DeskEvidence>(`/api/v1/desks/${d.id}/evidence`)));
    const savers: (() => Promise<boolean>)[] = [];
    const rows = desks.map((d, i) => {
      const ev = configs[i]!;
      let dirty = false;
      const cam = ev.camera;
      const camKind = h(
        "select",
        { name: "camera", "aria-label": tr.camera },
        ...([["none", w.cameraNone], ["usb", w.cameraUsb], ["ip", w.cameraIp]] as const).map(([v, label]) => {
          const o = h("option", { value: v }, label);
          o.selected = v === (ev.photo && cam ? cam.kind : "none");
          return o;
        }),
      );
      const usb = h("input", { name: "usb", type: "number", min: "0", value: cam?.kind === "usb" ? String(cam.index) : "0", "aria-label": w.usbIndex });
      const url = h("input", { name: "url", value: cam?.kind === "ip" ? cam.url : "", placeholder: "http://10.0.0.20/snapshot.jpg", "aria-label": w.snapshotUrl, class: "wide-input" });
      const user = h("input", { name: "user", value: cam?.kind === "ip" ? (cam.user ?? "") : "", placeholder: tr.user, "aria-label": tr.user, autocomplete: "off" });
      const password = h("input", { name: "password", type: "password", placeholder: cam?.kind === "ip" && cam.has_password ? "••••••" : tr.password, "aria-label": tr.password, autocomplete: "new-password" });
      const usbRow = h("label", {}, h("span", {}, w.usbIndex), usb);
      const ipRows = h("div", { class: "settings" }, h("label", {}, h("span", {}, w.snapshotUrl), url), h("label", {}, h("span", {}, tr.user), h("span", { class: "inline" }, user, password)));
      const audio = h("input", { type: "checkbox", name: "audio" });
      audio.checked = ev.audio;
      const mic = h("input", { name: "microphone", value: ev.microphone ?? "", placeholder: w.micDefault, "aria-label": tr.microphone });
      const show = () => {
        usbRow.hidden = camKind.value !== "usb";
        ipRows.hidden = camKind.value !== "ip";
      };
      camKind.addEventListener("change", show);
      show();

      const save = async () => {
        const camera =
          camKind.value === "usb"
            ? { kind: "usb", index: Number(usb.value) || 0 }
            : camKind.value === "ip"
              ? { kind: "ip", url: url.value.trim(), user: user.value.trim() || null, ...(password.value ? { password: password.value } : {}) }
              : null;
        try {
          await send("PUT", `/api/v1/desks/${d.id}/evidence`, { photo: camera !== null, camera, audio: audio.checked, microphone: mic.value.trim() || null });
          dirty = false;
          password.value = "";
          this.say(`${d.name}: ${tr.saved}`, "ok");
          return true;
        } catch (e) {
          this.say(`${d.name}: ${tr.failed}${errorText(e)}`, "error");
          return false;
        }
      };
      savers.push(async () => (dirty ? save() : true));
      const saveButton = h("button", { type: "button", "data-action": "save-devices" }, tr.save);
      saveButton.addEventListener("click", () => void save());

      // The frame as the camera sees it now.
      const frame = h("div", { class: "frame", "data-testid": `camera-frame-${d.id}` });
      const see = h("button", { type: "button", "data-action": "see-frame" }, w.seeFrame);
      see.addEventListener("click", async () => {
        if (dirty && !(await save())) return;
        frame.replaceChildren(h("span", { class: "muted" }, "…"));
        try {
          const resp = await fetchRaw(`/api/v1/desks/${d.id}/camera/frame`);
          if (!resp.ok) throw await refusal(resp);
          const src = URL.createObjectURL(await resp.blob());
          const img = h("img", { src, alt: tr.camera, class: "evidence-photo" });
          img.addEventListener("load", () => window.setTimeout(() => URL.revokeObjectURL(src), 1000));
          frame.replaceChildren(img);
        } catch (e) {
          frame.replaceChildren(h("span", { class: "error" }, errorText(e)));
        }
      });

      // The level meter: a few readings a second while listening.
      const bar = h("span", {});
      const meter = h("div", { class: "meter", "data-testid": `mic-meter-${d.id}`, role: "meter", "aria-valuemin": "0", "aria-valuemax": "1" }, bar);
      const reading = h("span", { class: "muted meter-reading" });
      const micError = h("div", { class: "error mic-error" });
      const listen = h("button", { type: "button", "data-action": "listen" }, w.listen);
      let timer = 0;
      const stop = () => {
        window.clearInterval(timer);
        timer = 0;
        listen.textContent = w.listen;
        bar.style.width = "0";
      };
      this.cleanup.push(stop);
      listen.addEventListener("click", async () => {
        if (timer) return stop();
        if (dirty && !(await save())) return;
        listen.textContent = w.stopListening;
        reading.textContent = "";
        micError.className = "muted mic-error";
        micError.textContent = w.sayWord;
        let busy = false;
        timer = window.setInterval(async () => {
          if (busy) return;
          busy = true;
          try {
            const l = await getJson<MicLevel>(`/api/v1/desks/${d.id}/microphone/level`);
            const db = 20 * Math.log10(Math.max(l.level, 1e-5));
            const share = Math.min(1, Math.max(0, (db + 60) / 60));
            bar.style.width = `${Math.round(share * 100)}%`;
            bar.className = share > 0.85 ? "loud" : share > 0.25 ? "ok" : "";
            meter.setAttribute("aria-valuenow", l.level.toFixed(3));
            meter.dataset.level = l.level.toFixed(4);
            reading.textContent = `${Math.round(db)} dB`;
          } catch (e) {
            stop();
            reading.textContent = "";
            micError.className = "error mic-error";
            micError.textContent = errorText(e);
          } finally {
            busy = false;
          }
        }, 200);
      });

      const block = h(
        "fieldset",
        { class: "block settings wizard-desk", "data-devices-desk": String(d.id) },
        h("legend", {}, d.name),
        h("label", {}, h("span", {}, tr.camera), camKind),
        usbRow,
        ipRows,
        h("label", {}, h("span", {}, w.recordAudio), audio),
        h("label", {}, h("span", {}, tr.microphone), mic),
        h("div", { class: "actions" }, saveButton, see, listen),
        frame,
        h("div", { class: "meter-row" }, meter, reading),
        micError,
      );
      block.addEventListener("input", () => (dirty = true));
      block.addEventListener("change", () => (dirty = true));
      return block;
    });
    return {
      body: [h("h2", {}, w.devicesTitle), h("p", { class: "muted" }, w.devicesHint), h("p", { class: "notice" }, tr.notice), h("div", { class: "wizard-desks" }, ...rows)],
      next: async () => {
        for (const s of savers) if (!(await s())) return false;
        return true;
      },
    };
  }

  // 8. Telegram (a group paired with a code) and email (a test message): the console's blocks.
  private async channels(): Promise<StepView> {
    const tr = t();
    const w = tr.wizard;
    const tgMsg = h("p", { class: "status", "data-testid": "telegram-status" });
    const mailMsg = h("p", { class: "status", "data-testid": "email-status" });
    const blocks = h("div", { class: "notify-card notify-blocks wizard-channels" });
    const saved = async (where: HTMLElement) => !forms.dirty || forms.save(where, blocks);
    const forms: ChannelForms = new ChannelForms(await getJson<NotifyState>("/api/v1/notify"), {
      // A test sends what is typed; a code needs the bot running, so Telegram is switched on.
      async before(what) {
        if (what !== "pair") return saved(what === "email" ? mailMsg : tgMsg);
        if (!forms.state.telegram_token_set) {
          tgMsg.textContent = tr.notify.pairNeedsBot;
          tgMsg.className = "status error";
          return false;
        }
        forms.draft.telegram.enabled = true;
        enabled.checked = true;
        return saved(tgMsg);
      },
    });
    this.cleanup.push(() => forms.stop());
    const telegram = forms.telegramBlock();
    const email = forms.emailBlock();
    const enabled = telegram.querySelector<HTMLInputElement>('[data-field="telegram.enabled"]')!;
    telegram.querySelector("legend")?.after(h("p", { class: "muted" }, w.telegramHint));
    email.querySelector("legend")?.after(h("p", { class: "muted" }, w.emailHint));
    const saveMail = h("button", { type: "button", class: "primary", "data-action": "save-email" }, w.saveEmail);
    saveMail.addEventListener("click", () => void forms.save(mailMsg, blocks));
    telegram.append(tgMsg);
    email.append(h("div", { class: "actions" }, saveMail), mailMsg);
    blocks.append(telegram, email);
    return {
      body: [h("h2", {}, w.channelsTitle), h("p", { class: "muted" }, w.channelsHint), blocks],
      next: () => saved(mailMsg),
    };
  }

  // 9. Done: the setup counts as finished; start with the system; where to go now.
  private async done(): Promise<StepView> {
    const tr = t();
    const w = tr.wizard;
    if (!this.settings.setup_done) {
      this.settings = await send<Settings>("PATCH", "/api/v1/settings", { setup_done: true });
    }
    const [desks, registrars] = await Promise.all([getJson<Desk[]>("/api/v1/desks"), getJson<Registrar[]>("/api/v1/registrars")]);
    const auto = h("input", { type: "checkbox", "data-testid": "wizard-autostart" });
    auto.checked = this.settings.start_with_system;
    auto.addEventListener("change", async () => {
      try {
        await send("PATCH", "/api/v1/settings", { start_with_system: auto.checked });
        this.say(tr.saved, "ok");
      } catch (e) {
        this.fail(e);
      }
    });
    const s = this.settings;
    return {
      body: [
        h("h2", {}, w.doneTitle),
        h("p", {}, w.doneHint),
        h(
          "ul",
          { class: "summary", "data-testid": "wizard-summary" },
          h("li", {}, `${tr.clinicName}: `, h("strong", {}, s.clinic_name), ` (${s.timezone.replace(/_/g, " ")})`),
          h("li", {}, `${tr.desks}: `, h("strong", {}, desks.map((d) => d.name).join(", "))),
          h("li", {}, `${tr.registrars}: `, h("strong", {}, registrars.map((r) => r.name).join(", ") || "—")),
          h("li", {}, `${w.stepNames[4]}: `, h("strong", {}, plural(s.scale, w.levelsN))),
        ),
        h("label", { class: "check big-check" }, auto, " ", w.startWithSystem),
        h("div", { class: "actions" }, h("a", { href: "/display", target: "_blank", "data-testid": "link-display" }, w.openDisplay), h("a", { href: "/admin", "data-testid": "link-console" }, w.openConsole)),
      ],
    };
  }
}
