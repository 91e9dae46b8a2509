// Drives the real desktop app through tauri-driver with plain W3C WebDriver requests.
// Usage: node smoke.mjs main|kiosk, with in the env: WEBDRIVER (tauri-driver's URL), OTKLIK_APP,
// ENGINE_URL (where the app's engine listens), OUT_DIR (screenshots), SCREEN (e.g. 1280x800) and
// STATE_FILE (where the window-state plugin keeps window positions).
// Prints one `ok - ...` line per check; the first failed check throws and exits 1.
import { execFileSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inflateSync } from "node:zlib";

const scenario = process.argv[2];
const { WEBDRIVER, OTKLIK_APP, ENGINE_URL, OUT_DIR, SCREEN, STATE_FILE } = process.env;
const TIMEOUT_MS = 30_000;

let checks = 0;
function ok(what) {
  checks += 1;
  console.log(`ok - ${scenario}: ${what}`);
}

async function wd(method, path, body) {
  const res = await fetch(WEBDRIVER + path, {
    method,
    headers: { "content-type": "application/json; charset=utf-8" },
    body: body === undefined ? undefined : JSON.stringify(body),
    // A new session waits for the app to start and connect: never forever.
    signal: AbortSignal.timeout(TIMEOUT_MS),
  }).catch((e) => {
    throw new Error(`${method} ${path}: ${e.name === "TimeoutError" ? `no answer in ${TIMEOUT_MS / 1000} s` : e.message}`);
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) {
    const v = json.value ?? {};
    throw new Error(`${method} ${path}: ${res.status} ${v.error ?? ""} ${v.message ?? ""}`);
  }
  return json.value;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Retries `fn` until it returns a truthy value; `what` says what never happened. */
async function waitFor(what, fn) {
  const deadline = Date.now() + TIMEOUT_MS;
  let last;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(250);
  }
  throw new Error(`timed out after ${TIMEOUT_MS / 1000} s waiting for ${what}${last ? ` (last error: ${last.message})` : ""}`);
}

/** Number of distinct colours in an 8-bit RGB(A) PNG, up to `max`: a blank page has one. */
function pngColours(png, max = 16) {
  let width, height, channels;
  const idat = [];
  for (let at = 8; at < png.length; ) {
    const len = png.readUInt32BE(at);
    const type = png.toString("latin1", at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + len);
    if (type === "IHDR") {
      [width, height] = [data.readUInt32BE(0), data.readUInt32BE(4)];
      if (data[8] !== 8 || ![2, 6].includes(data[9])) throw new Error("screenshot is not an 8-bit RGB(A) PNG");
      channels = data[9] === 6 ? 4 : 3;
    } else if (type === "IDAT") idat.push(data);
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  let prev = Buffer.alloc(stride);
  const colours = new Set();
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const row = Buffer.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? row[i - channels] : 0;
      const b = prev[i];
      const c = i >= channels ? prev[i - channels] : 0;
      const p = a + b - c;
      const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
      const predictor = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][filter];
      row[i] = (row[i] + predictor) & 0xff;
    }
    for (let x = 0; x < stride; x += channels) {
      colours.add(row.readUIntBE(x, 3));
      if (colours.size >= max) return colours.size;
    }
    prev = row;
  }
  return colours.size;
}

async function screenshot(sid, name) {
  // Let the page paint before taking the picture.
  await wd("POST", `/session/${sid}/execute/async`, {
    script: "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
    args: [],
  });
  const png = Buffer.from(await wd("GET", `/session/${sid}/screenshot`), "base64");
  const file = join(OUT_DIR, `${name}.png`);
  writeFileSync(file, png);
  const colours = pngColours(png);
  if (colours < 2) throw new Error(`the screenshot ${file} is blank`);
  ok(`screenshot ${file} (${colours >= 16 ? "16+" : colours} colours)`);
}

/** The page of the current window: its URL, title, body text and whether it has an h1. */
async function page(sid) {
  return wd("POST", `/session/${sid}/execute/sync`, {
    script:
      "return {url: location.href, title: document.title, text: document.body ? document.body.innerText : '', h1: !!document.querySelector('h1')}",
    args: [],
  });
}

async function checkMain(sid) {
  const p = await waitFor("the home page with its h1 in the main window", async () => {
    const p = await page(sid);
    return p.h1 && /Otklik|Отклик/.test(p.title + p.text) ? p : null;
  });
  ok(`title "${p.title}", body mentions ${/Отклик/.test(p.text) ? "Отклик" : "Otklik"}`);
  if (p.url !== `${ENGINE_URL}/`) throw new Error(`main window shows ${p.url}, expected ${ENGINE_URL}/`);
  ok(`main window shows the engine's loopback URL ${p.url}`);
}

