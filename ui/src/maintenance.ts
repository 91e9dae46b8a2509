// The console's maintenance card: database backups (the list, "Back up now", where they go, how
// often, how many are kept), restoring one from the list or from a file (checked first, then
// finished by Otklik at its next start), and "Save diagnostics" for a support request.

import { consoleToken, getJson, refusal, send, type BackupInfo, type Backups, type Settings, type Staged } from "./api";
import { h } from "./dom";
import {dateTime, fill, locale, t } from "./i18n";

/** "{name}" and the like, filled in. */
function megabytes(bytes: number) {
  const n = new Intl.NumberFormat(locale(), { maximumFractionDigits: 1, minimumFractionDigits: 1 }).format(bytes / 1e6);
  return `${n} ${t().maintenance.mb}`;
}

/** A request whose answer is not JSON (a file), with the console login; errors as `send` gives them. */
async function fetchAuthed(method: string, path: string, body?: BodyInit, contentType?: string): Promise<Response> {
  const headers: Record<string, string> = {};
  const token = consoleToken.get();
  if (token) headers["Authorization"] = `Bearer ${token}`;
  if (contentType) headers["Content-Type"] = contentType;
  const resp = await fetch(path, { method, headers, body, cache: "no-store" });
  if (!resp.ok) throw await refusal(resp);
  return resp;
}

