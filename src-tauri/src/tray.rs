//! The tray icon: the engine's health at a glance, asked of the engine in-process every few
//! seconds, and quick actions (open the console or the display, pause capture, quit).
//! What it says is computed in `status.rs`; what the actions do is the shell's (`desktop.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use otklik_engine::Engine;
use otklik_store::settings::Settings;
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Wry};

use crate::status::{self, Health, Icon, Summary, Words};

/// How often the tray asks the engine how it is.
const POLL: Duration = Duration::from_secs(5);

const ICON_ALL_WELL: &[u8] = include_bytes!("../../assets/icons/32x32.png");
const ICON_ATTENTION: &[u8] = include_bytes!("../../assets/icons/tray-attention.png");

/// A choice in the tray's menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    OpenConsole,
    OpenDisplay,
    /// Pause capture when it runs, resume it when it is paused.
    TogglePause,
    Quit,
}

impl Action {
    const ALL: [Action; 4] = [
        Action::OpenConsole,
        Action::OpenDisplay,
        Action::TogglePause,
        Action::Quit,
    ];

    fn id(self) -> &'static str {
        match self {
            Action::OpenConsole => "console",
            Action::OpenDisplay => "display",
            Action::TogglePause => "pause",
            Action::Quit => "quit",
        }
    }

    fn from_id(id: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.id() == id)
    }
}

pub struct Tray {
    icon: TrayIcon,
    status: MenuItem<Wry>,
    console: MenuItem<Wry>,
    display: MenuItem<Wry>,
    pause: MenuItem<Wry>,
    quit: MenuItem<Wry>,
    /// Taken only by the background tasks (`watch_health`, the settings watcher): updating the
    /// icon and the menu waits for the main thread, which must never wait for this lock.
    view: Mutex<View>,
}

struct View {
    words: &'static Words,
    paused: bool,
    /// `/healthz`'s last answer (`None`: it did not answer) and the desks' names; `None` before
    /// the first poll.
    reading: Option<(Option<Health>, HashMap<i64, String>)>,
    shown: Option<Summary>,
    icon: Icon,
}

impl Tray {
    /// Puts the icon in the tray; `on_action` runs (on the main thread) for each menu choice and
    /// for a left click on the icon (Windows, macOS), which opens the console.
    pub fn build(
        app: &AppHandle,
        settings: &Settings,
        on_action: impl Fn(&AppHandle, Action) + Send + Sync + 'static,
    ) -> anyhow::Result<Tray> {
        let words = Words::of(settings.language);
        let item = |action: Action, text: &str| {
            MenuItem::with_id(app, action.id(), text, true, None::<&str>)
        };
        let status = MenuItem::with_id(app, "status", words.app, false, None::<&str>)?;
        let console = item(Action::OpenConsole, words.open_console)?;
        let display = item(Action::OpenDisplay, words.open_display)?;
        let pause = item(
            Action::TogglePause,
            pause_text(words, settings.capture_paused),
        )?;
        let quit = item(Action::Quit, words.quit)?;
        let menu = Menu::with_items(
            app,
            &[
                &status,
                &PredefinedMenuItem::separator(app)?,
                &console,
                &display,
                &pause,
                &PredefinedMenuItem::separator(app)?,
                &quit,
            ],
        )?;
        let on_action = Arc::new(on_action);
        let on_click = on_action.clone();
        let icon = TrayIconBuilder::with_id("otklik")
            .icon(icon_image(Icon::AllWell)?)
            .tooltip(words.app)
            .menu(&menu)
            // Left click opens the console; the menu is on the right button.
            .show_menu_on_left_click(false)
            .on_menu_event(move |app, event| {
                if let Some(action) = Action::from_id(event.id().as_ref()) {
                    on_action(app, action);
                }
            })
            .on_tray_icon_event(move |tray, event| {
                if let TrayIconEvent::Click {
                    button: MouseButton::Left,
                    button_state: MouseButtonState::Up,
                    ..
                } = event
                {
                    on_click(tray.app_handle(), Action::OpenConsole);
                }
            })
            .build(app)?;
        Ok(Tray {
            icon,
            status,
            console,
            display,
            pause,
            quit,
            view: Mutex::new(View {
                words,
                paused: settings.capture_paused,
                reading: None,
                shown: None,
                icon: Icon::AllWell,
            }),
        })
    }

    /// The language and the pause switch from the settings.
    pub fn set_settings(&self, settings: &Settings) {
        let words = Words::of(settings.language);
        let mut view = self.view.lock().expect("tray lock");
        if view.words != words || view.paused != settings.capture_paused {
            view.words = words;
            view.paused = settings.capture_paused;
            self.log_err("menu", self.set_words(words, settings.capture_paused));
        }
        self.show(&mut view);
    }

    fn set_reading(&self, health: Option<Health>, desks: HashMap<i64, String>) {
        let mut view = self.view.lock().expect("tray lock");
        view.reading = Some((health, desks));
        self.show(&mut view);
    }

