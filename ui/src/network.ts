// The network hub's screen (`otklik hub serve` serves this same bundle): the leaderboard over
// every site or one, each site's totals, and the sites with when they last reported. The hub
// token is typed once and kept in this browser; the figures follow the hub's event stream.

import { refusal, type Leaderboard, type LiveState } from "./api";
import { renderBoard } from "./display";
import { h, levelBar } from "./dom";
import { dateTime, fill, num, percent, t } from "./i18n";

type Period = "today" | "week" | "month";
type Totals = Leaderboard["totals"];

/** GET /hub/v1/sites: the hub's own API, not in the site's OpenAPI document. */
export interface HubSite {
  id: number;
  name: string;
  created_at: number;
  last_seq: number;
  last_seen: number | null;
  schema_version: number | null;
  time_zone: string;
  clock_skew_ms: number | null;
  stale: boolean;
}

/** GET /api/v1/network/sites */
interface SiteTotals {
  site_id: number;
  name: string;
  totals: Totals;
}

const KEY = "otklik-hub-token";
export const hubToken = {
  get: () => localStorage.getItem(KEY),
  set: (v: string | null) => (v ? localStorage.setItem(KEY, v) : localStorage.removeItem(KEY)),
};

async function hubGet<T>(path: string, token: string): Promise<T> {
  const resp = await fetch(path, { headers: { Accept: "application/json", Authorization: `Bearer ${token}` }, cache: "no-store" });
  if (!resp.ok) throw await refusal(resp);
  return (await resp.json()) as T;
}

export function mountNetwork(root: HTMLElement, params: URLSearchParams) {
  const main = h("main", { class: "admin network" });
  root.replaceChildren(main);
  const token = hubToken.get();
  if (token) open(main, token, params);
  else gate(main, params, "");
}

/** The token form; `why` says why it is asked again (a wrong or changed token). */
function gate(main: HTMLElement, params: URLSearchParams, why: string) {
  const tr = t().network;
  const input = h("input", { name: "hub-token", type: "password", autocomplete: "off", placeholder: tr.token, "aria-label": tr.token, required: "" });
  const msg = h("p", { class: why ? "status error" : "status", role: "status" }, why);
  const form = h("form", { class: "login" }, h("h1", {}, tr.title), h("p", {}, tr.tokenHint), input, h("button", { type: "submit", class: "primary" }, tr.open), msg);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const typed = input.value.trim();
    try {
      await hubGet("/hub/v1/sites", typed);
      hubToken.set(typed);
      open(main, typed, params);
    } catch (e) {
      msg.className = "status error";
      msg.textContent = e instanceof Error && "status" in e && e.status === 401 ? tr.wrongToken : `${t().failed}${e instanceof Error ? e.message : e}`;
    }
  });
  main.replaceChildren(form);
  input.focus();
}

