// The supervisor console: registrars and desks, who is where now, today's live counts, contested
// ratings, the supervisors, and the settings. Each supervisor logs in with their own name and
// password; the login lives in this tab only.

import { ApiError, consoleToken, getJson, Live, send, type ConsoleState, type ContestView, type Desk, type DeskEvidence, type DeskInput, type Health, type Media, mediaUrl, type InputStatus, type Leaderboard, type Rating, type RatingPage, type Registrar, type Settings, type Supervisor, type Login } from "./api";
import { h, levelBar } from "./dom";
import { reportsCard } from "./reports";
import { notifyCards } from "./notify";
import { maintenanceCard } from "./maintenance";
import { healthCard } from "./health";
import { consoleSetup } from "./wizard";
import { panelsCard } from "./pairing";
import { hubCard } from "./uplink";
import { dateTime, LANGS, levelColor, levelNames, num, percent, setLanguage, t, tooManyTries } from "./i18n";

export async function mountAdmin(root: HTMLElement) {
  const main = h("main", { class: "admin" });
  root.replaceChildren(main);
  const state = await getJson<ConsoleState>("/api/v1/console");
  if (state.logged_in_as) return openConsole(main, state.logged_in_as);
  consoleToken.set(null);
  gate(main, state);
}

/** The login, or the first supervisor on the reception PC itself. */
function gate(main: HTMLElement, state: ConsoleState) {
  const tr = t();
  const name = h("input", { name: "name", autocomplete: "username", "aria-label": tr.yourName, placeholder: tr.yourName, maxlength: "100", required: "" });
  const password = h("input", { type: "password", autocomplete: state.password_set ? "current-password" : "new-password", "aria-label": tr.password, placeholder: tr.password });
  const msg = h("p", { class: "status", role: "status" });
  const setUp = !state.password_set;
  if (setUp && !state.can_set_up) {
    main.replaceChildren(h("h1", {}, tr.admin), h("p", { class: "status" }, tr.setPasswordRemote));
    return;
  }
  const form = h(
    "form",
    { class: "login" },
    h("h1", {}, tr.admin),
    setUp ? h("p", {}, tr.setPassword) : null,
    name,
    password,
    h("button", { type: "submit", class: "primary" }, setUp ? tr.save : tr.login),
    msg,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      if (setUp) await send("POST", "/api/v1/console/password", { name: name.value, password: password.value });
      const login = await send<Login>("POST", "/api/v1/console/login", { name: name.value, password: password.value });
      consoleToken.set(login.token);
      openConsole(main, login.name);
    } catch (e) {
      msg.textContent =
        e instanceof ApiError && e.code === "forbidden" ? `${tr.failed}${tr.wrongLogin}` : e instanceof ApiError && e.code === "too_soon" ? `${tr.failed}${tooManyTries(e.retryAfter)}` : `${tr.failed}${e instanceof Error ? e.message : e}`;
      msg.className = "status error";
    }
  });
  main.replaceChildren(form);
  name.focus();
}

