// The wall display: the live leaderboard, legible from across the waiting hall. It can rotate
// between the leaderboard, today's totals and the desks; it never shows stale figures as live.

import { getJson, Live, type Desk, type Leaderboard, type LiveState, type PublicSettings as Settings, type Rating } from "./api";
import { h, levelBar } from "./dom";
import { initials, levelColor, num, percent, t } from "./i18n";

type Period = "today" | "week" | "month";
type View = "board" | "totals" | "desks";

export function mountDisplay(root: HTMLElement, params: URLSearchParams) {
  const asked = (["today", "week", "month"] as const).find((p) => p === params.get("period"));
  document.body.classList.add("display-mode");
  const board = h("main", { class: "board", "data-state": "connecting" });
  const banner = h("div", { class: "banner", role: "status", "aria-live": "polite" }, t().connecting);
  const ticker = h("div", { class: "ticker", "aria-live": "polite" });
  root.replaceChildren(banner, board, ticker);

  let settings: Settings | null = null;
  let last: Leaderboard | null = null;
  let today: Leaderboard | null = null;
  let desks: Desk[] = [];
  let view: View = "board";
  let rotation = 0;
  let reloading: Promise<void> | null = null;
  const period = (): Period => asked ?? settings?.display_period ?? "today";

  const reload = () => {
    reloading ??= (async () => {
      try {
        settings = await getJson<Settings>("/api/v1/settings/public");
        const p = period();
        const [lb, ds, td] = await Promise.all([
          getJson<Leaderboard>(`/api/v1/leaderboard?period=${p}`),
          getJson<Desk[]>("/api/v1/desks"),
          p === "today" ? null : getJson<Leaderboard>("/api/v1/leaderboard?period=today"),
        ]);
        desks = ds.filter((d) => d.active);
        last = lb;
        today = td ?? lb;
        schedule();
        render();
      } catch {
        // The stream's state already tells the viewer; the next hello reloads.
      } finally {
        reloading = null;
      }
    })();
    return reloading;
  };

  const render = () => {
    if (!last || !today || !settings) return;
    board.dataset.view = view;
    if (view === "totals") board.replaceChildren(renderTotals(today));
    else if (view === "desks") board.replaceChildren(renderDesks(desks, today, settings));
    else board.replaceChildren(renderBoard(last, period(), settings));
  };

  // Rotation between the views, when the settings ask for it.
  const schedule = () => {
    window.clearInterval(rotation);
    const secs = settings?.display_rotate_secs ?? 0;
    if (!secs || params.has("view")) {
      view = (["board", "totals", "desks"] as const).find((v) => v === params.get("view")) ?? "board";
      return;
    }
    rotation = window.setInterval(() => {
      const order: View[] = ["board", "totals", "desks"];
      view = order[(order.indexOf(view) + 1) % order.length]!;
      render();
    }, secs * 1000);
  };

  const setState = (s: LiveState) => {
    board.dataset.state = s;
    banner.textContent = s === "lost" ? t().lost : s === "connecting" ? t().connecting : "";
    banner.hidden = s === "live";
  };

  new Live({
    onState: setState,
    onResync: () => void reload(),
    onEvent(name, data) {
      if (name === "leaderboard") {
        // The engine pushes today's board: shown at once; other periods are read again.
        today = data as Leaderboard;
        if (period() === "today") last = today;
        if (period() === "today") render();
        else void reload();
      } else if (["registrar", "settings", "desk", "session", "correction"].includes(name)) void reload();
      else if (name === "rating") showRating(ticker, data as Rating, desks);
    },
  });
  setState("connecting");
  void reload();
  // The day (week, month) ends without any event: reload when the shown period is over.
  window.setInterval(() => {
    if (last && Date.now() >= Date.parse(last.to)) void reload();
  }, 30_000);
}

/** What the leaderboard table reads of the settings (the hub has none: it shows names as they are). */
type BoardLook = Pick<Settings, "display_initials" | "display_hide_unranked">;

function shownName(name: string, s: BoardLook) {
  return s.display_initials ? initials(name) : name;
}

