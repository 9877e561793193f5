//! The tests' Slack: the library's fake ([`readiness::slack_fake`]) in strict mode, so
//! it rejects what Slack would reject, set up as the tests' workspace (`T0001`, its
//! bot token, the app-level token and the OAuth app's credentials), plus Slack's end
//! of Socket Mode connections. Everything the fake offers (`calls`, `fail_next`,
//! `messages_in`, …) is reached through this wrapper.
//!
//! Also compiled into the benches (`#[path]`), so it needs nothing from the tests'
//! other support code.

#![allow(dead_code)]

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use readiness::slack_fake::{Options, SlackFake};
use serde_json::Value;

pub const BOT_TOKEN: &str = "xoxb-test-double-token";
pub const BOT_USER: &str = "UBOT0001";
/// The app-level token (Socket Mode's apps.connections.open).
pub const APP_TOKEN: &str = "xapp-1-test-app-token";
/// The OAuth app's credentials the double knows (oauth.v2.access checks them).
pub const CLIENT_ID: &str = "1111.2222";
pub const CLIENT_SECRET: &str = "test-client-secret";

/// Slack's end of a Socket Mode connection.
pub struct SocketPeer {
    ws: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
}

impl SocketPeer {
    pub async fn send(&mut self, frame: Value) {
        use futures_util::SinkExt;
        self.ws
            .send(tokio_tungstenite::tungstenite::Message::text(
                frame.to_string(),
            ))
            .await
            .unwrap();
    }

    /// The next text frame from the app (an acknowledgement), within 5 s.
    pub async fn next_ack(&mut self) -> Value {
        use futures_util::StreamExt;
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(5), self.ws.next())
                .await
                .expect("no acknowledgement within 5 s")
                .expect("the app closed the socket")
                .unwrap();
            if let tokio_tungstenite::tungstenite::Message::Text(text) = frame {
                return serde_json::from_str(text.as_str()).unwrap();
            }
        }
    }

    /// Drops the connection without a word, as a network failure would.
    pub async fn drop_connection(self) {
        drop(self.ws);
    }
}

#[derive(Clone)]
pub struct SlackDouble {
    fake: SlackFake,
    /// Socket Mode connections the app opened, in order.
    sockets: Arc<tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<SocketPeer>>>,
    /// Base of the Web API, for SLACK_API_URL.
    pub api_url: String,
    /// Base for response_urls: append any id.
    pub response_base: String,
}

impl Deref for SlackDouble {
    type Target = SlackFake;
    fn deref(&self) -> &SlackFake {
        &self.fake
    }
}

impl SlackDouble {
    pub async fn start() -> Self {
        let fake = SlackFake::start(Options {
            bot_user: BOT_USER.into(),
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            ..Options::strict("T0001", BOT_TOKEN)
        })
        .await
        .unwrap();
        fake.add_token(APP_TOKEN, "app");
        let socket_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        fake.set_socket_url(&format!(
            "ws://{}/link",
            socket_listener.local_addr().unwrap()
        ));
        let (peers, sockets) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = socket_listener.accept().await {
                if let Ok(ws) = tokio_tungstenite::accept_async(tcp).await
                    && peers.send(SocketPeer { ws }).is_err()
                {
                    return;
                }
            }
        });
        SlackDouble {
            api_url: fake.api_url.clone(),
            response_base: fake.response_base.clone(),
            fake,
            sockets: Arc::new(tokio::sync::Mutex::new(sockets)),
        }
    }

    /// The next Socket Mode connection the app opens (waits up to 10 s).
    pub async fn next_socket(&self) -> SocketPeer {
        tokio::time::timeout(Duration::from_secs(10), self.sockets.lock().await.recv())
            .await
            .expect("the app did not connect over Socket Mode")
            .unwrap()
    }

    /// Waits until `check` holds, for up to 10 s.
    pub async fn wait_for(&self, what: &str, check: impl Fn(&SlackDouble) -> bool) {
        self.wait_up_to(Duration::from_secs(10), what, check).await
    }

    /// Waits until `check` holds, for up to `limit`.
    pub async fn wait_up_to(
        &self,
        limit: Duration,
        what: &str,
        check: impl Fn(&SlackDouble) -> bool,
    ) {
        self.fake.wait_up_to(limit, what, |_| check(self)).await
    }
}
