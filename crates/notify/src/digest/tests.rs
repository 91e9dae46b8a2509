//! The messages in every language, from the facts of a realistic clinic.

use std::path::Path;

use chrono::DateTime;
use chrono_tz::Tz;

use super::alerts::*;
use super::answers::*;
use super::chart::*;
use super::format::*;
use super::notices::*;
use super::report::*;
use crate::message::AttachmentRole;
use otklik_domain::time::Millis;
use otklik_domain::words::{self, Language, fill};
use otklik_reports::figures::{Figures, Group, Report};
use otklik_store::leaderboard::Totals;
use otklik_store::leaderboard::{Entry, Leaderboard};

const LANGS: [Language; 3] = [Language::Ru, Language::En, Language::Es];

fn tz(name: &str) -> Tz {
    name.parse().unwrap()
}

fn ms(s: &str) -> Millis {
    DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
}

fn facts(registrar: Option<&str>) -> AlertFacts {
    AlertFacts {
        alert_id: 5,
        rating_id: 12,
        clinic: "Поликлиника №1".into(),
        desk: "Окно 2".into(),
        registrar: registrar.map(str::to_string),
        at: ms("2026-11-23T14:05:00+03:00"),
        score: 1,
        levels: 3,
        link: Some("http://192.168.1.10:8787/#/rating/12?a=1&b=2".into()),
    }
}

fn figures(levels: &[u64], flagged: u64) -> Figures {
    let count: u64 = levels.iter().sum();
    let (top, bottom) = (*levels.last().unwrap() as f64, levels[0] as f64);
    let c = count.max(1) as f64;
    Figures {
        count,
        levels: levels.to_vec(),
        satisfaction: if count == 0 { 0.0 } else { top / c },
        net: if count == 0 { 0.0 } else { (top - bottom) / c },
        flagged,
        annulled: 0,
    }
}

fn group(id: i64, name: &str, now: &[u64], before: &[u64]) -> Group {
    Group {
        id,
        name: name.into(),
        figures: figures(now, 0),
        previous: figures(before, 0),
    }
}

/// An hour at a Moscow clinic, six registrars, 3-level scale.
fn hourly() -> Report {
    let registrars = vec![
        group(1, "Иванова М.", &[1, 2, 14], &[0, 3, 10]),
        group(2, "Петров С.", &[0, 3, 9], &[1, 2, 8]),
        group(3, "Сидорова А.", &[2, 4, 11], &[1, 1, 12]),
        group(4, "Кузнецова Е.", &[0, 1, 6], &[0, 2, 5]),
        group(5, "Смирнов Д.", &[3, 5, 7], &[2, 3, 9]),
        group(6, "Волкова О.", &[1, 0, 4], &[0, 1, 3]),
    ];
    // As `figures::report` orders them: the most satisfied first.
    let mut registrars = registrars;
    registrars.sort_by(|a, b| {
        b.figures
            .satisfaction
            .total_cmp(&a.figures.satisfaction)
            .then(b.figures.count.cmp(&a.figures.count))
    });
    let mut totals = vec![0; 3];
    let mut prev = vec![0; 3];
    for g in &registrars {
        for (t, c) in totals.iter_mut().zip(&g.figures.levels) {
            *t += c;
        }
        for (t, c) in prev.iter_mut().zip(&g.previous.levels) {
            *t += c;
        }
    }
    Report {
        from: "2026-11-23T10:00:00Z".into(),
        to: "2026-11-23T11:00:00Z".into(),
        previous_from: "2026-11-23T09:00:00Z".into(),
        previous_to: "2026-11-23T10:00:00Z".into(),
        timezone: "Europe/Moscow".into(),
        scale: 3,
        registrar_id: None,
        desk_id: None,
        totals: figures(&totals, 2),
        previous: figures(&prev, 0),
        registrars,
        desks: Vec::new(),
        hours: Vec::new(),
        days: Vec::new(),
        alerts: Default::default(),
        reasons: Default::default(),
    }
}

