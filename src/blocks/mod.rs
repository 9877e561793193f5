//! Pure renderers: domain state in, Block Kit out, always inside Slack's limits
//! (`limits` checks them, and the unit tests run every renderer through it).
//!
//! Ids carried in blocks are how a later click finds its way back without a lookup:
//! a checkbox group's block_id names the customer and its items, so a tick on an
//! ephemeral copy (which Slack sends without the message) still knows its group.

pub mod audit;
pub mod checklist;
pub mod help;
pub mod home;
pub mod ids;
pub mod item_modal;
pub mod limits;
pub mod reminders;
pub mod report;
pub mod roles;
pub mod ticket;
pub mod ticket_modal;

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
    pub fn plain(text: impl Into<String>) -> Self {
        let text = text.into();
        Self {
            blocks: vec![section(&text)],
            text,
        }
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

pub fn section(text: &str) -> SlackBlock {
    SlackSectionBlock::new()
        .with_text(mrkdwn(clip(text, limits::SECTION_TEXT)))
        .into()
}

pub fn header(text: &str) -> SlackBlock {
    SlackHeaderBlock::new(plain(clip(text, limits::HEADER_TEXT))).into()
}

pub fn context(text: &str) -> SlackBlock {
    SlackContextBlock::new(vec![SlackContextBlockElement::MarkDown(
        SlackBlockMarkDownText::new(clip(text, limits::CONTEXT_TEXT)),
    )])
    .into()
}

/// A read-mostly modal showing `blocks` (cut to what a view holds): the App Home's
/// way to show a checklist, whose checkboxes work there as in a message.
pub fn modal_of(title: &str, mut blocks: Vec<SlackBlock>, lang_close: &str) -> SlackView {
    blocks.truncate(limits::VIEW_BLOCKS);
    SlackView::Modal(
        SlackModalView::new(plain(clip(title, limits::MODAL_TITLE)), blocks)
            .with_close(plain(clip(lang_close, limits::MODAL_TITLE))),
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
    fn user_text_cannot_inject_mentions() {
        assert_eq!(escape("<!channel> & co"), "&lt;!channel&gt; &amp; co");
    }
}