function open(main: HTMLElement, token: string, params: URLSearchParams) {
  const tr = t();
  const nt = tr.network;
  let period: Period = (["today", "week", "month"] as const).find((p) => p === params.get("period")) ?? "today";
  let site: number | null = Number(params.get("site")) || null;
  let sites: HubSite[] = [];

  const siteSelect = h("select", { name: "site", "aria-label": nt.site });
  const periodSelect = h("select", { name: "period", "aria-label": nt.period }, ...(["today", "week", "month"] as const).map((p) => h("option", { value: p }, tr[p])));
  periodSelect.value = period;
  const live = h("span", { class: "live-state", "data-testid": "live", "data-state": "connecting" }, nt.connecting);
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const board = h("section", { class: "board", "data-testid": "network-board" });
  const totalsCard = h("section", { class: "card", "data-card": "site-totals" });
  const sitesCard = h("section", { class: "card", "data-card": "sites" });
  const forget = h("button", { type: "button", class: "secondary" }, nt.forget);
  forget.addEventListener("click", () => {
    hubToken.set(null);
    location.reload();
  });
  main.replaceChildren(
    h("header", {}, h("h1", {}, nt.title), live, forget),
    h("div", { class: "inline network-pickers" }, h("label", {}, h("span", {}, nt.site), siteSelect), h("label", {}, h("span", {}, nt.period), periodSelect)),
    status,
    board,
    h("div", { class: "grid" }, totalsCard, sitesCard),
  );

  const remember = () => {
    const q = new URLSearchParams();
    const lang = params.get("lang");
    if (lang) q.set("lang", lang);
    if (site !== null) q.set("site", String(site));
    if (period !== "today") q.set("period", period);
    history.replaceState(null, "", `${location.pathname}${q.size ? `?${q}` : ""}`);
  };

  const drawPicker = () => {
    const all = h("option", { value: "" }, nt.allSites);
    siteSelect.replaceChildren(all, ...sites.map((s) => h("option", { value: String(s.id) }, s.name)));
    siteSelect.value = site === null ? "" : String(site);
  };

  const drawTotals = (list: SiteTotals[], scale: number) => {
    const rows = list.map((s) =>
      h(
        "tr",
        { "data-site": String(s.site_id) },
        h("td", {}, s.name),
        h("td", { class: "num", "data-testid": "site-count" }, num(s.totals.count)),
        h("td", { class: "num" }, percent(s.totals.satisfaction)),
        h("td", { class: "bar" }, levelBar(s.totals.levels, scale)),
      ),
    );
    totalsCard.replaceChildren(
      h("h2", {}, nt.siteTotals),
      rows.length ? h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, nt.site), h("th", {}, tr.ratings), h("th", {}, tr.satisfaction), h("th", {}, ""))), h("tbody", {}, ...rows)) : h("p", { class: "muted" }, nt.noSites),
    );
  };

  const drawSites = () => {
    const rows = sites.map((s) =>
      h(
        "tr",
        { "data-site": String(s.id), "data-stale": String(s.stale) },
        h("td", {}, s.name, s.stale ? h("span", { class: "badge silent", "data-testid": "silent" }, nt.silent) : null),
        h("td", { "data-testid": "last-seen" }, s.last_seen === null ? h("span", { class: "muted" }, nt.never) : dateTime(new Date(s.last_seen).toISOString())),
        h("td", { class: "num", "data-testid": "clock" }, s.clock_skew_ms === null ? "–" : clock(s.clock_skew_ms)),
      ),
    );
    sitesCard.replaceChildren(
      h("h2", {}, nt.sites),
      rows.length ? h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, nt.site), h("th", {}, nt.lastSeen), h("th", {}, nt.clock))), h("tbody", {}, ...rows)) : h("p", { class: "muted" }, nt.noSites),
    );
  };

  let reloading: Promise<void> | null = null;
  let again = false;
  const reload = (): Promise<void> => {
    // Events come in bursts (a batch per site): one reload at a time, one more after it.
    if (reloading) {
      again = true;
      return reloading;
    }
    reloading = (async () => {
      try {
        const q = `period=${period}${site === null ? "" : `&site=${site}`}`;
        const [list, lb, totals] = await Promise.all([
          hubGet<HubSite[]>("/hub/v1/sites", token),
          hubGet<Leaderboard>(`/api/v1/leaderboard?${q}`, token),
          hubGet<SiteTotals[]>(`/api/v1/network/sites?${q}`, token),
        ]);
        sites = list;
        drawPicker();
        board.replaceChildren(renderBoard(lb, period, { display_initials: false, display_hide_unranked: false }));
        drawTotals(totals, lb.scale);
        drawSites();
        status.textContent = "";
        status.className = "status";
      } catch (e) {
        if (e instanceof Error && "status" in e && e.status === 401) {
          hubToken.set(null);
          source?.close();
          gate(main, params, nt.tokenChanged);
          return;
        }
        status.textContent = `${tr.failed}${e instanceof Error ? e.message : e}`;
        status.className = "status error";
      } finally {
        reloading = null;
      }
      if (again) {
        again = false;
        await reload();
      }
    })();
    return reloading;
  };

  siteSelect.addEventListener("change", () => {
    site = Number(siteSelect.value) || null;
    remember();
    void reload();
  });
  periodSelect.addEventListener("change", () => {
    period = periodSelect.value as Period;
    remember();
    void reload();
  });

  const setState = (s: LiveState) => {
    live.dataset.state = s;
    live.textContent = s === "live" ? nt.live : s === "lost" ? nt.lost : nt.connecting;
    board.dataset.state = s;
  };
  // EventSource sends no Authorization header: the hub takes its token as ?token= on this one path.
  let source: EventSource | null = null;
  const connect = () => {
    const es = new EventSource(`/api/v1/events?token=${encodeURIComponent(token)}`);
    source = es;
    es.onopen = () => {
      setState("live");
      // Whatever landed while the stream was down is read again.
      void reload();
    };
    es.addEventListener("ingest", () => void reload());
    es.addEventListener("site", () => void reload());
    es.onerror = () => {
      setState("lost");
      if (es.readyState === EventSource.CLOSED) window.setTimeout(connect, 3000);
    };
  };
  setState("connecting");
  connect();
  void reload();
  // The period ends without any event, and "last seen" ages: read again now and then.
  window.setInterval(() => void reload(), 60_000);
}

/** A site's clock against the hub's: "+2 s", "−1 min 5 s". */
function clock(ms: number) {
  const nt = t().network;
  const secs = Math.round(Math.abs(ms) / 1000);
  const sign = secs === 0 ? "±" : ms > 0 ? "+" : "−";
  const text = secs < 60 ? fill(nt.seconds, { n: secs }) : fill(nt.minutes, { m: Math.floor(secs / 60), s: secs % 60 });
  return `${sign}${text}`;
}
