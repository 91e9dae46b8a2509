//! Otklik's engine: it wires the store, the devices and the notifications into one running
//! whole, and keeps it well (health, backups, diagnostics, the demo, the first-run setup). It
//! knows nothing of HTTP or Tauri: the API crate serves it, the desktop shell and `otklik serve`
//! start it.

pub mod backup;
pub mod demo;
pub mod desk_pc;
pub mod diagnostics;
pub mod engine;
pub mod health;
pub mod logs;
pub mod setup;
pub mod uplink;

pub use engine::{DB_FILE, Engine, default_data_dir};
