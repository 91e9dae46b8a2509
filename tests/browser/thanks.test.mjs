// A window rule's thanks through the screens: top ratings in a row at a desk reach its
// registrar's panel as a banner, from the public live stream, and other desks see none.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Otklik, launchBrowser } from "./harness.mjs";

let otklik;
let browser;
const viewport = { width: 1280, height: 900 };

before(async () => {
  otklik = await new Otklik().start();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await otklik?.kill();
});

test("three top ratings in a row thank the registrar on the desk panel", async () => {
  const desk1 = await otklik.api("POST", "/api/v1/desks", { name: "Окно 1" });
  const desk2 = await otklik.api("POST", "/api/v1/desks", { name: "Окно 2" });
  const anna = await otklik.api("POST", "/api/v1/registrars", { name: "Анна Иванова" });
  const boris = await otklik.api("POST", "/api/v1/registrars", { name: "Борис Петров" });
  // Top ratings this fast would be flagged as a burst (and flagged ratings skip the rules).
  await otklik.api("PATCH", "/api/v1/settings", { suspicion_burst_count: 0 });
  const { scale } = await otklik.api("GET", "/api/v1/settings");
  const state = await otklik.api("GET", "/api/v1/notify");
  await otklik.api("PUT", "/api/v1/notify", { ...state.config, windows: [{ kind: "top_run", run: 3 }] });
  await otklik.api("POST", `/api/v1/desks/${desk1.id}/session`, { registrar_id: anna.id });
  await otklik.api("POST", `/api/v1/desks/${desk2.id}/session`, { registrar_id: boris.id });

  const open = async (desk, lang) => {
    const page = await browser.newPage({ viewport });
    await page.goto(`${otklik.base}/desk/${desk.id}?lang=${lang}`);
    await page.locator('[data-testid="thanks"]').waitFor({ state: "attached" });
    return page;
  };
  const anns = await open(desk1, "ru");
  const boriss = await open(desk2, "en");
  const banner = anns.locator('[data-testid="thanks"]');
  assert.equal(await banner.isVisible(), false, "no thanks before the ratings");

  for (let i = 0; i < 2; i++) await otklik.api("POST", "/api/v1/ratings", { desk_id: desk1.id, score: scale });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await banner.isVisible(), false, "two in a row are not yet a run");
  await otklik.api("POST", "/api/v1/ratings", { desk_id: desk1.id, score: scale });
  await banner.waitFor({ state: "visible", timeout: 10000 });
  assert.equal(await banner.textContent(), "🌟 Спасибо! 3 высших оценок подряд — Анна Иванова");
  assert.equal(await boriss.locator('[data-testid="thanks"]').isVisible(), false, "another desk is not thanked");
  await anns.screenshot({ path: "output/desk-thanks.png" });

  // Boris's run, in English on his panel.
  for (let i = 0; i < 3; i++) await otklik.api("POST", "/api/v1/ratings", { desk_id: desk2.id, score: scale });
  const his = boriss.locator('[data-testid="thanks"]');
  await his.waitFor({ state: "visible", timeout: 10000 });
  assert.equal(await his.textContent(), "🌟 Thank you! 3 top ratings in a row — Борис Петров");
});
