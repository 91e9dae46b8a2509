//! The Telegram transport (teloxide) against the fake Bot API in `botapi.rs`: what arrives on
//! the wire for each kind of message, updates, and how every kind of failure is sorted for the
//! outbox worker (Down is retried, RetryAfter waited for, Rejected failed for good) without the
//! token ever showing in an error.

use std::path::Path;
use std::time::{Duration, Instant};

use otklik_notify::telegram::{Telegram, Update};
use otklik_notify::{Attachment, AttachmentRole, Button, Outgoing, SendError, Transport};
use serde_json::json;

use crate::botapi::{BOT_USERNAME, BotApi, Mode};

const TOKEN: &str = "123456:SECRET-token-value";
const GROUP: i64 = -1001234567890;

fn telegram(api: &BotApi) -> Telegram {
    // A trailing slash is allowed.
    Telegram::new(&format!("{}/", api.url()), TOKEN).expect("transport")
}

fn text(t: &str) -> Outgoing {
    Outgoing {
        subject: "s".into(),
        text: t.into(),
        ..Outgoing::default()
    }
}

fn attachment(
    dir: &Path,
    role: AttachmentRole,
    name: &str,
    mime: &str,
    bytes: &[u8],
) -> Attachment {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    Attachment {
        role,
        path,
        file_name: name.into(),
        mime: mime.into(),
    }
}

