//! Pure renderers: domain state in, Block Kit out, always inside Slack's limits
//! (`limits` checks them, and the unit tests run every renderer through it).
//!
//! Text is bounded twice. Each piece of user text is escaped and cut to a per-line
//! budget where it is formatted (`escape_clipped`, `name`), so that one long name
//! cannot crowd out the rest of its line; and each block constructor here (`section`,
//! `field`, `context`, `header`, `button_text`, `option_text`, `modal_text`,
//! `Message::new`) cuts its whole text to Slack's limit, so that nothing stored, however
//! long, can make Slack answer `invalid_blocks`. `worst_case` renders every surface with
//! the worst text and checks it.
//!
//! Ids carried in blocks are how a later click finds its way back without a lookup:
//! a checkbox group's block_id names the customer and its items, so a tick on an
//! ephemeral copy (which Slack sends without the message) still knows its group.

pub mod audit;
pub mod channel;
pub mod chart;
pub mod checklist;
pub mod csat;
pub mod customer;
pub mod evidence;
pub mod export;
pub mod help;
pub mod home;
pub mod ids;
pub mod intake;
pub mod item_modal;
pub mod limits;
pub mod plan;
pub mod reminders;
pub mod report;
pub mod roles;
pub mod team;
pub mod texts;
pub mod ticket;
pub mod ticket_modal;
#[cfg(test)]
mod worst_case;

use serde::{Deserialize, Serialize};
use slack_morphism::prelude::*;

/// A message: its blocks and the plain-text fallback Slack shows in notifications
/// and to screen readers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub text: String,
    pub blocks: Vec<SlackBlock>,
}

impl Message {
    /// A message of `blocks` whose fallback is `text`, cut to what Slack keeps.
    pub fn new(text: impl Into<String>, blocks: Vec<SlackBlock>) -> Self {
        Self {
            text: clip_mrkdwn(&text.into(), limits::MESSAGE_TEXT),
            blocks,
        }
    }

    /// One section of mrkdwn, which is also the fallback; both cut to their limits.
    pub fn plain(text: impl Into<String>) -> Self {
        let text = text.into();
        Self::new(text.clone(), vec![section(&text)])
    }

    /// The body Slack expects for an ephemeral answer to a request.
    pub fn ephemeral(&self) -> Ephemeral<'_> {
        Ephemeral {
            response_type: "ephemeral",
            text: &self.text,
            blocks: &self.blocks,
        }
    }
}

/// An ephemeral answer, serialized straight from the message (no JSON tree in between).
#[derive(Debug, Serialize)]
pub struct Ephemeral<'a> {
    pub response_type: &'static str,
    pub text: &'a str,
    pub blocks: &'a [SlackBlock],
}

pub fn mrkdwn(text: impl Into<String>) -> SlackBlockText {
    SlackBlockText::MarkDown(SlackBlockMarkDownText::new(text.into()))
}

pub fn plain(text: impl Into<String>) -> SlackBlockPlainTextOnly {
    SlackBlockPlainText::new(text.into()).into()
}

/// A section of mrkdwn, cut to Slack's 3,000 characters (see `clip_mrkdwn`).
pub fn section(text: &str) -> SlackBlock {
    SlackSectionBlock::new()
        .with_text(section_text(text))
        .into()
}

/// `lines` in order, one a line, packed into as few sections as Slack's 3,000
/// characters allow (a line longer than a section is cut to one).
pub fn packed_sections<S: AsRef<str>>(lines: &[S]) -> Vec<SlackBlock> {
    let mut blocks = Vec::new();
    let mut text = String::new();
    // Characters in `text`, and whether it holds a line yet (an empty one counts).
    let mut chars = 0;
    let mut open = false;
    for line in lines {
        let line = clip_mrkdwn(line.as_ref(), limits::SECTION_TEXT);
        let n = line.chars().count();
        if open && chars + 1 + n > limits::SECTION_TEXT {
            if !text.trim().is_empty() {
                blocks.push(section(&text));
            }
            text.clear();
            chars = 0;
            open = false;
        }
        if open {
            text.push('\n');
            chars += 1;
        }
        text.push_str(&line);
        chars += n;
        open = true;
    }
    if !text.trim().is_empty() {
        blocks.push(section(&text));
    }
    blocks
}

