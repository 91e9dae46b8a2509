// The console's reports: any period, filters, the same figures as GET /api/v1/reports, with a
// trend, the per-registrar and per-desk tables, the reasons patients gave for low ratings, and a
// heat map of the week.

import { getJson, mediaUrl, type Desk, type Registrar, type Report, type ReportGroup as Group } from "./api";
import { h, levelBar } from "./dom";
import { num, percent, t } from "./i18n";

/** How the period's alerts were worked: how many, taken, resolved, escalated, how fast. */
function alertsLine(a: Report["alerts"]) {
  const vars: Record<string, string> = {
    total: num(a.total),
    taken: num(a.taken + a.resolved),
    resolved: num(a.resolved),
    escalated: num(a.escalated),
    mins: a.median_minutes_to_resolve === null ? "—" : num(a.median_minutes_to_resolve),
  };
  const text = t().alertsLine.replace(/\{(\w+)\}/g, (m: string, k: string) => vars[k] ?? m);
  return h("p", { class: "figures", "data-testid": "report-alerts" }, text);
}

const SVG = "http://www.w3.org/2000/svg";

function change(now: number, before: number, count: number, prevCount: number) {
  if (!count || !prevCount) return "";
  const d = Math.round((now - before) * 100);
  return d === 0 ? " (±0)" : ` (${d > 0 ? "+" : "−"}${Math.abs(d)})`;
}

function groupTable(title: string, first: string, groups: Group[], scale: number) {
  const tr = t();
  return h(
    "div",
    { class: "report-table", "data-table": title },
    h("h3", {}, title),
    h(
      "table",
      {},
      h("tr", {}, h("th", {}, first), h("th", {}, tr.ratings), h("th", {}, ""), h("th", {}, tr.satisfaction), h("th", {}, "±"), h("th", {}, tr.flaggedShort), h("th", {}, tr.annulledShort)),
      ...groups.map((g) =>
        h(
          "tr",
          { "data-id": String(g.id) },
          h("td", {}, g.name || tr.nobodyAtDesk),
          h("td", { class: "num" }, num(g.count)),
          h("td", { class: "bar" }, levelBar(g.levels, scale)),
          h("td", { class: "num" }, percent(g.satisfaction)),
          h("td", { class: "num muted" }, change(g.satisfaction, g.previous.satisfaction, g.count, g.previous.count)),
          h("td", { class: "num" }, g.flagged ? num(g.flagged) : ""),
          h("td", { class: "num" }, g.annulled ? num(g.annulled) : ""),
        ),
      ),
    ),
  );
}

/** Reasons for low ratings: one column per reason given in the period, then those without one. */
function reasonsTable(title: string, first: string, kind: string, reasons: Report["reasons"], groups: Report["reasons"]["registrars"]) {
  const tr = t();
  return h(
    "div",
    { class: "report-table", "data-reasons": kind },
    h("h3", {}, title),
    h(
      "table",
      {},
      h("tr", {}, h("th", {}, first), ...reasons.totals.map((r) => h("th", { class: "num", "data-code": r.code }, r.label)), h("th", { class: "num" }, tr.withoutReason)),
      ...groups.map((g) =>
        h(
          "tr",
          { "data-id": String(g.id) },
          h("td", {}, g.name || tr.nobodyAtDesk),
          ...g.counts.map((n) => h("td", { class: "num" }, n ? num(n) : "")),
          h("td", { class: "num muted" }, g.without_reason ? num(g.without_reason) : ""),
        ),
      ),
    ),
  );
}

/** "Reasons: the queue 3 · rudeness 1 · no reason 1" over the period. */
function reasonsLine(reasons: Report["reasons"]) {
  const tr = t();
  const parts = reasons.totals.map((r) => `${r.label} ${num(r.count)}`);
  if (reasons.without_reason) parts.push(`${tr.withoutReason} ${num(reasons.without_reason)}`);
  return h("p", { class: "figures", "data-testid": "report-reasons" }, `${tr.reason}: ${parts.join(" · ")}`);
}

