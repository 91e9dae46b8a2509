// The first-run wizard, end to end on a fresh `otklik serve`: the supervisor sets the console
// password, is sent to /setup, switches the language, names the clinic and its time zone, adds
// desks and registrars, picks the scale (the page is reloaded halfway and resumes where it was),
// binds a remote's keys to a desk and sees a rating arrive live in the test box, sees the frame
// of an IP camera (a loopback server) at another desk (there is no microphone here: the level
// meter says so) and skips the rest of that step, saves the email settings without sending, and finishes with "start with the system". The
// API then holds every setting. A second fresh installation tries the demo data instead and
// lands in the console with ratings. A screenshot of each step at 1920x1080 goes to
// output/wizard-<n>-<step>.png.

import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, test } from "node:test";
import { Otklik, launchBrowser } from "./harness.mjs";

let browser;
const viewport = { width: 1920, height: 1080 };

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

const step = (what) => console.log(`# ${what}`);

async function shot(page, n, name) {
  // Let transitions (the live box's fade-in) settle.
  await page.waitForTimeout(450);
  await page.screenshot({ path: `output/wizard-${n}-${name}.png` });
}

async function next(page, to) {
  await page.locator('[data-testid="wizard-next"]').click();
  await page.locator(`.wizard-body[data-step="${to}"]`).waitFor();
}

/** Sets the console password on a fresh installation and follows it to the wizard. */
async function firstLogin(page, otklik) {
  await page.goto(`${otklik.base}/admin`);
  await page.locator('input[name="name"]').fill("Руководитель");
  await page.locator('input[type="password"]').fill("регистратура");
  await page.getByRole("button", { name: "Сохранить" }).click();
  await page.waitForURL(`${otklik.base}/setup`);
  await page.locator('.wizard-body[data-step="language"]').waitFor();
}

