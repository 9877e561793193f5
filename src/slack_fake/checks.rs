//! What Slack rejects, checked by the strict fake on its own: Block Kit rules, channel
//! names and the rate buckets. Independent of the app's `blocks::limits` on purpose, so
//! a renderer bug is not hidden by the same bug in the checker.

use std::collections::HashSet;
use std::time::Instant;

use serde_json::Value;

fn text_len(v: &Value) -> usize {
    v["text"].as_str().map(|s| s.chars().count()).unwrap_or(0)
}

/// Slack's Block Kit rules for a message.
pub fn check_message(args: &Value) -> Result<(), String> {
    let text = args["text"].as_str().unwrap_or("");
    let blocks = args["blocks"].as_array().cloned().unwrap_or_default();
    if text.is_empty() && blocks.is_empty() {
        return Err("no_text".into());
    }
    if text.is_empty() {
        return Err("blocks without a text fallback".into());
    }
    check_blocks(&blocks, 50, Surface::Message)
}

/// Where blocks are shown: some elements work only in some places.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    Message,
    Modal,
    Home,
}

/// Slack's rules for a modal or a Home tab.
pub fn check_view(view: &Value) -> Result<(), String> {
    if view["title"]["text"]
        .as_str()
        .map(|t| t.chars().count())
        .unwrap_or(0)
        > 24
    {
        return Err("title over 24 characters".into());
    }
    if serde_json::to_vec(view).map_or(0, |v| v.len()) > 250 * 1024 {
        return Err("view over 250 KB".into());
    }
    let surface = if view["type"] == "home" {
        Surface::Home
    } else {
        Surface::Modal
    };
    check_blocks(
        view["blocks"].as_array().map(Vec::as_slice).unwrap_or(&[]),
        100,
        surface,
    )
}

fn check_blocks(blocks: &[Value], max: usize, surface: Surface) -> Result<(), String> {
    if blocks.len() > max {
        return Err(format!("{} blocks; at most {max}", blocks.len()));
    }
    let mut ids = HashSet::new();
    for block in blocks {
        if let Some(id) = block["block_id"].as_str()
            && (!ids.insert(id.to_string()) || id.len() > 255)
        {
            return Err(format!("bad or repeated block_id {id}"));
        }
        match block["type"].as_str().unwrap_or("") {
            "header" if text_len(&block["text"]) > 150 || block["text"]["type"] != "plain_text" => {
                return Err("header text".into());
            }
            "section" => {
                if let Some(t) = block.get("text")
                    && (text_len(t) == 0 || text_len(t) > 3000)
                {
                    return Err("section text length".into());
                }
                if block["fields"].as_array().is_some_and(|f| f.len() > 10) {
                    return Err("more than 10 fields".into());
                }
                if let Some(a) = block.get("accessory") {
                    check_element(a)?;
                }
            }
            "actions" => {
                let elements = block["elements"].as_array().cloned().unwrap_or_default();
                if elements.is_empty() || elements.len() > 25 {
                    return Err("actions elements".into());
                }
                for e in &elements {
                    check_element(e)?;
                }
            }
            "context" => {
                let n = block["elements"].as_array().map(Vec::len).unwrap_or(0);
                if n == 0 || n > 10 {
                    return Err("context elements".into());
                }
            }
            "input" => check_input_element(&block["element"], surface)?,
            _ => {}
        }
    }
    Ok(())
}

/// An input block's element: what any element must be, and Slack's rules for the
/// inputs the app uses. `file_input` works in modals only (its reference page: "must
/// be used inside the input block" of a modal), with `max_files` from 1 to 10.
fn check_input_element(e: &Value, surface: Surface) -> Result<(), String> {
    match e["type"].as_str().unwrap_or("") {
        "file_input" => {
            if surface != Surface::Modal {
                return Err("file_input is only supported in modals".into());
            }
            if let Some(max) = e.get("max_files")
                && !max.as_u64().is_some_and(|m| (1..=10).contains(&m))
            {
                return Err(format!("file_input max_files {max}: 1 to 10"));
            }
            if let Some(types) = e.get("filetypes")
                && !types
                    .as_array()
                    .is_some_and(|t| t.iter().all(Value::is_string))
            {
                return Err("file_input filetypes must be a list of extensions".into());
            }
            Ok(())
        }
        "url_text_input" => {
            if let Some(v) = e.get("initial_value")
                && !v
                    .as_str()
                    .is_some_and(|v| v.starts_with("http://") || v.starts_with("https://"))
            {
                return Err("url_text_input initial_value must be a URL".into());
            }
            Ok(())
        }
        _ => check_element(e),
    }
}

