//! Block Kit as a terminal shows it: headers, sections, context lines, buttons as
//! `[ Label ]`, checkbox groups as `[x]`/`[ ]` lines carrying each item's key, and
//! Slack's mrkdwn tokens (mentions, channel links, dates, links) as readable text.
//!
//! Pure: it reads the JSON the app sent to the stand-in and the names the stand-in
//! knows, so what the shell prints is exactly what Slack was asked to show.

use serde_json::Value;

/// The names behind Slack ids, for `<@U…>` and `<#C…>`.
pub trait Names {
    fn user(&self, id: &str) -> Option<String>;
    fn channel(&self, id: &str) -> Option<String>;
    /// Where the viewer is: Slack shows `<!date^…>` tokens in the viewer's time zone.
    fn viewer_tz(&self) -> chrono_tz::Tz {
        chrono_tz::UTC
    }
}

/// Terminal styles, or none when the output is not a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub colour: bool,
}

impl Style {
    fn wrap(self, code: &str, text: &str) -> String {
        if self.colour && !text.is_empty() {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    pub fn bold(self, text: &str) -> String {
        self.wrap("1", text)
    }
    pub fn dim(self, text: &str) -> String {
        self.wrap("2", text)
    }
    pub fn accent(self, text: &str) -> String {
        self.wrap("36", text)
    }
    pub fn warn(self, text: &str) -> String {
        self.wrap("33", text)
    }
    pub fn error(self, text: &str) -> String {
        self.wrap("31", text)
    }
}

/// The lines of a message or view: its blocks, or its `text` when it has none.
pub fn message_lines(message: &Value, names: &dyn Names, style: Style) -> Vec<String> {
    match message["blocks"].as_array() {
        Some(blocks) if !blocks.is_empty() => blocks_lines(blocks, names, style),
        _ => message["text"]
            .as_str()
            .map(|t| {
                mrkdwn(t, names)
                    .lines()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default(),
    }
}

pub fn blocks_lines(blocks: &[Value], names: &dyn Names, style: Style) -> Vec<String> {
    let mut out = Vec::new();
    for block in blocks {
        block_lines(block, names, style, &mut out);
    }
    out
}

fn block_lines(block: &Value, names: &dyn Names, style: Style, out: &mut Vec<String>) {
    match block["type"].as_str().unwrap_or_default() {
        "header" => out.push(style.bold(&format!("■ {}", text_of(&block["text"], names)))),
        "divider" => out.push(style.dim(&"─".repeat(40))),
        "section" => {
            if !block["text"].is_null() {
                out.extend(text_of(&block["text"], names).lines().map(str::to_string));
            }
            for field in block["fields"].as_array().into_iter().flatten() {
                out.extend(text_of(field, names).lines().map(|l| format!("  {l}")));
            }
            if !block["accessory"].is_null() {
                element_lines(&block["accessory"], names, style, out);
            }
        }
        "context" => {
            let parts: Vec<String> = block["elements"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| match e["type"].as_str() {
                    Some("image") => format!("[{}]", e["alt_text"].as_str().unwrap_or("image")),
                    _ => text_of(e, names),
                })
                .collect();
            for line in parts.join(" · ").lines() {
                out.push(style.dim(line));
            }
        }
        "actions" => {
            let mut buttons = Vec::new();
            for e in block["elements"].as_array().into_iter().flatten() {
                match e["type"].as_str() {
                    Some("button")
                    | Some("static_select")
                    | Some("overflow")
                    | Some("users_select")
                    | Some("conversations_select")
                    | Some("datepicker") => buttons.push(control(e, names, style)),
                    _ => element_lines(e, names, style, out),
                }
            }
            if !buttons.is_empty() {
                out.push(buttons.join(" "));
            }
        }
        "input" => {
            let label = text_of(&block["label"], names);
            let optional = if block["optional"] == true {
                " (optional)"
            } else {
                ""
            };
            out.push(format!(
                "{label}{optional}: {}",
                control(&block["element"], names, style)
            ));
        }
        "image" => out.push(format!(
            "[image: {}]",
            block["alt_text"].as_str().unwrap_or_default()
        )),
        "rich_text" => out.push(rich_text(block)),
        other => out.push(style.dim(&format!("[{other} block]"))),
    }
}

/// An accessory or an element standing alone: checkbox groups become lines.
fn element_lines(e: &Value, names: &dyn Names, style: Style, out: &mut Vec<String>) {
    match e["type"].as_str() {
        Some("checkboxes") => {
            let ticked: Vec<&str> = e["initial_options"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|o| o["value"].as_str())
                .collect();
            for option in e["options"].as_array().into_iter().flatten() {
                let value = option["value"].as_str().unwrap_or_default();
                let mark = if ticked.contains(&value) {
                    style.accent("[x]")
                } else {
                    "[ ]".to_string()
                };
                out.push(format!("  {mark} {}", text_of(&option["text"], names)));
            }
        }
        _ => out.push(format!("  {}", control(e, names, style))),
    }
}

/// A button, menu or picker on one line.
fn control(e: &Value, names: &dyn Names, style: Style) -> String {
    let label = match e["type"].as_str() {
        Some("button") => text_of(&e["text"], names),
        Some("static_select") | Some("users_select") | Some("conversations_select") => {
            let chosen = &e["initial_option"]["text"];
            let shown = if chosen.is_null() {
                &e["placeholder"]
            } else {
                chosen
            };
            let shown = text_of(shown, names);
            format!("{} ▾", if shown.is_empty() { "…" } else { &shown })
        }
        Some("overflow") => "⋯".to_string(),
        Some("datepicker") => {
            let shown = e["initial_date"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| text_of(&e["placeholder"], names));
            format!("{} 📅", if shown.is_empty() { "…" } else { &shown })
        }
        Some("file_input") => return "[📎 …]".to_string(),
        Some("plain_text_input") | Some("url_text_input") => {
            return format!(
                "[{}]",
                e["initial_value"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| text_of(&e["placeholder"], names))
            );
        }
        Some("checkboxes") => {
            let options: Vec<String> = e["options"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|o| format!("[ ] {}", text_of(&o["text"], names)))
                .collect();
            return options.join("  ");
        }
        Some(other) => other.to_string(),
        None => String::new(),
    };
    style.accent(&format!("[ {label} ]"))
}

/// The text of a text object (plain_text or mrkdwn) or a context element.
fn text_of(text: &Value, names: &dyn Names) -> String {
    match (text["type"].as_str(), text["text"].as_str()) {
        (Some("mrkdwn"), Some(t)) => mrkdwn(t, names),
        (_, Some(t)) => unescape(t),
        _ => text.as_str().map(unescape).unwrap_or_default(),
    }
}

fn rich_text(block: &Value) -> String {
    fn collect(v: &Value, out: &mut String) {
        if let Some(t) = v["text"].as_str() {
            out.push_str(t);
        }
        for e in v["elements"].as_array().into_iter().flatten() {
            collect(e, out);
        }
    }
    let mut out = String::new();
    collect(block, &mut out);
    out
}

/// Slack's mrkdwn as plain text: `<@U1|name>` → `@name`, `<#C1|name>` → `#name`,
/// `<!date^…|fallback>` → the fallback, `<url|label>` → `label`, `<!here>` → `@here`,
/// and the three escaped characters back.
pub fn mrkdwn(text: &str, names: &dyn Names) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&unescape(&rest[..open]));
        let Some(close) = rest[open..].find('>') else {
            rest = &rest[open..];
            break;
        };
        out.push_str(&token(&rest[open + 1..open + close], names));
        rest = &rest[open + close + 1..];
    }
    out.push_str(&unescape(rest));
    out
}

fn token(inner: &str, names: &dyn Names) -> String {
    let (target, label) = match inner.split_once('|') {
        Some((t, l)) => (t, Some(l)),
        None => (inner, None),
    };
    if let Some(id) = target.strip_prefix('@') {
        let name = names
            .user(id)
            .or(label.map(str::to_string))
            .unwrap_or_else(|| id.to_string());
        format!("@{name}")
    } else if let Some(id) = target.strip_prefix('#') {
        let name = names
            .channel(id)
            .or(label.map(str::to_string))
            .unwrap_or_else(|| id.to_string());
        format!("#{name}")
    } else if let Some(special) = target.strip_prefix('!') {
        match (special.split('^').next(), label) {
            (Some("date"), Some(fallback)) => {
                local_date(special, names.viewer_tz()).unwrap_or_else(|| unescape(fallback))
            }
            (Some(group), None) => format!("@{group}"),
            (_, Some(label)) => unescape(label),
            (None, None) => String::new(),
        }
    } else {
        unescape(label.unwrap_or(target))
    }
}

/// `date^<unix seconds>^…` as the viewer's local time, as Slack renders it.
fn local_date(token: &str, tz: chrono_tz::Tz) -> Option<String> {
    let seconds: i64 = token.split('^').nth(1)?.parse().ok()?;
    let at = chrono::DateTime::from_timestamp(seconds, 0)?;
    Some(
        at.with_timezone(&tz)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string(),
    )
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The lines of `after` that differ from `before` at the same place, or all of
/// `after` when the two do not line up: what a `chat.update` changed, readably.
pub fn changed_lines(before: &[String], after: &[String]) -> Vec<String> {
    if before.len() != after.len() {
        return after.to_vec();
    }
    after
        .iter()
        .zip(before)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Directory;
    impl Names for Directory {
        fn user(&self, id: &str) -> Option<String> {
            (id == "UALICE").then(|| "alice".into())
        }
        fn channel(&self, id: &str) -> Option<String> {
            (id == "C1").then(|| "cust-acme".into())
        }
        fn viewer_tz(&self) -> chrono_tz::Tz {
            chrono_tz::Asia::Tokyo
        }
    }

    const PLAIN: Style = Style { colour: false };

    #[test]
    fn mrkdwn_tokens_read_as_text() {
        assert_eq!(
            mrkdwn(
                "<@UALICE> in <#C1> by <!date^1767571200^{date_short}|2026-01-05 00:00 UTC> \
                 <!here> <https://x.example/a|the ticket> &lt;b&gt; &amp; <@UBOB|bob>",
                &Directory
            ),
            "@alice in #cust-acme by 2026-01-05 09:00 JST @here the ticket <b> & @bob",
            "a date shows in the viewer's time zone, as Slack shows it"
        );
        assert_eq!(
            mrkdwn("a < b", &Directory),
            "a < b",
            "an unclosed < is kept"
        );
    }

    #[test]
    fn checkbox_groups_show_their_state_and_keys() {
        let message = json!({"blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "1. Security"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "*1.1* SSO ▓▓░░ 50%"}},
            {"type": "actions", "elements": [{
                "type": "checkboxes", "action_id": "tick",
                "options": [
                    {"text": {"type": "mrkdwn", "text": "1.1.1 SAML"}, "value": "1.1.1"},
                    {"text": {"type": "mrkdwn", "text": "↳ 1.1.1.1 Okta"}, "value": "1.1.1.1"}
                ],
                "initial_options": [
                    {"text": {"type": "mrkdwn", "text": "1.1.1 SAML"}, "value": "1.1.1"}
                ]
            }]},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "<@UALICE> · due 1/10"}]},
            {"type": "divider"},
            {"type": "actions", "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "Responded"}, "action_id": "ticket_respond"},
                {"type": "static_select", "placeholder": {"type": "plain_text", "text": "Priority"}, "action_id": "p"}
            ]}
        ]});
        let lines = message_lines(&message, &Directory, PLAIN);
        assert_eq!(
            lines,
            vec![
                "■ 1. Security",
                "*1.1* SSO ▓▓░░ 50%",
                "  [x] 1.1.1 SAML",
                "  [ ] ↳ 1.1.1.1 Okta",
                "@alice · due 1/10",
                &"─".repeat(40),
                "[ Responded ] [ Priority ▾ ]",
            ]
        );
    }

    #[test]
    fn colour_is_only_added_when_asked_for() {
        let message =
            json!({"blocks": [{"type": "header", "text": {"type": "plain_text", "text": "Hi"}}]});
        assert_eq!(message_lines(&message, &Directory, PLAIN), vec!["■ Hi"]);
        let coloured = message_lines(&message, &Directory, Style { colour: true });
        assert_eq!(coloured, vec!["\x1b[1m■ Hi\x1b[0m"]);
    }

    #[test]
    fn a_message_without_blocks_shows_its_text() {
        let message = json!({"text": "Saved <@UALICE>"});
        assert_eq!(
            message_lines(&message, &Directory, PLAIN),
            vec!["Saved @alice"]
        );
    }

    #[test]
    fn an_update_shows_only_what_changed_when_the_shape_is_the_same() {
        let before: Vec<String> = ["a", "[ ] 1.1.2", "c"].map(String::from).to_vec();
        let after: Vec<String> = ["a", "[x] 1.1.2", "c"].map(String::from).to_vec();
        assert_eq!(changed_lines(&before, &after), vec!["[x] 1.1.2"]);
        let longer: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        assert_eq!(changed_lines(&before, &longer), longer);
    }

    proptest::proptest! {
        #[test]
        fn mrkdwn_never_panics(text in "\\PC*") {
            let _ = mrkdwn(&text, &Directory);
        }
    }
}