/// A section's text object, cut to Slack's 3,000 characters.
pub fn section_text(text: &str) -> SlackBlockText {
    mrkdwn(clip_mrkdwn(text, limits::SECTION_TEXT))
}

/// A section field of mrkdwn, cut to Slack's 2,000 characters.
pub fn field(text: &str) -> SlackBlockText {
    mrkdwn(clip_mrkdwn(text, limits::FIELD_TEXT))
}

pub fn header(text: &str) -> SlackBlock {
    SlackHeaderBlock::new(plain(clip(text, limits::HEADER_TEXT))).into()
}

pub fn context(text: &str) -> SlackBlock {
    SlackContextBlock::new(vec![SlackContextBlockElement::MarkDown(
        SlackBlockMarkDownText::new(clip_mrkdwn(text, limits::CONTEXT_TEXT)),
    )])
    .into()
}

/// A button's label: plain text of at most 75 characters.
pub fn button_text(text: &str) -> SlackBlockPlainTextOnly {
    plain(clip(text, limits::BUTTON_TEXT))
}

/// An option's label: plain text of at most 75 characters.
pub fn option_text(text: &str) -> SlackBlockPlainTextOnly {
    plain(clip(text, limits::OPTION_TEXT))
}

/// A modal's title, submit or close label: plain text of at most 24 characters.
pub fn modal_text(text: &str) -> SlackBlockPlainTextOnly {
    plain(clip(text, limits::MODAL_TITLE))
}

/// A read-mostly modal showing `blocks` (cut to what a view holds): the App Home's
/// way to show a checklist, whose checkboxes work there as in a message.
pub fn modal_of(title: &str, mut blocks: Vec<SlackBlock>, lang_close: &str) -> SlackView {
    blocks.truncate(limits::VIEW_BLOCKS);
    // Slack refuses an empty title; a name could be blank.
    let title = if title.trim().is_empty() {
        "Readiness"
    } else {
        title
    };
    SlackView::Modal(
        SlackModalView::new(modal_text(title), blocks).with_close(modal_text(lang_close)),
    )
}

/// Slack's date token: each reader sees `at` in their own zone; clients that cannot
/// render it show the fallback, in `tz`.
pub fn date_token_in(at: chrono::DateTime<chrono::Utc>, tz: chrono_tz::Tz) -> String {
    let fallback = at.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z");
    format!(
        "<!date^{}^{{date_short_pretty}} {{time}}|{fallback}>",
        at.timestamp()
    )
}

/// Cuts text to at most `max` characters, marking the cut with an ellipsis.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Escapes the three characters Slack's mrkdwn treats as markup.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Characters kept of a name (a customer's, mostly) inside a line of mrkdwn, counted
/// once escaped: what Slack counts against its limits.
pub const NAME_CHARS: usize = 200;

/// A name (a customer's, mostly) for a line of mrkdwn: escaped and cut to
/// `NAME_CHARS`, so that a name stored long cannot push the rest of a line past its
/// block's limit.
pub fn name(raw: &str) -> String {
    escape_clipped(raw, NAME_CHARS)
}

/// An item of a customer as the DMs about it name it: "*KEY* label for *Customer*
/// (#channel)", or in Japanese, customer first.
pub fn customer_item(
    customer: &crate::domain::customer::Customer,
    item: &crate::domain::template::Item,
    lang: crate::domain::i18n::Lang,
) -> String {
    let channel = customer
        .channel_id
        .as_ref()
        .map(|c| format!(" (<#{c}>)"))
        .unwrap_or_default();
    let (key, label, customer) = (&item.key, escape(item.label(lang)), name(&customer.name));
    match lang {
        crate::domain::i18n::Lang::En => format!("*{key}* {label} for *{customer}*{channel}"),
        crate::domain::i18n::Lang::Ja => format!("*{customer}*{channel} の *{key}* {label}"),
    }
}

