// The armed rating window through the screens: the console arms a desk, the registrar's panel
// says when a patient is being served, the patient panel's taps count only then.
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

test("an armed desk counts the patient's tap only while the registrar serves", async () => {
  const desk = await otklik.api("POST", "/api/v1/desks", { name: "Окно 1" });
  await otklik.api("POST", "/api/v1/registrars", { name: "Анна Иванова" });
  await otklik.api("PATCH", "/api/v1/settings", { panel_lockout_secs: 0, serving_grace_secs: 0, suspicion_burst_count: 0 });

  // The supervisor sets the console password on this PC and arms the desk.
  const admin = await browser.newPage({ viewport });
  await admin.goto(`${otklik.base}/admin`);
  await admin.locator('input[name="name"]').fill("Руководитель");
  await admin.locator('input[type="password"]').fill("регистратура");
  await admin.getByRole("button", { name: "Сохранить" }).click();
  await admin.locator(`[data-testid="armed-${desk.id}"]`).check();
  for (let i = 0; i < 50 && !(await otklik.api("GET", `/api/v1/desks/${desk.id}`)).armed; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal((await otklik.api("GET", `/api/v1/desks/${desk.id}`)).armed, true, "armed in the engine");

  const deskPage = await browser.newPage({ viewport });
  await deskPage.goto(`${otklik.base}/desk/${desk.id}`);
  await deskPage.getByRole("button", { name: "Анна Иванова" }).click();
  await deskPage.locator('[data-testid="start-shift"]').click();
  const serve = deskPage.locator('[data-testid="serving"]');
  await serve.filter({ hasText: "Принимаю пациента" }).waitFor();

  const panel = await browser.newPage({ viewport });
  await panel.goto(`${otklik.base}/rate/${desk.id}`);
  const tap = async (score) => {
    const before = (await otklik.api("GET", "/api/v1/ratings")).items.length;
    await panel.locator(`button.face[data-score="${score}"]`).click({ timeout: 10000 });
    for (let i = 0; i < 50; i++) {
      const items = (await otklik.api("GET", "/api/v1/ratings")).items;
      if (items.length > before) return items.at(-1);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("the tap was not stored");
  };

  // Nobody is served yet: kept, flagged.
  assert.equal((await tap(3)).flag, "outside_serving");
  await serve.click();
  await deskPage.locator('[data-testid="serving-since"]', { hasText: "Идёт приём с" }).waitFor();
  assert.equal((await otklik.api("GET", `/api/v1/desks/${desk.id}`)).serving.source, "panel");
  assert.equal((await tap(2)).flag, null, "counted while serving");
  await deskPage.locator('[data-testid="serving"]', { hasText: "Приём окончен" }).click();
  await deskPage.locator('[data-testid="serving"]', { hasText: "Принимаю пациента" }).waitFor();
  assert.equal((await tap(1)).flag, "outside_serving");

  // The console lists them with the reason in words.
  await admin.reload();
  await admin.locator("[data-flagged]", { hasText: "вне приёма пациента" }).first().waitFor();
  await deskPage.screenshot({ path: "output/desk-serving.png" });
});
