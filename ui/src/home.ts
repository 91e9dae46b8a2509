// The start page: where each screen is, and whether the engine is well.

import { getJson } from "./api";
import { h } from "./dom";
import { t } from "./i18n";

interface Health {
  status: string;
  version: string;
  database: { state: string; last_rating_id: number | null; error?: string };
}

export async function mountHome(root: HTMLElement) {
  const tr = t();
  const displayUrl = `${location.origin}/display`;
  const health = h("p", { "data-testid": "health" }, "…");
  root.replaceChildren(
    h(
      "main",
      { class: "home" },
      h("h1", {}, tr.title),
      h("h2", {}, tr.screens),
      h("ul", {}, h("li", {}, h("a", { href: "/display" }, tr.display), " — ", tr.displayHint, ": ", h("code", {}, displayUrl))),
      h("h2", {}, tr.health),
      health,
      h("p", {}, h("a", { href: "/api/v1/openapi.json" }, tr.api)),
    ),
  );
  try {
    const hz = await getJson<Health>("/healthz");
    health.textContent = `${hz.status} · v${hz.version}`;
  } catch (e) {
    health.textContent = String(e);
  }
}
