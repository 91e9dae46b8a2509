// The patient panel: a touch screen facing the patient shows one big face per level; one tap is
// one rating, then a thank-you screen while the panel ignores further taps. After a low rating it
// first asks for one reason (big buttons); nobody picking keeps the rating without one.

import { ApiError, getJson, Live, send, type Desk, type PublicSettings as Settings, type Rating } from "./api";
import { panelAccess } from "./pairing";
import { h } from "./dom";
import { currentLang, levelColor, levelNames, t } from "./i18n";

const SVG = "http://www.w3.org/2000/svg";

/** A face from frowning (level 1) to beaming (the top level); the wizard previews them too. */
export function face(level: number, levels: number): SVGSVGElement {
  const mood = levels <= 1 ? 1 : ((level - 1) / (levels - 1)) * 2 - 1; // -1..1
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 100 100");
  svg.setAttribute("aria-hidden", "true");
  const el = (tag: string, attrs: Record<string, string>) => {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    svg.append(e);
  };
  el("circle", { cx: "50", cy: "50", r: "46", fill: levelColor(level, levels) });
  el("circle", { cx: "35", cy: "40", r: "6", fill: "#fff" });
  el("circle", { cx: "65", cy: "40", r: "6", fill: "#fff" });
  const y = 70 - mood * 6;
  el("path", {
    d: `M 28 ${y} Q 50 ${y + mood * 24} 72 ${y}`,
    stroke: "#fff",
    "stroke-width": "7",
    fill: "none",
    "stroke-linecap": "round",
  });
  return svg;
}

export async function mountRate(root: HTMLElement, deskId: number) {
  document.body.classList.add("panel-mode");
  const tr = t();
  let settings: Settings;
  let token: string | null;
  try {
    [settings] = await Promise.all([getJson<Settings>("/api/v1/settings/public"), getJson<Desk>(`/api/v1/desks/${deskId}`)]);
    token = await panelAccess(root, deskId, "patient");
  } catch (e) {
    root.replaceChildren(h("main", { class: "panel message" }, h("h1", {}, e instanceof ApiError && e.status === 404 ? tr.noSuchDesk : `${tr.failed}${e}`)));
    return;
  }

  const screen = h("main", { class: "panel" });
  root.replaceChildren(screen);
  let busy = false;

  const showFaces = () => {
    busy = false;
    const names = levelNames(settings.scale);
    const buttons = names.map((name, i) => {
      const b = h("button", { class: "face", type: "button", "data-score": String(i + 1), "aria-label": name });
      b.append(face(i + 1, settings.scale), h("span", {}, name));
      b.addEventListener("click", () => void rate(i + 1));
      return b;
    });
    // Best first, where the eye lands: most patients are satisfied.
    buttons.reverse();
    screen.replaceChildren(h("h1", {}, tr.rateQuestion), h("div", { class: `faces n${settings.scale}` }, ...buttons));
  };

  const showMessage = (title: string, sub: string, ms: number, kind: string) => {
    screen.replaceChildren(h("div", { class: `thanks ${kind}`, role: "status", "data-testid": "thanks" }, h("h1", {}, title), h("p", {}, sub)));
    window.setTimeout(showFaces, ms);
  };

  /** Lower half of the scale, as the engine counts it (otklik_store::contests::is_low). */
  const isLow = (score: number) => score * 2 <= settings.scale;

  /** One screen of reasons; the rating is stored already, so the timeout only moves on. */
  const askReason = (rating: Rating, pause: number) => {
    const lang = currentLang();
    let done = false;
    const finish = () => {
      if (done) return false;
      done = true;
      window.clearTimeout(timer);
      return true;
    };
    const timer = window.setTimeout(() => {
      if (finish()) showMessage(tr.thanks, tr.thanksMore, pause, "ok");
    }, settings.reasons_timeout_secs * 1000);
    const buttons = settings.reasons.map((r) => {
      const b = h("button", { class: "reason", type: "button", "data-reason": r.code }, r.labels[lang]);
      b.addEventListener("click", async () => {
        if (!finish()) return;
        try {
          await send("POST", `/api/v1/ratings/${rating.id}/reason`, { reason: r.code, panel: "patient" }, token);
          showMessage(tr.reasonThanks, tr.thanksMore, pause, "ok");
        } catch (e) {
          // The rating stands either way; the patient is thanked, the console keeps the error.
          console.warn("reason not stored", e);
          showMessage(tr.thanks, tr.thanksMore, pause, "ok");
        }
      });
      return b;
    });
    screen.replaceChildren(
      h(
        "div",
        { class: "reasons", "data-testid": "reasons" },
        h("h1", {}, tr.thanks),
        h("h2", {}, tr.reasonQuestion),
        h("div", { class: `reason-buttons n${buttons.length}` }, ...buttons),
        h("p", { class: "muted" }, tr.reasonHint),
      ),
    );
  };

  const rate = async (score: number) => {
    if (busy) return;
    busy = true;
    const pause = Math.max(3, settings.panel_lockout_secs) * 1000;
    try {
      const rating = await send<Rating>("POST", `/api/v1/desks/${deskId}/tap`, { score }, token);
      if (settings.reasons_enabled && settings.reasons.length > 0 && isLow(score)) askReason(rating, pause);
      else showMessage(tr.thanks, tr.thanksMore, pause, "ok");
    } catch (e) {
      if (e instanceof ApiError && e.code === "too_soon") showMessage(tr.thanks, tr.tooSoon, pause, "ok");
      else if (e instanceof ApiError && e.status === 409) showMessage(tr.deskOff, "", 5000, "error");
      // Unpaired in the console meanwhile: ask for a new code.
      else if (e instanceof ApiError && e.status === 401) void mountRate(root, deskId);
      else showMessage(tr.failed, e instanceof Error ? e.message : String(e), 4000, "error");
    }
  };

  new Live({
    onState: () => {},
    onResync: () => {},
    onEvent(name, data) {
      // A new scale or lock-out applies at once, but never in the middle of a thank-you.
      if (name === "settings") {
        settings = data as Settings;
        if (!busy) showFaces();
      }
    },
  });
  showFaces();
}
