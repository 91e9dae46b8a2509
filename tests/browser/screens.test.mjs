// The screens end to end: a registrar opens a session on the desk panel, a patient taps a face on
// the patient panel, the wall display shows it without a reload, survives an engine restart; a
// low rating is contested at the desk and annulled in the supervisor console. Screenshots at
// 1920x1080 go to output/ (the README shows them).

import assert from "node:assert/strict";
import { createServer } from "node:http";
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

const count = (page, id) =>
  page.evaluate((id) => document.querySelector(`tr[data-registrar="${id}"] .count`)?.textContent ?? null, id);

test("desk panel, patient panel, display and console work together through the engine", async () => {
  const desk = await otklik.api("POST", "/api/v1/desks", { name: "Окно 1" });
  await otklik.api("POST", "/api/v1/desks", { name: "Окно 2" });
  const anna = await otklik.api("POST", "/api/v1/registrars", { name: "Анна Иванова" });
  await otklik.api("POST", "/api/v1/registrars", { name: "Борис Петров" });
  await otklik.api("PATCH", "/api/v1/settings", { min_ratings: 1, panel_lockout_secs: 0, clinic_name: "Поликлиника № 1" });

  // The registrar picks herself and starts the shift: two clicks.
  const deskPage = await browser.newPage({ viewport });
  await deskPage.goto(`${otklik.base}/desk/${desk.id}`);
  await deskPage.getByRole("button", { name: "Анна Иванова" }).click();
  await deskPage.locator('[data-testid="start-shift"]').click();
  await deskPage.locator('[data-testid="on-shift"]', { hasText: "Анна Иванова" }).waitFor();
  const desks = await otklik.api("GET", "/api/v1/desks");
  assert.equal(desks[0].session.registrar_id, anna.id, "the session is open in the engine");

  const display = await browser.newPage({ viewport });
  await display.goto(`${otklik.base}/display`);
  await display.locator("main.board[data-state=live]").waitFor();
  await display.locator(".empty").waitFor();

  // The patient taps the top face on the panel facing them.
  const panel = await browser.newPage({ viewport });
  await panel.goto(`${otklik.base}/rate/${desk.id}`);
  const faces = panel.locator("button.face");
  await faces.first().waitFor();
  assert.equal(await faces.count(), 3, "three faces on the default scale");
  const tapped = Date.now();
  await panel.locator('button.face[data-score="3"]').click();
  await panel.locator('[data-testid="thanks"]', { hasText: "Спасибо" }).waitFor();

  // The display follows without a reload (the page is the same document throughout).
  await display.evaluate(() => (window.__sameDocument = true));
  await display.waitForFunction((id) => document.querySelector(`tr[data-registrar="${id}"] .count`)?.textContent === "1", anna.id, { timeout: 5000 });
  console.log(`# the display showed the tap ${Date.now() - tapped} ms after the click`);
  assert.equal(await display.evaluate(() => window.__sameDocument), true);
  const stored = await otklik.api("GET", "/api/v1/ratings");
  assert.equal(stored.items.length, 1);
  assert.equal(stored.items[0].source, "panel");
  assert.equal(stored.items[0].registrar_id, anna.id);

  // The engine restarts: the display says it lost the connection, then recovers by itself.
  await otklik.kill();
  await display.locator(".banner", { hasText: "Нет связи" }).waitFor({ timeout: 10000 });
  await otklik.start(otklik.port);
  await display.waitForFunction(() => document.querySelector("main.board")?.dataset.state === "live", null, { timeout: 15000 });
  // After the restart the panel gets back to its faces, and a low rating arrives live too.
  await panel.locator('button.face[data-score="1"]').click({ timeout: 10000 });
  await panel.locator('[data-testid="thanks"]').waitFor();
  await display.waitForFunction((id) => document.querySelector(`tr[data-registrar="${id}"] .count`)?.textContent === "2", anna.id, { timeout: 5000 });
  assert.equal(await display.evaluate(() => window.__sameDocument), true, "recovered without a reload");
  // A colleague at desk 2, for a fuller picture.
  const desk2 = (await otklik.api("GET", "/api/v1/desks"))[1];
  const boris = (await otklik.api("GET", "/api/v1/registrars")).find((r) => r.name === "Борис Петров");
  await otklik.api("POST", `/api/v1/desks/${desk2.id}/session`, { registrar_id: boris.id });
  // Two top ratings only: a third within 20 s would be flagged as a burst.
  for (const score of [3, 2, 3, 2]) await otklik.api("POST", "/api/v1/ratings", { desk_id: desk2.id, score });
  await display.waitForFunction((id) => document.querySelector(`tr[data-registrar="${id}"] .count`)?.textContent === "4", boris.id, { timeout: 5000 });
  await display.screenshot({ path: "output/display.png" });

  // At the desk, the low rating shows up; the registrar contests it.
  await deskPage.waitForFunction(() => document.querySelector('[data-testid="my-count"]')?.textContent === "2", null, { timeout: 10000 });
  const low = deskPage.locator(".lows li").first();
  await low.getByRole("button", { name: "Оспорить" }).click();
  await deskPage.locator(".contest-form textarea").fill("Ребёнок нажал кнопку");
  await deskPage.getByRole("button", { name: "Отправить" }).click();
  await deskPage.locator(".lows .contest.open").waitFor();
  await deskPage.screenshot({ path: "output/desk.png" });

  // The supervisor sets the console password on this PC, logs in, and annuls the rating.
  const admin = await browser.newPage({ viewport });
  await admin.goto(`${otklik.base}/admin`);
  await admin.locator('input[name="name"]').fill("Руководитель");
  await admin.locator('input[type="password"]').fill("регистратура");
  await admin.getByRole("button", { name: "Сохранить" }).click();
  const contest = admin.locator("[data-contest]");
  await contest.waitFor();
  assert.match(await contest.textContent(), /Ребёнок нажал кнопку/);
  await admin.locator('[data-testid="admin-total"]', { hasText: "6" }).waitFor();
  await admin.screenshot({ path: "output/admin.png" });
  await contest.locator('[data-decision="annul"]').click();
  await admin.locator(".card", { hasText: "Нет оспоренных оценок" }).waitFor();

  // The console names who is logged in; its Supervisors card adds a person of their own.
  assert.equal(await admin.locator('[data-testid="logged-in-as"]').textContent(), "Вы вошли как Руководитель");
  const supervisors = admin.locator('[data-card="supervisors"]');
  await supervisors.locator('input[name="supervisor-name"]').fill("Анна Петровна");
  await supervisors.locator('input[name="supervisor-password"]').fill("анна-1234");
  await supervisors.getByRole("button", { name: "Добавить" }).click();
  await supervisors.locator("tr[data-supervisor]", { hasText: "Анна Петровна" }).waitFor();
  const people = await otklik.api("GET", "/api/v1/supervisors");
  assert.deepEqual(people.map((p) => p.name), ["Руководитель", "Анна Петровна"]);

  // Annulled: kept and marked at the desk, and out of the ranking on the display.
  await deskPage.locator(".lows .contest.annulled").waitFor({ timeout: 5000 });
  await display.waitForFunction((id) => document.querySelector(`tr[data-registrar="${id}"] .count`)?.textContent === "1", anna.id, { timeout: 5000 });
  const rating = (await otklik.api("GET", "/api/v1/ratings")).items.find((r) => r.score === 1);
  assert.equal(rating.annulled, true);

  // Ending the shift from the panel closes the session in the engine.
  await deskPage.locator('[data-testid="end-shift"]').click();
  await deskPage.getByRole("button", { name: "Анна Иванова" }).waitFor();
  assert.equal((await otklik.api("GET", "/api/v1/desks"))[0].session, null);

  await panel.locator("button.face").first().waitFor();
  await panel.screenshot({ path: "output/rate.png" });
});

