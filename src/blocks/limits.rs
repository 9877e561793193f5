//! Slack's Block Kit limits (shared/slack/FACTS.md) and a checker for rendered JSON.
//!
//! Renderers clip text to these numbers; the checker is how the tests prove that no
//! state of any checklist breaks one, since past them Slack answers `invalid_blocks`.

use std::collections::HashSet;

use serde_json::Value;

pub const MESSAGE_BLOCKS: usize = 50;
pub const VIEW_BLOCKS: usize = 100;
pub const VIEW_BYTES: usize = 250 * 1024;
pub const MODAL_TITLE: usize = 24;
pub const CHECKBOX_OPTIONS: usize = 10;
pub const SECTION_TEXT: usize = 3000;
pub const SECTION_FIELDS: usize = 10;
pub const FIELD_TEXT: usize = 2000;
pub const HEADER_TEXT: usize = 150;
pub const OPTION_TEXT: usize = 75;
pub const OPTION_VALUE: usize = 75;
pub const BUTTON_TEXT: usize = 75;
pub const ID_CHARS: usize = 255;
pub const ACTIONS_ELEMENTS: usize = 25;
pub const CONTEXT_ELEMENTS: usize = 10;
/// Slack documents no hard limit for a context element's text; this keeps a line short.
pub const CONTEXT_TEXT: usize = 2000;
pub const OVERFLOW_OPTIONS: usize = 5;
pub const STATIC_SELECT_OPTIONS: usize = 100;
pub const MESSAGE_TEXT: usize = 4000;
// From Block Kit's reference pages (not in FACTS.md): Slack rejects past these too.
/// A button's value.
pub const BUTTON_VALUE: usize = 2000;
/// A select's or input's placeholder.
pub const PLACEHOLDER_TEXT: usize = 150;
/// An input block's label and hint.
pub const INPUT_LABEL: usize = 2000;
/// A modal's submit and close labels, like its title.
pub const MODAL_BUTTON: usize = 24;
/// A view's private_metadata.
pub const PRIVATE_METADATA: usize = 3000;
/// A view's callback_id.
pub const CALLBACK_ID: usize = 255;
/// A plain-text input's initial value (and max_length).
pub const INPUT_VALUE: usize = 3000;

fn chars(v: &Value) -> usize {
    v.as_str().map(|s| s.chars().count()).unwrap_or(0)
}

fn text_of(v: &Value) -> usize {
    chars(&v["text"])
}

/// Checks a message (`{text, blocks}`).
pub fn check_message(message: &Value) -> Result<(), String> {
    if message["text"].as_str().is_none_or(str::is_empty) {
        return Err("a message needs a plain text fallback".into());
    }
    if text_of(message) > MESSAGE_TEXT {
        return Err(format!("message text over {MESSAGE_TEXT} characters"));
    }
    check_blocks(
        message["blocks"].as_array().ok_or("no blocks")?,
        MESSAGE_BLOCKS,
    )
}

/// Checks a modal or Home view.
pub fn check_view(view: &Value) -> Result<(), String> {
    let size = serde_json::to_vec(view).map_err(|e| e.to_string())?.len();
    if size > VIEW_BYTES {
        return Err(format!("view is {size} bytes, over {VIEW_BYTES}"));
    }
    if view["type"] == "modal" {
        let n = chars(&view["title"]["text"]);
        if n == 0 || n > MODAL_TITLE {
            return Err(format!(
                "modal title has {n} characters (1 to {MODAL_TITLE})"
            ));
        }
        for button in ["submit", "close"] {
            if let Some(label) = view.get(button) {
                let n = text_of(label);
                if n == 0 || n > MODAL_BUTTON {
                    return Err(format!("modal {button} label has {n} characters"));
                }
            }
        }
    }
    if chars(&view["private_metadata"]) > PRIVATE_METADATA {
        return Err(format!(
            "private_metadata over {PRIVATE_METADATA} characters"
        ));
    }
    if chars(&view["callback_id"]) > CALLBACK_ID {
        return Err(format!("callback_id over {CALLBACK_ID} characters"));
    }
    check_blocks(view["blocks"].as_array().ok_or("no blocks")?, VIEW_BLOCKS)
}