    fn set_words(&self, words: &Words, paused: bool) -> tauri::Result<()> {
        self.console.set_text(words.open_console)?;
        self.display.set_text(words.open_display)?;
        self.pause.set_text(pause_text(words, paused))?;
        self.quit.set_text(words.quit)
    }

    /// Shows the view's summary if it differs from what is shown.
    fn show(&self, view: &mut View) {
        let Some((health, desks)) = &view.reading else {
            return;
        };
        let summary = status::summarize(health.as_ref(), desks, view.words, view.paused);
        if view.shown.as_ref() == Some(&summary) {
            return;
        }
        if view.icon != summary.icon {
            let icon = icon_image(summary.icon).map_err(tauri::Error::Anyhow);
            self.log_err("icon", icon.and_then(|i| self.icon.set_icon(Some(i))));
            view.icon = summary.icon;
        }
        if view.shown.as_ref().map(|s| &s.status_line) != Some(&summary.status_line) {
            match summary.icon {
                Icon::AllWell => tracing::info!("tray: {}", summary.status_line),
                Icon::Attention => tracing::warn!("tray: {}", summary.status_line),
            }
        }
        self.log_err("tooltip", self.icon.set_tooltip(Some(&summary.tooltip)));
        self.log_err("status line", self.status.set_text(&summary.status_line));
        view.shown = Some(summary);
    }

    fn log_err(&self, what: &str, result: tauri::Result<()>) {
        if let Err(e) = result {
            tracing::warn!("cannot update the tray's {what}: {e}");
        }
    }
}

fn pause_text(words: &Words, paused: bool) -> &'static str {
    if paused {
        words.resume_capture
    } else {
        words.pause_capture
    }
}

fn icon_image(icon: Icon) -> anyhow::Result<Image<'static>> {
    let png = match icon {
        Icon::AllWell => ICON_ALL_WELL,
        Icon::Attention => ICON_ATTENTION,
    };
    decode_rgba(png)
}

/// An 8-bit RGBA PNG as the pixels a tray icon takes.
fn decode_rgba(bytes: &[u8]) -> anyhow::Result<Image<'static>> {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info()?;
    let mut rgba = vec![
        0;
        reader
            .output_buffer_size()
            .context("the icon is too large")?
    ];
    let info = reader.next_frame(&mut rgba)?;
    anyhow::ensure!(
        info.color_type == png::ColorType::Rgba && info.bit_depth == png::BitDepth::Eight,
        "the icon is not an 8-bit RGBA PNG"
    );
    rgba.truncate(info.buffer_size());
    Ok(Image::new_owned(rgba, info.width, info.height))
}

/// Asks the engine for its health (what `/healthz` answers, in-process) every few seconds, with
/// the desks' names, and shows it in the tray (managed as [`Tray`] state).
pub fn watch_health(app: AppHandle, engine: Arc<Engine>) {
    tauri::async_runtime::spawn(async move {
        loop {
            let health = reading(&engine).await;
            let desks = desk_names(&engine).await;
            if let Some(tray) = app.try_state::<Tray>() {
                tray.set_reading(health, desks);
            }
            tokio::time::sleep(POLL).await;
        }
    });
}

/// The engine's health as the tray reads it: the same document `/healthz` sends, so the tray's
/// rules (status.rs) read one shape whichever way it came.
async fn reading(engine: &Arc<Engine>) -> Option<Health> {
    let report = engine.health_report().await;
    match serde_json::to_value(&report).and_then(serde_json::from_value) {
        Ok(h) => Some(h),
        Err(e) => {
            tracing::warn!("the tray cannot read the engine's health: {e}");
            None
        }
    }
}

async fn desk_names(engine: &Arc<Engine>) -> HashMap<i64, String> {
    let desks = engine
        .store
        .reads
        .read(otklik_store::roster::list_desks)
        .await;
    match desks {
        Ok(desks) => desks.into_iter().map(|d| (d.id, d.name)).collect(),
        Err(e) => {
            tracing::debug!("the tray cannot read the desks' names: {e}");
            HashMap::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_tray_icons_decode() {
        for icon in [Icon::AllWell, Icon::Attention] {
            let image = icon_image(icon).unwrap();
            assert_eq!((image.width(), image.height()), (32, 32), "{icon:?}");
            assert_eq!(image.rgba().len(), 32 * 32 * 4, "{icon:?}");
        }
        assert_ne!(
            icon_image(Icon::AllWell).unwrap().rgba(),
            icon_image(Icon::Attention).unwrap().rgba()
        );
    }

    #[test]
    fn menu_ids_name_their_actions() {
        for action in Action::ALL {
            assert_eq!(Action::from_id(action.id()), Some(action));
        }
        assert_eq!(Action::from_id("status"), None);
    }
}
