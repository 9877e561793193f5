//! The requests Slack sends an app, built one way for everyone who stands in for
//! Slack's inbound side: the shell (what a person types) and the end-to-end tests.
//! Shapes follow Slack's documented payloads: a slash command is a form, an
//! interaction is a form carrying JSON under `payload`, an event is a JSON envelope;
//! each is signed with `v0=` HMAC-SHA256 over `v0:{timestamp}:{body}`.

use serde_json::{Value, json};

pub use crate::http::signature::sign;

/// Who a request comes from: the workspace and the app, as Slack names them.
#[derive(Debug, Clone)]
pub struct Origin {
    pub team: String,
    /// The workspace's subdomain (`team_domain`, `team.domain`).
    pub domain: String,
    pub api_app_id: String,
    /// The deprecated verification token Slack still sends.
    pub token: String,
}

/// A slash command as typed: who, where, what.
#[derive(Debug, Clone)]
pub struct SlashCommand<'a> {
    pub command: &'a str,
    pub text: &'a str,
    pub user: &'a str,
    pub user_name: &'a str,
    pub channel: &'a str,
    pub channel_name: &'a str,
    pub response_url: &'a str,
    pub trigger_id: &'a str,
}

/// Where a click happened.
#[derive(Debug, Clone)]
pub enum Container {
    /// A message in a channel, or an ephemeral one (which Slack sends without its
    /// content).
    Message {
        channel: String,
        /// `channel.name`, when the test or shell has one to give.
        channel_name: Option<String>,
        ts: String,
        ephemeral: bool,
        /// The message as the clicker saw it.
        message: Option<Value>,
        response_url: Option<String>,
    },
    /// A modal or an App Home.
    View { view_id: String, view: Value },
}

impl Origin {
    /// A slash command's form body.
    pub fn slash_command(&self, c: &SlashCommand<'_>) -> String {
        serde_urlencoded::to_string([
            ("token", self.token.as_str()),
            ("team_id", self.team.as_str()),
            ("team_domain", self.domain.as_str()),
            ("channel_id", c.channel),
            ("channel_name", c.channel_name),
            ("user_id", c.user),
            ("user_name", c.user_name),
            ("command", c.command),
            ("text", c.text),
            ("api_app_id", self.api_app_id.as_str()),
            ("response_url", c.response_url),
            ("trigger_id", c.trigger_id),
        ])
        .unwrap_or_default()
    }

    /// The fields every interaction payload starts with.
    fn interaction(&self, kind: &str, user: &str, trigger_id: &str) -> Value {
        json!({
            "type": kind,
            "team": {"id": self.team, "domain": self.domain},
            "user": {"id": user, "team_id": self.team},
            "api_app_id": self.api_app_id,
            "token": self.token,
            "trigger_id": trigger_id,
        })
    }

    /// A `block_actions` payload: `user` clicked `action` in `container`.
    pub fn block_actions(
        &self,
        user: &str,
        trigger_id: &str,
        container: &Container,
        action: Value,
    ) -> Value {
        let mut payload = self.interaction("block_actions", user, trigger_id);
        payload["actions"] = json!([action]);
        payload["state"] = json!({"values": {}});
        match container {
            Container::Message {
                channel,
                channel_name,
                ts,
                ephemeral,
                message,
                response_url,
            } => {
                payload["container"] = json!({"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": ephemeral});
                payload["channel"] = json!({"id": channel});
                if let Some(name) = channel_name {
                    payload["channel"]["name"] = json!(name);
                }
                if let Some(message) = message {
                    payload["message"] = message.clone();
                }
                if let Some(url) = response_url {
                    payload["response_url"] = json!(url);
                }
            }
            Container::View { view_id, view } => {
                payload["container"] = json!({"type": "view", "view_id": view_id});
                payload["view"] = view.clone();
            }
        }
        payload
    }

    /// A `view_submission` payload: `view` (with its `id` and `state`) submitted.
    pub fn view_submission(&self, user: &str, trigger_id: &str, view: Value) -> Value {
        let mut payload = self.interaction("view_submission", user, trigger_id);
        payload["view"] = view;
        payload
    }

    /// A `message_action` payload: the message shortcut `callback_id` used on
    /// `message` in `channel`.
    pub fn message_shortcut(
        &self,
        user: &str,
        trigger_id: &str,
        callback_id: &str,
        channel: &str,
        message: Value,
        response_url: &str,
    ) -> Value {
        let mut payload = self.interaction("message_action", user, trigger_id);
        payload["callback_id"] = json!(callback_id);
        payload["channel"] = json!({"id": channel});
        payload["message"] = message;
        payload["response_url"] = json!(response_url);
        payload
    }