fn check_element(e: &Value) -> Result<(), String> {
    // Inputs that Slack takes only inside an input block.
    if let Some(kind @ ("file_input" | "url_text_input")) = e["type"].as_str() {
        return Err(format!("{kind} is only supported in input blocks"));
    }
    if e["type"] == "checkboxes" {
        let options = e["options"].as_array().cloned().unwrap_or_default();
        if options.is_empty() || options.len() > 10 {
            return Err(format!("checkboxes with {} options", options.len()));
        }
        for o in &options {
            if text_len(&o["text"]) > 75 || o["value"].as_str().map(str::len).unwrap_or(0) > 75 {
                return Err("option text or value too long".into());
            }
        }
        if let Some(initial) = e.get("initial_options") {
            let initial = initial.as_array().cloned().unwrap_or_default();
            if initial.is_empty() || initial.iter().any(|i| !options.contains(i)) {
                return Err("initial_options must be non-empty and equal to options".into());
            }
        }
    }
    if e["type"] == "button" && (text_len(&e["text"]) == 0 || text_len(&e["text"]) > 75) {
        return Err("button text".into());
    }
    if e["type"] == "static_select" && e["options"].as_array().map(Vec::len).unwrap_or(0) > 100 {
        return Err("static select over 100 options".into());
    }
    Ok(())
}

/// Slack's rule for a new channel's name: the error it answers, if any.
pub fn invalid_channel_name(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.chars().count() > 80 {
        return Some("invalid_name_maxlength");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Some("invalid_name_specials");
    }
    None
}

/// A token bucket in real time: `capacity` tokens, refilled at `per_second`.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    tokens: f64,
    last: Instant,
    capacity: f64,
    per_second: f64,
}

impl Bucket {
    /// A full bucket.
    pub fn new(capacity: f64, per_second: f64) -> Self {
        Self {
            tokens: capacity,
            last: Instant::now(),
            capacity,
            per_second,
        }
    }

    /// Takes a token if there is one.
    pub fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.per_second)
            .min(self.capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn modal(element: Value) -> Value {
        json!({"type": "modal", "title": {"type": "plain_text", "text": "Edit item"},
            "blocks": [{"type": "input", "block_id": "f", "optional": true,
                "label": {"type": "plain_text", "text": "Files"}, "element": element}]})
    }

    #[test]
    fn file_input_is_taken_only_in_a_modals_input_block_with_1_to_10_files() {
        let file = json!({"type": "file_input", "action_id": "f", "max_files": 5});
        assert!(check_view(&modal(file.clone())).is_ok());
        assert!(check_view(&modal(json!({"type": "file_input", "action_id": "f"}))).is_ok());
        for max in [json!(0), json!(11), json!("5")] {
            let bad = json!({"type": "file_input", "action_id": "f", "max_files": max});
            assert!(check_view(&modal(bad)).is_err(), "max_files {max}");
        }
        let mut home = modal(file.clone());
        home["type"] = json!("home");
        assert!(check_view(&home).unwrap_err().contains("modals"));
        let in_actions = json!({"type": "modal", "title": {"type": "plain_text", "text": "x"},
            "blocks": [{"type": "actions", "elements": [file]}]});
        assert!(
            check_view(&in_actions)
                .unwrap_err()
                .contains("input blocks")
        );
        let message = json!({"text": "x", "blocks": [{"type": "section",
            "text": {"type": "mrkdwn", "text": "x"},
            "accessory": {"type": "url_text_input", "action_id": "u"}}]});
        assert!(check_message(&message).is_err());
    }

    #[test]
    fn url_text_input_starts_empty_or_with_a_url() {
        assert!(check_view(&modal(json!({"type": "url_text_input", "action_id": "u"}))).is_ok());
        let bad = json!({"type": "url_text_input", "action_id": "u", "initial_value": "soc2"});
        assert!(check_view(&modal(bad)).is_err());
    }
}
