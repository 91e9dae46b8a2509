// The console's "Network hub" card: this site's link to the hub (what waits to be sent, since
// when, the last batch that landed, the last error, the hub's clock), linking with the key the
// hub issued and unlinking, and which of the network's people each registrar is.

import type { components } from "./gen/api";
import { FieldError, getJson, send, sendForm, type Registrar } from "./api";
import { h } from "./dom";
import { dateTime, fill, num, t } from "./i18n";

type Uplink = components["schemas"]["Uplink"];

const REFRESH_MS = 5_000;

function when(ms: number | null | undefined) {
  return ms === null || ms === undefined ? "–" : dateTime(new Date(ms).toISOString());
}

/** The card, drawn now and kept up to date while nobody types in it. */
export function hubCard(): HTMLElement {
  const card = h("section", { class: "card", "data-card": "hub" });
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
  let timer = 0;
  let drawn = "";

  const failed = (e: unknown) => {
    // The engine's words name the field it refused ("site_key: is not a site key ..."): shown
    // as they are, and that field is marked.
    status.textContent = `${t().failed}${e instanceof Error ? e.message : e}`;
    status.className = "status error";
    for (const el of card.querySelectorAll("input")) el.removeAttribute("aria-invalid");
    if (e instanceof FieldError && e.field) card.querySelector(`input[name="${CSS.escape(e.field)}"]`)?.setAttribute("aria-invalid", "true");
  };

  const draw = (u: Uplink, registrars: Registrar[]) => {
    const tr = t();
    const hc = tr.hubCard;
    const link = u.link ?? null;
    const st = u.state;
    const row = (label: string, value: Node | string, id: string) => h("tr", { "data-field": id }, h("th", {}, label), h("td", {}, value));
    const parts: Node[] = [h("h2", {}, hc.title)];
    status.textContent = "";
    status.className = "status";
    if (link && link.kind === "hub") {
      parts.push(
        h(
          "table",
          { class: "facts" },
          row(hc.address, h("code", {}, link.hub_url), "hub_url"),
          row(hc.linkedAt, when(link.linked_at), "linked_at"),
          row(hc.backlog, link.backlog ? fill(hc.backlogSince, { n: num(link.backlog), when: when(link.oldest_at) }) : hc.nothingWaits, "backlog"),
          row(hc.lastOk, when(st.last_ok_at), "last_ok_at"),
          row(hc.lastError, st.last_error ? h("span", { class: "error" }, `${st.last_error} (${when(st.last_error_at)})`) : "–", "last_error"),
          row(hc.clock, st.hub_clock_offset_ms === null || st.hub_clock_offset_ms === undefined ? "–" : fill(hc.clockMs, { ms: num(st.hub_clock_offset_ms) }), "clock"),
          row(hc.template, st.template_error ? h("span", { class: "error" }, st.template_error) : u.template_applied ? fill(hc.templateApplied, { v: u.template_applied }) : "–", "template"),
        ),
      );
      const unlink = h("button", { type: "button", class: "danger", "data-action": "unlink" }, hc.unlink);
      unlink.addEventListener("click", () => {
        if (!confirm(hc.confirmUnlink)) return;
        void sendForm("DELETE", "/api/v1/uplink").then(refresh, failed);
      });
      parts.push(h("div", { class: "actions" }, unlink));
      parts.push(h("h3", {}, hc.people));
      if (!u.people.length) parts.push(h("p", { class: "muted" }, hc.noPeople));
      else {
        parts.push(
          h(
            "table",
            {},
            ...registrars.map((r) => {
              const pick = h("select", { name: `person-${r.id}`, "aria-label": fill(hc.personOf, { name: r.name }) }, h("option", { value: "" }, hc.noPerson), ...u.people.map((p) => h("option", { value: String(p.id) }, p.sites.length ? `${p.name} (${p.sites.join(", ")})` : p.name)));
              pick.value = r.person_id === null ? "" : String(r.person_id);
              pick.addEventListener("change", () => {
                void send("PUT", `/api/v1/registrars/${r.id}/person`, { person_id: pick.value ? Number(pick.value) : null })
                  .then(() => {
                    status.textContent = tr.saved;
                    status.className = "status";
                    pick.blur();
                  })
                  .catch(failed);
              });
              return h("tr", { "data-registrar": String(r.id) }, h("td", {}, r.name), h("td", {}, pick));
            }),
          ),
        );
      }
    } else if (link) {
      // A desk PC is linked to its reception, not to a hub: nothing to do here.
      parts.push(h("p", { class: "muted" }, fill(hc.deskPc, { url: link.hub_url })));
    } else {
      const url = h("input", { name: "hub_url", placeholder: "https://hub.example:8443", "aria-label": hc.address });
      const key = h("input", { name: "site_key", type: "password", autocomplete: "off", placeholder: hc.siteKey, "aria-label": hc.siteKey });
      const form = h("form", { class: "settings", "data-form": "link" }, h("p", { class: "muted" }, hc.notLinked), h("label", {}, h("span", {}, hc.address), url), h("label", {}, h("span", {}, hc.siteKey), key), h("button", { type: "submit", class: "primary" }, hc.link));
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        void sendForm("PUT", "/api/v1/uplink", { hub_url: url.value.trim(), site_key: key.value.trim() }).then(() => {
          status.textContent = "";
          status.className = "status";
          (document.activeElement as HTMLElement | null)?.blur();
          return refresh();
        }, failed);
      });
      parts.push(form);
    }
    parts.push(status);
    card.replaceChildren(...parts);
  };

  const busy = () => card.contains(document.activeElement) && document.activeElement?.tagName !== "BUTTON";
  const refresh = async () => {
    window.clearTimeout(timer);
    if (!busy()) {
      try {
        const [u, registrars] = await Promise.all([getJson<Uplink>("/api/v1/uplink"), getJson<Registrar[]>("/api/v1/registrars")]);
        // Redrawn only when something changed: a refused link form keeps what was typed.
        const seen = JSON.stringify([u, registrars]);
        if (seen !== drawn) {
          drawn = seen;
          draw(u, registrars);
        }
      } catch (e) {
        failed(e);
      }
    }
    if (!document.hidden) timer = window.setTimeout(refresh, REFRESH_MS);
  };
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) void refresh();
  });
  card.append(h("h2", {}, t().hubCard.title));
  void refresh();
  return card;
}
