// Shared by the browser tests: a real `otklik serve` over a temporary data directory, its API,
// and Debian's Chromium.

import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

export const TOKEN = "browser-test-token-0123456789";

export class Otklik {
  constructor(dataDir = mkdtempSync(join(tmpdir(), "otklik-browser-"))) {
    this.dataDir = dataDir;
    this.child = null;
    this.base = null;
  }

  /** Starts the engine; on `port` if given (to come back where screens expect it); `host`
   * 0.0.0.0 opens it to the LAN. */
  async start(port = 0, host = "127.0.0.1") {
    this.child = spawn(process.env.OTKLIK_BIN, ["serve", "--listen", `${host}:${port}`, "--data-dir", this.dataDir], {
      env: { ...process.env, OTKLIK_API_TOKEN: TOKEN, OTKLIK_LOG: "warn" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const lines = createInterface({ input: this.child.stdout });
    const line = await new Promise((resolve, reject) => {
      lines.once("line", resolve);
      this.child.once("exit", (code) => reject(new Error(`otklik serve exited with ${code}`)));
    });
    // Listening on 0.0.0.0, the engine is opened at a real address: 0.0.0.0 is refused as a Host.
    this.base = line.slice(line.indexOf("http://")).trim().replace("//0.0.0.0:", "//127.0.0.1:");
    this.port = Number(new URL(this.base).port);
    return this;
  }

  async kill() {
    const exited = new Promise((r) => this.child.once("exit", r));
    this.child.kill("SIGKILL");
    await exited;
  }

  async api(method, path, body) {
    const resp = await fetch(this.base + path, {
      method,
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await resp.json();
    if (!resp.ok) throw new Error(`${method} ${path}: ${resp.status} ${JSON.stringify(json)}`);
    return json;
  }
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** This machine's first non-loopback IPv4 address: a browser using it is a LAN device to the
 * engine (the packets never leave the machine). */
export function lanAddress() {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  throw new Error("this machine has no non-loopback IPv4 address to play a LAN device from");
}
