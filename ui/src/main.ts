// One bundle for every screen: the desktop window and LAN browsers open the same routes.

import "./style.css";
import { getJson, type Settings } from "./api";
import { mountDisplay } from "./display";
import { mountHome } from "./home";
import { setLanguage } from "./i18n";

async function start() {
  const root = document.getElementById("app")!;
  try {
    const s = await getJson<Settings>("/api/v1/settings");
    setLanguage(s.language);
    if (s.clinic_name) document.title = `${s.clinic_name} · Otklik`;
  } catch {
    setLanguage(navigator.language.startsWith("ru") ? "ru" : "en");
  }
  const path = location.pathname.replace(/\/+$/, "");
  const params = new URLSearchParams(location.search);
  if (path === "/display") mountDisplay(root, params);
  else await mountHome(root);
}

void start();
