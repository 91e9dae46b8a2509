// The console's health card: every device and channel (and the database, backups) with its
// state, since when and its last error, as /healthz gives them. Refreshed every few seconds while
// the page is visible, and at once when it comes back into view.

import type { Health, HealthComponent as Component, HealthState } from "./api";
import { h } from "./dom";
import {fill, locale, t } from "./i18n";

/** A 503 from before the engine is up (an error body) has no components. */
type Healthz = Pick<Health, "status"> & Partial<Pick<Health, "components" | "attention">>;

const REFRESH_MS = 5_000;

const COLORS: Record<HealthState, string> = {
  ok: "#2fa35f",
  degraded: "#e5a50a",
  down: "#e5484d",
};

function dayOf(d: Date) {
  return new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit" }).format(d);
}

/** Since when, in this computer's time zone: the time today, the date and time before. */
function since(iso: string) {
  const d = new Date(iso);
  const today = dayOf(d) === dayOf(new Date());
  const opts: Intl.DateTimeFormatOptions = today ? { hour: "2-digit", minute: "2-digit" } : { dateStyle: "short", timeStyle: "short" };
  return new Intl.DateTimeFormat(locale(), opts).format(d);
}

/** "5 minutes ago", in the console's language. */
function ago(iso: string) {
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: "auto" });
  const mins = Math.max(0, Math.floor((Date.now() - new Date(iso).getTime()) / 60_000));
  if (mins < 60) return rtf.format(-mins, "minute");
  if (mins < 48 * 60) return rtf.format(-Math.floor(mins / 60), "hour");
  return rtf.format(-Math.floor(mins / 1440), "day");
}

function row(c: Component) {
  const tr = t().healthCard;
  const dot = h("span", { class: "dot", "aria-hidden": "true" });
  dot.style.background = COLORS[c.state] ?? COLORS.down;
  const when = h("time", { datetime: c.since, title: new Date(c.since).toLocaleString(locale()) }, fill(tr.since, { when: since(c.since) }), " ", h("span", { class: "muted" }, `(${ago(c.since)})`));
  const error = c.last_error ? h("div", { class: c.state === "ok" ? "muted" : "error", title: c.last_error }, `${c.state === "ok" ? tr.lastError : tr.error}: ${c.last_error}`) : null;
  return h(
    "tr",
    { "data-component": c.id, "data-state": c.state },
    h("td", {}, dot),
    h("td", {}, h("strong", {}, c.name), c.detail ? h("div", { class: "muted" }, c.detail) : null, error),
    h("td", {}, tr.states[c.state] ?? c.state, h("div", {}, when)),
  );
}

/** The card, drawn now and kept up to date. */
export function healthCard(): HTMLElement {
  const card = h("section", { class: "card", "data-card": "health" });
  const draw = (hz: Healthz | null, failed?: string) => {
    const tr = t().healthCard;
    const list = hz?.components ?? [];
    const attention = hz?.attention ?? list.filter((c) => c.state !== "ok").map((c) => c.name);
    const summary = failed
      ? h("p", { class: "status error", role: "status" }, `${tr.unreachable}: ${failed}`)
      : h("p", { class: attention.length ? "status error" : "status ok", role: "status" }, attention.length ? fill(tr.attention, { n: attention.length }) : tr.allOk);
    card.replaceChildren(h("h2", {}, tr.title), summary, list.length ? h("table", {}, ...list.map(row)) : h("p", { class: "muted" }, tr.none));
  };
  let timer = 0;
  const refresh = async () => {
    window.clearTimeout(timer);
    try {
      // 503 (the database is down) still carries the components: read the body either way.
      const resp = await fetch("/healthz", { cache: "no-store", headers: { Accept: "application/json" } });
      draw((await resp.json()) as Healthz);
    } catch (e) {
      draw(null, e instanceof Error ? e.message : String(e));
    }
    if (!document.hidden) timer = window.setTimeout(refresh, REFRESH_MS);
  };
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) void refresh();
  });
  draw(null);
  void refresh();
  return card;
}
