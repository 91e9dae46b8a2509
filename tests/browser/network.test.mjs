// The network through the screens: a throwaway PostgreSQL (Debian's server binaries), the hub
// (`otklik hub serve`) and one site (`otklik serve`), all real processes. The site is linked
// from its console's Network hub card; the hub's network screen, after the hub token is typed,
// shows the site, its registrars and the same totals as the site, follows a new rating without
// a reload, and filters by site.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import { Otklik, launchBrowser } from "./harness.mjs";

const ZONE = "Europe/Moscow";
const viewport = { width: 1280, height: 1000 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A fresh PostgreSQL cluster on a free loopback port, as tests/support/pg.rs starts one. */
class Postgres {
  async start() {
    const versions = readdirSync("/usr/lib/postgresql")
      .filter((v) => existsSync(`/usr/lib/postgresql/${v}/bin/postgres`))
      .sort((a, b) => Number(a) - Number(b));
    assert.ok(versions.length, "no PostgreSQL server in /usr/lib/postgresql: install Debian's postgresql");
    this.bin = process.env.OTKLIK_PG_BIN ?? `/usr/lib/postgresql/${versions.at(-1)}/bin`;
    // The server refuses to run as root: as root, it runs as Debian's `postgres` user.
    this.root = process.getuid() === 0;
    this.dir = mkdtempSync(join(tmpdir(), "otklik-pg-"));
    if (this.root) {
      const pw = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith("postgres:"));
      assert.ok(pw, "running as root, but there is no postgres user");
      const [, , uid, gid] = pw.split(":");
      chownSync(this.dir, Number(uid), Number(gid));
    }
    this.data = join(this.dir, "data");
    const as = (program, args) => (this.root ? ["runuser", ["-u", "postgres", "--", program, ...args]] : [program, args]);
    execFileSync(...as(`${this.bin}/initdb`, ["-D", this.data, "-A", "trust", "-U", "otklik", "-E", "UTF8", "--no-sync"]), { stdio: "pipe" });
    this.port = await freePort();
    // A watchdog shell stops the server when its stdin closes: in stop(), or when this process
    // dies however it dies (as tests/support/pg.rs does).
    const [program, args] = as(`${this.bin}/postgres`, ["-D", this.data, "-p", String(this.port), "-k", this.dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]);
    this.child = spawn("sh", ["-c", '"$@" >"$LOG" 2>&1 & p=$!; read _ignored; kill -INT "$(head -n 1 "$PGDATA/postmaster.pid")" 2>/dev/null; wait $p', "sh", program, ...args], {
      env: { ...process.env, LOG: join(this.dir, "server.log"), PGDATA: this.data },
      stdio: ["pipe", "ignore", "ignore"],
    });
    for (let i = 0; ; i++) {
      try {
        execFileSync(`${this.bin}/pg_isready`, ["-h", "127.0.0.1", "-p", String(this.port), "-q"]);
        return this;
      } catch {
        assert.ok(i < 600, `PostgreSQL did not start: ${existsSync(join(this.dir, "server.log")) ? readFileSync(join(this.dir, "server.log"), "utf8") : ""}`);
        await sleep(100);
      }
    }
  }

  database(name) {
    execFileSync(`${this.bin}/createdb`, ["-h", "127.0.0.1", "-p", String(this.port), "-U", "otklik", name]);
    return `postgresql://otklik@127.0.0.1:${this.port}/${name}`;
  }

  async stop() {
    if (!this.child) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    this.child.stdin.end();
    await exited;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** `otklik hub …` to the end: its stdout. */
function hubCli(database, ...args) {
  return execFileSync(process.env.OTKLIK_BIN, ["hub", ...args, "--database", database], { env: { ...process.env, OTKLIK_LOG: "warn" } }).toString();
}

/** `otklik hub serve` on a free port, once it says where. */
async function startHub(database) {
  const child = spawn(process.env.OTKLIK_BIN, ["hub", "serve", "--database", database, "--listen", "127.0.0.1:0", "--time-zone", ZONE, "--min-ratings", "1"], {
    env: { ...process.env, OTKLIK_LOG: "warn" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`otklik hub serve exited with ${code}`)));
  });
  return { child, base: line.slice(line.indexOf("http://")).trim() };
}

let pg;
let hub;
let site;
let browser;

before(async () => {
  pg = await new Postgres().start();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await site?.kill();
  if (hub) {
    const exited = new Promise((r) => hub.child.once("exit", r));
    hub.child.kill("SIGKILL");
    await exited;
  }
  await pg?.stop();
});

/** Polls `read` until `ok` holds of its value. */
async function until(what, read, ok, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`${what}: still ${JSON.stringify(v)}`);
    await sleep(200);
  }
}