fn check_blocks(blocks: &[Value], max: usize) -> Result<(), String> {
    if blocks.len() > max {
        return Err(format!("{} blocks, over {max}", blocks.len()));
    }
    let mut block_ids = HashSet::new();
    for (i, block) in blocks.iter().enumerate() {
        let at = |what: String| format!("block {i} ({}): {what}", block["type"]);
        if let Some(id) = block["block_id"].as_str() {
            if id.chars().count() > ID_CHARS {
                return Err(at("block_id too long".into()));
            }
            if !block_ids.insert(id.to_string()) {
                return Err(at(format!("block_id {id} used twice")));
            }
        }
        match block["type"].as_str() {
            Some("section") => {
                if let Some(text) = block.get("text") {
                    let n = text_of(text);
                    if n == 0 || n > SECTION_TEXT {
                        return Err(at(format!("section text has {n} characters")));
                    }
                }
                if let Some(fields) = block["fields"].as_array() {
                    if fields.len() > SECTION_FIELDS {
                        return Err(at("too many fields".into()));
                    }
                    if fields
                        .iter()
                        .any(|f| text_of(f) > FIELD_TEXT || text_of(f) == 0)
                    {
                        return Err(at("field text length".into()));
                    }
                }
                if block.get("text").is_none() && block.get("fields").is_none() {
                    return Err(at("section without text or fields".into()));
                }
                if let Some(accessory) = block.get("accessory") {
                    check_element(accessory).map_err(at)?;
                }
            }
            Some("header") => {
                if block["text"]["type"] != "plain_text" {
                    return Err(at("header text must be plain_text".into()));
                }
                let n = text_of(&block["text"]);
                if n == 0 || n > HEADER_TEXT {
                    return Err(at(format!("header text has {n} characters")));
                }
            }
            Some("actions") => {
                let elements = block["elements"]
                    .as_array()
                    .ok_or_else(|| at("no elements".into()))?;
                if elements.is_empty() || elements.len() > ACTIONS_ELEMENTS {
                    return Err(at(format!("{} elements", elements.len())));
                }
                let mut action_ids = HashSet::new();
                for e in elements {
                    if let Some(id) = e["action_id"].as_str()
                        && !action_ids.insert(id)
                    {
                        return Err(at(format!("action_id {id} used twice in the block")));
                    }
                    check_element(e).map_err(at)?;
                }
            }
            Some("context") => {
                let elements = block["elements"]
                    .as_array()
                    .ok_or_else(|| at("no elements".into()))?;
                if elements.is_empty() || elements.len() > CONTEXT_ELEMENTS {
                    return Err(at(format!("{} elements", elements.len())));
                }
                for e in elements {
                    if matches!(e["type"].as_str(), Some("mrkdwn" | "plain_text")) {
                        let n = text_of(e);
                        if n == 0 || n > CONTEXT_TEXT {
                            return Err(at(format!("context text has {n} characters")));
                        }
                    }
                }
            }
            Some("input") => {
                let n = text_of(&block["label"]);
                if n == 0 || n > INPUT_LABEL {
                    return Err(at(format!("input label has {n} characters")));
                }
                if let Some(hint) = block.get("hint")
                    && text_of(hint) > INPUT_LABEL
                {
                    return Err(at("input hint too long".into()));
                }
                check_element(&block["element"]).map_err(at)?
            }
            Some("divider") => {}
            other => return Err(at(format!("unexpected block type {other:?}"))),
        }
    }
    Ok(())
}