/// A real 16×8 JPEG.
fn jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(16, 8, |x, y| image::Rgb([x as u8 * 16, y as u8 * 32, 128]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// Neither the text nor the Debug form of an error may carry the token.
fn assert_no_token(e: &SendError) {
    let shown = format!("{e} / {e:?}");
    assert!(
        !shown.contains("SECRET") && !shown.contains(TOKEN),
        "token leaked: {shown}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn get_me_names_the_bot() {
    let api = BotApi::start().await;
    let t = telegram(&api);
    assert_eq!(t.get_me().await.unwrap(), BOT_USERNAME);
    let calls = api.calls_of("getMe");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].token, TOKEN, "the token travels in the URL path");
}

#[tokio::test(flavor = "multi_thread")]
async fn html_message_with_buttons() {
    let api = BotApi::start().await;
    let t = telegram(&api);
    let msg = Outgoing {
        html: Some("<b>Оценка 1</b> у окна 2".into()),
        buttons: vec![
            Button {
                label: "Беру".into(),
                data: "take:17".into(),
            },
            Button {
                label: "Причина".into(),
                data: "cause:17".into(),
            },
        ],
        ..text("Оценка 1 у окна 2")
    };
    let sent = t.send(&GROUP.to_string(), &msg).await.expect("sent");

    let calls = api.delivered();
    assert_eq!(calls.len(), 1, "one call per message");
    let c = &calls[0];
    assert_eq!(c.method, "sendMessage");
    assert_eq!(c.chat_id, Some(GROUP));
    assert_eq!(c.text.as_deref(), Some("<b>Оценка 1</b> у окна 2"));
    assert_eq!(c.parse_mode.as_deref(), Some("HTML"));
    assert_eq!(c.callback_data(), ["take:17", "cause:17"]);
    assert_eq!(
        c.reply_markup.as_ref().unwrap()["inline_keyboard"][0][0]["text"],
        "Беру"
    );
    assert_eq!(c.token, TOKEN);
    assert_eq!(sent.remote_ref, c.message_id.map(|id| id.to_string()));
    assert_eq!(sent.remote_ref.as_deref(), Some("1"), "ids start from 1");

    // Without HTML: plain text, no parse mode, no keyboard.
    let sent = t.send("42", &text("plain <not html>")).await.unwrap();
    let c = api.delivered().pop().unwrap();
    assert_eq!(c.text.as_deref(), Some("plain <not html>"));
    assert_eq!(c.parse_mode, None);
    assert_eq!(c.reply_markup, None);
    assert_eq!(c.chat_id, Some(42));
    assert_eq!(sent.remote_ref.as_deref(), Some("2"));
}

#[tokio::test(flavor = "multi_thread")]
async fn photo_voice_and_document_are_uploaded() {
    let api = BotApi::start().await;
    let t = telegram(&api);
    let dir = tempfile::tempdir().unwrap();
    let photo_bytes = jpeg();
    let voice_bytes: Vec<u8> = b"OggS\0\x02fake opus payload"
        .iter()
        .copied()
        .cycle()
        .take(3000)
        .collect();
    let doc_bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();

    let photo = Outgoing {
        html: Some("<b>Фото</b> при оценке".into()),
        attachments: vec![attachment(
            dir.path(),
            AttachmentRole::Photo,
            "rating-17.jpg",
            "image/jpeg",
            &photo_bytes,
        )],
        buttons: vec![Button {
            label: "Беру".into(),
            data: "take:17".into(),
        }],
        ..text("Фото при оценке")
    };
    let voice = Outgoing {
        attachments: vec![attachment(
            dir.path(),
            AttachmentRole::Voice,
            "voice-17.ogg",
            "audio/ogg",
            &voice_bytes,
        )],
        ..text("Голос пациента")
    };
    let document = Outgoing {
        attachments: vec![attachment(
            dir.path(),
            AttachmentRole::Document,
            "report.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            &doc_bytes,
        )],
        ..text("")
    };
    let chart = Outgoing {
        attachments: vec![attachment(
            dir.path(),
            AttachmentRole::Chart,
            "chart.jpg",
            "image/jpeg",
            &photo_bytes,
        )],
        ..text("Неделя")
    };
    let mut refs = Vec::new();
    for m in [&photo, &voice, &document, &chart] {
        refs.push(
            t.send(&GROUP.to_string(), m)
                .await
                .expect("sent")
                .remote_ref
                .unwrap(),
        );
    }

    let calls = api.delivered();
    assert_eq!(calls.len(), 4, "{}", crate::botapi::summary(&calls));
    let methods: Vec<&str> = calls.iter().map(|c| c.method.as_str()).collect();
    assert_eq!(
        methods,
        ["sendPhoto", "sendVoice", "sendDocument", "sendPhoto"]
    );
    for (c, r) in calls.iter().zip(&refs) {
        assert_eq!(c.message_id.map(|id| id.to_string()).as_ref(), Some(r));
        assert_eq!(c.chat_id, Some(GROUP));
    }

    let p = calls[0].file.as_ref().expect("photo uploaded as a file");
    assert_eq!(p.name, "rating-17.jpg");
    assert_eq!(p.bytes, photo_bytes);
    assert_eq!(calls[0].text.as_deref(), Some("<b>Фото</b> при оценке"));
    assert_eq!(calls[0].parse_mode.as_deref(), Some("HTML"));
    assert_eq!(calls[0].callback_data(), ["take:17"]);
    // The server saw a real JPEG.
    let shown = api.message(GROUP, calls[0].message_id.unwrap()).unwrap();
    assert_eq!(shown["photo"][0]["width"], 16);
    assert_eq!(shown["photo"][0]["height"], 8);

    let v = calls[1].file.as_ref().expect("voice uploaded as a file");
    assert_eq!(v.name, "voice-17.ogg");
    assert_eq!(v.bytes, voice_bytes);
    assert_eq!(calls[1].text.as_deref(), Some("Голос пациента"));
    assert_eq!(calls[1].parse_mode, None, "plain text caption");

    let d = calls[2].file.as_ref().expect("document uploaded as a file");
    assert_eq!(d.name, "report.xlsx");
    assert_eq!(d.bytes, doc_bytes);
    assert_eq!(calls[2].text, None, "no caption for an empty text");

    assert_eq!(calls[3].file.as_ref().unwrap().name, "chart.jpg");
    assert_eq!(calls[3].text.as_deref(), Some("Неделя"));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_target_and_missing_file_are_rejected() {
    let api = BotApi::start().await;
    let t = telegram(&api);
    match t.send("@clinic", &text("x")).await {
        Err(SendError::Rejected(e)) => assert!(e.contains("not a Telegram chat id"), "{e}"),
        other => panic!("{other:?}"),
    }
    let dir = tempfile::tempdir().unwrap();
    let gone = Attachment {
        role: AttachmentRole::Photo,
        path: dir.path().join("deep/inside/photo-9.jpg"),
        file_name: "photo-9.jpg".into(),
        mime: "image/jpeg".into(),
    };
    let msg = Outgoing {
        attachments: vec![gone],
        ..text("x")
    };
    match t.send("42", &msg).await {
        Err(SendError::Rejected(e)) => {
            assert!(e.contains("photo-9.jpg"), "{e}");
            assert!(
                !e.contains("deep/inside"),
                "names the file, not the path: {e}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(api.calls().is_empty(), "nothing was sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn updates_are_parsed_confirmed_and_long_polled() {
    let api = BotApi::start().await;
    let t = telegram(&api);

    // A bot message, so a person can reply to it and press its button.
    let bot_msg = t
        .send(
            &GROUP.to_string(),
            &Outgoing {
                buttons: vec![Button {
                    label: "Беру".into(),
                    data: "take:5".into(),
                }],
                ..text("alert")
            },
        )
        .await
        .unwrap()
        .remote_ref
        .unwrap()
        .parse::<i64>()
        .unwrap();

    let m1 = api.push_message(GROUP, "Регистратура", "Анна", "/start", None);
    let m2 = api.push_message(GROUP, "Регистратура", "Анна", "очередь", Some(bot_msg));
    let m3 = api.push_message(42, "Иван Петров", "Иван", "привет", None);
    let cb = api.push_callback(GROUP, bot_msg, "Анна", "take:5");

    let all = t.updates(0, 0).await.unwrap();
    assert_eq!(all.len(), 4, "{all:?}");
    assert_eq!(
        all[0],
        Update::Message {
            update_id: all[0].id(),
            chat_id: GROUP,
            chat_title: "Регистратура".into(),
            from_name: "Анна".into(),
            text: "/start".into(),
            message_id: m1,
            reply_to_message_id: None,
        }
    );
    match &all[1] {
        Update::Message {
            message_id,
            reply_to_message_id,
            text,
            ..
        } => {
            assert_eq!(*message_id, m2);
            assert_eq!(*reply_to_message_id, Some(bot_msg));
            assert_eq!(text, "очередь");
        }
        other => panic!("{other:?}"),
    }
    match &all[2] {
        Update::Message {
            chat_id,
            chat_title,
            message_id,
            ..
        } => {
            assert_eq!(
                (*chat_id, chat_title.as_str(), *message_id),
                (42, "Иван Петров", m3)
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        all[3],
        Update::Callback {
            update_id: all[3].id(),
            callback_id: cb.clone(),
            chat_id: GROUP,
            message_id: bot_msg,
            from_name: "Анна".into(),
            data: "take:5".into(),
        }
    );
    let ids: Vec<i64> = all.iter().map(Update::id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");

    // allowed_updates was asked for.
    let poll = api.calls_of("getUpdates").pop().unwrap();
    assert_eq!(
        poll.params["allowed_updates"],
        json!(["message", "callback_query"])
    );

    // The offset skips what was seen; the same offset again still shows the rest.
    let rest = t.updates(ids[2], 0).await.unwrap();
    assert_eq!(rest.iter().map(Update::id).collect::<Vec<_>>(), ids[2..]);
    let next = ids[3] + 1;
    assert!(t.updates(next, 0).await.unwrap().is_empty());

    // A long poll with nothing new waits its timeout, then answers empty.
    let started = Instant::now();
    assert!(t.updates(next, 1).await.unwrap().is_empty());
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");

    // A long poll answers as soon as something is pushed during the wait.
    let started = Instant::now();
    let poll = tokio::spawn({
        let t = t.clone();
        async move { t.updates(next, 20).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let m4 = api.push_message(42, "Иван Петров", "Иван", "ещё", None);
    let got = poll.await.unwrap().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(got.len(), 1, "{got:?}");
    match &got[0] {
        Update::Message {
            message_id, text, ..
        } => {
            assert_eq!((*message_id, text.as_str()), (m4, "ещё"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn reply_buttons_and_callback_answers() {
    let api = BotApi::start().await;
    let t = telegram(&api);
    let asked = api.push_message(GROUP, "Регистратура", "Анна", "/why", None);

    let id = t
        .reply(GROUP, "Почему <b>1</b>?", Some(asked), true)
        .await
        .unwrap();
    let c = api.delivered().pop().unwrap();
    assert_eq!(c.method, "sendMessage");
    assert_eq!(c.message_id, Some(id));
    assert_eq!(c.parse_mode.as_deref(), Some("HTML"));
    assert_eq!(c.text.as_deref(), Some("Почему <b>1</b>?"));
    assert_eq!(c.reply_markup, Some(json!({"force_reply": true})));
    assert_eq!(c.params["reply_parameters"]["message_id"], asked);
    assert_eq!(
        api.message(GROUP, id).unwrap()["reply_to_message"]["message_id"],
        asked
    );

    // A plain reply: no markup.
    let plain = t.reply(GROUP, "ok", None, false).await.unwrap();
    let c = api.delivered().pop().unwrap();
    assert_eq!((c.message_id, c.reply_markup.clone()), (Some(plain), None));
    assert!(c.params.get("reply_parameters").is_none());

    // Buttons replaced, replaced with the same (not an error), removed.
    let buttons = [
        Button {
            label: "Принято: Анна".into(),
            data: "noop".into(),
        },
        Button {
            label: "Отменить".into(),
            data: "undo:1".into(),
        },
    ];
    t.set_buttons(GROUP, id, &buttons).await.unwrap();
    let c = api.calls_of("editMessageReplyMarkup").pop().unwrap();
    assert_eq!(
        (c.chat_id, c.message_id, c.status),
        (Some(GROUP), Some(id), 200)
    );
    assert_eq!(c.callback_data(), ["noop", "undo:1"]);
    assert_eq!(
        api.message(GROUP, id).unwrap()["reply_markup"]["inline_keyboard"][0][1]["callback_data"],
        "undo:1"
    );
    t.set_buttons(GROUP, id, &buttons)
        .await
        .expect("the same buttons again is not a failure");
    assert_eq!(
        api.calls_of("editMessageReplyMarkup").pop().unwrap().status,
        400
    );
    t.set_buttons(GROUP, id, &[]).await.unwrap();
    assert!(
        api.message(GROUP, id)
            .unwrap()
            .get("reply_markup")
            .is_none()
    );
    // Editing a message the server never saw is refused with Telegram's words.
    match t.set_buttons(GROUP, 9999, &buttons).await {
        Err(SendError::Rejected(e)) => assert!(e.contains("message to edit not found"), "{e}"),
        other => panic!("{other:?}"),
    }

    let cb = api.push_callback(GROUP, id, "Анна", "undo:1");
    t.answer_callback(&cb, "Отменено").await.unwrap();
    let c = api.calls_of("answerCallbackQuery").pop().unwrap();
    assert_eq!(c.params["callback_query_id"], cb.as_str());
    assert_eq!(c.text.as_deref(), Some("Отменено"));
    t.answer_callback(&cb, "").await.unwrap();
    assert_eq!(
        api.calls_of("answerCallbackQuery").pop().unwrap().text,
        None
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stopped_server_is_down_then_delivers_after_restart() {
    let api = BotApi::start().await;
    let t = telegram(&api);
    t.send("42", &text("before")).await.expect("up");

    api.stop().await;
    // The connection pooled by the first send is gone too: a clean Down, not a hang.
    let started = Instant::now();
    let e = t.send("42", &text("while down")).await.unwrap_err();
    assert!(matches!(e, SendError::Down(_)), "{e:?}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert_no_token(&e);
    let e = t.updates(0, 0).await.unwrap_err();
    assert!(matches!(e, SendError::Down(_)), "{e:?}");
    assert_no_token(&e);

    api.restart().await;
    t.send("42", &text("after")).await.expect("up again");
    let texts: Vec<String> = api.delivered().into_iter().filter_map(|c| c.text).collect();
    assert_eq!(texts, ["before", "after"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn long_poll_cut_by_a_stop_is_down() {
    let api = BotApi::start().await;
    let t = telegram(&api);
    let poll = tokio::spawn({
        let t = t.clone();
        async move { t.updates(0, 30).await }
    });
    // getUpdates is recorded when answered; give the poll time to be under way.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    api.stop().await;
    let e = poll.await.unwrap().unwrap_err();
    assert!(matches!(e, SendError::Down(_)), "{e:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_no_token(&e);
}

/// A 502 costs ~10 s here: teloxide 0.17 sleeps 10 s on any 5xx before reading the body.
#[tokio::test(flavor = "multi_thread")]
async fn refusing_server_is_down_and_nothing_is_delivered() {
    let api = BotApi::start().await;
    let t = telegram(&api);
    api.set_mode(Mode::Refusing);
    let e = t
        .send(&GROUP.to_string(), &text("refused"))
        .await
        .unwrap_err();
    match &e {
        SendError::Down(s) => assert!(s.contains("Bad Gateway"), "{s}"),
        other => panic!("{other:?}"),
    }
    assert_no_token(&e);
    assert!(api.delivered().is_empty());
    let refused = api.calls_of("sendMessage");
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].status, 502);

    api.set_mode(Mode::Up);
    t.send(&GROUP.to_string(), &text("delivered"))
        .await
        .unwrap();
    assert_eq!(api.delivered().len(), 1);
}

/// A proxy's HTML error page instead of the Bot API's JSON is Down too.
#[tokio::test(flavor = "multi_thread")]
async fn proxy_error_page_is_down() {
    use axum::http::StatusCode;
    use axum::response::Html;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(|uri: axum::http::Uri| async move {
        (
            StatusCode::BAD_GATEWAY,
            Html(format!(
                "<html><body><h1>502 Bad Gateway</h1>nginx: upstream failed for {uri}</body></html>"
            )),
        )
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let t = Telegram::new(&url, TOKEN).unwrap();
    let e = t.send("42", &text("x")).await.unwrap_err();
    match &e {
        SendError::Down(s) => assert!(s.contains("502 Bad Gateway"), "{s}"),
        other => panic!("{other:?}"),
    }
    // The page echoed the URL, token included: redacted.
    assert_no_token(&e);
    assert!(e.to_string().contains("<token>"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limit_is_retry_after() {
    let api = BotApi::start().await;
    let t = telegram(&api);
    api.set_mode(Mode::Limited {
        retry_after: 7,
        times: 2,
    });
    for _ in 0..2 {
        let e = t.send("42", &text("x")).await.unwrap_err();
        assert_eq!(e, SendError::RetryAfter(Duration::from_secs(7)));
    }
    t.send("42", &text("after the wait")).await.unwrap();
    assert_eq!(api.mode(), Mode::Up);
    let statuses: Vec<u16> = api.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, [429, 429, 200]);
    assert_eq!(api.delivered().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_chat_and_wrong_token_are_rejected() {
    let api = BotApi::start().await;
    let t = telegram(&api);
    api.forbid_chat(-777);
    let e = t.send("-777", &text("x")).await.unwrap_err();
    match &e {
        SendError::Rejected(s) => assert!(s.contains("chat not found"), "{s}"),
        other => panic!("{other:?}"),
    }
    assert_no_token(&e);
    // A photo to it too, and nothing recorded as delivered.
    let dir = tempfile::tempdir().unwrap();
    let photo = Outgoing {
        attachments: vec![attachment(
            dir.path(),
            AttachmentRole::Photo,
            "p.jpg",
            "image/jpeg",
            &jpeg(),
        )],
        ..text("x")
    };
    assert!(matches!(
        t.send("-777", &photo).await,
        Err(SendError::Rejected(_))
    ));
    assert!(api.delivered().is_empty());

    api.forbid_token(TOKEN);
    for e in [
        t.send("42", &text("x")).await.unwrap_err(),
        t.get_me().await.unwrap_err(),
        t.updates(0, 0).await.unwrap_err(),
    ] {
        assert!(matches!(e, SendError::Rejected(_)), "{e:?}");
        assert_no_token(&e);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_server_still_delivers() {
    let api = BotApi::start().await;
    let t = telegram(&api);
    api.set_mode(Mode::Slow(Duration::from_secs(1)));
    let started = Instant::now();
    let sent = t
        .send(&GROUP.to_string(), &text("slow"))
        .await
        .expect("delivered");
    assert!(started.elapsed() >= Duration::from_secs(1));
    let calls = api
        .wait_for("the slow message", Duration::from_secs(5), |c| {
            c.iter().any(|c| c.is_delivery())
        })
        .await;
    assert_eq!(
        sent.remote_ref,
        calls[0].message_id.map(|id| id.to_string())
    );
}

/// The fake itself, as any Bot API client sees it: GET with a query, form posts, a file_id
/// instead of an upload, the documented error shapes.
#[tokio::test(flavor = "multi_thread")]
async fn fake_bot_api_speaks_plain_http() {
    let api = BotApi::start().await;
    let http = reqwest::Client::new();
    let base = format!("{}/bot{TOKEN}", api.url());

    let me: serde_json::Value = http
        .get(format!("{base}/getMe"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["ok"], true);
    for field in [
        "id",
        "is_bot",
        "first_name",
        "username",
        "can_join_groups",
        "can_read_all_group_messages",
        "supports_inline_queries",
        "has_main_web_app",
    ] {
        assert!(
            me["result"].get(field).is_some(),
            "getMe lacks {field}: {me}"
        );
    }
    assert_eq!(me["result"]["id"], 123456);

    let resp = http
        .post(format!("{base}/sendMessage"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("chat_id=-5&text=hello%20there&reply_markup=%7B%22inline_keyboard%22%3A%5B%5B%7B%22text%22%3A%22a%22%2C%22callback_data%22%3A%22b%22%7D%5D%5D%7D")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let sent: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        sent["result"]["chat"],
        json!({"id": -5, "type": "group", "title": "Chat -5"})
    );
    assert_eq!(sent["result"]["text"], "hello there");
    let c = api.delivered().pop().unwrap();
    assert_eq!(
        (c.chat_id, c.text.as_deref()),
        (Some(-5), Some("hello there"))
    );
    assert_eq!(c.callback_data(), ["b"]);

    let photo: serde_json::Value = http
        .post(format!("{base}/sendPhoto"))
        .json(&json!({"chat_id": 7, "photo": "AgACAgIAAxkBAAI", "caption": "again"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(photo["result"]["photo"][0]["file_id"], "AgACAgIAAxkBAAI");
    let c = api.delivered().pop().unwrap();
    assert_eq!(c.file, None);
    assert_eq!(c.params["photo"], "AgACAgIAAxkBAAI");

    api.push_message(7, "Ann", "Ann", "hi", None);
    let updates: serde_json::Value = http
        .get(format!("{base}/getUpdates?offset=0&timeout=0"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(updates["result"][0]["message"]["chat"]["type"], "private");
    assert_eq!(updates["result"][0]["message"]["text"], "hi");

    let resp = http
        .post(format!("{base}/noSuchMethod"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!({"ok": false, "error_code": 404, "description": "Not Found"})
    );

    api.set_mode(Mode::Limited {
        retry_after: 3,
        times: 1,
    });
    let resp = http
        .post(format!("{base}/sendMessage"))
        .json(&json!({"chat_id": 7, "text": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error_code"], 429);
    assert_eq!(body["parameters"], json!({"retry_after": 3}));
}
