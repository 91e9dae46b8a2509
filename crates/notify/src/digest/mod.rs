//! The words of every message Otklik sends: alerts, their state lines and prompts, operational
//! reports (with a chart, and their PDF for email), notices about Otklik itself, and the bot's answers in a chat. The
//! words themselves are in [`otklik_domain::words`]; here they are put together.
//!
//! Everything here is pure (no database): facts in, an [`Outgoing`](crate::Outgoing) or a
//! string out, in the installation's language. `html` is Telegram HTML (parse_mode=HTML: only
//! `<b>`, `<i>`, `<code>`, `<pre>`, `<a href>`), every inserted value escaped with [`esc`];
//! `text` is the same message as plain text (the email body). Times are the clinic's: `14:05`
//! for today, `23.11 14:05` (ru, es) or `23 Nov 14:05` (en) for another day of this year.

mod alerts;
mod answers;
mod chart;
mod format;
mod notices;
mod report;
#[cfg(test)]
mod tests;

pub use alerts::{
    AlertFacts, AlertState, alert, alert_state_line, alert_summary, buttons_taken, cause_prompt,
    escalation, reason, voice,
};
pub use answers::{desk_text, help_text, leaderboard_text};
pub use chart::{CHART_SIZE, report_chart};
pub use format::esc;
pub use notices::{down_notice, health_notice, paired, test_message};
pub use report::{HTML_MAX, NEGATIVES_MAX, Negative, report, report_pdf};
