//! The "new support request" modal: opened by `/readiness ticket` with nothing else,
//! and by the message shortcut "Track as support request" (summary taken from the
//! message, reporter its author).

use serde::{Deserialize, Serialize};
use slack_morphism::prelude::*;

use super::{
    Message, NAME_CHARS, clip, escape_clipped, limits, modal_text, option_text, plain, section,
};
use crate::domain::customer::{Customer, name_key};
use crate::domain::i18n::Lang;
use crate::domain::sla::Priority;

pub const TICKET_MODAL: &str = "ticket_new";
/// The message shortcut's callback_id (manifest.yml).
pub const TRACK_SHORTCUT: &str = "track_ticket";
pub const MODAL_CUSTOMER: &str = "ticket_customer";
pub const MODAL_PRIORITY: &str = "ticket_priority_choice";
pub const MODAL_SUMMARY: &str = "ticket_summary";
/// Longest summary kept (Slack's plain-text input allows 3,000).
pub const MAX_SUMMARY_CHARS: usize = 2000;

/// Why a submitted modal opened no ticket, said next to the field at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormProblem {
    NoCustomer,
    NoPriority,
    NoSummary,
    SummaryTooLong,
    NoChannel,
}

impl FormProblem {
    /// The field the problem is shown under.
    pub fn block(self) -> &'static str {
        match self {
            FormProblem::NoCustomer => MODAL_CUSTOMER,
            FormProblem::NoPriority => MODAL_PRIORITY,
            FormProblem::NoSummary | FormProblem::SummaryTooLong | FormProblem::NoChannel => {
                MODAL_SUMMARY
            }
        }
    }

    pub fn text(self, lang: Lang) -> &'static str {
        match self {
            FormProblem::NoCustomer => lang.pick("Pick a customer.", "顧客を選んでください。"),
            FormProblem::NoPriority => lang.pick("Pick a priority.", "優先度を選んでください。"),
            FormProblem::NoSummary => lang.pick(
                "A summary is required: say in a few words what the request is about.",
                "概要は必須です。チケットの内容を短く書いてください。",
            ),
            FormProblem::SummaryTooLong => lang.pick(
                "Keep the summary within 2,000 characters.",
                "概要は 2,000 文字以内にしてください。",
            ),
            FormProblem::NoChannel => lang.pick(
                "This customer has no channel yet; try again in a moment.",
                "この顧客のチャンネルがまだありません。少し待ってからお試しください。",
            ),
        }
    }
}

/// What the modal carries through Slack and back in `private_metadata`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketModalMetadata {
    /// The customer, when the modal was opened in its channel.
    pub customer: Option<i64>,
    /// Who reported it: the author of a tracked message (else the submitter).
    pub reporter: Option<String>,
    /// The tracked message, if any.
    pub source_ts: Option<String>,
}

/// `customers`: the choice offered when the customer is not implied (at most 100).
pub fn ticket_modal(
    implied: Option<&Customer>,
    customers: &[Customer],
    summary: Option<&str>,
    metadata: &TicketModalMetadata,
    lang: Lang,
) -> SlackView {
    let mut blocks: Vec<SlackBlock> = Vec::new();
    match implied {
        Some(c) => blocks.push(section(&format!(
            "{} *{}*",
            lang.pick("Customer:", "顧客："),
            escape_clipped(&c.name, NAME_CHARS)
        ))),
        None => {
            let options: Vec<SlackBlockChoiceItem<SlackBlockPlainTextOnly>> = customers
                .iter()
                .take(limits::STATIC_SELECT_OPTIONS)
                .map(|c| SlackBlockChoiceItem::new(customer_option(c, customers), c.id.to_string()))
                .collect();
            blocks.push(
                SlackInputBlock::new(
                    plain(lang.pick("Customer", "顧客")),
                    SlackInputBlockElement::StaticSelect(
                        SlackBlockStaticSelectElement::new()
                            .with_action_id(MODAL_CUSTOMER.into())
                            .with_options(options),
                    ),
                )
                .with_block_id(MODAL_CUSTOMER.into())
                .into(),
            );
        }
    }
    let priorities: Vec<SlackBlockChoiceItem<SlackBlockPlainTextOnly>> = Priority::ALL
        .iter()
        .map(|p| SlackBlockChoiceItem::new(option_text(p.as_str()), p.as_str().to_string()))
        .collect();
    blocks.push(
        SlackInputBlock::new(
            plain(lang.pick("Priority", "優先度")),
            SlackInputBlockElement::StaticSelect(
                SlackBlockStaticSelectElement::new()
                    .with_action_id(MODAL_PRIORITY.into())
                    .with_initial_option(priorities[2].clone())
                    .with_options(priorities),
            ),
        )
        .with_block_id(MODAL_PRIORITY.into())
        .into(),
    );
    let mut input = SlackBlockPlainTextInputElement::new()
        .with_action_id(MODAL_SUMMARY.into())
        .with_multiline(true)
        .with_max_length(MAX_SUMMARY_CHARS as u64);
    if let Some(text) = summary.filter(|t| !t.trim().is_empty()) {
        input = input.with_initial_value(clip(text.trim(), MAX_SUMMARY_CHARS));
    }
    blocks.push(
        SlackInputBlock::new(
            plain(lang.pick("Summary", "概要")),
            SlackInputBlockElement::PlainTextInput(input),
        )
        .with_block_id(MODAL_SUMMARY.into())
        .into(),
    );
    SlackView::Modal(
        SlackModalView::new(
            modal_text(lang.pick("New support request", "チケットの起票")),
            blocks,
        )
        .with_callback_id(TICKET_MODAL.into())
        .with_submit(modal_text(lang.pick("Open", "起票")))
        .with_close(modal_text(lang.pick("Cancel", "キャンセル")))
        .with_private_metadata(serde_json::to_string(metadata).expect("plain struct serializes")),
    )
}

