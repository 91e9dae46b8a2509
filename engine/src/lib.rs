//! Otklik's engine: storage, domain, HTTP API and live events. It knows nothing of Tauri; the
//! desktop shell and `otklik serve` both run it.

pub mod access;
pub mod api;
pub mod audit;
pub mod backup;
pub mod cli;
pub mod contests;
pub mod db;
pub mod demo;
pub mod diagnostics;
pub mod engine;
pub mod error;
pub mod events;
pub mod evidence;
pub mod health;
pub mod inputs;
pub mod leaderboard;
pub mod ledger;
pub mod logs;
pub mod notify;
pub mod panels;
pub mod ratings;
pub mod reports;
pub mod roster;
pub mod scale;
pub mod sessions;
pub mod settings;
pub mod setup;
pub mod time;
pub mod token;
mod ui;
pub mod writer;

pub use engine::{Engine, Server};
pub use error::{Error, Result};
