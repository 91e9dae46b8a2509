"""Plays the desktop's tray for the Otklik app and drives the app through its tray menu.

Run by tray.sh (Xvfb, openbox and a private session bus are up; OTKLIK_APP is the binary).
A StatusNotifierWatcher of our own takes the app's tray item, as KDE's or GNOME's tray would;
the item's menu is read and clicked through com.canonical.dbusmenu, its icon read from the file
it names. Checks, one `ok - ...` line each; the first failure exits 1 with the app's log:
  - the menu in the installation's language (Russian), its first line saying all is well;
  - Pause capture sets `capture_paused` (read back from the API) and the item says Resume;
  - a desk whose serial box is missing turns the icon to the attention one and the first line
    names that desk; with the box switched to the panel it is all well again;
  - `start_with_system` writes ~/.config/autostart/Otklik.desktop running this binary with
    --autostart, and switching it off removes it;
  - the language setting changes the menu's words;
  - closing the main window hides it, the engine keeps serving; Open console brings it back,
    Open display opens the display; Quit ends the app;
  - `otklik --autostart` starts with no main window; a second start shows it and exits.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

APP = os.environ["OTKLIK_APP"]
TIMEOUT = 30
WATCHER = "org.kde.StatusNotifierWatcher"
ITEM = "org.kde.StatusNotifierItem"
MENU = "com.canonical.dbusmenu"

checks = 0
log_files = []


def ok(what):
    global checks
    checks += 1
    print(f"ok - tray: {what}", flush=True)


class Failed(Exception):
    pass


def pump():
    """Lets D-Bus calls to the watcher and signals through."""
    context = GLib.MainContext.default()
    while context.iteration(False):
        pass


def wait_for(what, fn, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        pump()
        try:
            value = fn()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - retried until the deadline, then reported
            last = e
        time.sleep(0.1)
    raise Failed(f"timed out after {timeout} s waiting for {what}" + (f" (last error: {last})" if last else ""))


class Watcher(dbus.service.Object):
    """The part of a desktop's tray an app talks to (the StatusNotifierItem spec)."""

    def __init__(self, bus):
        self.items = []
        self.name = dbus.service.BusName(WATCHER, bus)
        super().__init__(self.name, "/StatusNotifierWatcher")

    @dbus.service.method(WATCHER, in_signature="s", sender_keyword="sender")
    def RegisterStatusNotifierItem(self, service, sender=None):
        # Ayatana's indicators pass their object path; others their bus name.
        item = (sender, service) if service.startswith("/") else (service, "/StatusNotifierItem")
        self.items.append(item)
        self.StatusNotifierItemRegistered(item[0] + item[1])

    @dbus.service.method(WATCHER, in_signature="s")
    def RegisterStatusNotifierHost(self, service):
        pass

    @dbus.service.signal(WATCHER, signature="s")
    def StatusNotifierItemRegistered(self, item):
        pass

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="ss", out_signature="v")
    def Get(self, interface, prop):
        return self.GetAll(interface)[prop]

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        return {
            "RegisteredStatusNotifierItems": dbus.Array([b + p for b, p in self.items], signature="s"),
            "IsStatusNotifierHostRegistered": True,
            "ProtocolVersion": dbus.Int32(0),
        }


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Loopback only: no proxy from the environment.
http = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class App:
    """One run of the desktop app on its own data directory, port and home."""

    def __init__(self, tmp, name, args=()):
        os.makedirs(tmp, exist_ok=True)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.home = os.path.join(tmp, "home")
        self.data = os.path.join(tmp, "data")
        self.log = os.path.join(tmp, f"{name}.log")
        log_files.append(self.log)
        self.env = dict(
            os.environ,
            HOME=self.home,
            XDG_CONFIG_HOME=os.path.join(self.home, ".config"),
            XDG_DATA_HOME=os.path.join(self.home, ".local/share"),
            XDG_CACHE_HOME=os.path.join(self.home, ".cache"),
            OTKLIK_DATA_DIR=self.data,
            OTKLIK_LISTEN=f"127.0.0.1:{self.port}",
            NO_COLOR="1",
        )
        self.token = subprocess.run(
            [APP, "token", "--data-dir", self.data], env=self.env, check=True, capture_output=True, text=True
        ).stdout.strip()
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([APP, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT)
        wait_for(f"the app's engine at {self.base}", lambda: self.health_ok())

    def health_ok(self):
        if self.proc.poll() is not None:
            raise Failed(f"the app exited with {self.proc.returncode}")
        with http.open(f"{self.base}/healthz", timeout=3) as r:
            return r.status == 200

    def api(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.base}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with http.open(req, timeout=10) as r:
                return json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raise Failed(f"{method} {path}: {e.code} {e.read().decode(errors='replace')}") from e

    def settings(self, **patch):
        return self.api("PATCH", "/api/v1/settings", patch)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Tray:
    """The app's tray item as the watcher got it."""

    def __init__(self, bus, watcher, seen):
        """`seen`: how many items the watcher had before this app started."""
        bus_name, path = wait_for("the app to put its icon in the tray", lambda: len(watcher.items) > seen and watcher.items[-1])
        self.bus = bus
        self.item = bus.get_object(bus_name, path)
        menu_path = self.prop("Menu")
        self.menu = dbus.Interface(bus.get_object(bus_name, menu_path), MENU)

    def prop(self, name):
        return dbus.Interface(self.item, dbus.PROPERTIES_IFACE).Get(ITEM, name)

    def icon_bytes(self):
        """The icon file the item names (tray-icon writes each icon it is given to a file)."""
        name = str(self.prop("IconName"))
        theme = str(self.prop("IconThemePath"))
        for path in (name, os.path.join(theme, name), os.path.join(theme, name + ".png")):
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    return f.read()
        raise Failed(f"the tray's icon {name!r} (theme path {theme!r}) is no file")

    def entries(self):
        """[(id, label, enabled)] of the menu's items, separators left out."""
        _, (_, _, children) = self.menu.GetLayout(0, -1, dbus.Array([], signature="s"))
        out = []
        for child in children:
            item_id, props, _ = child
            if props.get("type") == "separator":
                continue
            label = str(props.get("label", "")).replace("_", "")
            out.append((int(item_id), label, bool(props.get("enabled", True))))
        return out

    def labels(self):
        return [label for _, label, _ in self.entries()]

    def status(self):
        return self.labels()[0]

    def click(self, label):
        for item_id, text, enabled in self.entries():
            if text == label:
                if not enabled:
                    raise Failed(f"the menu item {label!r} is disabled")
                self.menu.Event(item_id, "clicked", dbus.Int32(0, variant_level=1), dbus.UInt32(0))
                return
        raise Failed(f"no menu item {label!r} in {self.labels()}")


def windows():
    """Titles of the mapped top-level windows."""
    out = subprocess.run(["wmctrl", "-l"], check=True, capture_output=True, text=True).stdout
    return [line.split(None, 3)[3] if len(line.split(None, 3)) == 4 else "" for line in out.splitlines()]


RU = ["Всё в порядке", "Открыть консоль", "Открыть табло", "Приостановить фото и звук", "Выйти"]


def main_scenario(bus, watcher, tmp):
    seen = len(watcher.items)
    app = App(tmp, "app")
    try:
        tray = Tray(bus, watcher, seen)
        labels = wait_for("the menu in Russian, saying all is well", lambda: tray.labels() == RU and tray.labels())
        ok(f"menu: {' | '.join(labels)}")
        if tray.entries()[0][2]:
            raise Failed("the status line is a clickable item")
        wait_for("the main window", lambda: "Otklik" in windows())
        well_icon = tray.icon_bytes()

        tray.click("Приостановить фото и звук")
        wait_for("capture_paused on", lambda: app.api("GET", "/api/v1/settings")["capture_paused"] is True)
        wait_for("the item to say Resume", lambda: "Возобновить фото и звук" in tray.labels())
        tray.click("Возобновить фото и звук")
        wait_for("capture_paused off", lambda: app.api("GET", "/api/v1/settings")["capture_paused"] is False)
        wait_for("the item to say Pause", lambda: "Приостановить фото и звук" in tray.labels())
        ok("Pause capture and Resume capture switch capture_paused in the engine")

        desk = app.api("POST", "/api/v1/desks", {"name": "Окно 7"})
        app.api("PUT", f"/api/v1/desks/{desk['id']}/input", {"kind": "serial", "path": "/dev/otklik-no-such-port"})
        line = wait_for(
            "the status line to name the desk with the missing box",
            lambda: tray.status().startswith("Требует внимания") and "Окно 7" in tray.status() and tray.status(),
        )
        wait_for("the attention icon", lambda: tray.icon_bytes() != well_icon)
        ok(f"a missing serial box: attention icon, status line '{line}'")
        app.api("PUT", f"/api/v1/desks/{desk['id']}/input", {"kind": "panel"})
        wait_for("all well again", lambda: tray.status() == "Всё в порядке")
        wait_for("the normal icon again", lambda: tray.icon_bytes() == well_icon)
        ok("the box switched to the panel: all well, the normal icon again")

        entry = os.path.join(app.home, ".config/autostart/Otklik.desktop")
        app.settings(start_with_system=True)
        text = wait_for(f"{entry} to be written", lambda: os.path.isfile(entry) and open(entry).read())
        if f"Exec={APP} --autostart" not in text:
            raise Failed(f"{entry} does not run `{APP} --autostart`:\n{text}")
        ok(f"start_with_system on: {entry} runs {APP} --autostart")
        app.settings(start_with_system=False)
        wait_for(f"{entry} to be removed", lambda: not os.path.exists(entry))
        ok("start_with_system off: the entry is removed")

        app.settings(language="en")
        wait_for("the menu in English", lambda: tray.labels() == ["All well", "Open console", "Open display", "Pause capture", "Quit"])
        app.settings(language="ru")
        wait_for("the menu in Russian again", lambda: tray.labels() == RU)
        ok("the menu follows the language setting")

        subprocess.run(["wmctrl", "-c", "Otklik"], check=True)
        wait_for("the main window to hide", lambda: "Otklik" not in windows())
        time.sleep(1)
        if not app.health_ok():
            raise Failed("the engine stopped when the main window was closed")
        ok("closing the main window hides it; the engine keeps serving")
        tray.click("Открыть консоль")
        wait_for("the main window back", lambda: "Otklik" in windows())
        ok("Open console brings the main window back")
        tray.click("Открыть табло")
        wait_for("the display window", lambda: "Otklik display" in windows())
        ok("Open display opens the display window")

        tray.click("Выйти")
        code = wait_for("the app to exit after Quit", lambda: app.proc.poll() is not None and [app.proc.returncode])
        if code != [0]:
            raise Failed(f"the app exited with {code[0]} after Quit")
        ok("Quit ends the app (exit code 0)")
    finally:
        app.stop()


def autostart_scenario(bus, watcher, tmp):
    seen = len(watcher.items)
    app = App(tmp, "autostart", ["--autostart"])
    try:
        tray = Tray(bus, watcher, seen)
        wait_for("the tray's menu", lambda: tray.labels() == RU)
        time.sleep(2)
        if "Otklik" in windows():
            raise Failed("`otklik --autostart` showed its main window")
        ok("otklik --autostart: the engine and the tray, no main window")
        second = subprocess.run([APP], env=app.env, capture_output=True, text=True, timeout=TIMEOUT)
        if second.returncode != 0:
            raise Failed(f"a second start exited with {second.returncode}: {second.stderr}")
        wait_for("the running app to show its main window", lambda: "Otklik" in windows())
        ok("a second start shows the running app's main window and exits")
        tray.click("Выйти")
        wait_for("the app to exit after Quit", lambda: app.proc.poll() is not None)
    finally:
        app.stop()


def main():
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    watcher = Watcher(bus)
    # WebKit's helper processes may still be writing their shader cache as the app exits.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        try:
            main_scenario(bus, watcher, os.path.join(tmp, "main"))
            autostart_scenario(bus, watcher, os.path.join(tmp, "autostart"))
        except (Failed, dbus.DBusException, subprocess.SubprocessError, OSError) as e:
            print(f"FAIL - tray: {e}", file=sys.stderr)
            for path in log_files:
                if os.path.exists(path):
                    print(f"--- {path}:", file=sys.stderr)
                    with open(path) as f:
                        print("".join(f.readlines()[-40:]), file=sys.stderr)
            sys.exit(1)
    print(f"tray: {checks} checks passed")


if __name__ == "__main__":
    main()