fn check_options(options: &[Value], max: usize) -> Result<(), String> {
    if options.is_empty() || options.len() > max {
        return Err(format!("{} options (1 to {max} allowed)", options.len()));
    }
    let mut values = HashSet::new();
    for o in options {
        let n = text_of(&o["text"]);
        if n == 0 || n > OPTION_TEXT {
            return Err(format!("option text has {n} characters"));
        }
        if let Some(d) = o.get("description")
            && text_of(d) > OPTION_TEXT
        {
            return Err("option description too long".into());
        }
        let value = o["value"].as_str().unwrap_or("");
        if value.is_empty() || value.chars().count() > OPTION_VALUE {
            return Err(format!("option value {value:?} is empty or too long"));
        }
        if !values.insert(value) {
            return Err(format!("option value {value} used twice"));
        }
    }
    Ok(())
}

fn check_element(e: &Value) -> Result<(), String> {
    if let Some(id) = e["action_id"].as_str()
        && id.chars().count() > ID_CHARS
    {
        return Err("action_id too long".into());
    }
    if let Some(placeholder) = e.get("placeholder")
        && text_of(placeholder) > PLACEHOLDER_TEXT
    {
        return Err(format!("placeholder over {PLACEHOLDER_TEXT} characters"));
    }
    match e["type"].as_str() {
        Some("checkboxes") => {
            let options = e["options"]
                .as_array()
                .ok_or("checkboxes without options")?;
            check_options(options, CHECKBOX_OPTIONS)?;
            if let Some(initial) = e.get("initial_options") {
                let initial = initial.as_array().ok_or("initial_options is not a list")?;
                if initial.is_empty() {
                    return Err("initial_options must not be empty when given".into());
                }
                // Slack wants each initial option to equal one of the options exactly.
                if let Some(stray) = initial.iter().find(|i| !options.contains(i)) {
                    return Err(format!("initial option {stray} is not one of the options"));
                }
            }
        }
        Some("static_select") => {
            let options = e["options"].as_array().ok_or("select without options")?;
            check_options(options, STATIC_SELECT_OPTIONS)?;
            if let Some(initial) = e.get("initial_option")
                && !options.contains(initial)
            {
                return Err(format!(
                    "initial option {initial} is not one of the options"
                ));
            }
        }
        Some("overflow") => {
            check_options(
                e["options"].as_array().ok_or("overflow without options")?,
                OVERFLOW_OPTIONS,
            )?;
        }
        Some("button") => {
            let n = text_of(&e["text"]);
            if n == 0 || n > BUTTON_TEXT {
                return Err(format!("button text has {n} characters"));
            }
            if chars(&e["value"]) > BUTTON_VALUE {
                return Err(format!("button value over {BUTTON_VALUE} characters"));
            }
        }
        Some("plain_text_input") => {
            let max = e["max_length"].as_u64().map_or(INPUT_VALUE, |m| m as usize);
            if max > INPUT_VALUE {
                return Err(format!("max_length {max} over {INPUT_VALUE}"));
            }
            let n = chars(&e["initial_value"]);
            if n > max {
                return Err(format!("initial value has {n} characters, over {max}"));
            }
        }
        // Slack takes 1 to 10 files a field (10 when `max_files` is left out).
        Some("file_input") => {
            if let Some(max) = e.get("max_files")
                && !max.as_u64().is_some_and(|m| (1..=10).contains(&m))
            {
                return Err(format!("file_input max_files {max}: 1 to 10"));
            }
        }
        Some(_) => {}
        None => return Err("element without a type".into()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_checker_rejects_what_slack_rejects() {
        let options: Vec<Value> = (0..11)
            .map(|i| json!({"text": {"type": "plain_text", "text": "x"}, "value": i.to_string()}))
            .collect();
        let eleven = json!({"text": "t", "blocks": [{"type": "actions", "elements": [{"type": "checkboxes", "action_id": "a", "options": options}]}]});
        assert!(check_message(&eleven).unwrap_err().contains("11 options"));

        let many: Vec<Value> = (0..51).map(|_| json!({"type": "divider"})).collect();
        assert!(check_message(&json!({"text": "t", "blocks": many})).is_err());

        let stray = json!({"text": "t", "blocks": [{"type": "actions", "elements": [{"type": "checkboxes", "action_id": "a",
            "options": [{"text": {"type": "plain_text", "text": "x"}, "value": "1"}],
            "initial_options": [{"text": {"type": "mrkdwn", "text": "x"}, "value": "1"}]}]}]});
        assert!(
            check_message(&stray)
                .unwrap_err()
                .contains("not one of the options")
        );

        let no_fallback = json!({"blocks": []});
        assert!(check_message(&no_fallback).is_err());

        let long_title = json!({"type": "modal", "title": {"type": "plain_text", "text": "x".repeat(25)}, "blocks": []});
        assert!(check_view(&long_title).is_err());
    }

    #[test]
    fn the_checker_rejects_long_context_button_input_and_modal_texts() {
        let message = |block: Value| json!({"text": "t", "blocks": [block]});
        let context = |text: String| {
            message(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}))
        };
        assert!(check_message(&context("x".repeat(CONTEXT_TEXT))).is_ok());
        let err = check_message(&context("x".repeat(CONTEXT_TEXT + 1))).unwrap_err();
        assert!(err.contains("context text"), "{err}");
        assert!(check_message(&context(String::new())).is_err());

        let button = |text: String, value: String| json!({"type": "button", "action_id": "b", "text": {"type": "plain_text", "text": text}, "value": value});
        let actions = |e: Value| message(json!({"type": "actions", "elements": [e]}));
        assert!(check_message(&actions(button("x".repeat(75), "1".into()))).is_ok());
        let err = check_message(&actions(button("x".repeat(76), "1".into()))).unwrap_err();
        assert!(err.contains("button text"), "{err}");
        let err = check_message(&actions(button("x".into(), "1".repeat(2001)))).unwrap_err();
        assert!(err.contains("button value"), "{err}");
        let accessory = message(
            json!({"type": "section", "text": {"type": "mrkdwn", "text": "t"},
            "accessory": button("x".repeat(76), "1".into())}),
        );
        assert!(check_message(&accessory).is_err());

        let option = |t: &str| json!({"text": {"type": "plain_text", "text": t}, "value": t});
        let select = |initial: Value| {
            actions(json!({"type": "static_select", "action_id": "s",
                "placeholder": {"type": "plain_text", "text": "p"},
                "options": [option("a")], "initial_option": initial}))
        };
        assert!(check_message(&select(option("a"))).is_ok());
        assert!(check_message(&select(option("b"))).is_err());
        let long_placeholder = actions(json!({"type": "static_select", "action_id": "s",
            "placeholder": {"type": "plain_text", "text": "p".repeat(151)}, "options": [option("a")]}));
        assert!(
            check_message(&long_placeholder)
                .unwrap_err()
                .contains("placeholder")
        );

        let view = |label: String, initial: String, submit: String| {
            json!({"type": "modal", "title": {"type": "plain_text", "text": "t"},
                "submit": {"type": "plain_text", "text": submit},
                "blocks": [{"type": "input", "label": {"type": "plain_text", "text": label},
                    "element": {"type": "plain_text_input", "action_id": "n", "max_length": 1000,
                        "initial_value": initial}}]})
        };
        assert!(check_view(&view("l".into(), "x".repeat(1000), "Save".into())).is_ok());
        let err = check_view(&view("l".into(), "x".repeat(1001), "Save".into())).unwrap_err();
        assert!(err.contains("initial value"), "{err}");
        let err = check_view(&view("l".repeat(2001), "x".into(), "Save".into())).unwrap_err();
        assert!(err.contains("input label"), "{err}");
        let err = check_view(&view("l".into(), "x".into(), "s".repeat(25))).unwrap_err();
        assert!(err.contains("submit"), "{err}");
        let metadata = json!({"type": "home", "private_metadata": "m".repeat(3001), "blocks": []});
        assert!(check_view(&metadata).is_err());
    }
}
