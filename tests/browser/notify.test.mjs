// Notifications on the console, end to end: the supervisor sets where alerts go (a webhook to a
// port nobody listens on, alert rules, a report rule), a bad email address is refused with its
// field named and nothing changes; low ratings made through the API appear live in the Alerts
// card, are taken and resolved with a cause in the browser; the webhook shows as down with its
// messages waiting in the outbox. Screenshots at 1920x1080 go to output/.

import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, test } from "node:test";
import { Otklik, launchBrowser } from "./harness.mjs";

let otklik;
let browser;
const viewport = { width: 1920, height: 1080 };

before(async () => {
  otklik = await new Otklik().start();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await otklik?.kill();
});

/** A loopback port nobody listens on (bound, then let go). */
async function closedPort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

const step = (what) => console.log(`# ${what}`);

test("the console sets up notifications and works alerts live", async () => {
  const desk1 = await otklik.api("POST", "/api/v1/desks", { name: "Окно 1" });
  const desk2 = await otklik.api("POST", "/api/v1/desks", { name: "Окно 2" });
  const anna = await otklik.api("POST", "/api/v1/registrars", { name: "Анна Иванова" });
  const boris = await otklik.api("POST", "/api/v1/registrars", { name: "Борис Петров" });
  await otklik.api("POST", `/api/v1/desks/${desk1.id}/session`, { registrar_id: anna.id });
  await otklik.api("POST", `/api/v1/desks/${desk2.id}/session`, { registrar_id: boris.id });
  await otklik.api("PATCH", "/api/v1/settings", { clinic_name: "Поликлиника № 1", language: "ru" });
  const hook = `http://127.0.0.1:${await closedPort()}/otklik`;

  step("the supervisor sets the console password and opens the console");
  const page = await browser.newPage({ viewport });
  await page.goto(`${otklik.base}/admin`);
  await page.locator('input[name="name"]').fill("Старшая смены");
  await page.locator('input[type="password"]').fill("регистратура");
  await page.getByRole("button", { name: "Сохранить" }).click();
  const card = page.locator('[data-card="notify"]');
  const save = card.locator('[data-testid="notify-save"]');
  await save.waitFor();
  await card.locator('[data-block="telegram"] .secret-state', { hasText: "не задан" }).waitFor();

  step("webhook to a closed port, two alert rules, a daily report; saved");
  await card.locator('[data-field="webhook_url"]').fill(hook);
  const rule1 = card.locator('[data-rule="0"]');
  await rule1.locator('[data-field="alerts[0].escalate_after_mins"]').fill("10");
  await card.locator('[data-action="add-rule"]').click();
  const rule2 = card.locator('[data-rule="1"]');
  await rule2.waitFor();
  // Rule 2: "Нормально" and worse at desk 2, Telegram only, escalate after 5 minutes.
  await rule2.locator(".check", { hasText: "Нормально" }).locator("input").check();
  await rule2.locator('[data-field="alerts[1].desks"] .check', { hasText: "Окно 2" }).locator("input").check();
  await rule2.locator('[data-field="alerts[1].channels"] .check', { hasText: "Эл. почта" }).locator("input").uncheck();
  await rule2.locator('[data-field="alerts[1].escalate_after_mins"]').fill("5");
  const report1 = card.locator('[data-report="0"]');
  await report1.locator('select[data-field="reports[0].every"]').selectOption("daily");
  await report1.locator('input[name="at"]').fill("19:30");
  await report1.locator('select[data-field="reports[0].condition"]').selectOption("negative");
  await card.locator('[data-field="link_base"]').fill("http://192.168.1.10:8787");
  await save.click();
  await card.locator('[data-testid="notify-status"]', { hasText: "Сохранено" }).waitFor();
  let stored = (await otklik.api("GET", "/api/v1/notify")).config;
  assert.equal(stored.webhook_url, hook);
  assert.equal(stored.link_base, "http://192.168.1.10:8787");
  assert.equal(stored.alerts.length, 2);
  assert.deepEqual(stored.alerts[0], { scores: [1], desks: [], channels: ["telegram", "email"], escalate_after_mins: 10 });
  assert.deepEqual(stored.alerts[1], { scores: [1, 2], desks: [desk2.id], channels: ["telegram"], escalate_after_mins: 5 });
  assert.deepEqual(stored.reports[0], { every: "daily@19:30", condition: "negative", channels: stored.reports[0].channels });
  console.log(`# stored: ${JSON.stringify({ webhook_url: stored.webhook_url, alerts: stored.alerts, reports: stored.reports })}`);

  step("the mail password is kept write-only: the console only says it is set");
  const secret = card.locator('[data-secret="smtp_password"]');
  await secret.locator('input[type="password"]').fill("pa55-почта");
  await secret.getByRole("button", { name: "Сохранить" }).click();
  await card.locator('[data-block="email"] .secret-state', { hasText: /^задан$/ }).waitFor();
  const afterSecret = await otklik.api("GET", "/api/v1/notify");
  assert.equal(afterSecret.smtp_password_set, true);
  assert.doesNotMatch(JSON.stringify(afterSecret), /pa55/);
  assert.equal(await secret.locator("input").inputValue(), "", "the field is emptied");

  step("a group is paired with a one-time code");
  await card.locator('[data-action="pair"]').click();
  const code = card.locator('[data-testid="pair-code"]');
  await code.waitFor();
  const pairing = (await otklik.api("GET", "/api/v1/notify")).pairing;
  assert.equal(await code.textContent(), `/pair ${pairing.code}`);

  step("a bad email address is refused, the field named; nothing changes");
  const email = card.locator('[data-block="email"]');
  await email.locator('[data-field="email.enabled"]').check();
  await email.locator('[data-field="email.host"]').fill("smtp.clinic.test");
  await email.locator('[data-field="email.from"]').fill("Отклик <otklik@clinic.test>");
  await email.locator('[data-field="email.to"]').fill("head@clinic.test\nзаведующая");
  await save.click();
  const refusal = card.locator('[data-testid="notify-status"].error');
  await refusal.waitFor();
  const refusalText = await refusal.textContent();
  console.log(`# the console said: ${refusalText}`);
  assert.match(refusalText, /Не сохранено/);
  assert.match(refusalText, /Эл\. почта → получатели, адрес 2/);
  assert.match(refusalText, /заведующая/);
  assert.equal(await email.locator('[data-field="email.to"].invalid').count(), 1, "the recipients box is marked");
  assert.deepEqual((await otklik.api("GET", "/api/v1/notify")).config, stored, "the engine kept the settings");
  await page.reload();
  await save.waitFor();
  assert.equal(await card.locator('[data-field="webhook_url"]').inputValue(), hook);
  assert.equal(await email.locator('[data-field="email.enabled"]').isChecked(), false);
  assert.equal(await email.locator('[data-field="email.to"]').inputValue(), "");
  assert.equal(await card.locator("[data-rule]").count(), 2);
  assert.equal(await report1.locator('input[name="at"]').inputValue(), "19:30");

  step("low ratings arrive live in the Alerts card");
  await page.evaluate(() => (window.__sameDocument = true));
  const alerts = page.locator('[data-card="alerts"]');
  const active = alerts.locator('[data-testid="alerts-active"]');
  const rA = await otklik.api("POST", "/api/v1/ratings", { desk_id: desk1.id, score: 1 });
  const made = Date.now();
  const itemA = active.locator("li[data-alert]", { hasText: "Окно 1" });
  await itemA.waitFor({ timeout: 5000 });
  console.log(`# the alert showed ${Date.now() - made} ms after the rating`);
  assert.match(await itemA.textContent(), /Плохо.*Окно 1.*Анна Иванова/);
  assert.equal(await itemA.getAttribute("data-state"), "open");
  const rB = await otklik.api("POST", "/api/v1/ratings", { desk_id: desk2.id, score: 2 });
  await otklik.api("POST", "/api/v1/ratings", { desk_id: desk2.id, score: 3 }); // no rule for it
  const itemB = active.locator("li[data-alert]", { hasText: "Окно 2" });
  await itemB.waitFor({ timeout: 5000 });
  assert.match(await itemB.textContent(), /Нормально.*Борис Петров/);
  const list = await otklik.api("GET", "/api/v1/alerts");
  assert.deepEqual(list.map((a) => a.rating_id).sort(), [rA.id, rB.id].sort(), "one alert per matching rating");
  const alertA = list.find((a) => a.rating_id === rA.id);

  step("taken and resolved with a cause in the browser");
  await itemA.locator('[data-action="take"]').click();
  await active.locator(`li[data-alert="${alertA.id}"][data-state="taken"]`, { hasText: "взял(а) Старшая смены" }).waitFor();
  await active.locator(`li[data-alert="${alertA.id}"] [data-action="resolve"]`).click();
  const cause = active.locator(`input[data-cause="${alertA.id}"]`);
  await cause.fill("Долго ждал талон к терапевту");
  // A new alert arrives while the cause is being typed: the text stays.
  await otklik.api("POST", "/api/v1/ratings", { desk_id: desk1.id, score: 1 });
  await active.locator("li[data-alert]").nth(2).waitFor({ timeout: 5000 });
  assert.equal(await cause.inputValue(), "Долго ждал талон к терапевту");
  await active.locator(`li[data-alert="${alertA.id}"] .cause-form button[type="submit"]`).click();
  const resolved = alerts.locator(`[data-testid="alerts-resolved"] li[data-alert="${alertA.id}"]`);
  await resolved.waitFor({ timeout: 5000 });
  assert.match(await resolved.textContent(), /Долго ждал талон к терапевту/);
  assert.match(await resolved.textContent(), /решил\(а\) Старшая смены за 0 мин/);
  const a = (await otklik.api("GET", "/api/v1/alerts?state=resolved")).find((x) => x.id === alertA.id);
  assert.equal(a.state, "resolved");
  assert.equal(a.cause, "Долго ждал талон к терапевту");
  assert.equal(a.resolved_by, "Старшая смены");
  // Someone else took B in Telegram meanwhile: the card follows.
  const alertB = list.find((x) => x.rating_id === rB.id);
  await otklik.api("POST", `/api/v1/alerts/${alertB.id}/take`, { by: "Мария (Telegram)" });
  await active.locator(`li[data-alert="${alertB.id}"][data-state="taken"]`, { hasText: "Мария (Telegram)" }).waitFor({ timeout: 5000 });
  assert.equal(await page.evaluate(() => window.__sameDocument), true, "all of it without a reload");
  await alerts.screenshot({ path: "output/notify-alerts.png" });

  step("the webhook is down, its messages wait in the outbox");
  const chip = card.locator('.chan-chip[data-channel="webhook"]');
  await card.locator('.chan-chip[data-channel="webhook"][data-state="down"]').waitFor({ timeout: 20000 });
  console.log(`# webhook chip: ${(await chip.innerText()).replace(/\s+/g, " ")}`);
  assert.match(await chip.textContent(), /нет связи с/);
  const outbox = page.locator('[data-card="outbox"]');
  const waiting = outbox.locator('li[data-channel="webhook"][data-state="pending"]');
  await page.waitForFunction(() => document.querySelectorAll('[data-card="outbox"] li[data-channel="webhook"][data-state="pending"]').length >= 4, null, { timeout: 10000 });
  assert.match(await waiting.first().textContent(), /ждёт — Вебхук \(МИС\): нет связи/);
  assert.match(await waiting.first().textContent(), /Оценка: Плохо · Окно 1/, "the webhook's JSON said in words");
  const health = await otklik.api("GET", "/healthz");
  const webhook = health.channels.find((c) => c.channel === "webhook");
  assert.equal(webhook.state, "down");
  assert.ok(webhook.pending >= 4, JSON.stringify(webhook));
  console.log(`# healthz webhook: ${JSON.stringify(webhook)}`);
  await card.screenshot({ path: "output/notify-settings.png" });
  await outbox.screenshot({ path: "output/notify-outbox.png" });

  step("the cards speak English and Spanish too");
  for (const [lang, words] of Object.entries({ en: ["Alerts", "Outbox", "Scheduled reports"], es: ["Alertas", "Cola de envío", "Informes programados"] })) {
    await otklik.api("PATCH", "/api/v1/settings", { language: lang });
    await page.reload();
    await save.waitFor();
    await alerts.locator("li[data-alert]").first().waitFor();
    for (const w of words) await page.getByText(w, { exact: true }).first().waitFor();
    assert.doesNotMatch(await page.locator("body").innerText(), /undefined|\[object|\{\w+\}/, lang);
  }
  await otklik.api("PATCH", "/api/v1/settings", { language: "ru" });
});