test("the display rotates views, shows initials and hides registrars with too few ratings", async () => {
  const desk = (await otklik.api("GET", "/api/v1/desks"))[1];
  // Ratings come faster than patients here; the burst rule has its own tests.
  await otklik.api("PATCH", "/api/v1/settings", { suspicion_burst_count: 0 });
  const vera = await otklik.api("POST", "/api/v1/registrars", { name: "Вера Сергеевна Кузнецова" });
  await otklik.api("POST", `/api/v1/desks/${desk.id}/session`, { registrar_id: vera.id });
  await otklik.api("POST", "/api/v1/ratings", { desk_id: desk.id, score: 3 });
  await otklik.api("PATCH", "/api/v1/settings", { display_initials: true, min_ratings: 2, display_hide_unranked: true, display_rotate_secs: 5 });

  const page = await browser.newPage({ viewport });
  await page.goto(`${otklik.base}/display`);
  await page.locator("main.board[data-view=board]").waitFor();
  // Vera has one rating, below the minimum of two: hidden, and so is Anna (one, after the
  // annulment); Boris (four) is shown.
  const row = page.locator(`tr[data-registrar="${vera.id}"]`);
  await page.locator("tr[data-registrar]").first().waitFor();
  assert.equal(await row.count(), 0);
  assert.equal(await page.locator("tr[data-registrar]").count(), 1);
  await otklik.api("POST", "/api/v1/ratings", { desk_id: desk.id, score: 3 });
  await row.waitFor({ timeout: 5000 });
  assert.equal(await row.locator(".name").textContent(), "В. С. К.");

  await page.locator("main.board[data-view=totals]").waitFor({ timeout: 8000 });
  assert.equal(await page.locator('[data-testid="today-count"]').textContent(), "7");
  await page.locator("main.board[data-view=desks]").waitFor({ timeout: 8000 });
  assert.match(await page.locator(`[data-desk="${desk.id}"]`).textContent(), /В\. С\. К\./);
  await page.screenshot({ path: "output/display-desks.png" });
  await otklik.api("PATCH", "/api/v1/settings", { display_initials: false, display_hide_unranked: false, display_rotate_secs: 0, min_ratings: 1, suspicion_burst_count: 3 });
});

