//! The Telegram bot's own side: pairing a chat with the code shown on the console, the buttons
//! under alerts (take; resolve with a cause), and `/today`, `/week`, `/top`, `/desk N`. It
//! answers subscribed chats only; everyone else gets silence.

use std::sync::Arc;
use std::time::Duration;

use rusqlite::OptionalExtension;

use super::Notifier;
use super::digest;
use super::telegram::{Telegram, Update};
use otklik_domain::error::Result;
use otklik_domain::time::{PeriodName, now_ms};

const OFFSET_KEY: &str = "telegram_offset";
const POLL_SECS: u32 = 25;

pub(super) async fn run(notifier: Arc<Notifier>) {
    let mut backoff = Duration::from_secs(1);
    loop {
        let tg = match notifier.telegram() {
            Ok(tg) => tg,
            Err(_) => {
                let _ =
                    tokio::time::timeout(Duration::from_secs(5), notifier.wake.notified()).await;
                continue;
            }
        };
        if notifier.bot_username().is_none()
            && let Ok(name) = tg.get_me().await
        {
            *notifier.bot_username.lock().expect("bot lock") = Some(name);
        }
        let offset: i64 = notifier
            .store
            .reads
            .read(
                |c| Ok(otklik_store::db::get_setting(c, OFFSET_KEY)?.and_then(|v| v.parse().ok())),
            )
            .await
            .ok()
            .flatten()
            .unwrap_or(0);
        match tg.updates(offset, POLL_SECS).await {
            Ok(updates) => {
                backoff = Duration::from_secs(1);
                for u in updates {
                    let next = u.id() + 1;
                    if let Err(e) = handle(&notifier, &tg, u).await {
                        tracing::warn!(%e, "a Telegram update could not be handled");
                    }
                    // Remembered, so a restart does not act on an update twice.
                    let _ = notifier
                        .store
                        .writer
                        .write(move |ctx| {
                            ctx.conn.execute(
                                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                (OFFSET_KEY, next.to_string()),
                            )?;
                            Ok(())
                        })
                        .await;
                }
            }
            Err(e) => {
                tracing::debug!(%e, "Telegram updates unavailable");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

async fn subscribed(notifier: &Notifier, chat_id: i64) -> Result<bool> {
    notifier
        .store
        .reads
        .read(move |c| {
            Ok(c.query_row(
                "SELECT count(*) FROM telegram_chats WHERE chat_id = ?1",
                [chat_id],
                |r| r.get::<_, i64>(0),
            )? > 0)
        })
        .await
}

/// `/cmd@botname arg` → ("/cmd", "arg").
fn command(text: &str) -> (String, String) {
    let text = text.trim();
    let (head, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let cmd = head.split('@').next().unwrap_or(head).to_lowercase();
    (cmd, rest.trim().to_string())
}

async fn handle(notifier: &Arc<Notifier>, tg: &Telegram, u: Update) -> Result<()> {
    let s = notifier.store.settings();
    let lang = s.language;
    let tz = s.tz();
    match u {
        Update::Message {
            chat_id,
            chat_title,
            text,
            reply_to_message_id,
            from_name,
            ..
        } => {
            let (cmd, arg) = command(&text);
            if cmd == "/pair" || cmd == "/start" {
                if notifier.take_pairing(&arg, now_ms()) {
                    let title = chat_title.clone();
                    notifier
                        .store.writer
                        .write(move |ctx| {
                            ctx.conn.execute(
                                "INSERT INTO telegram_chats (chat_id, title, paired_at) VALUES (?1, ?2, ?3)
                                 ON CONFLICT (chat_id) DO UPDATE SET title = excluded.title",
                                (chat_id, &title, ctx.now),
                            )?;
                            otklik_store::audit::record(
                                ctx.conn,
                                ctx.now,
                                "telegram",
                                "telegram.pair",
                                "telegram_chat",
                                Some(chat_id),
                                serde_json::json!({ "title": title }),
                            )?;
                            ctx.emit("telegram_chat", &serde_json::json!({ "chat_id": chat_id }));
                            Ok(())
                        })
                        .await?;
                    let _ = tg
                        .reply(
                            chat_id,
                            &digest::paired(&s.clinic_name, &chat_title, lang),
                            None,
                            false,
                        )
                        .await;
                }
                return Ok(());
            }
            if !subscribed(notifier, chat_id).await? {
                return Ok(());
            }
            if let Some(reply_to) = reply_to_message_id {
                let prompt: Option<(i64, i64)> = notifier
                    .store
                    .reads
                    .read(move |c| {
                        Ok(c.query_row(
                            "SELECT alert_id, alert_message_id FROM telegram_prompts
                             WHERE chat_id = ?1 AND message_id = ?2",
                            (chat_id, reply_to),
                            |r| Ok((r.get(0)?, r.get(1)?)),
                        )
                        .optional()?)
                    })
                    .await?;
                if let Some((alert_id, alert_msg)) = prompt {
                    let cause: String = text
                        .lines()
                        .next()
                        .unwrap_or("")
                        .chars()
                        .take(200)
                        .collect();
                    match notifier.resolve_alert(alert_id, from_name, cause).await {
                        Ok(a) => {
                            let _ = tg.set_buttons(chat_id, alert_msg, &[]).await;
                            let line = digest::alert_state_line(
                                &digest::AlertState::Resolved {
                                    by: a.resolved_by.as_deref().unwrap_or(""),
                                    at: now_ms(),
                                    cause: a.cause.as_deref().unwrap_or(""),
                                    minutes: a.minutes_to_resolve.unwrap_or(0),
                                },
                                lang,
                                tz,
                            );
                            let _ = tg
                                .reply(chat_id, &digest::esc(&line), Some(alert_msg), false)
                                .await;
                        }
                        Err(e) => {
                            let _ = tg
                                .reply(chat_id, &digest::esc(&e.to_string()), Some(reply_to), false)
                                .await;
                        }
                    }
                    return Ok(());
                }
            }
            let answer = match cmd.as_str() {
                "/today" | "/top" | "/week" => {
                    let period = if cmd == "/week" {
                        PeriodName::Week
                    } else {
                        PeriodName::Today
                    };
                    let board = notifier.store.leaderboard(Some(period), None, None).await?;
                    let title = match (cmd.as_str(), lang) {
                        ("/week", otklik_store::settings::Language::Ru) => "За неделю",
                        ("/week", otklik_store::settings::Language::Es) => "Esta semana",
                        ("/week", _) => "This week",
                        (_, otklik_store::settings::Language::Ru) => "Сегодня",
                        (_, otklik_store::settings::Language::Es) => "Hoy",
                        _ => "Today",
                    };
                    Some(digest::leaderboard_text(&board, title, cmd == "/top", lang))
                }
                "/desk" => Some(desk_answer(notifier, &arg, lang).await?),
                "/help" => Some(digest::help_text(lang)),
                _ => None,
            };
            if let Some(html) = answer {
                let _ = tg.reply(chat_id, &html, None, false).await;
            }
        }
        Update::Callback {
            callback_id,
            chat_id,
            message_id,
            from_name,
            data,
            ..
        } => {
            if !subscribed(notifier, chat_id).await? {
                return Ok(());
            }
            let (action, id) = data.split_once(':').unwrap_or((&data, ""));
            let Ok(alert_id) = id.parse::<i64>() else {
                let _ = tg.answer_callback(&callback_id, "").await;
                return Ok(());
            };
            match action {
                "take" => match notifier.take_alert(alert_id, from_name).await {
                    Ok(a) => {
                        let line = digest::alert_state_line(
                            &digest::AlertState::Taken {
                                by: a.taken_by.as_deref().unwrap_or(""),
                                at: now_ms(),
                            },
                            lang,
                            tz,
                        );
                        let _ = tg.answer_callback(&callback_id, &line).await;
                        let _ = tg
                            .set_buttons(
                                chat_id,
                                message_id,
                                &digest::buttons_taken(alert_id, lang),
                            )
                            .await;
                        let _ = tg
                            .reply(chat_id, &digest::esc(&line), Some(message_id), false)
                            .await;
                    }
                    Err(e) => {
                        let _ = tg.answer_callback(&callback_id, &e.to_string()).await;
                    }
                },
                "resolve" => {
                    let prompt = digest::cause_prompt(alert_id, lang);
                    match tg
                        .reply(chat_id, &digest::esc(&prompt), Some(message_id), true)
                        .await
                    {
                        Ok(prompt_id) => {
                            notifier
                                .store
                                .writer
                                .write(move |ctx| {
                                    ctx.conn.execute(
                                        "INSERT OR REPLACE INTO telegram_prompts
                                         (chat_id, message_id, alert_id, alert_message_id)
                                         VALUES (?1, ?2, ?3, ?4)",
                                        (chat_id, prompt_id, alert_id, message_id),
                                    )?;
                                    Ok(())
                                })
                                .await?;
                            let _ = tg.answer_callback(&callback_id, "").await;
                        }
                        Err(e) => tracing::warn!(%e, "cannot ask for a cause"),
                    }
                }
                _ => {
                    let _ = tg.answer_callback(&callback_id, "").await;
                }
            }
        }
        Update::Other { .. } => {}
    }
    Ok(())
}

/// `/desk N`: the desk by number or name, who is there now, and its ratings today.
async fn desk_answer(
    notifier: &Notifier,
    arg: &str,
    lang: otklik_store::settings::Language,
) -> Result<String> {
    let arg = arg.trim().to_string();
    let s = notifier.store.settings();
    let span = PeriodName::Today.span(s.tz(), now_ms());
    let (tz, levels) = (s.tz(), s.scale);
    let found = notifier
        .store
        .reads
        .read(move |c| {
            let desk: Option<(i64, String)> = c
                .query_row(
                    "SELECT id, name FROM desks WHERE active = 1
                     AND (CAST(id AS TEXT) = ?1 OR name = ?1 OR name LIKE '% ' || ?1)
                     ORDER BY (CAST(id AS TEXT) = ?1) DESC, id LIMIT 1",
                    [&arg],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((id, name)) = desk else {
                return Ok(None);
            };
            let registrar: Option<String> = c
                .query_row(
                    "SELECT g.name FROM work_sessions w JOIN registrars g ON g.id = w.registrar_id
                     WHERE w.desk_id = ?1 AND w.ended_at IS NULL",
                    [id],
                    |r| r.get(0),
                )
                .optional()?;
            let report = otklik_reports::figures::report(
                c,
                span,
                otklik_reports::figures::Filter {
                    registrar_id: None,
                    desk_id: Some(id),
                },
                tz,
                levels,
            )?;
            Ok(Some((name, registrar, report.totals)))
        })
        .await?;
    Ok(match found {
        Some((name, registrar, totals)) => {
            digest::desk_text(&name, registrar.as_deref(), &totals, lang)
        }
        None => digest::help_text(lang),
    })
}
