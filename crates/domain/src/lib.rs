//! What Otklik means by a rating, a period and an error, with no storage and no devices: the
//! layer every other crate (and a future hub on another database) builds on.

pub mod error;
pub mod hostnames;
pub mod leaderboard;
pub mod link;
pub mod scale;
pub mod time;
pub mod words;

pub use error::{Error, Result};