/** The leaderboard as the wall shows it; the hub's network screen shows the same table. */
export function renderBoard(lb: Leaderboard, period: Period, s: BoardLook) {
  const tr = t();
  const entries = s.display_hide_unranked ? lb.entries.filter((e) => e.rank !== null) : lb.entries;
  const header = h(
    "header",
    {},
    h("h1", {}, tr.leaderboard),
    h("div", { class: "period" }, tr[period]),
    h(
      "div",
      { class: "totals" },
      `${tr.total}: `,
      h("strong", { "data-testid": "total-count" }, num(lb.totals.count)),
      " · ",
      tr.satisfaction.toLowerCase(),
      ": ",
      h("strong", {}, percent(lb.totals.satisfaction)),
      lb.totals.unassigned ? ` · ${num(lb.totals.unassigned)} ${tr.unassigned}` : "",
    ),
  );
  if (entries.length === 0) {
    return h("section", {}, header, h("p", { class: "empty" }, tr.noRatings));
  }
  const rows = entries.map((e) =>
    h(
      "tr",
      { class: e.rank === null ? "unranked" : "", "data-registrar": String(e.registrar_id) },
      h("td", { class: "rank" }, e.rank ?? "–"),
      h("td", { class: "name" }, shownName(e.name, s), e.rank === null ? h("small", {}, tr.notRanked) : null),
      h("td", { class: "count", "data-testid": "count" }, num(e.count)),
      h("td", { class: "bar" }, levelBar(e.levels, lb.scale)),
      h("td", { class: "sat" }, percent(e.satisfaction)),
    ),
  );
  return h(
    "section",
    {},
    header,
    h(
      "table",
      {},
      h("thead", {}, h("tr", {}, h("th", {}, tr.rank), h("th", {}, tr.name), h("th", {}, tr.ratings), h("th", {}, ""), h("th", {}, tr.satisfaction))),
      h("tbody", {}, ...rows),
    ),
  );
}

function renderTotals(lb: Leaderboard) {
  const tr = t();
  return h(
    "section",
    { class: "totals-view" },
    h("header", {}, h("h1", {}, tr.todayTotals)),
    h(
      "div",
      { class: "big" },
      h("div", {}, h("strong", { "data-testid": "today-count" }, num(lb.totals.count)), h("span", {}, tr.ratings)),
      h("div", {}, h("strong", {}, percent(lb.totals.satisfaction)), h("span", {}, tr.satisfaction)),
    ),
    levelBar(lb.totals.levels, lb.scale),
  );
}

function renderDesks(desks: Desk[], lb: Leaderboard, s: Settings) {
  const tr = t();
  const byRegistrar = new Map(lb.entries.map((e) => [e.registrar_id, e]));
  return h(
    "section",
    { class: "desks-view" },
    h("header", {}, h("h1", {}, tr.desks), h("div", { class: "period" }, tr.today)),
    h(
      "div",
      { class: "desk-cards" },
      ...desks.map((d) => {
        const e = d.session ? byRegistrar.get(d.session.registrar_id) : undefined;
        return h(
          "div",
          { class: `desk-card${d.session ? "" : " empty"}`, "data-desk": String(d.id) },
          h("h2", {}, d.name),
          h("p", { class: "who" }, d.session ? shownName(d.session.registrar_name, s) : tr.nobodyAtDesk),
          e ? h("p", { class: "figures" }, `${num(e.count)} · ${percent(e.satisfaction)}`) : null,
          e ? levelBar(e.levels, lb.scale) : null,
        );
      }),
    ),
  );
}

function showRating(ticker: HTMLElement, r: Rating, desks: Desk[]) {
  const name = desks.find((d) => d.id === r.desk_id)?.name ?? `${t().desk} ${r.desk_id}`;
  const chip = h("div", { class: "chip", "data-testid": "new-rating" }, h("span", { class: "dot" }), name);
  (chip.firstChild as HTMLElement).style.background = levelColor(r.score, r.scale);
  ticker.prepend(chip);
  while (ticker.childElementCount > 6) ticker.lastElementChild?.remove();
  window.setTimeout(() => chip.classList.add("gone"), 8000);
  window.setTimeout(() => chip.remove(), 9000);
}
