// Pairing a panel: a browser on the LAN acts as a desk's patient or registrar panel only once a
// supervisor has shown a code in the console and it was typed here. The reception PC itself and
// a console login need none.

import { ApiError, getJson, panelToken, send, type Desk, type Paired, type Panel, type PanelCheck, type PanelPairing, type PanelRole } from "./api";
import { h } from "./dom";
import { t } from "./i18n";

/** Resolves with the token to send (null when none is needed) once this device may act as the
 * panel; until then shows the pairing form in `root`. */
export async function panelAccess(root: HTMLElement, desk: number, role: PanelRole): Promise<string | null> {
  const stored = panelToken.get(desk, role);
  try {
    const me = await send<PanelCheck>("GET", `/api/v1/panels/me?desk_id=${desk}&role=${role}`, undefined, stored);
    return me.via === "pairing" ? stored : null;
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) throw e;
  }
  panelToken.set(desk, role, null);
  return new Promise((resolve) => root.replaceChildren(pairForm(desk, role, resolve)));
}

function pairForm(desk: number, role: PanelRole, done: (token: string) => void) {
  const tr = t().pairing;
  const code = h("input", { inputmode: "numeric", autocomplete: "one-time-code", maxlength: "6", "aria-label": tr.code, placeholder: "000000", class: "pair-code", "data-testid": "pair-code" });
  const msg = h("p", { class: "status", role: "status" });
  const form = h(
    "form",
    { class: "pairing", "data-testid": "pairing" },
    h("h1", {}, tr.title),
    h("p", {}, role === "patient" ? tr.explainPatient : tr.explainRegistrar),
    code,
    h("button", { type: "submit", class: "primary" }, tr.pair),
    msg,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const paired = await send<Paired>("POST", "/api/v1/panels/pair", { code: code.value });
      if (paired.panel.desk_id !== desk || paired.panel.role !== role) {
        msg.textContent = tr.otherPanel(paired.panel.desk_name);
        msg.className = "status error";
        return;
      }
      panelToken.set(desk, role, paired.token);
      done(paired.token);
    } catch (e) {
      msg.textContent = e instanceof ApiError && e.code === "too_soon" ? e.message : tr.wrongCode;
      msg.className = "status error";
    }
  });
  window.setTimeout(() => code.focus(), 0);
  return h("main", { class: "panel message" }, form);
}

function roleName(role: PanelRole) {
  const tr = t().pairing;
  return role === "patient" ? tr.patient : role === "registrar" ? tr.registrar : tr.deskPc;
}

/** The console's card: pair a desk's panels with a code, see and revoke paired ones. */
export function panelsCard(card: HTMLElement) {
  const tr = t().pairing;
  const draw = async () => {
    const [panels, desks] = await Promise.all([getJson<Panel[]>("/api/v1/panels"), getJson<Desk[]>("/api/v1/desks")]);
    const shown = h("div", { class: "pairing-code", "data-testid": "pairing-shown" });
    const deskSel = h("select", { "aria-label": t().desk });
    for (const d of desks.filter((d) => d.active)) deskSel.append(h("option", { value: String(d.id) }, d.name));
    const roleSel = h(
      "select",
      { "aria-label": tr.role },
      h("option", { value: "patient" }, tr.patient),
      h("option", { value: "registrar" }, tr.registrar),
      h("option", { value: "desk_pc" }, tr.deskPc),
    );
    const make = h("button", { type: "button", class: "primary", "data-testid": "new-pairing" }, tr.newCode);
    make.addEventListener("click", async () => {
      try {
        const p = await send<PanelPairing>("POST", `/api/v1/desks/${deskSel.value}/pairing`, { role: roleSel.value });
        // A desk PC is another Otklik: it sends the code from its command line (or its API).
        const where =
          p.role === "desk_pc"
            ? tr.typeOnDeskPc(`otklik desk-pc pair --reception ${location.origin} --code ${p.code}`)
            : tr.typeIt(`/${p.role === "patient" ? "rate" : "desk"}/${deskSel.value}`);
        shown.replaceChildren(h("strong", { "data-testid": "pairing-value" }, p.code), h("small", {}, where));
      } catch (e) {
        shown.textContent = `${t().failed}${e instanceof Error ? e.message : e}`;
      }
    });
    const rows = panels.map((p) => {
      const revoke = h("button", { type: "button", class: "link", "data-testid": `revoke-${p.id}` }, tr.revoke);
      revoke.addEventListener("click", async () => {
        await send("DELETE", `/api/v1/panels/${p.id}`).catch(() => {});
        void draw();
      });
      return h("li", { "data-panel": String(p.id) }, h("strong", {}, `${p.desk_name} · ${roleName(p.role)}`), h("small", {}, ` ${p.label}`), " ", revoke);
    });
    card.replaceChildren(
      h("h2", {}, tr.card),
      h("p", { class: "muted" }, tr.cardHelp),
      h("div", { class: "actions" }, deskSel, roleSel, make),
      shown,
      rows.length ? h("ul", { class: "panels" }, ...rows) : h("p", { class: "muted" }, tr.none),
    );
  };
  void draw();
}
