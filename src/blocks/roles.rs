//! Managing roles in Slack: the list `/readiness roles` answers with, with a button
//! that opens the modal where an admin gives a person a role.

use slack_morphism::prelude::*;

use super::{Message, button_text, modal_text, option_text, plain, section};
use crate::domain::i18n::Lang;
use crate::domain::roles::Role;

/// The list's "Give a role" button.
pub const OPEN: &str = "roles_open";
/// The modal, and its two fields (block and action ids alike).
pub const MODAL: &str = "roles_edit";
pub const PERSON: &str = "roles_person";
pub const ROLE: &str = "roles_role";
/// The role choice that takes a given role back.
pub const DEFAULT: &str = "default";

/// The roles list (already rendered as lines), with the button to change one.
pub fn roles_list(text: String, lang: Lang) -> Message {
    let button =
        SlackBlockButtonElement::new(button_text(lang.pick("Give a role…", "ロールを付与…")))
            .with_action_id(OPEN.into());
    let blocks = vec![
        section(&text),
        SlackActionsBlock::new(vec![SlackActionBlockElement::Button(button)]).into(),
    ];
    Message::new(text, blocks)
}

/// The modal: a person and the role to give them (or `default`, to take one back).
pub fn roles_modal(lang: Lang) -> SlackView {
    let person = SlackBlockUsersSelectElement::new().with_action_id(PERSON.into());
    let choice = |value: &str, label: String| {
        SlackBlockChoiceItem::new(option_text(&label), value.to_string())
    };
    let mut options: Vec<SlackBlockChoiceItem<SlackBlockPlainTextOnly>> = Role::ALL
        .iter()
        .map(|r| choice(r.as_str(), r.label(lang).to_string()))
        .collect();
    options.push(choice(
        DEFAULT,
        lang.pick(
            "the default (take a given role back)",
            "既定（付与したロールを外す）",
        )
        .to_string(),
    ));
    let role = SlackBlockStaticSelectElement::new()
        .with_action_id(ROLE.into())
        .with_options(options);
    let blocks: Vec<SlackBlock> = vec![
        SlackInputBlock::new(
            plain(lang.pick("Person", "対象者")),
            SlackInputBlockElement::UsersSelect(person),
        )
        .with_block_id(PERSON.into())
        .into(),
        SlackInputBlock::new(
            plain(lang.pick("Role", "ロール")),
            SlackInputBlockElement::StaticSelect(role),
        )
        .with_block_id(ROLE.into())
        .into(),
        super::context(lang.pick(
            "User groups get roles with `/readiness roles @group <role>`.",
            "ユーザーグループへのロール付与は `/readiness roles @group <ロール>` で行います。",
        )),
    ];
    SlackView::Modal(
        SlackModalView::new(modal_text(lang.pick("Give a role", "ロールの付与")), blocks)
            .with_callback_id(MODAL.into())
            .with_submit(modal_text(lang.pick("Save", "保存")))
            .with_close(modal_text(lang.pick("Cancel", "キャンセル"))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::limits;

    #[test]
    fn the_modal_offers_every_role_and_the_default_within_limits() {
        let view = serde_json::to_value(roles_modal(Lang::En)).unwrap();
        limits::check_view(&view).unwrap();
        let options = view["blocks"][1]["element"]["options"].as_array().unwrap();
        let values: Vec<&str> = options
            .iter()
            .map(|o| o["value"].as_str().unwrap())
            .collect();
        assert_eq!(values, ["admin", "csm", "agent", "viewer", "default"]);
        assert_eq!(view["callback_id"], MODAL);
        let list = roles_list("*Roles*".into(), Lang::Ja);
        let json = serde_json::to_value(&list.blocks).unwrap().to_string();
        assert!(json.contains(OPEN), "{json}");
    }
}
