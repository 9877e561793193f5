//! Socket Mode: with SLACK_APP_TOKEN the app opens a WebSocket (here to the double's
//! server) and the same handlers answer commands, clicks and events over it. It
//! reconnects when the connection drops or Slack asks, and an envelope delivered
//! again after a reconnect is acknowledged but not handled twice.

use serde_json::{Value, json};

use crate::support::slack_double::{APP_TOKEN, SlackDouble, SocketPeer};
use crate::support::{TEAM, TestApp, TestDb, block_actions, tick_1_1_1};

const CSM: &str = "U0CSM";

fn command(envelope_id: &str, text: &str, retry_attempt: u32) -> Value {
    json!({
        "envelope_id": envelope_id,
        "type": "slash_commands",
        "accepts_response_payload": true,
        "retry_attempt": retry_attempt,
        "retry_reason": if retry_attempt > 0 { "timeout" } else { "" },
        "payload": {
            "token": "deprecated", "team_id": TEAM, "team_domain": "example",
            "channel_id": "C0GENERAL", "channel_name": "general", "user_id": CSM,
            "user_name": "csm", "command": "/readiness", "text": text,
            "api_app_id": "A0001", "is_enterprise_install": "false",
            "response_url": "http://127.0.0.1:9/unused", "trigger_id": "1.2.3"
        }
    })
}

async fn greeted(double: &SlackDouble) -> SocketPeer {
    let mut peer = double.next_socket().await;
    peer.send(
        json!({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0001"}}),
    )
    .await;
    peer
}

async fn customers(app: &TestApp) -> usize {
    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    let n = store.customers(TEAM).await.unwrap().len();
    store.close().await;
    n
}

on_both_backends!(
    the_same_handlers_answer_over_socket_mode_across_reconnects,
    socket_scenario
);

async fn socket_scenario(db: &TestDb) {
    let double = SlackDouble::start().await;
    let app = TestApp::spawn_with(db, double.clone(), &[("app_token", APP_TOKEN)]).await;
    let mut peer = greeted(&double).await;

    // A command: its answer rides on the acknowledgement.
    peer.send(command("env-1", "new Acme tier=enterprise", 0))
        .await;
    let ack = peer.next_ack().await;
    assert_eq!(ack["envelope_id"], "env-1");
    let answer = ack["payload"]["text"].as_str().unwrap_or_default();
    assert!(answer.contains("Created"), "{ack}");
    double
        .wait_for("the channel", |d| {
            d.channel_id_by_name("cust-acme").is_some()
        })
        .await;
    let channel = double.channel_id_by_name("cust-acme").unwrap();

    // The connection drops before Slack saw the acknowledgement; Slack sends the
    // envelope again on the new connection: acknowledged, not handled twice.
    peer.drop_connection().await;
    let mut peer = greeted(&double).await;
    peer.send(command("env-1", "new Acme tier=enterprise", 1))
        .await;
    let ack = peer.next_ack().await;
    assert_eq!(ack["envelope_id"], "env-1");
    assert!(ack.get("payload").is_none(), "{ack}");
    assert_eq!(customers(&app).await, 1);
    assert_eq!(double.calls_to("conversations.create").len(), 1);

    // A click and an event take the same paths as over HTTP.
    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    let acme = store.customers(TEAM).await.unwrap()[0].id;
    store.close().await;
    peer.send(json!({
        "envelope_id": "env-2", "type": "interactive", "accepts_response_payload": false,
        "payload": block_actions(TEAM, CSM, &channel, "1.1", tick_1_1_1(acme))
    }))
    .await;
    assert_eq!(peer.next_ack().await["envelope_id"], "env-2");
    peer.send(json!({
        "envelope_id": "env-3", "type": "events_api", "accepts_response_payload": false,
        "payload": {
            "token": "x", "team_id": TEAM, "api_app_id": "A0001", "type": "event_callback",
            "event_id": "Ev-socket-1", "event_time": 1_700_000_000,
            "event": {"type": "app_home_opened", "user": CSM, "tab": "home"}
        }
    }))
    .await;
    assert_eq!(peer.next_ack().await["envelope_id"], "env-3");
    double
        .wait_for("the Home", |d| d.home_of(CSM).is_some())
        .await;
    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    let states = store.item_states_committed(acme).await.unwrap();
    store.close().await;
    assert!(
        states["1.1.1"].done_at.is_some(),
        "the tick over the socket counted"
    );
    peer.send(command("env-4", "show acme security", 0)).await;
    let shown = peer.next_ack().await.to_string();
    let security = readiness::domain::template::Template::builtin()
        .category(1)
        .unwrap()
        .item_count();
    assert!(
        shown.contains("Acme") && shown.contains(&format!("1/{security}")),
        "{shown}"
    );

    // Slack asks for a new connection: the app opens one, and serves on it.
    peer.send(
        json!({"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "x"}}),
    )
    .await;
    let mut peer = greeted(&double).await;
    peer.send(command("env-5", "help", 0)).await;
    let ack = peer.next_ack().await;
    assert_eq!(ack["envelope_id"], "env-5");
    assert!(ack["payload"]["text"].is_string(), "{ack}");
    assert_eq!(double.calls_to("apps.connections.open").len(), 3);
    app.stop().await;
}
