//! The modal that edits one item: assignee, due date, note and, for items the seed
//! marks 必要な場合, N/A; and its evidence: what it holds, a link field and a file field
//! (Slack keeps the files uploaded there).

use serde::{Deserialize, Serialize};
use slack_morphism::prelude::*;

use super::{
    NAME_CHARS, clip, escape, escape_clipped, ids, limits, modal_text, mrkdwn, plain, section,
    texts,
};
use crate::domain::checklist::ItemState;
use crate::domain::customer::Customer;
use crate::domain::evidence::{Evidence, MAX_PER_ITEM};
use crate::domain::i18n::Lang;
use crate::domain::template::Item;

/// The block and action id of the modal's link field (`url_text_input`).
pub const EVIDENCE_LINK: &str = "evidence_link";
/// The block and action id of the modal's file field (`file_input`).
pub const EVIDENCE_FILES: &str = "evidence_files";
/// Files one submission attaches (Slack allows 1 to 10 a field).
pub const MAX_FILES: usize = 5;

/// What the modal carries through Slack and back in `private_metadata`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemModalMetadata {
    pub customer: i64,
    pub item: String,
}

/// The modal for `item` of `customer`. `waiting` is what the item waits on (item
/// keys): said at the top, since it cannot be ticked until they are done or N/A.
/// It lists the `evidence` the item holds and offers fields to attach more.
pub fn item_modal(
    customer: &Customer,
    item: &Item,
    state: &ItemState,
    waiting: &[String],
    evidence: &[Evidence],
    lang: Lang,
) -> SlackView {
    let metadata = ItemModalMetadata {
        customer: customer.id,
        item: item.key.clone(),
    };
    let mut blocks: Vec<SlackBlock> = vec![section(&format!(
        "*{}* {}\n{}",
        item.key,
        escape(item.label(lang)),
        escape_clipped(&customer.name, NAME_CHARS)
    ))];
    if !waiting.is_empty() {
        let keys: Vec<&str> = waiting.iter().map(String::as_str).collect();
        let waits = super::checklist::waiting_description(&keys, lang);
        blocks.push(super::context(&format!(
            "⏳ {}{}",
            escape(&waits),
            lang.pick(
                ": it can be ticked once that is done or N/A.",
                "：完了または N/A になると完了にできます。"
            )
        )));
    }

    let mut assignee =
        SlackBlockUsersSelectElement::new().with_action_id(ids::MODAL_ASSIGNEE.into());
    if let Some(user) = &state.assignee {
        assignee = assignee.with_initial_user(user.clone());
    }
    blocks.push(
        SlackInputBlock::new(
            plain(lang.pick("Assignee", "担当者")),
            SlackInputBlockElement::UsersSelect(assignee),
        )
        .with_block_id(ids::MODAL_ASSIGNEE.into())
        .with_optional(true)
        .into(),
    );

    let mut due = SlackBlockDatePickerElement::new().with_action_id(ids::MODAL_DUE.into());
    if let Some(date) = state.due {
        due = due.with_initial_date(date.format("%Y-%m-%d").to_string());
    }
    blocks.push(
        SlackInputBlock::new(
            plain(lang.pick("Due date", "期限")),
            SlackInputBlockElement::DatePicker(due),
        )
        .with_block_id(ids::MODAL_DUE.into())
        .with_optional(true)
        .into(),
    );

    let mut note = SlackBlockPlainTextInputElement::new()
        .with_action_id(ids::MODAL_NOTE.into())
        .with_multiline(true)
        .with_max_length(ids::MAX_NOTE_CHARS as u64);
    if let Some(text) = &state.note {
        // A note stored longer than the input takes (before the limit, or by another
        // way in) would make Slack refuse the whole modal.
        note = note.with_initial_value(clip(text, ids::MAX_NOTE_CHARS));
    }
    blocks.push(
        SlackInputBlock::new(
            plain(lang.pick("Note", "メモ")),
            SlackInputBlockElement::PlainTextInput(note),
        )
        .with_block_id(ids::MODAL_NOTE.into())
        .with_optional(true)
        .into(),
    );

    if item.if_needed {
        let option = SlackBlockChoiceItem::new(
            mrkdwn(lang.pick(
                "Not applicable to this customer",
                "この顧客には該当しない (N/A)",
            )),
            "n/a".to_string(),
        );
        let mut checkbox = SlackBlockCheckboxesElement::new(vec![option.clone()])
            .with_action_id(ids::MODAL_NOT_APPLICABLE.into());
        if state.not_applicable {
            checkbox = checkbox.with_initial_options(vec![option]);
        }
        blocks.push(
            SlackInputBlock::new(plain("N/A"), SlackInputBlockElement::Checkboxes(checkbox))
                .with_block_id(ids::MODAL_NOT_APPLICABLE.into())
                .with_optional(true)
                .into(),
        );
    }

    blocks.extend(evidence_blocks(evidence, lang));

    SlackView::Modal(
        SlackModalView::new(modal_text(lang.pick("Edit item", "項目の編集")), blocks)
            .with_callback_id(ids::ITEM_MODAL.into())
            .with_submit(modal_text(lang.pick("Save", "保存")))
            .with_close(modal_text(lang.pick("Cancel", "キャンセル")))
            .with_private_metadata(
                serde_json::to_string(&metadata).expect("plain struct serializes"),
            ),
    )
}

