// The start page: where each screen is, and whether the engine is well.

import { getJson, type Desk, type Health } from "./api";
import { h } from "./dom";
import { t } from "./i18n";

export async function mountHome(root: HTMLElement) {
  const tr = t();
  const displayUrl = `${location.origin}/display`;
  const health = h("p", { "data-testid": "health" }, "…");
  const desks = h("ul", {});
  root.replaceChildren(
    h(
      "main",
      { class: "home" },
      h("h1", {}, tr.title),
      h("h2", {}, tr.screens),
      h(
        "ul",
        {},
        h("li", {}, h("a", { href: "/display" }, tr.display), " — ", tr.displayHint, ": ", h("code", {}, displayUrl)),
        h("li", {}, h("a", { href: "/admin" }, tr.admin)),
      ),
      h("h2", {}, tr.desks),
      desks,
      h("h2", {}, tr.health),
      health,
      h("p", {}, h("a", { href: "/api/v1/openapi.json" }, tr.api)),
    ),
  );
  try {
    const list = await getJson<Desk[]>("/api/v1/desks");
    desks.replaceChildren(
      ...list
        .filter((d) => d.active)
        .map((d) => h("li", {}, `${d.name}: `, h("a", { href: `/desk/${d.id}` }, tr.deskPanel), " · ", h("a", { href: `/rate/${d.id}` }, tr.patientPanel))),
    );
    const hz = await getJson<Health>("/healthz");
    health.textContent = `${hz.status} · v${hz.version}`;
  } catch (e) {
    health.textContent = String(e);
  }
}