/// User text for mrkdwn: escaped, then cut to at most `max` characters without
/// splitting an escape like `&amp;` (an `&` escapes to five, so a name of 700 `&`
/// takes 3,500 once escaped).
pub fn escape_clipped(raw: &str, max: usize) -> String {
    // Escaping only lengthens, so one character past `max` is enough to know it is cut.
    let head: String = raw.chars().take(max + 1).collect();
    clip_mrkdwn(&escape(&head), max)
}

/// `clip` for mrkdwn whose user text is escaped: at most `max` characters, and the cut
/// drops whole an escape (`&amp;`) or a token (`<@U1>`, `<!date^…>`, a link) it would
/// split, so the text never ends in half of one.
pub fn clip_mrkdwn(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    // In escaped text every `&` starts an escape, which ends at its `;`; every `<`
    // starts a token, which ends at its `>`.
    if let Some(amp) = cut.rfind('&')
        && !cut[amp..].contains(';')
    {
        cut.truncate(amp);
    }
    if let Some(open) = cut.rfind('<')
        && !cut[open..].contains('>')
    {
        cut.truncate(open);
    }
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_counts_characters_not_bytes() {
        assert_eq!(clip("セキュリティ", 10), "セキュリティ");
        assert_eq!(clip("セキュリティ", 4), "セキュ…");
        assert_eq!(clip("abc", 3), "abc");
    }

    #[test]
    fn clipped_escapes_and_tokens_are_never_split() {
        assert_eq!(escape_clipped("a&b", 3), "a…");
        assert_eq!(escape_clipped("a&b", 7), "a&amp;b");
        assert_eq!(escape_clipped("ab<", 10), "ab&lt;");
        assert_eq!(escape_clipped(&"&".repeat(700), 12), "&amp;&amp;…");
        assert_eq!(escape_clipped(&"&amp;".repeat(700), 14), "&amp;amp;…");
        assert_eq!(clip_mrkdwn("hi <@U12345> there", 8), "hi …");
        assert_eq!(clip_mrkdwn("hi <@U1> there", 10), "hi <@U1> …");
        for max in 1..40 {
            let cut = escape_clipped(&"<&>😀".repeat(20), max);
            assert!(cut.chars().count() <= max, "{cut}");
            let open = cut.rfind('&').map(|a| cut[a..].contains(';'));
            assert_ne!(open, Some(false), "{cut}");
        }
    }

    #[test]
    fn packed_sections_keep_lines_whole_and_in_order_within_the_limit() {
        let texts = |blocks: &[SlackBlock]| -> Vec<String> {
            let v = serde_json::to_value(blocks).unwrap();
            v.as_array()
                .unwrap()
                .iter()
                .map(|b| b["text"]["text"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(texts(&packed_sections(&["a", "", "b"])), vec!["a\n\nb"]);
        let long = "x".repeat(2000);
        let shown = texts(&packed_sections(&["", &long, &long, "y"]));
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert_eq!(shown[1], format!("{long}\ny"));
        assert!(packed_sections(&["", " "]).is_empty());
        let huge = "&amp;".repeat(1000);
        let shown = texts(&packed_sections(&[huge.as_str()]));
        assert!(shown[0].chars().count() <= limits::SECTION_TEXT);
    }

    #[test]
    fn a_message_fallback_is_cut_to_what_slack_keeps() {
        let m = Message::plain(escape(&"&".repeat(5000)));
        assert!(m.text.chars().count() <= limits::MESSAGE_TEXT);
        limits::check_message(&serde_json::to_value(&m).unwrap()).unwrap();
    }

    #[test]
    fn user_text_cannot_inject_mentions() {
        assert_eq!(escape("<!channel> & co"), "&lt;!channel&gt; &amp; co");
    }
}
