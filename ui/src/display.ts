// The wall display: the live leaderboard, legible from across the waiting hall.

import { getJson, Live, type Leaderboard, type LiveState, type Rating, type Desk } from "./api";
import { h, percent } from "./dom";
import { levelColor, t } from "./i18n";

type Period = "today" | "week" | "month";

export function mountDisplay(root: HTMLElement, params: URLSearchParams) {
  const period: Period = (["today", "week", "month"] as const).find((p) => p === params.get("period")) ?? "today";
  document.body.classList.add("display-mode");
  const board = h("main", { class: "board", "data-state": "connecting" });
  const banner = h("div", { class: "banner", role: "status", "aria-live": "polite" }, t().connecting);
  const ticker = h("div", { class: "ticker", "aria-live": "polite" });
  root.replaceChildren(banner, board, ticker);

  let last: Leaderboard | null = null;
  let desks = new Map<number, string>();
  let reloading: Promise<void> | null = null;

  const reload = () => {
    reloading ??= (async () => {
      try {
        const [lb, ds] = await Promise.all([
          getJson<Leaderboard>(`/api/v1/leaderboard?period=${period}`),
          getJson<Desk[]>("/api/v1/desks"),
        ]);
        desks = new Map(ds.map((d) => [d.id, d.name]));
        render(lb);
      } catch {
        // The stream's state already tells the viewer; the next hello reloads.
      } finally {
        reloading = null;
      }
    })();
    return reloading;
  };

  const render = (lb: Leaderboard) => {
    last = lb;
    board.replaceChildren(renderBoard(lb, period));
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
      if (name === "leaderboard" && period === "today") render(data as Leaderboard);
      else if (name === "leaderboard" || name === "registrar" || name === "settings" || name === "desk") void reload();
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

function renderBoard(lb: Leaderboard, period: Period) {
  const tr = t();
  const header = h(
    "header",
    {},
    h("h1", {}, tr.leaderboard),
    h("div", { class: "period" }, tr[period]),
    h(
      "div",
      { class: "totals" },
      `${tr.total}: `,
      h("strong", { "data-testid": "total-count" }, lb.totals.count),
      " · ",
      tr.satisfaction.toLowerCase(),
      ": ",
      h("strong", {}, percent(lb.totals.satisfaction)),
      lb.totals.unassigned ? ` · ${lb.totals.unassigned} ${tr.unassigned}` : "",
    ),
  );
  if (lb.entries.length === 0) {
    return h("section", {}, header, h("p", { class: "empty" }, tr.noRatings));
  }
  const rows = lb.entries.map((e) =>
    h(
      "tr",
      { class: e.rank === null ? "unranked" : "", "data-registrar": String(e.registrar_id) },
      h("td", { class: "rank" }, e.rank ?? "–"),
      h("td", { class: "name" }, e.name, e.rank === null ? h("small", {}, tr.notRanked) : null),
      h("td", { class: "count", "data-testid": "count" }, e.count),
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

function levelBar(levels: number[], scale: number) {
  const total = levels.reduce((a, b) => a + b, 0) || 1;
  const bar = h("div", { class: "levels", role: "img" });
  bar.setAttribute("aria-label", levels.join(" / "));
  levels.forEach((n, i) => {
    if (!n) return;
    const seg = h("span", { title: String(n) }, n);
    seg.style.flexGrow = String(n / total);
    seg.style.background = levelColor(i + 1, scale);
    bar.append(seg);
  });
  return bar;
}

function showRating(ticker: HTMLElement, r: Rating, desks: Map<number, string>) {
  const chip = h(
    "div",
    { class: "chip", "data-testid": "new-rating" },
    h("span", { class: "dot" }),
    `${desks.get(r.desk_id) ?? `${t().desk} ${r.desk_id}`}`,
  );
  (chip.firstChild as HTMLElement).style.background = levelColor(r.score, r.scale);
  ticker.prepend(chip);
  while (ticker.childElementCount > 6) ticker.lastElementChild?.remove();
  window.setTimeout(() => chip.classList.add("gone"), 8000);
  window.setTimeout(() => chip.remove(), 9000);
}
