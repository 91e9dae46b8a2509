//! Whatever a client sends, a wrong request gets a clear 4xx JSON error naming the problem, and
//! nothing is stored or changed.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::common::App;

struct Case {
    method: Method,
    path: &'static str,
    body: Option<String>,
    json: bool,
    token: Option<&'static str>,
    status: StatusCode,
    /// Expected in the `error` text.
    says: &'static str,
    field: Option<&'static str>,
}

fn case(
    method: Method,
    path: &'static str,
    body: &str,
    status: u16,
    says: &'static str,
    field: Option<&'static str>,
) -> Case {
    Case {
        method,
        path,
        body: (!body.is_empty()).then(|| body.to_string()),
        json: true,
        token: Some("good"),
        status: StatusCode::from_u16(status).unwrap(),
        says,
        field,
    }
}

async fn snapshot(app: &App) -> Vec<Value> {
    let mut out = Vec::new();
    for path in [
        "/api/v1/registrars",
        "/api/v1/desks",
        "/api/v1/ratings",
        "/api/v1/settings",
        "/api/v1/audit",
        "/api/v1/contests?open=false",
        "/api/v1/console",
        "/api/v1/desks/1/input",
        "/api/v1/inputs",
    ] {
        out.push(app.get(path).await.1);
    }
    out
}

