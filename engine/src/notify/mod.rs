//! Alerts and operational reports to Telegram and email, and the webhook: everything is written
//! to the outbox in the same transaction as what caused it, then delivered by one worker per
//! channel, in order, with retries, so nothing is lost while a channel is down.

pub mod config;
pub mod digest;
pub mod email;
pub mod message;
pub mod telegram;

pub use config::{Channel, NotifyConfig};
pub use message::{Attachment, AttachmentRole, Button, Kind, Outgoing, SendError, Sent, Transport};