fn negative(i: i64) -> Negative {
    Negative {
        rating_id: 100 + i,
        at: ms("2026-11-23T13:10:00+03:00") + i * MINUTE,
        desk: "Окно 3".into(),
        registrar: Some("Смирнов Д.".into()),
        score: 1,
        has_photo: i % 2 == 0,
        has_voice: true,
        link: Some(format!("http://192.168.1.10:8787/#/rating/{}", 100 + i)),
        alert: (i == 0).then(|| "решено: Анна, долго ждал(а) талон".to_string()),
    }
}

fn board() -> Leaderboard {
    let entry = |id: i64, name: &str, levels: &[u64], rank: Option<u32>| Entry {
        registrar_id: id,
        name: name.into(),
        count: levels.iter().sum(),
        levels: levels.to_vec(),
        satisfaction: *levels.last().unwrap() as f64 / levels.iter().sum::<u64>() as f64,
        score: 0.5,
        rank,
        flagged: 0,
    };
    Leaderboard {
        period: None,
        from: String::new(),
        to: String::new(),
        scale: 3,
        min_ratings: 5,
        entries: vec![
            entry(1, "Иванова М.", &[1, 2, 17], Some(1)),
            entry(2, "<b>&", &[2, 3, 10], Some(2)),
            entry(3, "Петров С.", &[3, 3, 8], Some(3)),
            entry(4, "Сидорова А.", &[4, 3, 6], Some(4)),
            entry(5, "Новикова Т.", &[0, 0, 2], None),
        ],
        totals: Totals {
            count: 70,
            levels: vec![10, 11, 43],
            satisfaction: 43.0 / 70.0,
            unassigned: 3,
            flagged: 1,
        },
    }
}

/// Every message and string of the module in one language, for the blanket checks.
fn everything(lang: Language) -> Vec<String> {
    let moscow = tz("Europe/Moscow");
    let f = facts(Some("Иванова М."));
    let now = f.at + 2 * MINUTE;
    let dir = std::env::temp_dir().join(format!("otklik-digest-{}", std::process::id()));
    let chart = dir.join(format!("all-{lang:?}.png"));
    let msgs = [
        alert_at(&f, lang, moscow, now),
        alert_at(&facts(None), lang, moscow, now),
        voice_at(&f, lang, moscow, now),
        escalation_at(&f, 15, lang, moscow, now),
        down_notice_at("telegram", f.at, f.at + 4 * MINUTE, 7, lang, moscow, now),
        health_notice_at(
            "Камера окна 2",
            true,
            f.at,
            Some("timeout"),
            lang,
            moscow,
            now,
        ),
        health_notice_at("Камера окна 2", false, f.at, None, lang, moscow, now),
        test_message("Поликлиника №1", lang),
        report(
            &hourly(),
            &[negative(0), negative(1)],
            "Поликлиника №1",
            ms("2026-11-23T13:00:00+03:00"),
            ms("2026-11-23T14:00:00+03:00"),
            lang,
            moscow,
            &chart,
        )
        .unwrap(),
    ];
    let mut all = Vec::new();
    for m in msgs {
        all.push(m.subject);
        all.push(m.text);
        all.push(m.html.unwrap());
        all.extend(m.buttons.into_iter().map(|b| b.label));
    }
    all.push(alert_state_line_at(
        &AlertState::Taken {
            by: "Анна",
            at: now,
        },
        lang,
        moscow,
        now,
    ));
    all.push(alert_state_line_at(
        &AlertState::Resolved {
            by: "Анна",
            at: now,
            cause: "долго ждал(а) талон",
            minutes: 15,
        },
        lang,
        moscow,
        now,
    ));
    all.push(cause_prompt(12, lang));
    all.extend(buttons_taken(5, lang).into_iter().map(|b| b.label));
    all.push(paired("Поликлиника №1", "Регистратура", lang));
    all.push(leaderboard_text(&board(), "Сегодня", false, lang));
    all.push(leaderboard_text(&board(), "Сегодня", true, lang));
    all.push(desk_text(
        "2",
        Some("Иванова М."),
        &figures(&[1, 2, 5], 1),
        lang,
    ));
    all.push(desk_text("2", None, &figures(&[0, 0, 0], 0), lang));
    all.push(help_text(lang));
    let _ = std::fs::remove_dir_all(&dir);
    all
}