#[tokio::test]
async fn bad_requests_are_refused_clearly_and_change_nothing() {
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    let anna = app.registrar("Анна").await;
    app.start_session(desk, anna).await;
    assert_eq!(desk, 1);
    let before = snapshot(&app).await;
    let post = Method::POST;
    let future = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let future_body: &'static str =
        Box::leak(format!(r#"{{"desk_id":1,"score":3,"at":"{future}"}}"#).into_boxed_str());
    let huge: &'static str = Box::leak(
        format!(
            r#"{{"desk_id":1,"score":3,"source":"{}"}}"#,
            "x".repeat(100_000)
        )
        .into_boxed_str(),
    );

    let mut cases = vec![
        case(
            post.clone(),
            "/api/v1/ratings",
            r#"{"desk_id": 1, "score": }"#,
            400,
            "score: expected value",
            Some("score"),
        ),
        case(
            post.clone(),
            "/api/v1/ratings",
            r#"[1, 3]"#,
            400,
            "malformed JSON",
            None,
        ),
        case(
            post.clone(),
            "/api/v1/ratings",
            r#"{"desk_id": "one", "score": 3}"#,
            400,
            "desk_id: invalid type",
            Some("desk_id"),
        ),
        case(
            post.clone(),
            "/api/v1/ratings",
            r#"{"desk_id": 1}"#,
            400,
            "missing field `score`",
            Some("score"),
        ),
        case(
            post.clone(),
            "/api/v1/ratings",
            r#"{"desk_id": 1, "score": 3, "scor": 2}"#,
            400,
            "unknown field `scor`",
            None,
        ),
        case(
            post.clone(),
            "/api/v1/ratings",
            r#"{"desk_id": 1, "score": 2.5}"#,
            400,
            "score: invalid type",
            Some("score"),
        ),
        case(
            post.clone(),
            "/api/v1/ratings",
            r#"{"desk_id": 1, "score": 0}"#,
            422,
            "score: 0 is outside the rating scale 1..3",
            Some("score"),
        ),
        case(
            post.clone(),
            "/api/v1/ratings",
            r#"{"desk_id": 1, "score": 4}"#,
            422,
            "outside the rating scale",
            Some("score"),
        ),
        case(
            post.clone(),
            "/api/v1/ratings",
            r#"{"desk_id": 1, "score": -1}"#,
            422,
            "outside the rating scale",
            Some("score"),
        ),
        case(
            post.clone(),
            "/api/v1/ratings",
            r#"{"desk_id": 999, "score": 3}"#,
            422,
            "desk_id: desk 999 does not exist",
            Some("desk_id"),
        ),
        case(
            post.clone(),
            "/api/v1/ratings",
            future_body,
            422,
            "is in the future",
            Some("at"),
        ),
        case(
            post.clone(),
            "/api/v1/ratings",
            r#"{"desk_id": 1, "score": 3, "at": "yesterday"}"#,
            422,
            "at: 'yesterday' is not an RFC 3339 time",
            Some("at"),
        ),
        case(
            post.clone(),
            "/api/v1/ratings",
            r#"{"desk_id": 1, "score": 3, "at": "1970-01-01T00:00:00Z"}"#,
            422,
            "before the year 2000",
            Some("at"),
        ),
        case(
            post.clone(),
            "/api/v1/ratings",
            r#"{"desk_id": 1, "score": 3, "source": "Кнопка"}"#,
            422,
            "is not a source name",
            Some("source"),
        ),
        case(
            post.clone(),
            "/api/v1/ratings",
            huge,
            413,
            "too large",
            None,
        ),
        case(
            post.clone(),
            "/api/v1/registrars",
            r#"{"name": "   "}"#,
            422,
            "name: must not be empty",
            Some("name"),
        ),
        case(
            post.clone(),
            "/api/v1/registrars",
            r#"{"name": 5}"#,
            400,
            "name: invalid type",
            Some("name"),
        ),
        case(
            post.clone(),
            "/api/v1/registrars",
            r#"{}"#,
            400,
            "missing field `name`",
            Some("name"),
        ),
        case(
            post.clone(),
            "/api/v1/desks",
            r#"{"name": "Окно 1"}"#,
            409,
            "already exists",
            None,
        ),
        case(
            post.clone(),
            "/api/v1/desks/999/session",
            r#"{"registrar_id": 1}"#,
            404,
            "desk 999 does not exist",
            None,
        ),
        case(
            post.clone(),
            "/api/v1/desks/1/session",
            r#"{"registrar_id": 999}"#,
            422,
            "registrar 999 does not exist",
            Some("registrar_id"),
        ),
        case(
            post.clone(),
            "/api/v1/desks/abc/session",
            r#"{"registrar_id": 1}"#,
            400,
            "id:",
            Some("id"),
        ),
        case(
            Method::DELETE,
            "/api/v1/desks/999/session",
            "",
            404,
            "desk 999 does not exist",
            None,
        ),
        case(
            Method::PATCH,
            "/api/v1/registrars/999",
            r#"{"name": "X"}"#,
            404,
            "registrar 999 does not exist",
            None,
        ),
        case(
            Method::PATCH,
            "/api/v1/desks/1",
            r#"{"nam": "X"}"#,
            400,
            "unknown field `nam`",
            None,
        ),
        case(
            Method::PATCH,
            "/api/v1/settings",
            r#"{"timezone": "Mars/Olympus"}"#,
            422,
            "timezone: 'Mars/Olympus'",
            Some("timezone"),
        ),
        case(
            Method::PATCH,
            "/api/v1/settings",
            r#"{"scale": 6}"#,
            422,
            "scale: 6 is not a supported rating scale",
            Some("scale"),
        ),
        case(
            Method::PATCH,
            "/api/v1/settings",
            r#"{"min_ratings": -1}"#,
            422,
            "min_ratings:",
            Some("min_ratings"),
        ),
        case(
            Method::POST,
            "/api/v1/ratings/999/annul",
            r#"{"reason": "x"}"#,
            404,
            "rating 999 does not exist",
            None,
        ),
        case(
            Method::GET,
            "/api/v1/ratings?from=yesterday",
            "",
            422,
            "from: 'yesterday'",
            Some("from"),
        ),
        case(
            Method::GET,
            "/api/v1/ratings?limit=5000",
            "",
            422,
            "limit: must be between 1 and 1000",
            Some("limit"),
        ),
        case(
            Method::GET,
            "/api/v1/ratings?desk_id=abc",
            "",
            400,
            "desk_id",
            None,
        ),
        case(
            Method::GET,
            "/api/v1/leaderboard?period=year",
            "",
            400,
            "unknown variant `year`",
            None,
        ),
        case(
            Method::GET,
            "/api/v1/leaderboard?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
            "",
            422,
            "to: must be later than from",
            Some("to"),
        ),
        case(
            Method::GET,
            "/api/v1/leaderboard?from=2026-01-02T00:00:00Z",
            "",
            422,
            "to: is needed with from",
            Some("to"),
        ),
        case(
            Method::GET,
            "/api/v1/registrars/abc",
            "",
            400,
            "id:",
            Some("id"),
        ),
        case(
            Method::GET,
            "/api/v1/nothing-here",
            "",
            404,
            "no such API endpoint",
            None,
        ),
        case(
            post.clone(),
            "/api/v1/desks/1/tap",
            r#"{"score": 0}"#,
            422,
            "outside the rating scale",
            Some("score"),
        ),
        case(
            post.clone(),
            "/api/v1/desks/1/tap",
            r#"{"score": 3, "desk_id": 2}"#,
            400,
            "unknown field `desk_id`",
            Some("desk_id"),
        ),
        case(
            post.clone(),
            "/api/v1/desks/9/tap",
            r#"{"score": 3}"#,
            404,
            "desk 9 does not exist",
            None,
        ),
        case(
            post.clone(),
            "/api/v1/desks/1/checkin",
            r#"{"registrar_id": 99}"#,
            422,
            "registrar 99 does not exist",
            Some("registrar_id"),
        ),
        case(
            post.clone(),
            "/api/v1/desks/1/checkin",
            r#"{"registrar_id": "Анна"}"#,
            400,
            "registrar_id",
            Some("registrar_id"),
        ),
        case(
            post.clone(),
            "/api/v1/ratings/77/contest",
            r#"{"comment": "ошибка"}"#,
            404,
            "rating 77 does not exist",
            None,
        ),
        case(
            Method::PATCH,
            "/api/v1/registrars/1",
            r#"{"pin": "12"}"#,
            422,
            "pin: must be 4 to 8 digits",
            Some("pin"),
        ),
        case(
            Method::PATCH,
            "/api/v1/registrars/1",
            r#"{"name": "", "pin": "1234"}"#,
            422,
            "name: must not be empty",
            Some("name"),
        ),
        case(
            Method::PATCH,
            "/api/v1/settings",
            r#"{"display_rotate_secs": 2}"#,
            422,
            "0 (no rotation) or 5 to 3600",
            Some("display_rotate_secs"),
        ),
        case(
            Method::PATCH,
            "/api/v1/settings",
            r#"{"language": "de"}"#,
            400,
            "unknown variant `de`",
            Some("language"),
        ),
        case(
            Method::PATCH,
            "/api/v1/settings",
            r#"{"kiosk_monitor": 0}"#,
            422,
            "between 1 and 16",
            Some("kiosk_monitor"),
        ),
        case(
            post.clone(),
            "/api/v1/contests/5/decision",
            r#"{"decision": "annul"}"#,
            404,
            "contest 5 does not exist",
            None,
        ),
        case(
            post.clone(),
            "/api/v1/console/login",
            r#"{"name": "Руководитель", "password": "1234"}"#,
            409,
            "no console password is set yet",
            None,
        ),
        case(
            post.clone(),
            "/api/v1/console/password",
            r#"{"password": "12"}"#,
            422,
            "password: must be 4 to 128",
            Some("password"),
        ),
        case(
            Method::PUT,
            "/api/v1/desks/1/input",
            r#"{"kind": "keys", "keys": ["F9"]}"#,
            422,
            "give one key per score",
            Some("keys"),
        ),
        case(
            Method::PUT,
            "/api/v1/desks/1/input",
            r#"{"kind": "keys", "keys": ["F9", "F10", "Красная"]}"#,
            422,
            "'Красная' is not a key binding",
            Some("keys"),
        ),
        case(
            Method::PUT,
            "/api/v1/desks/1/input",
            r#"{"kind": "serial", "path": ""}"#,
            422,
            "give the serial port",
            Some("path"),
        ),
        case(
            Method::PUT,
            "/api/v1/desks/1/input",
            r#"{"kind": "serial", "path": "/dev/ttyACM0", "baud": 1000}"#,
            422,
            "not a standard rate",
            Some("baud"),
        ),
        case(
            Method::PUT,
            "/api/v1/desks/1/input",
            r#"{"kind": "usb"}"#,
            400,
            "unknown variant `usb`",
            Some("kind"),
        ),
        case(
            Method::PUT,
            "/api/v1/desks/1/input",
            r#"{"kind": "panel", "debounce_ms": 70000}"#,
            422,
            "debounce_ms: must be between 0 and 60000",
            Some("debounce_ms"),
        ),
        case(
            Method::PUT,
            "/api/v1/desks/7/input",
            r#"{"kind": "panel"}"#,
            404,
            "desk 7 does not exist",
            None,
        ),
        case(
            Method::PATCH,
            "/api/v1/settings",
            r#"{"suspicion_burst_secs": 0}"#,
            422,
            "between 1 and 3600",
            Some("suspicion_burst_secs"),
        ),
        case(
            Method::PUT,
            "/api/v1/ratings",
            r#"{"desk_id": 1, "score": 3}"#,
            405,
            "does not take that method",
            None,
        ),
    ];
    let mut no_type = case(
        post.clone(),
        "/api/v1/ratings",
        r#"{"desk_id": 1, "score": 3}"#,
        415,
        "Content-Type: application/json",
        None,
    );
    no_type.json = false;
    let mut no_token = case(
        post.clone(),
        "/api/v1/ratings",
        r#"{"desk_id": 1, "score": 3}"#,
        401,
        "needs the API token",
        None,
    );
    no_token.token = None;
    let mut wrong_token = case(
        post.clone(),
        "/api/v1/ratings",
        r#"{"desk_id": 1, "score": 3}"#,
        401,
        "the API token is wrong",
        None,
    );
    wrong_token.token = Some("wrong");
    let mut list_no_token = case(
        Method::GET,
        "/api/v1/ratings",
        "",
        401,
        "needs the API token",
        None,
    );
    list_no_token.token = None;
    cases.extend([no_type, no_token, wrong_token, list_no_token]);

    for c in &cases {
        let mut req = app.http.request(c.method.clone(), app.url(c.path));
        match c.token {
            Some("good") => req = req.bearer_auth(&app.token),
            Some(t) => req = req.bearer_auth(t),
            None => {}
        }
        if let Some(body) = &c.body {
            if c.json {
                req = req.header("content-type", "application/json");
            }
            req = req.body(body.clone());
        }
        let (status, body) = app.send(req).await;
        let what = format!(
            "{} {} {:?}",
            c.method,
            c.path,
            c.body.as_deref().map(|b| &b[..b.len().min(80)])
        );
        assert_eq!(status, c.status, "{what}: {body}");
        let error = body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: no JSON error in {body}"));
        assert!(
            error.contains(c.says),
            "{what}: '{error}' should say '{}'",
            c.says
        );
        assert!(body["code"].is_string(), "{what}: {body}");
        if let Some(field) = c.field {
            assert_eq!(body["field"], field, "{what}: {body}");
        }
    }

    assert_eq!(
        snapshot(&app).await,
        before,
        "a refused request changed something"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_display_reads_without_a_token() {
    let app = App::start().await;
    for path in [
        "/api/v1/leaderboard",
        "/api/v1/desks",
        "/api/v1/registrars",
        "/api/v1/settings/public",
        "/api/v1/openapi.json",
        "/healthz",
    ] {
        let resp = reqwest::get(app.url(path)).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
    }
    let (_, health) = app.get("/healthz").await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["database"]["state"], "ok");
    assert_eq!(
        health["database"]["schema_version"],
        otklik_store::db::latest_version()
    );
    let (_, doc) = app.get("/api/v1/openapi.json").await;
    for path in [
        "/api/v1/ratings",
        "/api/v1/leaderboard",
        "/api/v1/desks/{id}/session",
        "/api/v1/events",
        "/healthz",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"]["Rating"].is_object());
    app.stop().await;
}

/// The document's own consistency, which client generators and schemathesis depend on (the full
/// validator runs in tests/openapi/run.sh): every `$ref` is in it, operation ids are unique,
/// and every path parameter is in the path.
#[tokio::test]
async fn the_openapi_document_holds_together() {
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r);
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let app = App::start().await;
    let (_, doc) = app.get("/api/v1/openapi.json").await;
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{r}: not a schema reference"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{r} is not in the document"
        );
    }
    let mut ids = std::collections::BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap();
            assert!(ids.insert(id), "operation id {id} used twice");
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "path" {
                    let name = p["name"].as_str().unwrap();
                    assert!(
                        path.contains(&format!("{{{name}}}")),
                        "{method} {path}: path parameter {name} is not in the path"
                    );
                }
            }
        }
    }
    app.stop().await;
}