test("a site linked from its console shows on the hub's network screen, live, by site", async () => {
  const database = pg.database("netui");
  const key = hubCli(database, "add-site", "Поликлиника 1").trim().split("\n").at(-1).trim();
  // Registered but never heard from: the screen marks it silent.
  hubCli(database, "add-site", "Филиал 2");
  const hubToken = hubCli(database, "token").trim();
  hub = await startHub(database);
  const hz = await (await fetch(`${hub.base}/healthz`)).json();
  assert.deepEqual(hz, { status: "ok", role: "hub" });
  // The event stream takes the token in the query (for EventSource), and only the hub token.
  for (const q of ["", "?token=otk_hub_wrong", `?token=${key}`]) {
    const resp = await fetch(`${hub.base}/api/v1/events${q}`);
    assert.equal(resp.status, 401, q);
    await resp.body?.cancel();
  }
  const stream = await fetch(`${hub.base}/api/v1/events?token=${hubToken}`);
  assert.deepEqual([stream.status, stream.headers.get("content-type")], [200, "text/event-stream"]);
  await stream.body.cancel();

  site = await new Otklik().start();
  await site.api("PATCH", "/api/v1/settings", { timezone: ZONE, panel_lockout_secs: 0, suspicion_burst_count: 0 });
  const desks = [];
  for (const name of ["Окно 1", "Окно 2", "Окно 3"]) desks.push(await site.api("POST", "/api/v1/desks", { name }));
  const anna = await site.api("POST", "/api/v1/registrars", { name: "Анна Иванова" });
  const boris = await site.api("POST", "/api/v1/registrars", { name: "Борис Петров" });
  // The same Анна, entered twice at this site: mapped to one network person in the console.
  const anna2 = await site.api("POST", "/api/v1/registrars", { name: "А. Иванова" });
  for (const [desk, r] of [[desks[0], anna], [desks[1], boris], [desks[2], anna2]]) await site.api("POST", `/api/v1/desks/${desk.id}/session`, { registrar_id: r.id });
  const rate = (desk, score) => site.api("POST", "/api/v1/ratings", { desk_id: desk.id, score, source: "keys" });
  for (const score of [3, 3, 2]) await rate(desks[0], score);
  for (const score of [1, 3]) await rate(desks[1], score);
  await rate(desks[2], 3);

  // The site's console: the first supervisor, then the Network hub card.
  const admin = await browser.newPage({ viewport });
  await admin.goto(`${site.base}/admin`);
  await admin.locator('input[name="name"]').fill("Руководитель");
  await admin.locator('input[type="password"]').fill("регистратура");
  await admin.getByRole("button", { name: "Сохранить" }).click();
  const card = admin.locator('[data-card="hub"]');
  const form = card.locator('[data-form="link"]');
  await form.waitFor({ timeout: 15000 });
  await card.locator('input[name="hub_url"]').fill(hub.base);
  await card.locator('input[name="site_key"]').fill("not-a-key");
  await card.getByRole("button", { name: "Подключить" }).click();
  const status = card.locator('[role="status"]');
  await status.filter({ hasText: "site_key: is not a site key" }).waitFor();
  assert.equal(await card.locator('input[name="site_key"]').getAttribute("aria-invalid"), "true");
  assert.equal((await site.api("GET", "/api/v1/uplink")).link, null, "a refused link changes nothing");
  // What was typed stays through the card's refresh.
  await sleep(5500);
  assert.equal(await card.locator('input[name="hub_url"]').inputValue(), hub.base);
  await card.locator('input[name="site_key"]').fill(key);
  await card.getByRole("button", { name: "Подключить" }).click();
  await card.locator('[data-field="hub_url"] code', { hasText: hub.base }).waitFor();
  // The history goes up: nothing waits, a batch landed, the hub's clock is known.
  await card.locator('[data-field="backlog"] td', { hasText: "ничего" }).waitFor({ timeout: 20000 });
  await until("last ok", () => card.locator('[data-field="last_ok_at"] td').textContent(), (t) => t !== "–");
  assert.match(await card.locator('[data-field="clock"] td').textContent(), / мс$/);
  assert.equal(await card.locator('[data-field="last_error"] td').textContent(), "–");

  // The network's people come down; А. Иванова is said to be Анна's person.
  const pick = card.locator(`select[name="person-${anna2.id}"]`);
  await pick.waitFor({ timeout: 90000 });
  await until("people", () => pick.locator("option").count(), (n) => n === 4, 90000);
  const annaPerson = await pick.locator("option", { hasText: "Анна Иванова" }).getAttribute("value");
  await pick.selectOption({ label: "Анна Иванова (Поликлиника 1)" });
  const mapped = await until("the mapping", () => site.api("GET", "/api/v1/registrars"), (list) => list.find((r) => r.id === anna2.id).person_id === Number(annaPerson));
  assert.equal(mapped.find((r) => r.id === anna2.id).person_id, Number(annaPerson));
  await card.screenshot({ path: "output/network-site-card.png" });

  // The hub's screen: its `/` goes to /network and asks for the token.
  const net = await browser.newPage({ viewport });
  // The hub has no language setting: the browser's, or the screen's own ?lang=.
  await net.goto(`${hub.base}/?lang=en`);
  const tokenInput = net.locator('input[name="hub-token"]');
  await tokenInput.waitFor();
  assert.equal(new URL(net.url()).pathname, "/network");
  assert.equal(await net.title(), "Clinic network · Otklik");
  await tokenInput.fill("otk_hub_wrong");
  await net.getByRole("button", { name: "Open" }).click();
  await net.locator('[role="status"]', { hasText: "This is not the hub token" }).waitFor();
  await tokenInput.fill(hubToken);
  await net.getByRole("button", { name: "Open" }).click();
  await net.locator('[data-testid="live"][data-state="live"]').waitFor({ timeout: 15000 });

  const siteTotals = async () => (await site.api("GET", "/api/v1/leaderboard?period=today")).totals;
  const ours = await siteTotals();
  assert.equal(ours.count, 6);
  const siteId = String((await (await fetch(`${hub.base}/hub/v1/sites`, { headers: { Authorization: `Bearer ${hubToken}` } })).json()).find((s) => s.name === "Поликлиника 1").id);
  const board = net.locator('[data-testid="network-board"]');
  // The mapping reaches the hub with the next batch: Анна is one person with both registrars' ratings.
  const names = async () => (await board.locator("tbody tr").evaluateAll((rows) => rows.map((r) => [r.querySelector(".name").firstChild.textContent, r.querySelector(".count").textContent]))).sort();
  await until("the network board", names, (n) => JSON.stringify(n) === JSON.stringify([["Анна Иванова", "4"], ["Борис Петров", "2"]]));
  assert.equal(await board.locator('[data-testid="total-count"]').textContent(), String(ours.count));
  const totalsRow = net.locator(`[data-card="site-totals"] tr[data-site="${siteId}"]`);
  assert.equal(await totalsRow.locator('[data-testid="site-count"]').textContent(), String(ours.count));
  const hubTotals = await (await fetch(`${hub.base}/api/v1/network/sites?period=today&site=${siteId}`, { headers: { Authorization: `Bearer ${hubToken}` } })).json();
  assert.deepEqual(hubTotals[0].totals, ours, "the hub's totals of the site are the site's");
  // The sites: ours seen, with its clock; the other one silent.
  const ourRow = net.locator(`[data-card="sites"] tr[data-site="${siteId}"]`);
  assert.equal(await ourRow.getAttribute("data-stale"), "false");
  assert.notEqual(await ourRow.locator('[data-testid="last-seen"]').textContent(), "never");
  assert.match(await ourRow.locator('[data-testid="clock"]').textContent(), /^[+−±]\d+ s$/);
  const silent = net.locator('[data-card="sites"] tr[data-stale="true"]');
  assert.equal(await silent.count(), 1);
  assert.match(await silent.textContent(), /Филиал 2.*silent.*never/);
  await net.screenshot({ path: "output/network.png", fullPage: true });

  // A rating made meanwhile shows without a reload (the hub's event stream).
  await net.evaluate(() => (window.__notReloaded = true));
  const started = Date.now();
  await rate(desks[1], 3);
  await board.locator('[data-testid="total-count"]', { hasText: String(ours.count + 1) }).waitFor({ timeout: 15000 });
  await totalsRow.locator('[data-testid="site-count"]', { hasText: String(ours.count + 1) }).waitFor();
  const tookMs = Date.now() - started;
  assert.equal(await net.evaluate(() => window.__notReloaded), true);
  assert.deepEqual(await names(), [["Анна Иванова", "4"], ["Борис Петров", "3"]]);
  assert.equal((await siteTotals()).count, ours.count + 1);
  console.log(`# a rating at the site showed on the hub's screen in ${tookMs} ms`);

  // Picking a site filters: the silent one has nothing, ours everything.
  const picker = net.locator('select[name="site"]');
  await picker.selectOption({ label: "Филиал 2" });
  await board.locator(".empty").waitFor();
  assert.deepEqual(await net.locator('[data-card="site-totals"] tbody tr').evaluateAll((rows) => rows.map((r) => r.textContent.slice(0, 8))), ["Филиал 2"]);
  assert.match(net.url(), /\?lang=en&site=\d+$/);
  await picker.selectOption({ label: "Поликлиника 1" });
  await board.locator('[data-testid="total-count"]', { hasText: String(ours.count + 1) }).waitFor();
  assert.equal(await net.locator('[data-card="site-totals"] tbody tr').count(), 1);
  // The period picker reads the week: the same ratings, all made today.
  await net.locator('select[name="period"]').selectOption("week");
  await board.locator(".period", { hasText: "this week" }).waitFor();
  assert.equal(await board.locator('[data-testid="total-count"]').textContent(), String(ours.count + 1));

  // The token is kept: a reload opens the screen straight away, the filters from the address.
  await net.reload();
  await board.locator('[data-testid="total-count"]').waitFor();
  assert.equal(await tokenInput.count(), 0);
  assert.equal(await picker.inputValue(), siteId);
});