test("every route renders in Russian, English and Spanish", async () => {
  const expected = {
    ru: { "/": "Экраны", "/display": "Рейтинг регистраторов", "/desk/1": "Панель регистратора", "/rate/1": "Оцените", "/admin": "Войти" },
    en: { "/": "Screens", "/display": "Registrar leaderboard", "/desk/1": "Registrar panel", "/rate/1": "Please rate", "/admin": "Log in" },
    es: { "/": "Pantallas", "/display": "Clasificación de recepcionistas", "/desk/1": "Panel del recepcionista", "/rate/1": "Por favor, valore", "/admin": "Entrar" },
  };
  const page = await browser.newPage({ viewport });
  for (const [lang, routes] of Object.entries(expected)) {
    // The installation's language, as a supervisor would set it.
    await otklik.api("PATCH", "/api/v1/settings", { language: lang });
    for (const [route, text] of Object.entries(routes)) {
      await page.goto(`${otklik.base}${route}`);
      await page.getByText(text).first().waitFor({ timeout: 5000 });
      assert.equal(await page.evaluate(() => document.documentElement.lang), lang, `${route} in ${lang}`);
      const body = await page.locator("body").innerText();
      assert.doesNotMatch(body, /undefined|\[object/, `${route} in ${lang}`);
    }
  }
  // A single screen can be switched without touching the installation.
  await page.goto(`${otklik.base}/rate/1?lang=ru`);
  await page.getByText("Оцените").waitFor();
  await otklik.api("PATCH", "/api/v1/settings", { language: "ru" });
});

test("the console sets a desk's input, shows its device state and the suspicious ratings", async () => {
  const desk = await otklik.api("POST", "/api/v1/desks", { name: "Окно 3" });
  // A top rating while nobody works at the desk: flagged, kept, listed for the supervisor.
  await otklik.api("POST", "/api/v1/ratings", { desk_id: desk.id, score: 3 });
  const page = await browser.newPage({ viewport });
  await page.goto(`${otklik.base}/admin`);
  await page.locator('input[name="name"]').fill("Руководитель");
  await page.locator('input[type="password"]').fill("регистратура");
  await page.getByRole("button", { name: "Войти" }).click();
  await page.locator("[data-flagged]", { hasText: "никого не было на смене" }).waitFor();

  const row = page.locator(`tr[data-input="${desk.id}"]`);
  await row.getByRole("button", { name: "Настроить" }).click();
  const form = page.locator(".input-form");
  await form.locator('select[name="kind"]').selectOption("serial");
  await form.locator('input[name="path"]').fill("/dev/otklik-test-no-such-port");
  await form.getByRole("button", { name: "Сохранить" }).click();
  // Not plugged in: the console says the desk waits for its device, and why.
  await row.locator(".state.waiting").waitFor({ timeout: 10000 });
  assert.match(await row.textContent(), /cannot open \/dev\/otklik-test-no-such-port/);
  const saved = await otklik.api("GET", `/api/v1/desks/${desk.id}/input`);
  assert.equal(saved.kind, "serial");
  assert.equal(saved.path, "/dev/otklik-test-no-such-port");

  // A bad setting is refused with the reason, and nothing changes.
  await row.getByRole("button", { name: "Настроить" }).click();
  await form.locator('select[name="kind"]').selectOption("keys");
  await form.locator('input[name="keys"]').fill("F9 F10");
  await form.getByRole("button", { name: "Сохранить" }).click();
  await page.locator(".status.error", { hasText: "give one key per score" }).waitFor();
  assert.equal((await otklik.api("GET", `/api/v1/desks/${desk.id}/input`)).kind, "serial");
  await page.screenshot({ path: "output/admin-inputs.png", fullPage: true });
  await otklik.api("PUT", `/api/v1/desks/${desk.id}/input`, { kind: "panel" });

  // Photos at this desk, from an IP camera on loopback (a JPEG Chromium made of this page).
  const frame = await page.screenshot({ type: "jpeg", quality: 60 });
  const camera = createServer((req, res) => {
    res.writeHead(200, { "content-type": "image/jpeg" });
    res.end(frame);
  });
  await new Promise((r) => camera.listen(0, "127.0.0.1", r));
  try {
    const url = `http://127.0.0.1:${camera.address().port}/snapshot.jpg`;
    await otklik.api("PUT", `/api/v1/desks/${desk.id}/evidence`, { photo: true, camera: { kind: "ip", url } });
    await page.locator(`tr[data-evidence="${desk.id}"]`, { hasText: "Фото" }).waitFor({ timeout: 10000 });
    await page.locator(".notice", { hasText: "ведётся фото- и аудиозапись" }).waitFor();
    const rating = await otklik.api("POST", "/api/v1/ratings", { desk_id: desk.id, score: 1 });
    for (let i = 0; i < 50; i++) {
      const media = await otklik.api("GET", `/api/v1/ratings/${rating.id}/evidence`);
      if (media.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const item = page.locator(`li[data-rating="${rating.id}"]`);
    await item.getByRole("button", { name: "Показать" }).click();
    const img = item.locator("img.evidence-photo");
    await img.waitFor({ timeout: 10000 });
    await page.waitForFunction((id) => document.querySelector(`li[data-rating="${id}"] img`)?.naturalWidth > 0, rating.id);
    assert.equal(await img.evaluate((el) => el.naturalWidth), 640, "scaled to the photo_max_width setting");
    await item.screenshot({ path: "output/admin-photo.png" });
  } finally {
    camera.close();
    await otklik.api("PUT", `/api/v1/desks/${desk.id}/evidence`, { photo: false, camera: null });
  }
});

test("the console's report shows the same figures as the API", async () => {
  const page = await browser.newPage({ viewport });
  await page.goto(`${otklik.base}/admin`);
  await page.locator('input[name="name"]').fill("Руководитель");
  await page.locator('input[type="password"]').fill("регистратура");
  await page.getByRole("button", { name: "Войти" }).click();
  const form = page.locator(".report-form");
  await form.waitFor();
  const from = await form.locator('input[name="from"]').inputValue();
  const to = await form.locator('input[name="to"]').inputValue();
  await form.getByRole("button", { name: "Показать" }).click();
  const totals = page.locator('[data-testid="report-totals"]');
  await totals.waitFor();
  // The page asks for local midnights; ask the API the same.
  const start = await page.evaluate((d) => new Date(`${d}T00:00:00`).toISOString(), from);
  const end = await page.evaluate((d) => { const e = new Date(`${d}T00:00:00`); e.setDate(e.getDate() + 1); return e.toISOString(); }, to);
  const report = await otklik.api("GET", `/api/v1/reports?from=${encodeURIComponent(start)}&to=${encodeURIComponent(end)}`);
  assert.ok(report.totals.count > 0, JSON.stringify(report.totals));
  assert.match(await totals.textContent(), new RegExp(`Всего оценок: ${report.totals.count}\\b`));
  // Earlier tests gave low ratings: their alerts are in the report, as the API counts them.
  assert.ok(report.alerts.total > 0, JSON.stringify(report.alerts));
  assert.match(await page.locator('[data-testid="report-alerts"]').textContent(), new RegExp(`^Оповещения: ${report.alerts.total} · `));
  const rows = page.locator('.report-table').first().locator("tr[data-id]");
  assert.equal(await rows.count(), report.registrars.length);
  assert.equal(await page.locator(".heat tr").count(), 8, "a header and seven weekdays");
  // The PDF export downloads through the console's login.
  const [download] = await Promise.all([page.waitForEvent("download"), page.locator('a[data-format="pdf"]').click()]);
  assert.equal(download.suggestedFilename(), "otklik-report.pdf");
  await page.locator(".card.wide").screenshot({ path: "output/admin-report.png" });
});
