// A desk PC paired from the console: the supervisor shows a code for a desk's desk PC in the
// "Panels" card, the desk PC runs the command the card shows (its own engine is running), and a
// press made at the desk PC appears at the reception's desk, bound to the registrar there.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, test } from "node:test";
import { Otklik, launchBrowser } from "./harness.mjs";

let reception;
let deskPc;
let browser;
const viewport = { width: 1280, height: 900 };

before(async () => {
  reception = await new Otklik().start();
  deskPc = await new Otklik().start();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await reception?.kill();
  await deskPc?.kill();
});

function run(args) {
  return new Promise((resolve) => {
    const child = spawn(process.env.OTKLIK_BIN, args, { env: { ...process.env, OTKLIK_LOG: "warn" } });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("exit", (code) => resolve({ code, out }));
  });
}

test("the console shows a desk PC's code and command; the desk PC's presses reach the desk", async () => {
  const desk = await reception.api("POST", "/api/v1/desks", { name: "Окно 1" });
  const anna = await reception.api("POST", "/api/v1/registrars", { name: "Анна Иванова" });
  await reception.api("POST", `/api/v1/desks/${desk.id}/session`, { registrar_id: anna.id });

  const admin = await browser.newPage({ viewport });
  await admin.goto(`${reception.base}/admin`);
  await admin.locator('input[name="name"]').fill("Руководитель");
  await admin.locator('input[type="password"]').fill("регистратура");
  await admin.getByRole("button", { name: "Сохранить" }).click();
  await admin.locator('[data-testid="new-pairing"]').waitFor();
  await admin.getByRole("combobox", { name: "Панель" }).selectOption("desk_pc");
  await admin.locator('[data-testid="new-pairing"]').click();
  const shown = admin.locator('[data-testid="pairing-shown"]');
  await shown.locator("small").waitFor();
  const text = await shown.textContent();
  const command = text.match(/otklik (desk-pc pair --reception \S+ --code \d{6})/);
  assert.ok(command, text);
  assert.match(text, /компьютере окна/);
  await shown.screenshot({ path: "output/deskpc-pairing.png" });

  // Typed on the desk PC, whose Otklik is running: it picks the link up by itself.
  const paired = await run([...command[1].split(" "), "--data-dir", deskPc.dataDir]);
  assert.equal(paired.code, 0, paired.out);
  assert.match(paired.out, /Paired with the reception/);
  const local = await deskPc.api("POST", "/api/v1/desks", { name: "Стол" });
  await deskPc.api("POST", "/api/v1/ratings", { desk_id: local.id, score: 2, source: "keys" });
  let items = [];
  for (let i = 0; i < 100 && items.length === 0; i++) {
    items = (await reception.api("GET", "/api/v1/ratings")).items;
    if (items.length === 0) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(items.length, 1);
  assert.equal(items[0].desk_id, desk.id);
  assert.equal(items[0].registrar_id, anna.id);

  // The card lists it as the desk's desk PC.
  await admin.reload();
  await admin.locator("ul.panels li", { hasText: "Окно 1 · компьютер окна" }).waitFor();
});