    /// An Events API `event_callback` envelope around `event`.
    pub fn event_callback(&self, event_id: &str, event_time: i64, event: Value) -> Value {
        json!({
            "token": self.token,
            "team_id": self.team,
            "api_app_id": self.api_app_id,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": event_time,
            "event": event,
        })
    }
}

/// An interaction payload as Slack posts it: form-encoded under `payload`, its `type`
/// written first as Slack writes it (serde_json's map would sort it among the rest).
pub fn interaction_form(payload: &Value) -> String {
    let text = match payload.get("type") {
        Some(kind) => {
            let mut rest = payload.clone();
            if let Some(fields) = rest.as_object_mut() {
                fields.remove("type");
            }
            let rest = rest.to_string();
            let rest = &rest[1..rest.len() - 1];
            let comma = if rest.is_empty() { "" } else { "," };
            format!("{{\"type\":{kind}{comma}{rest}}}")
        }
        None => payload.to_string(),
    };
    serde_urlencoded::to_string([("payload", text)]).unwrap_or_default()
}

/// The two headers that sign `body` at `timestamp` (Unix seconds) with `secret`.
pub fn signature_headers(secret: &str, timestamp: i64, body: &[u8]) -> [(&'static str, String); 2] {
    let timestamp = timestamp.to_string();
    let signature = sign(secret, &timestamp, body);
    [
        ("x-slack-request-timestamp", timestamp),
        ("x-slack-signature", signature),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin {
            team: "T1".into(),
            domain: "example".into(),
            api_app_id: "A1".into(),
            token: "t".into(),
        }
    }

    #[test]
    fn a_slash_command_is_a_form_with_slacks_fields() {
        let body = origin().slash_command(&SlashCommand {
            command: "/readiness",
            text: "new Acme & co",
            user: "U1",
            user_name: "alice",
            channel: "C1",
            channel_name: "general",
            response_url: "http://x/r",
            trigger_id: "1.2",
        });
        let fields: std::collections::HashMap<String, String> =
            serde_urlencoded::from_str(&body).unwrap();
        assert_eq!(fields["text"], "new Acme & co");
        assert_eq!(fields["team_id"], "T1");
        assert_eq!(fields["command"], "/readiness");
    }

    #[test]
    fn an_interaction_form_writes_type_first_as_slack_does() {
        let read = |body: &str| -> String {
            let fields: std::collections::HashMap<String, String> =
                serde_urlencoded::from_str(body).unwrap();
            fields["payload"].clone()
        };
        let payload = json!({"user": {"id": "U1"}, "type": "block_actions", "actions": []});
        let text = read(&interaction_form(&payload));
        assert!(text.starts_with(r#"{"type":"block_actions","#), "{text}");
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), payload);
        let alone = json!({"type": "view_closed"});
        assert_eq!(read(&interaction_form(&alone)), r#"{"type":"view_closed"}"#);
        let untyped = json!({"user": {"id": "U1"}});
        assert_eq!(read(&interaction_form(&untyped)), untyped.to_string());
    }

    #[test]
    fn a_click_on_a_message_carries_its_container_and_a_click_on_a_view_its_view() {
        let on_message = origin().block_actions(
            "U1",
            "1.2",
            &Container::Message {
                channel: "C1".into(),
                channel_name: None,
                ts: "1.000001".into(),
                ephemeral: false,
                message: None,
                response_url: Some("http://x/r".into()),
            },
            json!({"action_id": "a"}),
        );
        assert_eq!(on_message["container"]["channel_id"], "C1");
        assert_eq!(on_message["channel"]["id"], "C1");
        assert_eq!(on_message["actions"][0]["action_id"], "a");
        let on_view = origin().block_actions(
            "U1",
            "1.2",
            &Container::View {
                view_id: "V1".into(),
                view: json!({"type": "home"}),
            },
            json!({}),
        );
        assert_eq!(on_view["container"]["type"], "view");
        assert_eq!(on_view["view"]["type"], "home");
    }

    #[test]
    fn the_signature_is_slacks_documented_example() {
        // Slack's "Verifying requests" example, through the same function.
        let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let [(_, ts), (_, signature)] = signature_headers(
            "8f742231b10e8888abcd99yyyzzz85a5",
            1531420618,
            body.as_bytes(),
        );
        assert_eq!(ts, "1531420618");
        assert_eq!(
            signature,
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
        );
    }
}
