//! Everything Otklik keeps: the SQLite file (migrations, the one writer with its group commit,
//! a bounded read pool), the ledger that proves no rating was changed outside Otklik, the live
//! event hub, and the records themselves (desks, registrars, sessions, ratings, contests, panels,
//! logins, settings, the leaderboard's roll-ups, the media files' index).

pub mod access;
pub mod audit;
pub mod contests;
pub mod db;
pub mod desk_pcs;
pub mod events;
pub mod leaderboard;
pub mod ledger;
pub mod media;
pub mod panels;
pub mod ratings;
pub mod reasons;
pub mod roster;
pub mod serving;
pub mod sessions;
pub mod settings;
mod store;
pub mod token;
pub mod uplink;
pub mod writer;

pub use store::Store;
