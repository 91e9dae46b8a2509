// A tablet on the clinic's LAN becomes a desk's patient panel only once paired with a code from
// the console; unpaired in the console, it asks for a code again. The browser reaches the engine
// at this machine's own LAN address, so the engine sees a LAN device, not the reception PC.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Otklik, TOKEN, lanAddress, launchBrowser } from "./harness.mjs";

let otklik;
let browser;
const viewport = { width: 1280, height: 800 };

before(async () => {
  otklik = await new Otklik().start(0, "0.0.0.0");
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await otklik?.kill();
});

test("a LAN tablet asks for a code, rates once paired, and is refused once unpaired", async () => {
  const desk = await otklik.api("POST", "/api/v1/desks", { name: "Окно 1" });
  await otklik.api("PATCH", "/api/v1/settings", { panel_lockout_secs: 0 });
  const lan = `http://${lanAddress()}:${otklik.port}`;
  const page = await browser.newPage({ viewport });
  await page.goto(`${lan}/rate/${desk.id}`);
  await page.locator('[data-testid="pairing"]').waitFor();
  assert.equal(await page.locator("button.face").count(), 0, "no faces before pairing");

  // A wrong code is named and changes nothing.
  await page.locator('[data-testid="pair-code"]').fill("000000");
  await page.getByRole("button", { name: "Подключить" }).click();
  await page.locator(".status.error", { hasText: "неверный" }).waitFor();

  // The console's code, from the "Panels" card's endpoint.
  const code = await otklik.api("POST", `/api/v1/desks/${desk.id}/pairing`, { role: "patient" });
  await page.locator('[data-testid="pair-code"]').fill(code.code);
  await page.screenshot({ path: "output/pairing.png" });
  await page.getByRole("button", { name: "Подключить" }).click();
  await page.locator('button.face[data-score="3"]').click();
  await page.locator('[data-testid="thanks"]', { hasText: "Спасибо" }).waitFor();
  const ratings = await otklik.api("GET", "/api/v1/ratings");
  assert.equal(ratings.items.length, 1);
  assert.equal(ratings.items[0].source, "panel");

  // It stays paired across a reload (its token is in the tablet's storage) ...
  await page.reload();
  await page.locator("button.face").first().waitFor();
  const panels = await otklik.api("GET", "/api/v1/panels");
  assert.equal(panels.length, 1);
  assert.equal(panels[0].role, "patient");
  assert.match(panels[0].label, new RegExp(lanAddress().replaceAll(".", "\\.")));

  // ... until the console unpairs it: the next tap is refused and the code screen is back.
  const resp = await fetch(`${otklik.base}/api/v1/panels/${panels[0].id}`, { method: "DELETE", headers: { Authorization: `Bearer ${TOKEN}` } });
  assert.equal(resp.status, 200);
  await page.locator('button.face[data-score="1"]').click();
  await page.locator('[data-testid="pairing"]').waitFor();
  assert.equal((await otklik.api("GET", "/api/v1/ratings")).items.length, 1, "the refused tap stored nothing");
});