/** Daily satisfaction as a line over the period; days without ratings leave a gap. */
function trend(days: Report["days"]) {
  const w = 600, hgt = 160, pad = 24;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${hgt}`);
  svg.setAttribute("class", "trend");
  svg.setAttribute("role", "img");
  const x = (i: number) => pad + (i * (w - 2 * pad)) / Math.max(1, days.length - 1);
  const y = (v: number) => hgt - pad - v * (hgt - 2 * pad);
  let d = "";
  days.forEach((day, i) => {
    if (!day.count) return;
    d += `${d && days[i - 1]?.count ? "L" : "M"}${x(i).toFixed(1)},${y(day.satisfaction).toFixed(1)} `;
  });
  const grid = document.createElementNS(SVG, "path");
  grid.setAttribute("d", `M${pad},${y(0)}H${w - pad}M${pad},${y(0.5)}H${w - pad}M${pad},${y(1)}H${w - pad}`);
  grid.setAttribute("stroke", "#263240");
  const line = document.createElementNS(SVG, "path");
  line.setAttribute("d", d);
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", "#6fcf97");
  line.setAttribute("stroke-width", "2.5");
  svg.append(grid, line);
  // A dot per day with ratings, so a single day still shows.
  days.forEach((day, i) => {
    if (!day.count) return;
    const dot = document.createElementNS(SVG, "circle");
    dot.setAttribute("cx", x(i).toFixed(1));
    dot.setAttribute("cy", y(day.satisfaction).toFixed(1));
    dot.setAttribute("r", "3.5");
    dot.setAttribute("fill", "#6fcf97");
    svg.append(dot);
  });
  return svg;
}

/** Hours x weekdays, each cell coloured by satisfaction and sized in text by count. */
function heat(hours: Report["hours"]) {
  const tr = t();
  const used = hours.map((c) => c.hour);
  const lo = Math.min(...used, 8), hi = Math.max(...used, 19);
  const grid = h("table", { class: "heat" });
  grid.append(h("tr", {}, h("th", {}, ""), ...Array.from({ length: hi - lo + 1 }, (_, i) => h("th", {}, String(lo + i)))));
  for (let wd = 1; wd <= 7; wd++) {
    const row = h("tr", {}, h("th", {}, tr.weekdays[wd - 1]!));
    for (let hr = lo; hr <= hi; hr++) {
      const c = hours.find((x) => x.weekday === wd && x.hour === hr);
      const td = h("td", { title: c ? `${num(c.count)} · ${percent(c.satisfaction)}` : "" }, c?.count ? num(c.count) : "");
      if (c?.count) td.style.background = `hsl(${Math.round(c.satisfaction * 120)} 55% 32%)`;
      row.append(td);
    }
    grid.append(row);
  }
  return grid;
}

/** Downloads go through fetch: the files need the console's login, which a plain link lacks. */
function exportLinks(q: URLSearchParams) {
  const tr = t();
  const link = (format: string, label: string) => {
    const a = h("a", { href: "#", "data-format": format }, label);
    a.addEventListener("click", async (ev) => {
      ev.preventDefault();
      const params = new URLSearchParams(q);
      params.set("format", format);
      const url = await mediaUrl(`/api/v1/reports/export?${params}`);
      const save = h("a", { href: url, download: `otklik-report.${format}` });
      save.click();
      window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
    });
    return a;
  };
  return h("p", { class: "exports" }, `${tr.export}: `, link("csv", "CSV"), " · ", link("xlsx", "Excel"), " · ", link("pdf", "PDF"));
}

export function reportsCard(card: HTMLElement) {
  const tr = t();
  const today = new Date();
  const iso = (d: Date) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  const from = h("input", { type: "date", name: "from", value: iso(new Date(today.getFullYear(), today.getMonth(), 1)), "aria-label": tr.from });
  const to = h("input", { type: "date", name: "to", value: iso(today), "aria-label": tr.to });
  const registrar = h("select", { name: "registrar_id" }, h("option", { value: "" }, `${tr.name}: ${tr.all}`));
  const desk = h("select", { name: "desk_id" }, h("option", { value: "" }, `${tr.desk}: ${tr.all}`));
  const out = h("div", { class: "report" });
  const form = h("form", { class: "inline report-form" }, tr.from, from, tr.to, to, registrar, desk, h("button", { type: "submit", class: "primary" }, tr.build));
  card.replaceChildren(h("h2", {}, tr.reports), form, out);
  void Promise.all([getJson<Registrar[]>("/api/v1/registrars"), getJson<Desk[]>("/api/v1/desks")]).then(([rs, ds]) => {
    registrar.append(...rs.map((r) => h("option", { value: String(r.id) }, r.name)));
    desk.append(...ds.map((d) => h("option", { value: String(d.id) }, d.name)));
  });

  const query = () => {
    // Local midnights: the engine reads the offsets and keeps the clinic's days.
    const start = new Date(`${from.value}T00:00:00`);
    const end = new Date(`${to.value}T00:00:00`);
    end.setDate(end.getDate() + 1);
    const q = new URLSearchParams({ from: start.toISOString(), to: end.toISOString() });
    if (registrar.value) q.set("registrar_id", registrar.value);
    if (desk.value) q.set("desk_id", desk.value);
    return q;
  };

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const r = await getJson<Report>(`/api/v1/reports?${query()}`);
      out.replaceChildren(
        h(
          "p",
          { class: "figures", "data-testid": "report-totals" },
          `${tr.total}: `,
          h("strong", {}, num(r.totals.count)),
          ` · ${tr.satisfaction.toLowerCase()} `,
          h("strong", {}, percent(r.totals.satisfaction)),
          h("span", { class: "muted" }, change(r.totals.satisfaction, r.previous.satisfaction, r.totals.count, r.previous.count)),
          ` · ${tr.net}: `,
          h("strong", {}, num(Math.round(r.totals.net * 100))),
          r.totals.flagged ? ` · ${tr.flaggedShort}: ${num(r.totals.flagged)}` : "",
        ),
        levelBar(r.totals.levels, r.scale),
        r.alerts.total ? alertsLine(r.alerts) : "",
        h("h3", {}, tr.trend),
        trend(r.days),
        groupTable(tr.byRegistrar, tr.name, r.registrars, r.scale),
        groupTable(tr.byDesk, tr.desk, r.desks, r.scale),
        ...(r.reasons.totals.length || r.reasons.without_reason
          ? [
              reasonsLine(r.reasons),
              reasonsTable(tr.reasonsByRegistrar, tr.name, "registrars", r.reasons, r.reasons.registrars),
              reasonsTable(tr.reasonsByDesk, tr.desk, "desks", r.reasons, r.reasons.desks),
              reasonsTable(tr.reasonsByDay, tr.reasonDay, "days", r.reasons, r.reasons.days),
            ]
          : []),
        h("h3", {}, tr.heat),
        heat(r.hours),
        exportLinks(query()),
      );
    } catch (e) {
      out.replaceChildren(h("p", { class: "status error" }, `${tr.failed}${e instanceof Error ? e.message : e}`));
    }
  });
}
