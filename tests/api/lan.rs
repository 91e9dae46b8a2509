//! The clinic's LAN is hostile: what a device on it can and cannot do without a token, a console
//! login or a panel pairing, tried through the real server as such a device would.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::App;

/// An engine reached as a LAN device reaches it. A machine with no non-loopback address fails
/// the test rather than passing it unchecked.
pub async fn lan_app() -> App {
    App::start_lan()
        .await
        .expect("this machine has no non-loopback IPv4 address to play a LAN device from")
}

#[tokio::test]
async fn a_lan_device_cannot_claim_the_console_of_a_fresh_install() {
    let app = lan_app().await;
    let (s, st) = app.send(app.http.get(app.url("/api/v1/console"))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(st["can_set_up"], false, "{st}");
    let (s, b) = app
        .post_as(
            None,
            "/api/v1/console/password",
            json!({ "password": "мой-пароль" }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let (_, st) = app.send(app.http.get(app.url("/api/v1/console"))).await;
    assert_eq!(st["password_set"], false, "nothing changed: {st}");
}