#[test]
fn values_are_escaped_and_stay_literal() {
    assert_eq!(esc(r#"<b>&"x""#), "&lt;b&gt;&amp;&quot;x&quot;");
    let moscow = tz("Europe/Moscow");
    let mut f = facts(Some("<b>&"));
    f.desk = "Окно <2>".into();
    f.clinic = "A & B".into();
    let m = alert_at(&f, Language::Ru, moscow, f.at);
    let html = m.html.unwrap();
    assert!(html.contains("<b>&lt;b&gt;&amp;</b>"), "{html}");
    assert!(
        html.contains("Окно &lt;2&gt;") && html.contains("A &amp; B"),
        "{html}"
    );
    assert!(
        html.contains(r#"href="http://192.168.1.10:8787/#/rating/12?a=1&amp;b=2""#),
        "{html}"
    );
    assert!(m.text.contains("Регистратор: <b>&"), "{}", m.text);
    assert!(m.subject.contains("<b>&"));
    // Braces in a value are not placeholders.
    assert_eq!(fill("{a} {b}", &[("a", "{b}"), ("b", "x")]), "{b} x");
    let board = leaderboard_text(&board(), "<Сегодня>", false, Language::Ru);
    assert!(board.contains("<b>&lt;b&gt;&amp;</b>") && board.contains("&lt;Сегодня&gt;"));
    assert!(paired("A&B", "<chat>", Language::En).contains("“<b>&lt;chat&gt;</b>”"));
    let n = Negative {
        registrar: Some("<i>".into()),
        alert: Some("решено: <script>".into()),
        ..negative(0)
    };
    let (_, html) = negative_line(&n, 3, true, Language::Ru, moscow, words::of(Language::Ru));
    assert!(
        html.contains("&lt;i&gt;") && html.contains("&lt;script&gt;"),
        "{html}"
    );
}

#[test]
fn every_language_says_everything_without_placeholders() {
    for lang in LANGS {
        let all = everything(lang);
        for s in &all {
            assert!(!s.trim().is_empty(), "{lang:?}: an empty text");
            assert!(
                !s.contains('{') && !s.contains('}'),
                "{lang:?}: a placeholder left in {s}"
            );
        }
    }
    // The fixed words go into HTML unescaped, so they must not need it.
    for lang in LANGS {
        let w = words::of(lang);
        let fixed = [
            w.messages.nobody,
            w.common.nobody_short,
            w.messages.nobody_at_desk,
            w.messages.flagged,
            w.messages.negatives,
            w.common.more,
            w.messages.no_negatives,
            w.messages.no_ratings,
            w.messages.test,
            w.messages.paired,
            w.messages.paired_more,
            w.messages.escalated,
            w.messages.down,
            w.messages.held,
            w.messages.shown_top.one,
            w.messages.shown_top.other,
            w.messages.not_ranked,
            w.messages.help_title,
            w.messages.by_registrar,
        ];
        for s in fixed.iter().chain(&w.messages.help_lines) {
            assert!(!s.contains(['<', '>', '&']), "{s}");
        }
    }
    let ru = everything(Language::Ru).join("\n");
    for needle in [
        "Беру",
        "Решено",
        "Взял(а): Анна",
        "причина: долго ждал(а) талон",
        "(за 15 мин)",
    ] {
        assert!(ru.contains(needle), "{needle}");
    }
    let es = everything(Language::Es).join("\n");
    assert!(es.contains("Ventanilla 2") && es.contains("Me encargo"));
}

#[test]
fn alerts_carry_the_facts_and_the_buttons() {
    let moscow = tz("Europe/Moscow");
    let f = facts(Some("Иванова М."));
    let m = alert_at(&f, Language::Ru, moscow, f.at + MINUTE);
    assert_eq!(m.subject, "Otklik: низкая оценка — Окно 2, Иванова М.");
    assert_eq!(m.text.lines().next().unwrap(), "🔴 Плохо (1 из 3) — Окно 2");
    assert!(m.text.contains("Время: 14:05") && m.text.contains("Клиника: Поликлиника №1"));
    let data: Vec<_> = m.buttons.iter().map(|b| b.data.as_str()).collect();
    assert_eq!(data, ["take:5", "resolve:5"]);
    let nobody = alert_at(&facts(None), Language::En, moscow, f.at);
    assert!(
        nobody
            .html
            .unwrap()
            .contains("Registrar: <i>nobody on shift</i>")
    );
    let desk_number = AlertFacts {
        desk: "2".into(),
        ..facts(None)
    };
    assert!(
        alert_at(&desk_number, Language::Es, moscow, f.at)
            .subject
            .contains("Ventanilla 2")
    );

    let e = escalation_at(&f, 15, Language::Ru, moscow, f.at + 15 * MINUTE);
    assert!(
        e.text.starts_with("⏰ Никто не взял за 15 мин"),
        "{}",
        e.text
    );
    assert!(e.subject.contains("никто не взял за 15 мин") && e.subject.contains("Окно 2"));
    assert_eq!(e.buttons, m.buttons);

    let v = voice_at(&f, Language::Ru, moscow, f.at);
    assert_eq!(
        v.text,
        "🎙 Голос пациента к оценке #12 · Окно 2 · Иванова М. · 14:05"
    );
    assert!(v.html.unwrap().contains(">#12</a>"));

    assert_eq!(
        cause_prompt(5, Language::Ru),
        "Напишите в ответ одной строкой причину (оповещение #5)"
    );
    let taken = buttons_taken(5, Language::En);
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].data, "resolve:5");
    let at = f.at + 15 * MINUTE;
    let line = alert_state_line_at(
        &AlertState::Resolved {
            by: "Анна",
            at,
            cause: "долго ждал(а) талон",
            minutes: 15,
        },
        Language::Ru,
        moscow,
        at,
    );
    assert_eq!(
        line,
        "✅ Решено: Анна, 14:20 (за 15 мин) — причина: долго ждал(а) талон"
    );
}

#[test]
fn notices_say_when_and_how_long() {
    let moscow = tz("Europe/Moscow");
    let from = ms("2026-11-23T12:01:00+03:00");
    let m = down_notice_at(
        "telegram",
        from,
        from + 4 * MINUTE,
        7,
        Language::Ru,
        moscow,
        from,
    );
    assert_eq!(
        m.text,
        "⚠️ Telegram: не было связи с 12:01 до 12:05 (4 мин).\nЗадержанные сообщения (7) идут ниже."
    );
    let m = down_notice_at(
        "email",
        from,
        from + 125 * MINUTE,
        0,
        Language::En,
        moscow,
        from,
    );
    assert_eq!(
        m.text,
        "⚠️ Email was unreachable from 12:01 to 14:06 (2 h 5 min)."
    );
    // Seconds away, within one minute on the clock.
    let short = ms("2026-11-23T18:37:10+03:00");
    for (lang, want) in [
        (
            Language::Ru,
            "⚠️ Telegram: не было связи в 18:37 (20 с).\nЗадержанные сообщения (1) идут ниже.",
        ),
        (
            Language::En,
            "⚠️ Telegram was unreachable at 18:37 (20 s).\nDelayed messages (1) follow below.",
        ),
        (
            Language::Es,
            "⚠️ Telegram no estuvo disponible a las 18:37 (20 s).\nLos mensajes retrasados (1) siguen a continuación.",
        ),
    ] {
        let m = down_notice_at("telegram", short, short + 20_000, 1, lang, moscow, short);
        assert_eq!(m.text, want);
    }
    // Seconds across a minute on the clock: from and to.
    let m = down_notice_at(
        "email",
        short + 40_000,
        short + 70_000,
        0,
        Language::En,
        moscow,
        short,
    );
    assert_eq!(
        m.text,
        "⚠️ Email was unreachable from 18:37 to 18:38 (30 s)."
    );
    let m = health_notice_at(
        "Камера окна 2",
        true,
        from,
        Some("connect <refused>"),
        Language::Ru,
        moscow,
        from + 86_400_000,
    );
    assert_eq!(
        m.text,
        "⚠️ Камера окна 2 не работает с 23.11 12:01:\nconnect <refused>"
    );
    assert!(
        m.html
            .unwrap()
            .ends_with("<code>connect &lt;refused&gt;</code>")
    );
    let ok = health_notice_at(
        "Камера окна 2",
        false,
        from,
        None,
        Language::Ru,
        moscow,
        from,
    );
    assert_eq!(
        ok.text,
        "✅ Камера окна 2 снова работает (сбой был с 12:01)"
    );
}

#[test]
fn levels_map_to_red_yellow_green() {
    let row =
        |levels: u8| -> String { (1..=i64::from(levels)).map(|s| emoji(s, levels)).collect() };
    assert_eq!(row(3), "🔴🟡🟢");
    assert_eq!(row(4), "🔴🟡🟢🟢");
    assert_eq!(row(5), "🔴🔴🟡🟢🟢");
    assert_eq!(row(7), "🔴🔴🔴🟡🟢🟢🟢");
    // Out-of-range scores clamp to the ends.
    assert_eq!(emoji(0, 3), "🔴");
    assert_eq!(emoji(9, 5), "🟢");
    // The level names: otklik_domain::words.
    // A yellow alert is not called low.
    let f = AlertFacts {
        score: 3,
        levels: 5,
        ..facts(Some("Иванова М."))
    };
    let m = alert_at(&f, Language::Ru, tz("UTC"), f.at);
    assert!(
        m.subject.starts_with("Otklik: оценка «Нормально»"),
        "{}",
        m.subject
    );
    assert!(m.text.starts_with("🟡 Нормально (3 из 5)"));
}

#[test]
fn report_holds_the_totals_and_every_registrar() {
    let moscow = tz("Europe/Moscow");
    let dir = std::env::temp_dir().join(format!("otklik-digest-r-{}", std::process::id()));
    let path = dir.join("report.png");
    let r = hourly();
    let m = report(
        &r,
        &[negative(0), negative(1)],
        "Поликлиника №1",
        ms("2026-11-23T13:00:00+03:00"),
        ms("2026-11-23T14:00:00+03:00"),
        Language::Ru,
        moscow,
        &path,
    )
    .unwrap();
    assert_eq!(m.subject, "Otklik: отчёт за 13:00–14:00, 23.11");
    let text = &m.text;
    assert!(
        text.starts_with("Отчёт за 13:00–14:00, 23.11\nПоликлиника №1"),
        "{text}"
    );
    // 7 + 15 + 51 = 73; satisfied 51/73 = 70%, before 47/63 = 75%: −5.
    assert!(text.contains("Оценок: 73"), "{text}");
    assert!(
        text.contains("🔴 Плохо 7 · 🟡 Нормально 15 · 🟢 Отлично 51"),
        "{text}"
    );
    assert!(
        text.contains("Довольны: 70% (−5 к прошлому периоду)"),
        "{text}"
    );
    assert!(text.contains("Индекс: 60 (−8)"), "{text}");
    assert!(text.contains("Подозрительных (не в счёте): 2"), "{text}");
    assert!(text.contains("Всего  1  2  3    %"), "{text}");
    assert!(text.contains("Иванова М.       17  1  2 14  82%"), "{text}");
    assert!(text.contains("Смирнов Д.       15  3  5  7  47%"), "{text}");
    assert!(text.contains("Волкова О.        5  1  0  4  80%"), "{text}");
    assert!(text.contains("Низкие оценки (2)"));
    assert!(text.contains("🔴 13:10 · Окно 3 · Смирнов Д. · #100 (фото, голос) http://"));
    assert!(text.contains("— решено: Анна, долго ждал(а) талон"));
    let html = m.html.unwrap();
    assert!(html.contains("<pre>") && html.contains("Иванова М.       17  1  2 14  82%"));
    assert!(html.contains(r#"<a href="http://192.168.1.10:8787/#/rating/101">#101 (голос)</a>"#));
    let a = &m.attachments[0];
    assert_eq!(
        (a.role, a.file_name.as_str(), a.mime.as_str()),
        (AttachmentRole::Chart, "otklik-report.png", "image/png")
    );
    assert_eq!(a.path, path);
    assert!(std::fs::read(&path).unwrap().starts_with(b"\x89PNG"));
    let _ = std::fs::remove_dir_all(&dir);

    // An empty period says so.
    let mut empty = hourly();
    empty.totals = figures(&[0, 0, 0], 0);
    empty.registrars.clear();
    let path = dir.join("empty.png");
    let m = report(
        &empty,
        &[],
        "",
        ms("2026-11-23T00:00:00+03:00"),
        ms("2026-11-24T00:00:00+03:00"),
        Language::En,
        moscow,
        &path,
    )
    .unwrap();
    assert_eq!(m.text, "Report for 23 Nov\n\nNo ratings in this period.");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn report_lists_at_most_twenty_low_ratings() {
    let moscow = tz("Europe/Moscow");
    let dir = std::env::temp_dir().join(format!("otklik-digest-c-{}", std::process::id()));
    let negatives: Vec<Negative> = (0..25).map(negative).collect();
    let m = report(
        &hourly(),
        &negatives,
        "Поликлиника №1",
        ms("2026-11-23T13:00:00+03:00"),
        ms("2026-11-23T14:00:00+03:00"),
        Language::Ru,
        moscow,
        &dir.join("r.png"),
    )
    .unwrap();
    let listed = m.text.lines().filter(|l| l.starts_with("🔴 13:")).count();
    assert_eq!(listed, 20, "{}", m.text);
    assert!(m.text.contains("Низкие оценки (25)") && m.text.ends_with("…и ещё 5"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn report_html_stays_within_a_telegram_message() {
    let moscow = tz("Europe/Moscow");
    let dir = std::env::temp_dir().join(format!("otklik-digest-h-{}", std::process::id()));
    let mut r = hourly();
    r.registrars = (0..80)
        .map(|i| {
            group(
                i,
                &format!("Константинопольская-Длинная {i}"),
                &[i as u64 % 3, 2, 5 + i as u64],
                &[0, 0, 0],
            )
        })
        .collect();
    let negatives: Vec<Negative> = (0..30).map(negative).collect();
    let m = report(
        &r,
        &negatives,
        "Поликлиника №1",
        ms("2026-11-23T08:00:00+03:00"),
        ms("2026-11-23T20:00:00+03:00"),
        Language::Ru,
        moscow,
        &dir.join("r.png"),
    )
    .unwrap();
    let html = m.html.unwrap();
    assert!(utf16_len(&html) <= HTML_MAX, "{}", utf16_len(&html));
    assert!(html.contains("Показаны ") && html.contains(" из 80 — с наибольшим числом оценок."));
    // The most rated stay: registrar 79 has the most ratings.
    assert!(
        html.contains("Константинополь…     87  1  2 84  97%"),
        "{html}"
    );
    // The email keeps the whole table.
    assert_eq!(m.text.matches("Константинополь…").count(), 80);
    let _ = std::fs::remove_dir_all(&dir);
}

fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes(b.try_into().unwrap());
    (be(&png[16..20]), be(&png[20..24]))
}

#[test]
fn chart_is_a_png_of_the_right_size() {
    let png = report_chart(&hourly(), "Отчёт за 13:00–14:00, 23.11", Language::Ru).unwrap();
    assert_eq!(png_size(&png), CHART_SIZE);
    let mut empty = hourly();
    empty.registrars.clear();
    let png = report_chart(&empty, "Report", Language::En).unwrap();
    assert_eq!(png_size(&png), CHART_SIZE);
    // Many registrars on a 7-level scale.
    let mut many = hourly();
    many.scale = 7;
    many.registrars = (0..30)
        .map(|i| group(i, "", &[1, 0, 2, 3, 0, 4, i as u64], &[0; 7]))
        .collect();
    let png = report_chart(&many, "Informe", Language::Es).unwrap();
    assert_eq!(png_size(&png), CHART_SIZE);
}

#[test]
fn times_are_local_and_dst_safe() {
    let madrid = tz("Europe/Madrid");
    let es = Language::Es;
    // Spring forward on 29 March 2026: 02:00 CET becomes 03:00 CEST.
    let before = ms("2026-03-29T00:30:00Z");
    let after = ms("2026-03-29T01:30:00Z");
    assert_eq!(stamp(before, after, madrid, es), "01:30");
    assert_eq!(stamp(after, after, madrid, es), "03:30");
    // Fall back on 25 October 2026: 02:30 happens twice.
    let first = ms("2026-10-25T00:30:00Z");
    let second = ms("2026-10-25T01:30:00Z");
    assert_eq!(stamp(first, second, madrid, es), "02:30");
    assert_eq!(stamp(second, second, madrid, es), "02:30");
    assert_eq!(
        stamp(first, ms("2026-10-26T10:00:00Z"), madrid, Language::En),
        "25 Oct 02:30"
    );
    assert_eq!(
        stamp(first, ms("2027-01-02T10:00:00Z"), madrid, es),
        "25.10.2026 02:30"
    );
    // A 23-hour and a 25-hour day are still whole days.
    let day = |d: &str, lang| {
        let span =
            otklik_domain::time::PeriodName::Today.span(madrid, ms(&format!("{d}T12:00:00Z")));
        report_title(span.from, span.to, lang, madrid)
    };
    assert_eq!(day("2026-03-29", es), "Informe del día 29.03");
    assert_eq!(day("2026-10-25", Language::Ru), "Отчёт за день 25.10");
    // An hour across the change: 01:00 CET to 03:00 CEST is one real hour.
    assert_eq!(
        report_title(
            ms("2026-03-29T00:00:00Z"),
            ms("2026-03-29T01:00:00Z"),
            Language::Ru,
            madrid
        ),
        "Отчёт за 01:00–03:00, 29.03"
    );
    // The last hours of a day end at 24:00; a day so far says until when; days.
    let moscow = tz("Europe/Moscow");
    assert_eq!(
        report_title(
            ms("2026-11-23T20:00:00+03:00"),
            ms("2026-11-24T00:00:00+03:00"),
            Language::En,
            moscow
        ),
        "Report 20:00–24:00, 23 Nov"
    );
    assert_eq!(
        report_title(
            ms("2026-11-23T00:00:00+03:00"),
            ms("2026-11-23T20:00:00+03:00"),
            Language::Ru,
            moscow
        ),
        "Отчёт за день 23.11 (до 20:00)"
    );
    assert_eq!(
        report_title(
            ms("2026-11-16T00:00:00+03:00"),
            ms("2026-11-23T00:00:00+03:00"),
            Language::Es,
            moscow
        ),
        "Informe del 16.11 al 22.11"
    );
}

#[test]
fn bot_answers_show_the_board_and_the_desk() {
    let b = board();
    let full = leaderboard_text(&b, "Сегодня", false, Language::Ru);
    assert!(full.starts_with("🏆 <b>Сегодня</b>\nВсего оценок: <b>70</b> · довольны 61%"));
    assert!(full.contains("без регистратора: 3"));
    assert!(
        full.contains("🥇 <b>Иванова М.</b> — довольны 85% · оценок: 20"),
        "{full}"
    );
    assert!(
        full.contains("4. <b>Сидорова А.</b> — довольны 46% · оценок: 13"),
        "{full}"
    );
    assert!(full.contains("<i>Мало оценок для места (меньше 5)</i>: Новикова Т. (2)"));
    let top = leaderboard_text(&b, "Today", true, Language::En);
    assert!(top.contains("🥉 <b>Петров С.</b>") && !top.contains("Сидорова"));
    assert!(top.ends_with("Ranked: 4"), "{top}");
    let empty = Leaderboard {
        entries: Vec::new(),
        totals: Totals {
            count: 0,
            levels: vec![0; 3],
            satisfaction: 0.0,
            unassigned: 0,
            flagged: 0,
        },
        ..board()
    };
    assert_eq!(
        leaderboard_text(&empty, "Hoy", false, Language::Es),
        "🏆 <b>Hoy</b>\nNo hay valoraciones en este periodo."
    );

    let d = desk_text(
        "2",
        Some("Иванова М."),
        &figures(&[1, 2, 5], 0),
        Language::Ru,
    );
    assert_eq!(
        d,
        "<b>Окно 2</b>\nСейчас: <b>Иванова М.</b>\nОценок сегодня: <b>8</b>\n🔴 Плохо 1 · 🟡 Нормально 2 · 🟢 Отлично 5\nДовольны: <b>63%</b>"
    );
    let d = desk_text("Окно 3", None, &figures(&[0, 0, 0], 0), Language::En);
    assert_eq!(
        d,
        "<b>Окно 3</b>\nNow: <i>Nobody here</i>\nNo ratings today yet"
    );
    for lang in LANGS {
        let h = help_text(lang);
        for c in ["/today", "/week", "/top", "/desk 2", "/help"] {
            assert!(h.contains(c), "{lang:?} {c}");
        }
    }
}

/// Writes target/notify-samples/report-chart.png from a realistic hourly report (six
/// registrars, Moscow), with the report's text and html and an alert's html beside it, for
/// the README. `cargo test -p otklik-notify --lib
/// notify::digest::tests::write_samples -- --ignored`
#[test]
#[ignore]
fn write_samples() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/notify-samples");
    std::fs::create_dir_all(&dir).unwrap();
    let moscow = tz("Europe/Moscow");
    // The report writes its chart: "Отчёт за 13:00–14:00, 23.11 · Поликлиника №1".
    let m = report(
        &hourly(),
        &[negative(0), negative(1), negative(2)],
        "Поликлиника №1",
        ms("2026-11-23T13:00:00+03:00"),
        ms("2026-11-23T14:00:00+03:00"),
        Language::Ru,
        moscow,
        &dir.join("report-chart.png"),
    )
    .unwrap();
    std::fs::write(dir.join("report.txt"), &m.text).unwrap();
    std::fs::write(dir.join("report.html"), m.html.unwrap()).unwrap();
    let f = facts(Some("Иванова М."));
    let a = alert_at(&f, Language::Ru, moscow, f.at);
    std::fs::write(dir.join("alert.html"), a.html.unwrap()).unwrap();
}

#[test]
fn counts_of_shown_rows_agree_with_the_verb() {
    let ru = &words::of(Language::Ru).messages;
    assert_eq!(
        shown_of(Language::Ru, &ru.chart_shown, 12, 30),
        "Показаны 12 из 30"
    );
    assert_eq!(
        shown_of(Language::Ru, &ru.chart_shown, 21, 30),
        "Показан 21 из 30"
    );
    let es = &words::of(Language::Es).messages;
    assert_eq!(
        shown_of(Language::Es, &es.shown_top, 1, 80),
        "Se muestra 1 de 80: el que tiene más valoraciones."
    );
    assert_eq!(more(words::of(Language::Ru), 5), "…и ещё 5");
}