/// What the item holds, and (unless it holds the most it may) a link field and a file
/// field to attach more.
fn evidence_blocks(evidence: &[Evidence], lang: Lang) -> Vec<SlackBlock> {
    let mut blocks = Vec::new();
    if let Some(listing) = super::evidence::listing(evidence, limits::SECTION_TEXT, lang) {
        blocks.push(section(&listing));
    }
    if evidence.len() >= MAX_PER_ITEM {
        blocks.push(section(&match lang {
            Lang::En => {
                format!("_It holds {MAX_PER_ITEM} pieces of evidence, the most an item holds._")
            }
            Lang::Ja => format!("_証跡は 1 項目 {MAX_PER_ITEM} 件までです。_"),
        }));
        return blocks;
    }
    let link = SlackBlockUrlInputElement::new()
        .with_action_id(EVIDENCE_LINK.into())
        .with_placeholder(plain("https://…"));
    blocks.push(
        SlackInputBlock::new(
            plain(lang.pick("Evidence: a link", "証跡：リンク")),
            SlackInputBlockElement::UrlInput(link),
        )
        .with_block_id(EVIDENCE_LINK.into())
        .with_optional(true)
        .into(),
    );
    let files = SlackBlockFileInputElement::new()
        .with_action_id(EVIDENCE_FILES.into())
        .with_max_files(MAX_FILES as u64);
    blocks.push(
        SlackInputBlock::new(
            plain(lang.pick("Evidence: files", "証跡：ファイル")),
            SlackInputBlockElement::FileInput(files),
        )
        .with_block_id(EVIDENCE_FILES.into())
        .with_optional(true)
        .with_hint(plain(match lang {
            Lang::En => format!(
                "Up to {MAX_FILES} at a time. Slack keeps them; the checklist links to them."
            ),
            Lang::Ja => format!(
                "一度に {MAX_FILES} 件まで。ファイルは Slack に保存され、チェックリストからリンクされます。"
            ),
        }))
        .into(),
    );
    blocks
}

/// What the modal turns into when it was saved with a due date already past in the
/// customer's time zone: saved all the same (as `/readiness assign … due=` keeps
/// it), and said, since nothing else would tell the person the item is overdue from
/// the start. Only a close button: the change is already saved.
pub fn saved_with_past_due(
    customer: &Customer,
    item: &Item,
    due: chrono::NaiveDate,
    lang: Lang,
) -> SlackView {
    let saved = format!(
        "{} *{}* {}\n{}",
        lang.pick("Saved:", "保存しました："),
        item.key,
        escape(item.label(lang)),
        escape_clipped(&customer.name, NAME_CHARS)
    );
    let past = texts::DUE_IN_THE_PAST.fill(lang, &[("date", &due.to_string())]);
    super::modal_of(
        lang.pick("Edit item", "項目の編集"),
        vec![section(&saved), section(&past)],
        lang.pick("Close", "閉じる"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::checklist::Tier;
    use crate::domain::template::Template;

    #[test]
    fn the_modal_offers_n_a_only_for_if_needed_items_and_fits_limits() {
        let t = Template::builtin();
        let customer = Customer {
            id: 3,
            team_id: "T".into(),
            slug: "a".into(),
            name: "A".into(),
            tier: Tier::Standard,
            channel_id: None,
            channel_error: None,
            created_by: "U".into(),
            created_at: 0,
            csm: None,
            archived_at: None,
            golive_on: None,
            reminders_off: Vec::new(),
            intake_mode: None,
            kickoff_on: None,
        };
        let state = ItemState {
            assignee: Some("U1".into()),
            due: chrono::NaiveDate::from_ymd_opt(2026, 12, 1),
            not_applicable: true,
            ..Default::default()
        };
        let hipaa = t.items().find(|i| i.if_needed).unwrap();
        let with =
            serde_json::to_value(item_modal(&customer, hipaa, &state, &[], &[], Lang::Ja)).unwrap();
        limits::check_view(&with).unwrap();
        assert!(with.to_string().contains(ids::MODAL_NOT_APPLICABLE));
        assert_eq!(with["blocks"][1]["element"]["initial_user"], "U1");
        assert_eq!(with["blocks"][2]["element"]["initial_date"], "2026-12-01");
        let meta: ItemModalMetadata =
            serde_json::from_str(with["private_metadata"].as_str().unwrap()).unwrap();
        assert_eq!(meta.item, hipaa.key);

        let sso = t.item("1.1.1").unwrap();
        let without = serde_json::to_value(item_modal(
            &customer,
            sso,
            &ItemState::default(),
            &[],
            &[],
            Lang::En,
        ))
        .unwrap();
        limits::check_view(&without).unwrap();
        assert!(!without.to_string().contains(ids::MODAL_NOT_APPLICABLE));

        let long = Customer {
            name: "<!channel> &".repeat(40),
            ..customer
        };
        let past = chrono::NaiveDate::from_ymd_opt(2001, 1, 1).unwrap();
        for (lang, said) in [
            (Lang::En, "2001-01-01 is already past"),
            (Lang::Ja, "すでに過ぎています"),
        ] {
            let view = serde_json::to_value(saved_with_past_due(&long, sso, past, lang)).unwrap();
            limits::check_view(&view).unwrap();
            assert!(view.to_string().contains(said), "{view}");
            assert!(!view.to_string().contains("<!channel>"), "{view}");
            assert!(view.get("submit").is_none(), "{view}");
        }
    }
}
