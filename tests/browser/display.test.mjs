// The wall display: live leaderboard, updated from the event stream, honest when the engine is gone.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Otklik, launchBrowser } from "./harness.mjs";

let otklik;
let browser;

before(async () => {
  otklik = await new Otklik().start();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await otklik?.kill();
});

test("the display shows the leaderboard, follows new ratings live, and says when the connection is lost", async () => {
  const desk1 = await otklik.api("POST", "/api/v1/desks", { name: "Окно 1" });
  const desk2 = await otklik.api("POST", "/api/v1/desks", { name: "Окно 2" });
  const anna = await otklik.api("POST", "/api/v1/registrars", { name: "Анна Иванова" });
  const boris = await otklik.api("POST", "/api/v1/registrars", { name: "Борис Петров" });
  await otklik.api("PATCH", "/api/v1/settings", { min_ratings: 1, clinic_name: "Поликлиника № 1" });
  await otklik.api("POST", `/api/v1/desks/${desk1.id}/session`, { registrar_id: anna.id });
  await otklik.api("POST", `/api/v1/desks/${desk2.id}/session`, { registrar_id: boris.id });
  for (const score of [3, 3, 2]) await otklik.api("POST", "/api/v1/ratings", { desk_id: desk1.id, score });
  for (const score of [1, 3]) await otklik.api("POST", "/api/v1/ratings", { desk_id: desk2.id, score });

  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  await page.goto(`${otklik.base}/display`);
  const annaRow = page.locator(`tr[data-registrar="${anna.id}"]`);
  const borisRow = page.locator(`tr[data-registrar="${boris.id}"]`);
  await annaRow.waitFor();
  assert.equal(await annaRow.locator(".rank").textContent(), "1");
  assert.equal(await annaRow.locator(".count").textContent(), "3");
  // Numbers in the installation's locale: Russian writes "67 %".
  assert.equal((await annaRow.locator(".sat").textContent()).replace(/\s/g, " "), "67 %");
  assert.equal(await borisRow.locator(".rank").textContent(), "2");
  assert.equal(await page.locator(".banner").isVisible(), false);
  assert.equal(await page.title(), "Поликлиника № 1 · Otklik");

  // A new rating: the count moves without a reload, and the ticker shows where it came from.
  await otklik.api("POST", "/api/v1/ratings", { desk_id: desk2.id, score: 3 });
  await page.waitForFunction((id) => document.querySelector(`tr[data-registrar="${id}"] .count`)?.textContent === "3", boris.id, { timeout: 5000 });
  await page.locator('[data-testid="new-rating"]', { hasText: "Окно 2" }).waitFor({ timeout: 5000 });
  await page.screenshot({ path: "output/display.png" });

  // The engine dies: the display says so instead of showing numbers that may be stale.
  await otklik.kill();
  await page.locator(".banner", { hasText: "Нет связи" }).waitFor({ timeout: 10000 });
  assert.equal(await page.locator("main.board").getAttribute("data-state"), "lost");
  await page.screenshot({ path: "output/display-lost.png" });

  // It comes back on the same address: the display reconnects by itself and catches up.
  await otklik.start(otklik.port);
  await otklik.api("POST", "/api/v1/ratings", { desk_id: desk1.id, score: 1 });
  await page.waitForFunction(() => document.querySelector("main.board")?.getAttribute("data-state") === "live", null, { timeout: 15000 });
  await page.waitForFunction((id) => document.querySelector(`tr[data-registrar="${id}"] .count`)?.textContent === "4", anna.id, { timeout: 5000 });
  assert.equal(await page.locator(".banner").isVisible(), false);
});