const rectText = (r) => `${r.width}x${r.height} at ${r.x},${r.y}`;

/** Starts the app in a WebDriver session, runs `fn` with the session id, ends the session. */
async function withApp(fn) {
  const session = await wd("POST", "/session", {
    capabilities: { alwaysMatch: { "tauri:options": { application: OTKLIK_APP } } },
  });
  const sid = session.sessionId;
  ok(`WebDriver session started ${OTKLIK_APP}`);
  try {
    await wd("POST", `/session/${sid}/timeouts`, { script: 10_000 });
    return await fn(sid);
  } finally {
    // Ends the app too; after a close it is gone already, which is fine.
    await wd("DELETE", `/session/${sid}`).catch(() => {});
  }
}

/** Closes the window as a person would (through the window manager) and waits for the app to exit. */
async function closeByHand() {
  execFileSync("wmctrl", ["-c", "Otklik"]);
  await waitFor("the app to exit after its window was closed", async () => {
    try {
      await fetch(`${ENGINE_URL}/healthz`, { signal: AbortSignal.timeout(2_000) });
      return false;
    } catch (e) {
      return e.name !== "TimeoutError"; // refused: the engine, and so the app, is gone
    }
  });
  ok("closing the window ended the app");
}

// The main window shows the screens, and reopens where it was left.
async function mainScenario() {
  const left = await withApp(async (sid) => {
    await checkMain(sid);
    await screenshot(sid, "main");
    const first = await wd("GET", `/session/${sid}/window/rect`);
    const rect = await wd("POST", `/session/${sid}/window/rect`, { x: 150, y: 100, width: 1000, height: 680 });
    if (rectText(rect) === rectText(first)) throw new Error(`moving the main window did nothing: ${rectText(rect)}`);
    ok(`main window moved from ${rectText(first)} to ${rectText(rect)}`);
    await closeByHand();
    return rect;
  });
  if (!existsSync(STATE_FILE)) throw new Error(`no window state saved in ${STATE_FILE}`);
  await withApp(async (sid) => {
    await checkMain(sid);
    const rect = await wd("GET", `/session/${sid}/window/rect`);
    if (rectText(rect) !== rectText(left)) {
      throw new Error(`main window reopened at ${rectText(rect)}, was left at ${rectText(left)}`);
    }
    ok(`main window reopened where it was left: ${rectText(rect)}`);
  });
}

// With `kiosk_display` on: the main window and the display, full-screen on its monitor.
async function kioskScenario() {
  await withApp(async (sid) => {
    const handles = await waitFor("two windows", async () => {
      const h = await wd("GET", `/session/${sid}/window/handles`);
      return h.length === 2 ? h : null;
    });
    ok(`two windows: ${handles.join(", ")}`);
    const seen = {};
    for (const handle of handles) {
      await wd("POST", `/session/${sid}/window`, { handle });
      const p = await waitFor(`a page with an h1 in window ${handle}`, async () => {
        const p = await page(sid);
        return p.h1 ? p : null;
      });
      const name = new URL(p.url).pathname === "/display" ? "display" : "main";
      if (seen[name]) throw new Error(`two windows show ${p.url}`);
      seen[name] = handle;
      if (name === "main") {
        await checkMain(sid);
        await screenshot(sid, "kiosk-main");
        continue;
      }
      if (p.url !== `${ENGINE_URL}/display`) throw new Error(`display window shows ${p.url}, expected ${ENGINE_URL}/display`);
      ok(`display window shows ${p.url}`);
      const [width, height] = SCREEN.split("x").map(Number);
      const full = rectText({ x: 0, y: 0, width, height });
      // The window manager applies full screen a moment after the window maps.
      const rect = await waitFor(`the display window to fill the screen (${full})`, async () => {
        const r = await wd("GET", `/session/${sid}/window/rect`);
        return rectText(r) === full ? r : null;
      });
      ok(`display window fills the monitor: ${rectText(rect)}`);
      await screenshot(sid, "kiosk-display");
    }
    if (!seen.main || !seen.display) throw new Error(`expected a main and a display window, saw ${Object.keys(seen)}`);
  });
}

async function main() {
  const scenarios = { main: mainScenario, kiosk: kioskScenario };
  if (!scenarios[scenario]) throw new Error("usage: node smoke.mjs main|kiosk");
  await waitFor(`tauri-driver at ${WEBDRIVER}`, async () => (await wd("GET", "/status")).ready !== false);
  await scenarios[scenario]();
  console.log(`${scenario}: ${checks} checks passed`);
}

main().catch((e) => {
  console.error(`FAIL - ${scenario}: ${e.message}`);
  process.exit(1);
});
