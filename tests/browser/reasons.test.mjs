// Reasons for low ratings through the screens: the patient panel asks after a low tap (in the
// panel's language), nobody picking keeps the rating, a remote's low rating is explained on the
// registrar's panel, and the console and its reports show what patients said.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Otklik, launchBrowser } from "./harness.mjs";

let otklik;
let browser;
const viewport = { width: 1280, height: 900 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  otklik = await new Otklik().start();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await otklik?.kill();
});

/** The newest rating at `desk` once there are more than `count` in all. */
async function newest(count) {
  for (let i = 0; i < 50; i++) {
    const items = (await otklik.api("GET", "/api/v1/ratings")).items;
    if (items.length > count) return items.at(-1);
    await sleep(100);
  }
  throw new Error("the tap was not stored");
}

test("a low rating gets its reason on the panels and shows in the console and reports", async () => {
  const desk = await otklik.api("POST", "/api/v1/desks", { name: "Окно 1" });
  const remote = await otklik.api("POST", "/api/v1/desks", { name: "Окно 2" });
  const anna = await otklik.api("POST", "/api/v1/registrars", { name: "Анна Иванова" });
  const boris = await otklik.api("POST", "/api/v1/registrars", { name: "Борис Петров" });
  await otklik.api("POST", `/api/v1/desks/${desk.id}/session`, { registrar_id: anna.id });
  await otklik.api("POST", `/api/v1/desks/${remote.id}/session`, { registrar_id: boris.id });
  await otklik.api("PATCH", "/api/v1/settings", { panel_lockout_secs: 0, suspicion_burst_count: 0, reasons_timeout_secs: 6 });

  // The same patient panel in each language: the question and the buttons in it; the engine
  // keeps the label in the installation's language (Russian).
  const panel = await browser.newPage({ viewport });
  const cases = [
    { lang: "ru", question: "Что пошло не так?", code: "queue", button: "Очередь", thanks: "Спасибо! Мы разберёмся", stored: "Очередь" },
    { lang: "en", question: "What went wrong?", code: "rudeness", button: "Rudeness", thanks: "Thank you! We will look into it", stored: "Грубость" },
    { lang: "es", question: "¿Qué salió mal?", code: "waiting", button: "Tiempo de espera", thanks: "¡Gracias! Lo revisaremos", stored: "Долгое ожидание" },
  ];
  for (const c of cases) {
    await panel.goto(`${otklik.base}/rate/${desk.id}?lang=${c.lang}`);
    const count = (await otklik.api("GET", "/api/v1/ratings")).items.length;
    await panel.locator('button.face[data-score="1"]').click({ timeout: 10000 });
    const reasons = panel.locator('[data-testid="reasons"]');
    await reasons.locator("h2", { hasText: c.question }).waitFor();
    assert.equal(await reasons.locator("button.reason").count(), 5, c.lang);
    const rating = await newest(count);
    assert.equal(rating.reason, null, "stored at once, before any reason");
    await reasons.getByRole("button", { name: c.button, exact: true }).click();
    await panel.locator('[data-testid="thanks"]', { hasText: c.thanks }).waitFor();
    const picked = await otklik.api("GET", `/api/v1/ratings/${rating.id}`);
    assert.deepEqual([picked.reason?.code, picked.reason?.label], [c.code, c.stored], c.lang);
    if (c.lang === "es") await panel.screenshot({ path: "output/reasons-thanks.png" });
  }

  // Nobody picks: the screen gives up after its timeout, the rating stays, the faces come back.
  await panel.goto(`${otklik.base}/rate/${desk.id}`);
  const count = (await otklik.api("GET", "/api/v1/ratings")).items.length;
  await panel.locator('button.face[data-score="1"]').click({ timeout: 10000 });
  await panel.locator('[data-testid="reasons"]').waitFor();
  await panel.screenshot({ path: "output/reasons.png" });
  const unexplained = await newest(count);
  await panel.locator('[data-testid="thanks"]', { hasText: "Спасибо за оценку!" }).waitFor({ timeout: 12000 });
  await panel.locator('button.face[data-score="1"]').waitFor({ timeout: 10000 });
  const kept = await otklik.api("GET", `/api/v1/ratings/${unexplained.id}`);
  assert.deepEqual([kept.score, kept.reason, kept.annulled], [1, null, false]);
  // A top rating asks nothing.
  await panel.locator('button.face[data-score="3"]').click();
  await panel.locator('[data-testid="thanks"]').waitFor();
  assert.equal(await panel.locator('[data-testid="reasons"]').count(), 0);

  // A button remote at desk 2 sends a low rating: its registrar's panel offers the reasons.
  const deskPage = await browser.newPage({ viewport });
  await deskPage.goto(`${otklik.base}/desk/${remote.id}`);
  await deskPage.locator('[data-testid="on-shift"]', { hasText: "Борис Петров" }).waitFor();
  const fromKeys = await otklik.api("POST", "/api/v1/ratings", { desk_id: remote.id, score: 1, source: "keys" });
  const ask = deskPage.locator(`[data-testid="reasons-remote"][data-rating="${fromKeys.id}"]`);
  await ask.waitFor({ timeout: 10000 });
  await deskPage.screenshot({ path: "output/reasons-desk.png" });
  await ask.getByRole("button", { name: "Ошибка", exact: true }).click();
  await deskPage.locator(`.lows li[data-rating="${fromKeys.id}"] .reason-label`, { hasText: "Ошибка" }).waitFor();
  assert.equal(await deskPage.locator('[data-testid="reasons-remote"]').count(), 0, "asked once");
  assert.equal((await otklik.api("GET", `/api/v1/ratings/${fromKeys.id}`)).reason.code, "mistake");

  // The console: the reasons in the latest ratings, and a reasons table in the report.
  const admin = await browser.newPage({ viewport });
  await admin.goto(`${otklik.base}/admin`);
  await admin.locator('input[name="name"]').fill("Руководитель");
  await admin.locator('input[type="password"]').fill("регистратура");
  await admin.getByRole("button", { name: "Сохранить" }).click();
  for (const [code, label] of [["queue", "Очередь"], ["rudeness", "Грубость"], ["waiting", "Долгое ожидание"], ["mistake", "Ошибка"]]) {
    await admin.locator(`[data-rating] .reason-label[data-reason="${code}"]`, { hasText: label }).waitFor();
  }
  await admin.locator(".report-form").getByRole("button", { name: "Показать" }).click();
  const line = admin.locator('[data-testid="report-reasons"]');
  await line.waitFor();
  assert.match(await line.textContent(), /Ошибка 1 · Очередь 1 · Грубость 1 · Долгое ожидание 1 · без причины 1/);
  const table = admin.locator('[data-reasons="registrars"]');
  const heads = await table.locator("th").allTextContents();
  assert.deepEqual(heads, ["Регистратор", "Ошибка", "Очередь", "Грубость", "Долгое ожидание", "без причины"]);
  const annaRow = await table.locator(`tr[data-id="${anna.id}"] td`).allTextContents();
  assert.deepEqual(annaRow, ["Анна Иванова", "", "1", "1", "1", "1"]);
  const borisRow = await table.locator(`tr[data-id="${boris.id}"] td`).allTextContents();
  assert.deepEqual(borisRow, ["Борис Петров", "1", "", "", "", ""]);
  const byDesk = await admin.locator(`[data-reasons="desks"] tr[data-id="${remote.id}"] td`).allTextContents();
  assert.deepEqual(byDesk, ["Окно 2", "1", "", "", "", ""]);
  // The trend by day: today's one row holds every reason.
  const byDay = admin.locator('[data-reasons="days"] tr[data-id]');
  assert.equal(await byDay.count(), 1);
  const [day, ...counts] = await byDay.locator("td").allTextContents();
  assert.match(day, /^\d{4}-\d{2}-\d{2}$/);
  assert.deepEqual(counts, ["1", "1", "1", "1", "1"]);
  await table.scrollIntoViewIfNeeded();
  await admin.screenshot({ path: "output/reasons-report.png" });
});
