// Draws the sample messages in docs/notify/ as a Telegram group chat on a phone, for the README:
// docs/notify/alert.png (the alert with its photo, buttons and the voice that follows it) and
// docs/notify/report.png (the report with its chart). The inputs are what the fake Bot API
// received in tests/api/samples.rs (alert.json, alert-photo.jpg, report.json, report-chart.png):
// the captions are the engine's Telegram HTML as sent, shown with the tags Telegram's HTML parse
// mode allows; nothing in the messages is written here. Run by scripts/notify-samples.sh.

import { readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { launchBrowser } from "./harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const dir = process.env.NOTIFY_SAMPLES_DIR || join(here, "../../docs/notify");
const read = (name) => readFileSync(join(dir, name));
const json = (name) => JSON.parse(read(name).toString("utf8"));
const dataUrl = (name, type) => `data:${type};base64,${read(name).toString("base64")}`;

const BOT = "Otklik";

/** Text for HTML. */
const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/**
 * Telegram HTML as the app shows it: the tags of parse_mode=HTML kept (a with its href only),
 * anything else shown as text; entities stay as they are. Newlines are kept by the bubble's
 * `white-space: pre-wrap`; one newline next to a <pre> block is the block's own break.
 */
function telegramHtml(src) {
  const allowed = new Set(["b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "a", "blockquote"]);
  const html = String(src ?? "").replace(/<(\/?)([a-zA-Z-]+)((?:\s[^>]*)?)>/g, (tag, close, name, attrs) => {
    name = name.toLowerCase();
    if (!allowed.has(name)) return esc(tag);
    if (name === "a" && !close) {
      const href = /href\s*=\s*"([^"]*)"/.exec(attrs)?.[1] ?? "";
      return `<a href="${href}">`;
    }
    return `<${close}${name}>`;
  });
  return html.replace(/\n?<pre>/g, "<pre>").replace(/<\/pre>\n?/g, "</pre>");
}

const css = `
  * { box-sizing: border-box; }
  html, body { margin: 0; background: #fff; }
  body { font: 15px/1.35 Roboto, "DejaVu Sans", "Noto Color Emoji", sans-serif; color: #000; }
  #phone { width: 480px; overflow: hidden; }
  header { display: flex; align-items: center; gap: 14px; height: 56px; padding: 0 14px;
    background: #517da2; color: #fff; }
  header .back { font-size: 22px; opacity: .9; }
  header .avatar { width: 40px; height: 40px; font-size: 16px; }
  header .title { font-weight: 500; font-size: 17px; }
  header .sub { font-size: 13px; opacity: .8; }
  .chat { padding: 10px 8px 12px; min-height: 200px;
    background: linear-gradient(160deg, #d5e4b9 0%, #b9d39e 45%, #a4c8a8 100%); }
  .avatar { flex: none; border-radius: 50%; display: grid; place-items: center; color: #fff;
    font-weight: 500; background: linear-gradient(#72d5fd, #2a9ef1); }
  .row { display: flex; align-items: flex-end; gap: 8px; margin-top: 6px; }
  .row .avatar { width: 36px; height: 36px; font-size: 15px; }
  .row .avatar.hidden { visibility: hidden; }
  .msg { width: 396px; }
  .bubble { background: #fff; border-radius: 12px; overflow: hidden;
    box-shadow: 0 1px 1px rgba(0,0,0,.14); }
  .row.last .bubble { border-bottom-left-radius: 4px; }
  .name { color: #3a8ed0; font-weight: 500; font-size: 14px; padding: 6px 10px 4px; }
  .media { display: block; width: 100%; }
  .text { padding: 6px 10px 7px; white-space: pre-wrap; overflow-wrap: anywhere; }
  .text a { color: #168acd; text-decoration: none; }
  .text code, .text pre { font: 13px/1.35 "DejaVu Sans Mono", monospace; }
  .text code { color: #c0392b; }
  .text pre { margin: 3px 0; padding: 6px 8px; background: #eef3f7; border-left: 3px solid #3a8ed0;
    border-radius: 4px; white-space: pre; overflow-x: hidden; }
  .time { float: right; margin: 8px 0 -6px 12px; font-size: 12px; color: #a1aab3; }
  .keyboard { display: flex; gap: 4px; margin-top: 4px; }
  .keyboard button { flex: 1; height: 40px; border: 0; border-radius: 8px; font: inherit;
    font-size: 14px; font-weight: 500; color: #fff; background: rgba(45, 80, 40, .32);
    text-shadow: 0 1px 1px rgba(0,0,0,.18); }
  .voice { display: flex; align-items: center; gap: 10px; padding: 8px 10px 0; }
  .play { width: 44px; height: 44px; border-radius: 50%; background: #3a8ed0; flex: none;
    display: grid; place-items: center; }
  .play::after { content: ""; margin-left: 4px; border-left: 14px solid #fff;
    border-top: 9px solid transparent; border-bottom: 9px solid transparent; }
  .wave { display: flex; align-items: center; gap: 2px; height: 24px; }
  .wave i { display: block; width: 3px; border-radius: 2px; background: #9fc7e6; }
  .dur { font-size: 12px; color: #7b8b99; margin-top: 3px; }
  footer { padding: 8px 14px 10px; font-size: 11.5px; line-height: 1.35; color: #6d7a86;
    background: #f4f6f8; border-top: 1px solid #e3e7eb; }
  footer code { font: 11px "DejaVu Sans Mono", monospace; }
`;

function page({ chat, messages, note }) {
  const initials = chat
    .split(/\s+/)
    .filter((w) => /^\p{L}/u.test(w))
    .slice(0, 2)
    .map((w) => w[0].toUpperCase())
    .join("");
  const rows = messages
    .map((m, i) => {
      const first = i === 0;
      const last = i === messages.length - 1;
      return `<div class="row${last ? " last" : ""}">
        <div class="avatar${last ? "" : " hidden"}">${BOT[0]}</div>
        <div class="msg"><div class="bubble">${first ? `<div class="name">${BOT}</div>` : ""}${m.body}</div>${m.keyboard ?? ""}</div>
      </div>`;
    })
    .join("\n");
  return `<!doctype html><html lang="ru"><head><meta charset="utf-8"><style>${css}</style></head>
  <body><div id="phone">
    <header><span class="back">←</span><div class="avatar" style="background:linear-gradient(#ffbf6b,#f08a3c)">${esc(
      initials,
    )}</div>
      <div><div class="title">${esc(chat)}</div><div class="sub">группа</div></div></header>
    <div class="chat">${rows}</div>
    <footer>${note}</footer>
  </div></body></html>`;
}

const time = (t) => (t ? `<span class="time">${esc(t)}</span>` : "");
const caption = (html, t) => (html ? `<div class="text">${telegramHtml(html)}${time(t)}</div>` : "");

function keyboard(rows) {
  return (rows ?? [])
    .map((row) => `<div class="keyboard">${row.map((label) => `<button>${esc(label)}</button>`).join("")}</div>`)
    .join("");
}

/** A voice note: the play button, a waveform of the clip's length, its duration, the caption. */
function voiceBody(v) {
  const secs = Math.round(v.seconds ?? 0);
  // The stand-in microphone records a steady tone: every bar has the same height.
  const bars = Array.from({ length: Math.min(48, Math.max(12, secs * 5)) }, () => `<i style="height:14px"></i>`).join("");
  const dur = `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, "0")}`;
  return `<div class="voice"><div class="play"></div><div><div class="wave">${bars}</div><div class="dur">${dur}</div></div></div>${caption(
    v.caption,
    v.time,
  )}`;
}

/** The small print under the chat: what this picture is, naming the calls it shows. */
function note(methods, photo) {
  const calls = [...new Set(methods)].map((m) => `<code>${esc(m)}</code>`).join(", ");
  return (
    "A rendering, not a screenshot of Telegram: the messages are the Bot API calls " +
    `(${calls}) that the fake Bot API received from the engine in <code>tests/api/samples.rs</code>, ` +
    `with their HTML and buttons as sent.${photo ? " The photo is from the test's stand-in camera." : ""}`
  );
}

async function shoot(browser, html, out) {
  const tab = await browser.newPage({ viewport: { width: 480, height: 800 }, deviceScaleFactor: 2 });
  await tab.setContent(html, { waitUntil: "load" });
  await tab.evaluate(() => document.fonts.ready);
  // Nothing may be cut: a <pre> wider than its bubble would be.
  const overflow = await tab.evaluate(() =>
    [...document.querySelectorAll(".text pre")].filter((p) => p.scrollWidth > p.clientWidth).length,
  );
  if (overflow) throw new Error(`${out}: a <pre> block is wider than its bubble`);
  await tab.locator("#phone").screenshot({ path: out });
  await tab.close();
  console.log(`wrote ${out} (${statSync(out).size} bytes)`);
}

const alert = json("alert.json");
const report = json("report.json");

const alertMessages = [
  {
    method: alert.method,
    body: `<img class="media" src="${dataUrl("alert-photo.jpg", "image/jpeg")}">${caption(alert.caption, alert.time)}`,
    keyboard: keyboard(alert.buttons),
  },
];
if (alert.voice?.method) alertMessages.push({ method: alert.voice.method, body: voiceBody(alert.voice) });

const reportMessages = [
  {
    method: report.chart.method,
    body: `<img class="media" src="${dataUrl("report-chart.png", "image/png")}">${
      report.chart.caption ? caption(report.chart.caption, report.chart.time) : `<div class="text">${time(report.chart.time)}</div>`
    }`,
  },
];
if (report.text?.text) {
  reportMessages.push({ method: report.text.method, body: caption(report.text.text, report.text.time) });
}

const browser = await launchBrowser();
try {
  const methods = (messages) => messages.map((m) => m.method);
  const alertPage = page({ chat: alert.chat, messages: alertMessages, note: note(methods(alertMessages), true) });
  await shoot(browser, alertPage, join(dir, "alert.png"));
  const reportPage = page({ chat: report.chat, messages: reportMessages, note: note(methods(reportMessages), false) });
  await shoot(browser, reportPage, join(dir, "report.png"));
} finally {
  await browser.close();
}