function openConsole(main: HTMLElement, me: string) {
  const tr = t();
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const today = h("section", { class: "card" });
  const desks = h("section", { class: "card" });
  const contests = h("section", { class: "card" });
  const people = h("section", { class: "card" });
  const supervisorsCard = h("section", { class: "card", "data-card": "supervisors" });
  const settingsCard = h("section", { class: "card" });
  const inputsCard = h("section", { class: "card" });
  const flaggedCard = h("section", { class: "card" });
  const evidenceCard = h("section", { class: "card" });
  const recentCard = h("section", { class: "card" });
  const reportCard = h("section", { class: "card wide" });
  reportsCard(reportCard);
  const alertsCard = h("section", { class: "card", "data-card": "alerts" });
  const outboxCard = h("section", { class: "card", "data-card": "outbox" });
  const notifyCard = h("section", { class: "card full-row", "data-card": "notify" });
  notifyCards(alertsCard, notifyCard, outboxCard);
  const logout = h("button", { type: "button", class: "secondary" }, tr.logout);
  logout.addEventListener("click", async () => {
    await send("POST", "/api/v1/console/logout", {}).catch(() => {});
    consoleToken.set(null);
    location.reload();
  });
  main.replaceChildren(
    h("header", {}, h("h1", {}, tr.admin), h("span", { class: "muted", "data-testid": "logged-in-as" }, tr.loggedInAs.replace("{name}", me)), logout),
    status,
    h("div", { class: "grid" }, today, desks, contests, flaggedCard, recentCard, people, supervisorsCard, inputsCard, evidenceCard, settingsCard, reportCard, alertsCard, outboxCard, healthCard(), notifyCard),
  );
  main.querySelector(".grid")?.append(maintenanceCard());
  const pairingCard = h("section", { class: "card", "data-card": "panels" });
  panelsCard(pairingCard);
  main.querySelector(".grid")?.append(pairingCard, hubCard());
  // A fresh installation goes to the setup wizard; otherwise: the settings file, the demo banner.
  void consoleSetup(main);

  const act = async (what: () => Promise<unknown>) => {
    try {
      await what();
      status.textContent = "";
      status.className = "status";
    } catch (e) {
      status.textContent = `${tr.failed}${e instanceof Error ? e.message : e}`;
      status.className = "status error";
    }
  };
  // Live updates redraw a card unless someone is typing in it.
  const busy = (card: HTMLElement) => card.contains(document.activeElement) && document.activeElement !== document.body && document.activeElement?.tagName !== "BUTTON";

  const drawToday = async () => {
    const lb = await getJson<Leaderboard>("/api/v1/leaderboard?period=today");
    today.replaceChildren(
      h("h2", {}, tr.todayLive),
      h(
        "p",
        { class: "figures" },
        `${tr.total}: `,
        h("strong", { "data-testid": "admin-total" }, num(lb.totals.count)),
        ` · ${tr.satisfaction.toLowerCase()} `,
        h("strong", {}, percent(lb.totals.satisfaction)),
        lb.totals.flagged ? ` · ${tr.flagged.toLowerCase()}: ${num(lb.totals.flagged)}` : "",
      ),
      levelBar(lb.totals.levels, lb.scale),
      h("ol", { class: "mini-board" }, ...lb.entries.map((e) => h("li", {}, `${e.name} — ${num(e.count)} · ${percent(e.satisfaction)}`))),
    );
  };

  const drawDesks = async (list: Desk[]) => {
    if (busy(desks)) return;
    const name = h("input", { placeholder: tr.desk, "aria-label": tr.desk, maxlength: "100" });
    const add = h("form", { class: "inline" }, name, h("button", { type: "submit" }, tr.add));
    add.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void act(() => send("POST", "/api/v1/desks", { name: name.value }));
    });
    desks.replaceChildren(
      h("h2", {}, tr.nowAtDesks),
      h(
        "table",
        {},
        ...list.map((d) =>
          h(
            "tr",
            { class: d.active ? "" : "inactive", "data-desk": String(d.id) },
            h("td", {}, editableName(d.name, (n) => act(() => send("PATCH", `/api/v1/desks/${d.id}`, { name: n })))),
            h("td", {}, d.session ? d.session.registrar_name : h("span", { class: "muted" }, tr.nobodyAtDesk)),
            h("td", {}, h("a", { href: `/desk/${d.id}` }, tr.deskPanel), " · ", h("a", { href: `/rate/${d.id}` }, tr.patientPanel)),
            h("td", {}, armedBox(d)),
            h("td", {}, toggle(d.active, () => act(() => send("PATCH", `/api/v1/desks/${d.id}`, { active: !d.active })))),
          ),
        ),
      ),
      add,
    );
  };

  const armedBox = (d: Desk) => {
    const box = h("input", { type: "checkbox", "data-testid": `armed-${d.id}` }) as HTMLInputElement;
    box.checked = d.armed;
    box.addEventListener("change", () => void act(() => send("PATCH", `/api/v1/desks/${d.id}`, { armed: box.checked })));
    return h("label", { class: "check", title: tr.armed }, box, ` ${tr.armed}`);
  };

  const drawPeople = async (list: Registrar[]) => {
    if (busy(people)) return;
    const name = h("input", { placeholder: tr.name, "aria-label": tr.name, maxlength: "100" });
    const add = h("form", { class: "inline" }, name, h("button", { type: "submit" }, tr.add));
    add.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void act(() => send("POST", "/api/v1/registrars", { name: name.value }));
    });
    people.replaceChildren(
      h("h2", {}, tr.registrars),
      h(
        "table",
        {},
        ...list.map((r) => {
          const pin = h("input", { type: "password", inputmode: "numeric", maxlength: "8", placeholder: tr.setPin, "aria-label": tr.setPin, class: "pin" });
          const setPin = h("form", { class: "inline" }, pin, h("button", { type: "submit" }, tr.save));
          setPin.addEventListener("submit", (ev) => {
            ev.preventDefault();
            void act(() => send("PATCH", `/api/v1/registrars/${r.id}`, { pin: pin.value }));
          });
          const removePin = h("button", { type: "button", class: "link" }, tr.removePin);
          removePin.addEventListener("click", () => void act(() => send("PATCH", `/api/v1/registrars/${r.id}`, { pin: null })));
          return h(
            "tr",
            { class: r.active ? "" : "inactive", "data-registrar": String(r.id) },
            h("td", {}, editableName(r.name, (n) => act(() => send("PATCH", `/api/v1/registrars/${r.id}`, { name: n })))),
            h("td", { class: "muted" }, r.active ? (r.has_pin ? tr.hasPin : "") : tr.inactive),
            h("td", {}, setPin, r.has_pin ? removePin : null),
            h("td", {}, toggle(r.active, () => act(() => send("PATCH", `/api/v1/registrars/${r.id}`, { active: !r.active })))),
          );
        }),
      ),
      add,
    );
  };

  const drawSupervisors = async () => {
    if (busy(supervisorsCard)) return;
    const list = await getJson<Supervisor[]>("/api/v1/supervisors");
    const rows = list.map((p) => {
      const mine = p.name.toLowerCase() === me.toLowerCase();
      const remove = h("button", { type: "button", class: "link", "data-action": "remove-supervisor" }, tr.removeSupervisor);
      remove.addEventListener("click", () => {
        if (confirm(tr.confirmRemoveSupervisor.replace("{name}", p.name))) void act(() => send("DELETE", `/api/v1/supervisors/${p.id}`).then(drawSupervisors));
      });
      return h("tr", { "data-supervisor": String(p.id) }, h("td", {}, p.name), h("td", { class: "muted" }, mine ? tr.you : ""), h("td", {}, mine || list.length < 2 ? null : remove));
    });
    const name = h("input", { name: "supervisor-name", placeholder: tr.supervisorName, "aria-label": tr.supervisorName, maxlength: "100" });
    const first = h("input", { name: "supervisor-password", type: "password", autocomplete: "new-password", placeholder: tr.firstPassword, "aria-label": tr.firstPassword });
    const add = h("form", { class: "inline", "data-form": "add-supervisor" }, name, first, h("button", { type: "submit" }, tr.add));
    add.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void act(async () => {
        await send("POST", "/api/v1/supervisors", { name: name.value, password: first.value });
        (document.activeElement as HTMLElement | null)?.blur();
        await drawSupervisors();
      });
    });
    const current = h("input", { name: "current-password", type: "password", autocomplete: "current-password", placeholder: tr.currentPassword, "aria-label": tr.currentPassword });
    const next = h("input", { name: "new-password", type: "password", autocomplete: "new-password", placeholder: tr.newPassword, "aria-label": tr.newPassword });
    const change = h("form", { class: "inline", "data-form": "change-password" }, current, next, h("button", { type: "submit" }, tr.save));
    change.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void act(async () => {
        await send("POST", "/api/v1/console/password", { password: next.value, current: current.value });
        // The change logs this console out: back to the login.
        consoleToken.set(null);
        alert(tr.passwordChanged);
        location.reload();
      });
    });
    supervisorsCard.replaceChildren(
      h("h2", {}, tr.supervisors),
      h("p", { class: "muted" }, tr.supervisorsHint),
      h("table", {}, ...rows),
      add,
      h("h3", {}, tr.changeOwnPassword),
      change,
    );
  };

  const drawContests = async () => {
    const list = await getJson<ContestView[]>("/api/v1/contests");
    const rows = list.map((c) => {
      const dot = h("span", { class: "dot" });
      dot.style.background = levelColor(c.rating.score, c.rating.scale);
      const decide = (decision: "uphold" | "annul", label: string, cls: string) => {
        const b = h("button", { type: "button", class: cls, "data-decision": decision }, label);
        b.addEventListener("click", () => void act(() => send("POST", `/api/v1/contests/${c.id}/decision`, { decision })));
        return b;
      };
      return h(
        "li",
        { "data-contest": String(c.id) },
        dot,
        ` ${levelNames(c.rating.scale)[c.rating.score - 1] ?? c.rating.score} · ${c.registrar_name} · ${c.desk_name} · ${dateTime(c.rating.at)} `,
        reasonTag(c.rating),
        h("blockquote", {}, c.comment),
        decide("uphold", tr.uphold, "secondary"),
        decide("annul", tr.annul, "danger"),
      );
    });
    contests.replaceChildren(h("h2", {}, tr.contests), rows.length ? h("ul", { class: "contests" }, ...rows) : h("p", { class: "muted" }, tr.noContests));
  };

  const drawSettings = async () => {
    if (busy(settingsCard)) return;
    const [s, atRestart] = await Promise.all([getJson<Settings>("/api/v1/settings"), getJson<string[]>("/api/v1/settings/applies-at-restart")]);
    // Every setting applies once saved, except those the engine lists: they say so.
    const field = (label: string, input: HTMLElement) => {
      const names = [input, ...input.querySelectorAll("[name]")].map((el) => el.getAttribute("name"));
      const later = names.some((n) => n !== null && atRestart.includes(n));
      return h("label", {}, h("span", {}, label, later ? h("small", { class: "muted", "data-applies": "restart" }, ` (${tr.appliesAtRestart})`) : null), input);
    };
    const text = (key: keyof Settings, type = "text") => h("input", { name: key, type, value: String(s[key]) });
    const check = (key: keyof Settings) => {
      const c = h("input", { name: key, type: "checkbox" });
      c.checked = Boolean(s[key]);
      return c;
    };
    const select = (key: keyof Settings, options: [string, string][]) =>
      h("select", { name: key }, ...options.map(([v, label]) => {
        const o = h("option", { value: v }, label);
        o.selected = String(s[key]) === v;
        return o;
      }));
    // One reason a line, `code | ru | en | es`: short enough to edit without a table editor.
    const reasonsText = h("textarea", { name: "reasons", rows: String(Math.max(3, s.reasons.length + 1)), spellcheck: "false" });
    reasonsText.value = s.reasons.map((r) => [r.code, r.labels.ru, r.labels.en, r.labels.es].join(" | ")).join("\n");
    const form = h(
      "form",
      { class: "settings" },
      field(tr.language, select("language", Object.entries(LANGS).map(([k, v]) => [k, v.label]))),
      field(tr.clinicName, text("clinic_name")),
      field(tr.displayPeriod, select("display_period", [["today", tr.today], ["week", tr.week], ["month", tr.month]])),
      field(tr.rotate, text("display_rotate_secs", "number")),
      field(tr.minRatings, text("min_ratings", "number")),
      field(tr.initials, check("display_initials")),
      field(tr.hideUnranked, check("display_hide_unranked")),
      field(tr.lockout, text("panel_lockout_secs", "number")),
      field(tr.reasonsEnabled, check("reasons_enabled")),
      field(tr.reasonsTimeout, text("reasons_timeout_secs", "number")),
      field(tr.reasonsList, reasonsText),
      field(tr.retention, h("span", { class: "inline" }, text("photo_retention_days", "number"), text("audio_retention_days", "number"))),
      field(tr.kiosk, check("kiosk_display")),
      field(tr.kioskMonitor, text("kiosk_monitor", "number")),
      field(tr.listen, text("listen")),
      h("button", { type: "submit", class: "primary" }, tr.save),
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const patch: Record<string, unknown> = {};
      for (const el of form.querySelectorAll<HTMLInputElement | HTMLSelectElement>("input, select")) {
        const key = el.name;
        if (el instanceof HTMLInputElement && el.type === "checkbox") patch[key] = el.checked;
        else if (el instanceof HTMLInputElement && el.type === "number") patch[key] = Number(el.value);
        else patch[key] = el.value;
      }
      // Checked by the engine, which names a bad line's problem (an empty label, a code twice).
      patch.reasons = reasonsText.value
        .split("\n")
        .filter((line) => line.trim())
        .map((line) => {
          const [code = "", ru = "", en = "", es = ""] = line.split("|").map((x) => x.trim());
          return { code, labels: { ru, en, es } };
        });
      void act(async () => {
        const saved = await send<Settings>("PATCH", "/api/v1/settings", patch);
        if (saved.language !== s.language) {
          setLanguage(saved.language);
          location.reload();
        }
        status.textContent = tr.saved;
      }).then(() => {
        if (status.textContent === tr.saved) window.setTimeout(() => (status.textContent = ""), 3000);
      });
    });
    settingsCard.replaceChildren(h("h2", {}, tr.settings), form);
  };

  const drawInputs = async () => {
    if (busy(inputsCard)) return;
    const [list, states] = await Promise.all([getJson<Desk[]>("/api/v1/desks"), getJson<InputStatus[]>("/api/v1/inputs")]);
    const settings = await Promise.all(list.map((d) => getJson<DeskInput>(`/api/v1/desks/${d.id}/input`)));
    const rows = list.map((d, i) => {
      const cfg = settings[i]!;
      const st = states.find((x) => x.desk_id === d.id);
      const state = st?.state ?? "ready";
      const dot = h("span", { class: `state ${state}`, title: tr.states[state] ?? state });
      const edit = h("button", { type: "button", class: "link" }, tr.setup);
      const row = h(
        "tr",
        { "data-input": String(d.id) },
        h("td", {}, d.name),
        h("td", {}, dot, ` ${tr.kinds[cfg.kind]}`, cfg.kind === "keys" || cfg.kind === "serial" ? h("small", { class: "muted" }, ` ${st?.detail ?? ""}`) : null),
        h("td", { class: "muted" }, tr.states[state] ?? state, st?.error ? h("div", { class: "error" }, st.error) : null),
        h("td", {}, edit),
      );
      edit.addEventListener("click", () => row.after(inputForm(cfg)));
      return row;
    });
    inputsCard.replaceChildren(h("h2", {}, tr.input), h("table", {}, ...rows));
  };

  const inputForm = (cfg: DeskInput) => {
    const kind = h("select", { name: "kind", "aria-label": tr.input }, ...Object.entries(tr.kinds).map(([k, label]) => {
      const o = h("option", { value: k }, label);
      o.selected = k === cfg.kind;
      return o;
    }));
    const keys = h("input", { name: "keys", value: (cfg.keys ?? []).join(" "), placeholder: "ctrl+alt+shift+Digit1 …", "aria-label": tr.keysHint, title: tr.keysHint });
    const path = h("input", { name: "path", value: cfg.path ?? "", placeholder: "/dev/ttyACM0, COM3", "aria-label": tr.port });
    const baud = h("input", { name: "baud", type: "number", value: String(cfg.baud ?? 9600), "aria-label": tr.baud });
    const debounce = h("input", { name: "debounce_ms", type: "number", value: String(cfg.debounce_ms), "aria-label": tr.debounce });
    const serveKey = h("input", { name: "serve_key", value: cfg.serve_key ?? "", placeholder: "ctrl+alt+shift+Digit4", "aria-label": tr.serveKey, title: tr.serveKey });
    const keysRow = h("div", {}, h("label", {}, h("span", {}, tr.keysHint), keys), h("label", {}, h("span", {}, tr.serveKey), serveKey));
    const serialRow = h("div", { class: "inline" }, h("label", {}, h("span", {}, tr.port), path), h("label", {}, h("span", {}, tr.baud), baud));
    const show = () => {
      keysRow.hidden = kind.value !== "keys";
      serialRow.hidden = kind.value !== "serial";
    };
    kind.addEventListener("change", show);
    show();
    const form = h("form", { class: "settings input-form" }, kind, keysRow, serialRow, h("label", {}, h("span", {}, tr.debounce), debounce), h("button", { type: "submit", class: "primary" }, tr.save));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const body: Record<string, unknown> = { kind: kind.value, debounce_ms: Number(debounce.value) };
      if (kind.value === "keys") {
        body.keys = keys.value.split(/[\s,]+/).filter(Boolean);
        if (serveKey.value.trim()) body.serve_key = serveKey.value.trim();
      }
      if (kind.value === "serial") Object.assign(body, { path: path.value, baud: Number(baud.value) });
      void act(async () => {
        await send("PUT", `/api/v1/desks/${cfg.desk_id}/input`, body);
        (document.activeElement as HTMLElement | null)?.blur();
        form.remove();
        void drawInputs();
      });
    });
    return h("tr", {}, h("td", { colspan: "4" }, form));
  };

  const drawEvidence = async () => {
    if (busy(evidenceCard)) return;
    const list = await getJson<Desk[]>("/api/v1/desks");
    const configs = await Promise.all(list.map((d) => getJson<DeskEvidence>(`/api/v1/desks/${d.id}/evidence`)));
    const health = await getJson<Pick<Health, "devices">>("/healthz").catch(() => ({ devices: [] }));
    const rows = list.map((d, i) => {
      const ev = configs[i]!;
      const words = [ev.photo ? tr.photo : "", ev.audio ? tr.audio : ""].filter(Boolean).join(" + ") || tr.evidenceOff;
      const edit = h("button", { type: "button", class: "link" }, tr.setup);
      const devices = health.devices
        .filter((x) => x.desk_id === d.id)
        .map((x) => h("div", { class: "device" }, h("span", { class: `state ${x.state}`, title: tr.states[x.state] ?? x.state }), ` ${x.kind === "camera" ? tr.camera : tr.microphone.split(" (")[0]}: ${tr.states[x.state] ?? x.state}`, x.error ? h("div", { class: "error" }, x.error) : null));
      const row = h("tr", { "data-evidence": String(d.id) }, h("td", {}, d.name), h("td", {}, words, ...devices), h("td", {}, edit));
      edit.addEventListener("click", () => row.after(evidenceForm(ev)));
      return row;
    });
    const anyOn = configs.some((c) => c.photo || c.audio);
    evidenceCard.replaceChildren(h("h2", {}, tr.evidence), ...(anyOn ? [h("p", { class: "notice" }, tr.notice)] : []), h("table", {}, ...rows));
  };

  const evidenceForm = (ev: DeskEvidence) => {
    const check = (name: string, on: boolean) => {
      const c = h("input", { type: "checkbox", name });
      c.checked = on;
      return c;
    };
    const photo = check("photo", ev.photo);
    const audio = check("audio", ev.audio);
    const ip = ev.camera?.kind === "ip" ? ev.camera : null;
    const url = h("input", { name: "url", value: ip?.url ?? "", placeholder: "http://10.0.0.20/snapshot.jpg", "aria-label": tr.cameraIp });
    const user = h("input", { name: "user", value: ip?.user ?? "", "aria-label": tr.user, placeholder: tr.user });
    const password = h("input", { name: "password", type: "password", placeholder: ip?.has_password ? "••••••" : tr.password, "aria-label": tr.password });
    const usb = h("input", { name: "usb", type: "number", value: ev.camera?.kind === "usb" ? String(ev.camera.index) : "", "aria-label": tr.cameraUsb });
    const mic = h("input", { name: "microphone", value: ev.microphone ?? "", "aria-label": tr.microphone });
    const form = h(
      "form",
      { class: "settings evidence-form" },
      h("label", {}, h("span", {}, tr.photo), photo),
      h("label", {}, h("span", {}, tr.cameraIp), url),
      h("div", { class: "inline" }, user, password),
      h("label", {}, h("span", {}, tr.cameraUsb), usb),
      h("label", {}, h("span", {}, tr.audio), audio),
      h("label", {}, h("span", {}, tr.microphone), mic),
      h("button", { type: "submit", class: "primary" }, tr.save),
    );
    form.addEventListener("submit", (ev2) => {
      ev2.preventDefault();
      const camera = url.value.trim()
        ? { kind: "ip", url: url.value.trim(), user: user.value.trim() || null, ...(password.value ? { password: password.value } : {}) }
        : usb.value !== ""
          ? { kind: "usb", index: Number(usb.value) }
          : null;
      void act(async () => {
        await send("PUT", `/api/v1/desks/${ev.desk_id}/evidence`, { photo: photo.checked, audio: audio.checked, camera, microphone: mic.value.trim() || null });
        (document.activeElement as HTMLElement | null)?.blur();
        form.remove();
        void drawEvidence();
      });
    });
    return h("tr", {}, h("td", { colspan: "3" }, form));
  };

  const showEvidence = async (r: Rating, into: HTMLElement) => {
    const media = await getJson<Media[]>(`/api/v1/ratings/${r.id}/evidence`);
    into.replaceChildren();
    for (const m of media) {
      if (m.state !== "saved" || !m.url) {
        into.append(h("p", { class: "muted" }, `${m.kind === "photo" ? tr.photo : tr.audio}: ${m.state === "purged" ? tr.purged : tr.missing}${m.reason ? ` (${m.reason})` : ""}`));
        continue;
      }
      const src = await mediaUrl(m.url);
      into.append(m.kind === "photo" ? h("img", { src, class: "evidence-photo", alt: tr.photo }) : h("audio", { src, controls: "", class: "evidence-audio" }));
    }
  };

  const drawRecent = async () => {
    if (busy(recentCard)) return;
    const page = await getJson<RatingPage>("/api/v1/ratings?limit=1000");
    const deskNames = new Map((await getJson<Desk[]>("/api/v1/desks")).map((d) => [d.id, d.name]));
    const items = page.items.slice(-12).reverse().map((r) => {
      const dot = h("span", { class: "dot" });
      dot.style.background = levelColor(r.score, r.scale);
      const box = h("div", { class: "evidence" });
      const show = h("button", { type: "button", class: "link" }, tr.show);
      show.addEventListener("click", () => void act(() => showEvidence(r, box)));
      return h("li", { "data-rating": String(r.id) }, dot, ` ${dateTime(r.at)} · ${deskNames.get(r.desk_id) ?? r.desk_id} `, reasonTag(r), show, box);
    });
    recentCard.replaceChildren(h("h2", {}, tr.recent), h("ul", { class: "contests" }, ...items));
  };

  const drawFlagged = async () => {
    const lb = await getJson<Leaderboard>("/api/v1/leaderboard?period=today");
    const page = await getJson<RatingPage>(`/api/v1/ratings?flagged=true&limit=100&from=${encodeURIComponent(lb.from)}`);
    const names = new Map(lb.entries.map((e) => [e.registrar_id, e.name]));
    const deskNames = new Map((await getJson<Desk[]>("/api/v1/desks")).map((d) => [d.id, d.name]));
    const item = (r: Rating) => {
      const dot = h("span", { class: "dot" });
      dot.style.background = levelColor(r.score, r.scale);
      return h(
        "li",
        { "data-flagged": String(r.id) },
        dot,
        ` ${dateTime(r.at)} · ${deskNames.get(r.desk_id) ?? r.desk_id} · ${r.registrar_id ? names.get(r.registrar_id) ?? "" : tr.nobodyAtDesk} — `,
        h("em", { class: "flag" }, tr.flags[r.flag ?? ""] ?? r.flag),
        " ",
        reasonTag(r),
      );
    };
    flaggedCard.replaceChildren(
      h("h2", {}, tr.flagged),
      page.items.length ? h("ul", { class: "contests" }, ...page.items.reverse().map(item)) : h("p", { class: "muted" }, tr.noFlagged),
    );
  };

  const refresh = async (what: Set<string>) => {
    const jobs: Promise<unknown>[] = [];
    if (what.has("today")) jobs.push(drawToday());
    if (what.has("desks")) jobs.push(getJson<Desk[]>("/api/v1/desks").then(drawDesks));
    if (what.has("people")) jobs.push(getJson<Registrar[]>("/api/v1/registrars").then(drawPeople));
    if (what.has("contests")) jobs.push(drawContests());
    if (what.has("settings")) jobs.push(drawSettings());
    if (what.has("inputs")) jobs.push(drawInputs());
    if (what.has("flagged")) jobs.push(drawFlagged());
    if (what.has("evidence")) jobs.push(drawEvidence());
    if (what.has("recent")) jobs.push(drawRecent());
    if (what.has("supervisors")) jobs.push(drawSupervisors());
    await Promise.all(jobs).catch((e) => {
      if (e instanceof ApiError && e.status === 401) {
        consoleToken.set(null);
        location.reload();
      }
    });
  };
  const everything = () => new Set(["today", "desks", "people", "contests", "settings", "inputs", "flagged", "evidence", "recent", "supervisors"]);
  new Live({
    full: true,
    onState: () => {},
    onResync: () => void refresh(everything()),
    onEvent(name) {
      const what: Record<string, string[]> = {
        leaderboard: ["today", "flagged", "recent"],
        evidence: ["evidence"],
        session: ["desks", "people"],
        desk: ["desks", "inputs"],
        input: ["inputs"],
        registrar: ["people", "desks"],
        contest: ["contests"],
        reason: ["recent", "flagged", "contests"],
        correction: ["contests", "today"],
        settings: ["settings", "today"],
      };
      if (what[name]) void refresh(new Set(what[name]));
    },
  });
  void refresh(everything());
  // Devices come and go without events (a box unplugged): their state is polled.
  window.setInterval(() => void refresh(new Set(["inputs", "evidence"])), 5000);
}

/** A rating's reason, as the patient picked it, or nothing. */
function reasonTag(r: Rating) {
  return r.reason ? h("em", { class: "reason-label", "data-reason": r.reason.code, title: t().reason }, r.reason.label) : "";
}

function editableName(name: string, save: (n: string) => Promise<unknown>) {
  const tr = t();
  const span = h("span", {}, name);
  const edit = h("button", { type: "button", class: "link", title: tr.rename, "aria-label": tr.rename }, "✎");
  const cell = h("span", { class: "name" }, span, " ", edit);
  edit.addEventListener("click", () => {
    const input = h("input", { value: name, "aria-label": tr.newName, maxlength: "100" });
    const form = h("form", { class: "inline" }, input, h("button", { type: "submit" }, tr.save));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      input.blur();
      void save(input.value);
    });
    cell.replaceChildren(form);
    input.focus();
  });
  return cell;
}

function toggle(active: boolean, flip: () => Promise<unknown>) {
  const tr = t();
  const b = h("button", { type: "button", class: active ? "secondary" : "primary" }, active ? tr.deactivate : tr.activate);
  b.addEventListener("click", () => void flip());
  return b;
}
