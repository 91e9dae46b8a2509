// One bundle for every screen: the desktop window and LAN browsers open the same routes.

import "./style.css";
import { getJson, type PublicSettings } from "./api";
import { mountAdmin } from "./admin";
import { mountDesk } from "./desk";
import { mountDisplay } from "./display";
import { mountHome } from "./home";
import { isLang, setLanguage, t } from "./i18n";
import { mountRate } from "./rate";
import { mountWizard } from "./wizard";
import { mountNetwork } from "./network";

async function start() {
  const root = document.getElementById("app")!;
  const params = new URLSearchParams(location.search);
  const path = location.pathname.replace(/\/+$/, "");
  try {
    const s = await getJson<PublicSettings>("/api/v1/settings/public");
    setLanguage(s.language);
    if (s.clinic_name) document.title = `${s.clinic_name} · Otklik`;
  } catch {
    setLanguage(navigator.language.slice(0, 2));
    // The network hub serves this bundle too, without a site's settings: its /healthz says so.
    const hub = await getJson<{ role?: string }>("/healthz")
      .then((hz) => hz.role === "hub")
      .catch(() => false);
    if (hub) {
      const lang = params.get("lang");
      if (isLang(lang)) setLanguage(lang);
      document.title = `${t().network.title} · Otklik`;
      if (path !== "/network") history.replaceState(null, "", `/network${location.search}`);
      mountNetwork(root, params);
      return;
    }
  }
  // A screen may speak another language than the installation (`?lang=es`).
  const lang = params.get("lang");
  if (isLang(lang)) setLanguage(lang);

  const id = (prefix: string) => {
    const m = path.match(new RegExp(`^/${prefix}/(\\d+)$`));
    return m ? Number(m[1]) : null;
  };
  const desk = id("desk");
  const rate = id("rate");
  if (path === "/display") mountDisplay(root, params);
  else if (desk !== null) await mountDesk(root, desk);
  else if (rate !== null) await mountRate(root, rate);
  else if (path === "/admin") await mountAdmin(root);
  else if (path === "/setup") await mountWizard(root);
  else await mountHome(root);
}

void start();
