// The registrar's panel at a desk: start and end the shift in two clicks, see today's own figures
// and own low ratings, and contest one that was not deserved. At a desk whose patients press a
// button remote or a serial box, the panel also offers the reasons for the last low rating, so
// the patient can pick one there.

import { ApiError, getJson, Live, send, type Desk, type Leaderboard, type LowRating, type PublicSettings, type Registrar } from "./api";
import { h, levelBar } from "./dom";
import { currentLang, num, percent, plural, t, time, levelColor, levelNames, tooManyTries } from "./i18n";
import { panelAccess } from "./pairing";

export async function mountDesk(root: HTMLElement, deskId: number) {
  const tr = t();
  const token = await panelAccess(root, deskId, "registrar");
  const main = h("main", { class: "desk-panel" });
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
  root.replaceChildren(main);
  let picked: number | null = null;
  let editing = false; // a form is open: live updates must not wipe what is being typed
  let reasonTimer = 0; // hides the reasons when their window closes

  const fail = (e: unknown) => {
    status.textContent =
      e instanceof ApiError && e.code === "forbidden" ? tr.wrongPin : e instanceof ApiError && e.code === "too_soon" ? `${tr.failed}${tooManyTries(e.retryAfter)}` : `${tr.failed}${e instanceof Error ? e.message : e}`;
    status.className = "status error";
  };

  const pinInput = () => h("input", { type: "password", inputmode: "numeric", autocomplete: "off", maxlength: "8", placeholder: tr.pin, "aria-label": tr.pin, class: "pin" });

  const render = async () => {
    let desk: Desk;
    let registrars: Registrar[];
    try {
      [desk, registrars] = await Promise.all([getJson<Desk>(`/api/v1/desks/${deskId}`), getJson<Registrar[]>("/api/v1/registrars")]);
    } catch (e) {
      main.replaceChildren(h("h1", {}, e instanceof ApiError && e.status === 404 ? tr.noSuchDesk : `${tr.failed}${e}`));
      return;
    }
    const heading = h("header", {}, h("h1", {}, `${desk.name}`), h("span", { class: "muted" }, tr.deskPanel));
    if (!desk.active) {
      main.replaceChildren(heading, h("p", { class: "status error" }, tr.deskOff));
      return;
    }
    const session = desk.session;
    if (!session) {
      main.replaceChildren(heading, status, ...pickYourself(registrars.filter((r) => r.active)));
      return;
    }
    const me = registrars.find((r) => r.id === session.registrar_id);
    const pin = me?.has_pin ? pinInput() : null;
    const end = h("button", { type: "button", class: "secondary", "data-testid": "end-shift" }, tr.endShift);
    end.addEventListener("click", async () => {
      try {
        await send("POST", `/api/v1/desks/${deskId}/checkout`, { pin: pin?.value || null }, token);
        status.textContent = "";
      } catch (e) {
        fail(e);
      }
    });
    // An armed desk counts presses only while its registrar says a patient is being served.
    let serving: HTMLElement | null = null;
    if (desk.armed) {
      const on = desk.serving != null;
      const b = h("button", { type: "button", class: on ? "secondary serving" : "primary", "data-testid": "serving", "aria-pressed": String(on) }, on ? tr.servingEnd : tr.servingStart);
      b.addEventListener("click", async () => {
        try {
          await send("POST", `/api/v1/desks/${deskId}/serving`, { serving: !on }, token);
          status.textContent = "";
        } catch (e) {
          fail(e);
        }
      });
      serving = h("div", { class: "actions" }, b, desk.serving ? h("span", { class: "muted", "data-testid": "serving-since" }, `${tr.servingSince} ${time(desk.serving.since)}`) : null);
    }
    const [board, lows, settings] = await Promise.all([
      getJson<Leaderboard>("/api/v1/leaderboard?period=today"),
      send<LowRating[]>("GET", `/api/v1/registrars/${session.registrar_id}/low-ratings`, undefined, token),
      getJson<PublicSettings>("/api/v1/settings/public"),
    ]);
    const mine = board.entries.find((e) => e.registrar_id === session.registrar_id);
    main.replaceChildren(
      heading,
      h(
        "section",
        { class: "who" },
        h("h2", { "data-testid": "on-shift" }, session.registrar_name),
        h("span", { class: "muted" }, `${tr.atDeskSince} ${time(session.started_at)}`),
        h("div", { class: "actions" }, pin, end),
        serving,
      ),
      status,
      reasonPrompt(lows, settings) ?? "",
      h(
        "section",
        { class: "mine" },
        h("h3", {}, tr.myToday),
        h(
          "p",
          { class: "figures" },
          h("strong", { "data-testid": "my-count" }, num(mine?.count ?? 0)),
          ` ${plural(mine?.count ?? 0, tr.ratingsWord)} · ${tr.satisfaction.toLowerCase()} `,
          h("strong", {}, percent(mine?.satisfaction ?? 0)),
          mine?.rank ? ` · ${tr.myRank} ${mine.rank}` : "",
        ),
        mine ? levelBar(mine.levels, board.scale) : null,
      ),
      h("section", { class: "lows" }, h("h3", {}, tr.myLow), lowList(lows, me?.has_pin ?? false, board.scale)),
    );
  };

  /** The reasons for the newest low rating from a remote or a serial box, while its window is
   * open (the patient panel asks by itself). */
  const reasonPrompt = (lows: LowRating[], s: PublicSettings) => {
    window.clearTimeout(reasonTimer);
    const last = lows[0]?.rating;
    if (!last || !s.reasons_enabled || last.source === "panel" || last.reason || last.annulled) return null;
    const left = Date.parse(last.received_at) + s.reasons_timeout_secs * 1000 - Date.now();
    if (left <= 0) return null;
    reasonTimer = window.setTimeout(() => void render(), left + 100);
    const lang = currentLang();
    const buttons = s.reasons.map((r) => {
      const b = h("button", { type: "button", class: "reason", "data-reason": r.code }, r.labels[lang]);
      b.addEventListener("click", async () => {
        try {
          await send("POST", `/api/v1/ratings/${last.id}/reason`, { reason: r.code, panel: "registrar" }, token);
          status.textContent = "";
        } catch (e) {
          fail(e);
        }
        void render();
      });
      return b;
    });
    return h("section", { class: "reasons-ask", "data-testid": "reasons-remote", "data-rating": String(last.id) }, h("h3", {}, tr.reasonForPatient), h("div", { class: "reasons-remote" }, ...buttons));
  };

  const pickYourself = (registrars: Registrar[]) => {
    const pin = pinInput();
    const start = h("button", { type: "button", class: "primary", "data-testid": "start-shift", disabled: "" }, tr.startShift);
    const list = h("div", { class: "people" });
    const pinRow = h("div", { class: "actions" }, pin, start);
    const update = () => {
      for (const b of list.querySelectorAll("button")) b.classList.toggle("picked", Number(b.dataset.id) === picked);
      const who = registrars.find((r) => r.id === picked);
      start.toggleAttribute("disabled", !who);
      pin.hidden = !who?.has_pin;
    };
    for (const r of registrars) {
      const b = h("button", { type: "button", "data-id": String(r.id) }, r.name);
      b.addEventListener("click", () => {
        picked = r.id;
        update();
        if (!pin.hidden) pin.focus();
      });
      list.append(b);
    }
    start.addEventListener("click", async () => {
      if (picked === null) return;
      try {
        await send("POST", `/api/v1/desks/${deskId}/checkin`, { registrar_id: picked, pin: pin.value || null }, token);
        picked = null;
        status.textContent = "";
      } catch (e) {
        fail(e);
      }
    });
    update();
    return [h("h2", {}, tr.whoAreYou), list, pinRow];
  };

  const lowList = (lows: LowRating[], hasPin: boolean, scale: number) => {
    if (lows.length === 0) return h("p", { class: "muted" }, tr.noLow);
    const names = levelNames(scale);
    return h(
      "ul",
      {},
      ...lows.map((l) => {
        const dot = h("span", { class: "dot" });
        dot.style.background = levelColor(l.rating.score, l.rating.scale);
        const li = h("li", { "data-rating": String(l.rating.id) }, dot, ` ${time(l.rating.at)} · ${levelNames(l.rating.scale)[l.rating.score - 1] ?? names[0]} `);
        if (l.rating.reason) li.append(h("small", { class: "reason-label", "data-reason": l.rating.reason.code }, `${l.rating.reason.label} `));
        if (l.contest) {
          const word = l.contest.decision === "annulled" ? tr.annulled : l.contest.decision === "upheld" ? tr.upheld : tr.contested;
          li.append(h("em", { class: `contest ${l.contest.decision ?? "open"}` }, word), h("small", {}, ` «${l.contest.comment}»`));
        } else if (!l.rating.annulled) {
          const b = h("button", { type: "button", class: "link" }, tr.contest);
          b.addEventListener("click", () => li.append(contestForm(l.rating.id, hasPin, () => li.lastElementChild?.remove())));
          li.append(b);
        } else {
          li.append(h("em", { class: "contest annulled" }, tr.annulled));
        }
        return li;
      }),
    );
  };

  const contestForm = (ratingId: number, hasPin: boolean, close: () => void) => {
    editing = true;
    const comment = h("textarea", { maxlength: "500", rows: "2", placeholder: tr.contestWhy, "aria-label": tr.contestWhy });
    const pin = hasPin ? pinInput() : null;
    const ok = h("button", { type: "submit", class: "primary" }, tr.send);
    const cancel = h("button", { type: "button", class: "secondary" }, tr.cancel);
    const form = h("form", { class: "contest-form" }, comment, h("div", { class: "actions" }, pin, ok, cancel));
    cancel.addEventListener("click", () => {
      editing = false;
      close();
    });
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        await send("POST", `/api/v1/ratings/${ratingId}/contest`, { comment: comment.value, pin: pin?.value || null }, token);
        editing = false;
        status.textContent = "";
        void render();
      } catch (e) {
        fail(e);
      }
    });
    window.setTimeout(() => comment.focus(), 0);
    return form;
  };

  // Thanks to the registrar at this desk (a window rule of top ratings): shown above the panel
  // for a minute, outside `main` so a re-render keeps it.
  const thanks = h("p", { class: "thanks", role: "status", "aria-live": "polite", "data-testid": "thanks", hidden: "" });
  root.prepend(thanks);
  let thanksTimer = 0;
  const showThanks = (e: { desk_id: number; kind: string; n: number; percent: number; minutes: number; registrar: string | null }) => {
    if (e.desk_id !== deskId) return;
    const text = e.kind === "top_run" ? tr.thanksRun : tr.thanksShare;
    thanks.textContent = `🌟 ${text.replace("{n}", String(e.n)).replace("{pct}", String(e.percent)).replace("{mins}", String(e.minutes))}${e.registrar ? ` — ${e.registrar}` : ""}`;
    thanks.hidden = false;
    window.clearTimeout(thanksTimer);
    thanksTimer = window.setTimeout(() => (thanks.hidden = true), 60_000);
  };

  new Live({
    onState: () => {},
    onResync: () => void render(),
    onEvent(name, data) {
      if (name === "thanks") showThanks(data as Parameters<typeof showThanks>[0]);
      // A rating or reason at another desk changes nothing here.
      const here = (data as { desk_id?: number } | null)?.desk_id === deskId;
      if (editing) return;
      if (["session", "registrar", "desk", "leaderboard", "correction", "contest", "settings"].includes(name) || (["rating", "reason"].includes(name) && here)) void render();
    },
  });
  await render();
}
