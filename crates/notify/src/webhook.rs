//! The clinic's webhook: every new rating posted as JSON to one URL, through the outbox like
//! any other message, so a system that is down gets the ratings when it is back, in order.

use std::time::Duration;

use super::message::{Outgoing, SendError, Sent, Transport};

pub struct Webhook {
    http: reqwest::Client,
}

impl Webhook {
    pub fn new() -> Webhook {
        Webhook {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .user_agent(concat!("Otklik/", env!("CARGO_PKG_VERSION")))
                .build()
                .expect("an HTTP client with default TLS"),
        }
    }
}

impl Default for Webhook {
    fn default() -> Self {
        Webhook::new()
    }
}

impl Transport for Webhook {
    /// `target` is the URL; `msg.text` the JSON body. Its `id` goes as `Idempotency-Key` too:
    /// a delivery whose answer was lost is sent again, and the receiver can tell.
    async fn send(&self, target: &str, msg: &Outgoing) -> Result<Sent, SendError> {
        // Video surveillance targets (see `video`) share this queue.
        if let Some(addr) = target.strip_prefix("tcp://") {
            return send_line(addr, &msg.text).await;
        }
        if let Some(url) = target.strip_prefix("get:") {
            let reply = self.http.get(url).send().await.map_err(|e| {
                SendError::Down(format!("the recorder is unreachable: {}", e.without_url()))
            })?;
            return answered(reply.status(), "the recorder");
        }
        let mut request = self
            .http
            .post(target)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        let body: Option<serde_json::Value> = serde_json::from_str(&msg.text).ok();
        if let Some(key) = body.as_ref().and_then(|b| b["id"].as_str()) {
            request = request.header("Idempotency-Key", key);
        }
        let reply = request.body(msg.text.clone()).send().await.map_err(|e| {
            SendError::Down(format!("the webhook is unreachable: {}", e.without_url()))
        })?;
        answered(reply.status(), "the webhook")
    }
}

/// Milestone's generic event: the line, then the connection closed (that ends the event).
async fn send_line(addr: &str, line: &str) -> Result<Sent, SendError> {
    use tokio::io::AsyncWriteExt;
    let down = |e: std::io::Error| SendError::Down(format!("the recorder at {addr}: {e}"));
    let io = async {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        s.write_all(line.as_bytes()).await?;
        s.shutdown().await
    };
    tokio::time::timeout(Duration::from_secs(30), io)
        .await
        .map_err(|_| SendError::Down(format!("the recorder at {addr} did not answer in 30 s")))?
        .map_err(down)?;
    Ok(Sent::default())
}

fn answered(status: reqwest::StatusCode, who: &str) -> Result<Sent, SendError> {
    {
        if status.is_success() {
            return Ok(Sent::default());
        }
        let text = format!("{who} answered {status}");
        if status.is_server_error()
            || status == reqwest::StatusCode::REQUEST_TIMEOUT
            || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        {
            Err(SendError::Down(text))
        } else {
            Err(SendError::Rejected(text))
        }
    }
}