test("the wizard sets up a fresh installation end to end", async () => {
  const otklik = await new Otklik().start();
  try {
    const fresh = await otklik.api("GET", "/api/v1/setup");
    assert.equal(fresh.fresh, true);
    assert.equal(fresh.setup_done, false);
    const page = await browser.newPage({ viewport });

    step("1. the console sends a fresh installation to the wizard; English at once");
    await firstLogin(page, otklik);
    await page.getByRole("heading", { name: "Язык" }).waitFor();
    await page.locator('[data-lang="en"]').click();
    await page.getByRole("heading", { name: "Language" }).waitFor();
    await page.locator('[data-lang="en"].picked').waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), "en");
    assert.equal((await otklik.api("GET", "/api/v1/settings")).language, "en");
    await page.getByRole("button", { name: "Try with demo data" }).waitFor();
    await shot(page, 1, "language");
    await next(page, "clinic");

    step("2. the clinic's name and time zone");
    await page.locator('[data-testid="wizard-next"]').click();
    await page.locator('[data-testid="wizard-status"]', { hasText: "Enter the clinic's name" }).waitFor();
    await page.locator('[data-testid="wizard-clinic"]').fill("City Clinic No. 7");
    await page.locator('[data-testid="wizard-timezone"]').selectOption("Europe/Madrid");
    await shot(page, 2, "clinic");
    await next(page, "desks");
    let settings = await otklik.api("GET", "/api/v1/settings");
    assert.equal(settings.clinic_name, "City Clinic No. 7");
    assert.equal(settings.timezone, "Europe/Madrid");

    step("3. desks: the first by its suggested name, two typed");
    await page.locator('[data-testid="wizard-next"]').click();
    await page.locator('[data-testid="wizard-status"]', { hasText: "Add at least one desk" }).waitFor();
    const deskName = page.locator('[data-testid="wizard-desks-name"]');
    assert.equal(await deskName.inputValue(), "Desk 1");
    await page.locator('[data-testid="wizard-desks-add"]').click();
    await page.locator('[data-testid="wizard-desks"] li', { hasText: "Desk 1" }).waitFor();
    for (const name of ["Desk 2", "Children's desk"]) {
      await deskName.fill(name);
      await deskName.press("Enter");
      await page.locator('[data-testid="wizard-desks"] li', { hasText: name }).waitFor();
    }
    await shot(page, 3, "desks");
    await next(page, "registrars");

    step("4. registrars; then a reload resumes at this step");
    const regName = page.locator('[data-testid="wizard-registrars-name"]');
    for (const name of ["Anna Smirnova", "Boris Petrov", "Vera Kuznetsova"]) {
      await regName.fill(name);
      await page.locator('[data-testid="wizard-registrars-add"]').click();
      await page.locator('[data-testid="wizard-registrars"] li', { hasText: name }).waitFor();
    }
    await shot(page, 4, "registrars");
    await page.reload();
    await page.locator('.wizard-body[data-step="registrars"]').waitFor();
    assert.equal(await page.locator('[data-testid="wizard-registrars"] li').count(), 3);
    assert.equal((await otklik.api("GET", "/api/v1/setup")).step, 4);
    await next(page, "scale");

    step("5. the scale: five faces");
    await page.locator('[data-scale="5"]').click();
    await page.locator('[data-scale="5"].picked').waitFor();
    assert.equal(await page.locator('[data-scale="5"] .mini-face').count(), 5);
    await shot(page, 5, "scale");
    await next(page, "inputs");

    step("6. inputs: a remote's keys at Desk 1; a rating shows in the live test box");
    const desks = await otklik.api("GET", "/api/v1/desks");
    const desk1 = desks.find((d) => d.name === "Desk 1");
    const block = page.locator(`[data-input-desk="${desk1.id}"]`);
    await block.locator('select[name="kind"]').selectOption("keys");
    await block.locator('input[name="keys"]').fill("F13 F14 F15 F16 F17");
    await block.locator('[data-action="save-input"]').click();
    await page.locator('[data-testid="wizard-status"]', { hasText: "Desk 1: Saved" }).waitFor();
    const box = page.locator(`[data-testid="input-test-${desk1.id}"]`);
    assert.match(await box.textContent(), /Press a button at this desk now/);
    // The press, as the remote's receiver would make it: a rating for this desk.
    await otklik.api("POST", "/api/v1/ratings", { desk_id: desk1.id, score: 4 });
    await page.locator(`[data-testid="input-test-${desk1.id}"].got[data-score="4"]`).waitFor({ timeout: 5000 });
    assert.match(await box.textContent(), /Good — 4 of 5/);
    // Only at its own desk.
    const other = desks.find((d) => d.name === "Desk 2");
    assert.match(await page.locator(`[data-testid="input-test-${other.id}"]`).textContent(), /Press a button/);
    await shot(page, 6, "inputs");
    const still = await page.screenshot({ type: "jpeg", quality: 70, clip: { x: 400, y: 300, width: 960, height: 600 } });
    await next(page, "devices");
    const input = await otklik.api("GET", `/api/v1/desks/${desk1.id}/input`);
    assert.deepEqual([input.kind, input.keys], ["keys", ["F13", "F14", "F15", "F16", "F17"]]);

    step("7. cameras and microphones: an IP camera on loopback shows its frame; no microphone here");
    // The camera: a JPEG Chromium made of the previous step, served as a snapshot URL.
    const camera = createServer((req, res) => {
      res.writeHead(200, { "content-type": "image/jpeg" });
      res.end(still);
    });
    await new Promise((r) => camera.listen(0, "127.0.0.1", r));
    try {
      const dev2 = page.locator(`[data-devices-desk="${other.id}"]`);
      await dev2.locator('select[name="camera"]').selectOption("ip");
      await dev2.locator('input[name="url"]').fill(`http://127.0.0.1:${camera.address().port}/snapshot.jpg`);
      // "See the frame" saves the desk's setting first, then asks the camera through the engine.
      await dev2.locator('[data-action="see-frame"]').click();
      const img = page.locator(`[data-testid="camera-frame-${other.id}"] img`);
      await img.waitFor({ timeout: 10000 });
      await page.waitForFunction((id) => document.querySelector(`[data-testid="camera-frame-${id}"] img`)?.naturalWidth > 0, other.id);
      assert.equal(await img.evaluate((el) => el.naturalWidth), 640, "as a rating's photo: scaled to photo_max_width");
      // Desk 1 has neither camera nor microphone: both tests say so.
      const dev1 = page.locator(`[data-devices-desk="${desk1.id}"]`);
      await dev1.locator('[data-action="see-frame"]').click();
      await page.locator(`[data-testid="camera-frame-${desk1.id}"] .error`, { hasText: "takes no photos" }).waitFor();
      await dev1.locator('[data-action="listen"]').click();
      await dev1.locator(".mic-error", { hasText: "records no audio" }).waitFor();
      assert.equal(await page.locator("[data-devices-desk]").count(), 3);
      await shot(page, 7, "devices");
    } finally {
      camera.close();
    }
    await page.locator('[data-testid="wizard-skip"]').click();
    await page.locator('.wizard-body[data-step="channels"]').waitFor();
    const ev1 = await otklik.api("GET", `/api/v1/desks/${desk1.id}/evidence`);
    assert.deepEqual([ev1.photo, ev1.audio], [false, false]);
    const ev2 = await otklik.api("GET", `/api/v1/desks/${other.id}/evidence`);
    assert.deepEqual([ev2.photo, ev2.camera.kind, ev2.audio], [true, "ip", false]);

    step("8. Telegram and email: email filled and saved, nothing sent");
    const mail = page.locator('[data-block="email"]');
    await mail.locator('[data-field="email.enabled"]').check();
    await mail.locator('[data-field="email.host"]').fill("smtp.clinic.example");
    await mail.locator('[data-field="email.from"]').fill("Otklik <otklik@clinic.example>");
    await mail.locator('[data-field="email.to"]').fill("head@clinic.example, deputy@clinic.example");
    await mail.locator('[data-action="save-email"]').click();
    await page.locator('[data-testid="email-status"]', { hasText: "Saved" }).waitFor();
    await page.locator('[data-testid="telegram-chats"]', { hasText: "No groups yet" }).waitFor();
    await shot(page, 8, "channels");
    await next(page, "done");
    const notify = await otklik.api("GET", "/api/v1/notify");
    assert.equal(notify.config.email.enabled, true);
    assert.equal(notify.config.email.host, "smtp.clinic.example");
    assert.deepEqual(notify.config.email.to, ["head@clinic.example", "deputy@clinic.example"]);
    assert.deepEqual((await otklik.api("GET", "/api/v1/outbox")).filter((m) => m.channel === "email"), []);

    step("9. done: start with the system; the setup counts as done");
    await page.locator('[data-testid="wizard-autostart"]').check();
    await page.locator('[data-testid="wizard-status"]', { hasText: "Saved" }).waitFor();
    assert.match(await page.locator('[data-testid="wizard-summary"]').textContent(), /City Clinic No\. 7.*Desk 1, Desk 2, Children's desk.*Anna Smirnova.*5 levels/s);
    await shot(page, 9, "done");

    settings = await otklik.api("GET", "/api/v1/settings");
    assert.deepEqual(
      [settings.language, settings.clinic_name, settings.timezone, settings.scale, settings.start_with_system, settings.setup_done],
      ["en", "City Clinic No. 7", "Europe/Madrid", 5, true, true],
    );
    assert.deepEqual(desks.map((d) => d.name), ["Desk 1", "Desk 2", "Children's desk"]);
    const registrars = await otklik.api("GET", "/api/v1/registrars");
    assert.deepEqual(registrars.map((r) => r.name).sort(), ["Anna Smirnova", "Boris Petrov", "Vera Kuznetsova"]);
    const status = await otklik.api("GET", "/api/v1/setup");
    assert.deepEqual([status.fresh, status.setup_done, status.step], [false, true, 9]);

    step("the console opens (no more wizard) with the settings file's export and import");
    await page.locator('[data-testid="wizard-next"]').click();
    await page.waitForURL(`${otklik.base}/admin`);
    await page.locator('[data-testid="setup-tools"]').waitFor();
    assert.equal(await page.locator('[data-testid="demo-banner"]').count(), 0);
    const download = page.waitForEvent("download");
    await page.locator('[data-action="export-settings"]').click();
    const file = await download;
    assert.match(file.suggestedFilename(), /^otklik-settings-\d{4}-\d\d-\d\d\.json$/);
  } finally {
    await otklik.kill();
  }
});

test("a fresh installation tries the demo data and shows the console with ratings", async () => {
  const otklik = await new Otklik().start();
  try {
    const page = await browser.newPage({ viewport });
    await firstLogin(page, otklik);
    step("Try with demo data, from the first step");
    await page.locator('[data-testid="wizard-demo"]').click();
    await page.waitForURL(`${otklik.base}/admin`);
    await page.locator('[data-testid="demo-banner"]').waitFor();
    await page.locator("tr[data-desk]").nth(5).waitFor();
    await page.locator("[data-rating]").first().waitFor();
    const status = await otklik.api("GET", "/api/v1/setup");
    assert.deepEqual([status.demo, status.setup_done, status.desks, status.registrars, status.ratings], [true, true, 6, 12, 800]);
    assert.equal((await otklik.api("GET", "/api/v1/desks"))[0].name, "Окно 1");
    await page.waitForTimeout(500);
    await page.screenshot({ path: "output/wizard-10-demo-console.png" });
  } finally {
    await otklik.kill();
  }
});