/// A customer as the menu offers it: by name, with its slug when another customer of
/// the list has the same name (a database from before names were kept unique), and by
/// slug alone when the name is one Slack would refuse as an option's text.
fn customer_option(c: &Customer, customers: &[Customer]) -> SlackBlockPlainTextOnly {
    if c.name.trim().is_empty() {
        return option_text(&c.slug);
    }
    let key = name_key(&c.name);
    let shared = customers
        .iter()
        .any(|other| other.id != c.id && name_key(&other.name) == key);
    if !shared {
        return option_text(&c.name);
    }
    // The slug (at most 70 characters) is what tells them apart: the name gives way.
    let room = limits::OPTION_TEXT.saturating_sub(c.slug.chars().count() + 3);
    option_text(&format!("{} ({})", clip(&c.name, room.max(1)), c.slug))
}

/// "Track as support request" on a message in a channel that is no customer's.
pub fn not_a_customer_channel(lang: Lang) -> Message {
    Message::plain(lang.pick(
        "Track support requests from a customer's channel: this one belongs to no customer.",
        "このチャンネルはどの顧客にも属していません。顧客チャンネルのメッセージから起票してください。",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::checklist::Tier;

    /// Customer `id`, with a slug, a name and a channel of its own.
    fn customer(id: i64) -> Customer {
        Customer {
            id,
            slug: format!("c{id}"),
            name: format!("Customer {id}"),
            tier: Tier::Standard,
            channel_id: Some(format!("C{id}")),
            ..crate::blocks::checklist::tests::customer()
        }
    }

    #[test]
    fn customers_sharing_a_name_are_told_apart_by_slug_in_the_menu() {
        let named = |id, name: &str| Customer {
            name: name.into(),
            ..customer(id)
        };
        let long = "株".repeat(200);
        let customers = [
            named(1, "株式会社ミヤビ"),
            named(3, "株式会社ﾐﾔﾋﾞ"),
            named(4, "Acme"),
            named(5, &long),
            named(6, &long),
        ];
        let view = serde_json::to_value(ticket_modal(
            None,
            &customers,
            None,
            &TicketModalMetadata::default(),
            Lang::En,
        ))
        .unwrap();
        limits::check_view(&view).unwrap();
        let options: Vec<String> = view["blocks"][0]["element"]["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["text"]["text"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            options[..3],
            ["株式会社ミヤビ (c1)", "株式会社ﾐﾔﾋﾞ (c3)", "Acme"]
        );
        assert!(options[3].ends_with("… (c5)") && options[4].ends_with("… (c6)"));
    }

    #[test]
    fn the_modal_fits_slacks_limits_with_or_without_an_implied_customer() {
        let many: Vec<Customer> = (1..=150).map(customer).collect();
        let meta = TicketModalMetadata::default();
        let open = serde_json::to_value(ticket_modal(None, &many, None, &meta, Lang::En)).unwrap();
        limits::check_view(&open).unwrap();
        assert_eq!(
            open["blocks"][0]["element"]["options"]
                .as_array()
                .unwrap()
                .len(),
            limits::STATIC_SELECT_OPTIONS
        );
        let long = "x".repeat(5000);
        let implied = customer(1);
        let tracked = serde_json::to_value(ticket_modal(
            Some(&implied),
            &[],
            Some(&long),
            &TicketModalMetadata {
                customer: Some(1),
                reporter: Some("U9".into()),
                source_ts: Some("1.2".into()),
            },
            Lang::Ja,
        ))
        .unwrap();
        limits::check_view(&tracked).unwrap();
        assert_eq!(
            tracked["blocks"][2]["element"]["initial_value"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            MAX_SUMMARY_CHARS
        );
        let back: TicketModalMetadata =
            serde_json::from_str(tracked["private_metadata"].as_str().unwrap()).unwrap();
        assert_eq!(back.reporter.as_deref(), Some("U9"));
    }
}