/** Hands a downloaded file to the browser under the name the engine gave it. */
async function saveAs(resp: Response, fallback: string) {
  const disposition = resp.headers.get("content-disposition") ?? "";
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? fallback;
  const url = URL.createObjectURL(await resp.blob());
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The card; it draws itself and redraws after every action. */
export function maintenanceCard(): HTMLElement {
  const card = h("section", { class: "card maintenance-card", "data-card": "maintenance" });
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const say = (text: string, kind: "" | "ok" | "error" = "") => {
    status.textContent = text;
    status.className = kind ? `status ${kind}` : "status";
  };

  /** Runs an action with its buttons disabled, saying what it does meanwhile. */
  const run = async (buttons: HTMLButtonElement[], working: string, what: () => Promise<string | void>) => {
    buttons.forEach((b) => (b.disabled = true));
    say(working);
    try {
      const done = await what();
      say(done ?? "", done ? "ok" : "");
    } catch (e) {
      say(`${t().failed}${errorText(e)}`, "error");
    } finally {
      buttons.forEach((b) => (b.disabled = false));
    }
    await draw().catch(() => {});
  };

  const restore = (source: string, request: () => Promise<Staged>, buttons: HTMLButtonElement[]) => {
    const m = t().maintenance;
    if (!window.confirm(fill(m.confirmRestore, { name: source }))) return;
    void run(buttons, m.checking, async () => {
      const staged = await request();
      const p = staged.pending_restore;
      return fill(m.staged, { source: p.source, ratings: p.ratings });
    });
  };

  const draw = async () => {
    const tr = t();
    const m = tr.maintenance;
    const [list, settings] = await Promise.all([getJson<Backups>("/api/v1/backups"), getJson<Settings>("/api/v1/settings")]);

    const now = h("button", { type: "button", class: "primary", "data-action": "backup-now" }, m.backupNow);
    now.addEventListener("click", () =>
      void run([now], m.backingUp, async () => {
        const made = await send<BackupInfo>("POST", "/api/v1/backups", {});
        return fill(m.made, { file: made.file });
      }),
    );

    const notices: HTMLElement[] = [];
    if (list.pending_restore) {
      const p = list.pending_restore;
      const cancel = h("button", { type: "button", class: "secondary" }, m.cancelRestore);
      cancel.addEventListener("click", () => void run([cancel], "", async () => void (await send("DELETE", "/api/v1/backups/restore"))));
      notices.push(h("div", { class: "pending-restore", "data-testid": "pending-restore" }, h("p", { class: "status ok" }, fill(m.staged, { source: p.source, ratings: p.ratings })), cancel));
    }
    if (list.last.error) notices.push(h("p", { class: "status error" }, fill(m.lastFailed, { error: list.last.error })));
    else if (list.folder_error) notices.push(h("p", { class: "status error" }, fill(m.folderProblem, { error: list.folder_error })));
    if (list.last.at) notices.push(h("p", { class: "muted" }, fill(m.lastOk, { time: dateTime(list.last.at) })));

    const rows = list.files.map((f) => {
      const get = h("button", { type: "button", class: "secondary" }, m.download);
      get.addEventListener("click", () =>
        void run([get], "", async () => {
          await saveAs(await fetchAuthed("GET", `/api/v1/backups/${encodeURIComponent(f.file)}`), f.file);
        }),
      );
      const back = h("button", { type: "button" }, m.restore);
      back.addEventListener("click", () => restore(f.file, () => send("POST", "/api/v1/backups/restore", { file: f.file }), [back]));
      return h("tr", { "data-file": f.file }, h("td", {}, dateTime(f.at)), h("td", { class: "num" }, megabytes(f.bytes)), h("td", {}, h("span", { class: "inline" }, get, back)));
    });
    const table = list.files.length
      ? h("table", {}, h("tr", {}, h("th", {}, m.when), h("th", {}, m.size), h("th", {}, "")), ...rows)
      : h("p", { class: "muted" }, m.none);

    // Where, how often, how many.
    const dir = h("input", { name: "backup_dir", value: settings.backup_dir, placeholder: m.folderHint, "aria-label": m.folder });
    const every = h("input", { name: "backup_every_hours", type: "number", min: "0", max: "168", value: String(settings.backup_every_hours) });
    const keep = h("input", { name: "backup_keep", type: "number", min: "1", max: "365", value: String(settings.backup_keep) });
    const saveSettings = h("button", { type: "submit" }, tr.save);
    const form = h(
      "form",
      { class: "settings" },
      h("label", {}, h("span", {}, m.folder), dir),
      h("p", { class: "muted" }, fill(m.folderNow, { dir: list.dir })),
      h("label", {}, h("span", {}, m.every), every),
      h("label", {}, h("span", {}, m.keep), keep),
      saveSettings,
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void run([saveSettings], "", async () => {
        await send("PATCH", "/api/v1/settings", {
          backup_dir: dir.value.trim(),
          backup_every_hours: Number(every.value),
          backup_keep: Number(keep.value),
        });
        return tr.saved;
      });
    });

    // Restore from a file of one's own (a copy kept elsewhere).
    const file = h("input", { type: "file", accept: ".db,.sqlite,.sqlite3,application/vnd.sqlite3", "aria-label": m.chooseFile });
    const fromFile = h("button", { type: "button" }, m.restoreFile);
    fromFile.addEventListener("click", () => {
      const chosen = file.files?.[0];
      if (!chosen) {
        say(m.chooseFile, "error");
        return;
      }
      restore(
        chosen.name,
        async () =>
          (await fetchAuthed("POST", `/api/v1/backups/restore?name=${encodeURIComponent(chosen.name)}`, chosen, "application/octet-stream")).json(),
        [fromFile],
      );
    });

    const diagnostics = h("button", { type: "button", class: "secondary", "data-action": "diagnostics" }, m.diagnostics);
    diagnostics.addEventListener("click", () =>
      void run([diagnostics], m.diagnosticsSaving, async () => {
        await saveAs(await fetchAuthed("POST", "/api/v1/diagnostics"), "otklik-diagnostics.zip");
        return m.diagnosticsSaved;
      }),
    );

    card.replaceChildren(
      h("h2", {}, m.title),
      ...notices,
      table,
      h("div", { class: "actions" }, now),
      status,
      h("h3", {}, m.schedule),
      form,
      h("h3", {}, m.restoreFile),
      h("div", { class: "actions" }, file, fromFile),
      h("h3", {}, m.diagnostics),
      h("p", { class: "muted" }, m.diagnosticsHint),
      h("div", { class: "actions" }, diagnostics),
    );
  };

  void draw().catch((e) => {
    card.replaceChildren(h("h2", {}, t().maintenance.title), h("p", { class: "status error" }, `${t().failed}${errorText(e)}`));
  });
  return card;
}
