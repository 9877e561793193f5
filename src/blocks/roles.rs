//! Managing roles in Slack: the list `/readiness roles` answers with, with a button
//! that opens the modal where an admin gives a person a role; what a change answers;
//! and the refusal of someone whose role does not allow what they asked.

use slack_morphism::prelude::*;

use super::{Message, button_text, escape, modal_text, option_text, plain, section};
use crate::domain::i18n::Lang;
use crate::domain::roles::{Act, Role, WHO_MAY, is_group};

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

/// What is wrong with the roles modal's submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleFormProblem {
    NoPerson,
    NoRole,
}

impl RoleFormProblem {
    /// The field to show the error next to, and the error.
    pub fn field(self) -> (&'static str, &'static str) {
        match self {
            RoleFormProblem::NoPerson => (PERSON, "Pick a person."),
            RoleFormProblem::NoRole => (ROLE, "Pick a role."),
        }
    }
}

/// How a role's holder is mentioned: a person, or a user group.
fn mention(holder: &str) -> String {
    if is_group(holder) {
        format!("<!subteam^{}>", escape(holder))
    } else {
        format!("<@{}>", escape(holder))
    }
}

/// `/readiness roles` without a change: the roles given in the workspace, by role.
pub fn roles_given(given: &[(String, Role)], default_role: Role, lang: Lang) -> Message {
    let mut lines = vec![match lang {
        Lang::En => format!(
            "*Roles*: workspace admins and owners are admins; everyone else is {} unless given a role here, themselves or through a user group.",
            default_role.label(lang)
        ),
        Lang::Ja => format!(
            "*ロール*：ワークスペースの管理者・オーナーは管理者、それ以外の人は個別に付与されない限り{}です。",
            default_role.label(lang)
        ),
    }];
    for role in Role::ALL {
        let people: Vec<String> = given
            .iter()
            .filter(|(_, r)| *r == role)
            .map(|(holder, _)| mention(holder))
            .collect();
        if !people.is_empty() {
            lines.push(format!("`{}` {}", role.as_str(), people.join(" ")));
        }
    }
    roles_list(lines.join("\n"), lang)
}

/// A user group's role given (`Some`) or taken back.
pub fn group_role_set(group: &str, role: Option<Role>, lang: Lang) -> Message {
    let who = mention(group);
    Message::plain(match (lang, role) {
        (Lang::En, Some(role)) => format!(
            ":white_check_mark: Members of {who} are now {} (unless given a role of their own).",
            role.label(lang)
        ),
        (Lang::En, None) => format!(":white_check_mark: {who} no longer gives a role."),
        (Lang::Ja, Some(role)) => format!(
            ":white_check_mark: {who} のメンバーのロールを{}にしました（個別のロールがある人を除く）。",
            role.label(lang)
        ),
        (Lang::Ja, None) => {
            format!(":white_check_mark: {who} のロール付与を解除しました。")
        }
    })
}

/// A person's role after a change, all things counted.
pub fn person_role_set(person: &str, now: Role, lang: Lang) -> Message {
    let who = mention(person);
    Message::plain(match lang {
        Lang::En => format!(":white_check_mark: {who} is now {}.", now.label(lang)),
        Lang::Ja => format!(
            ":white_check_mark: {who} のロールを{}にしました。",
            now.label(lang)
        ),
    })
}

/// The answer to a guest, a person of another organisation or a customer's contact.
pub fn customer_side(lang: Lang) -> Message {
    Message::plain(lang.pick(
        ":no_entry: Sorry, you can't do that: Readiness is for this workspace's own team, and guests, people of other organisations and customers' contacts can't use it here.",
        ":no_entry: この操作はできません。Readiness はこのワークスペースのチーム向けで、ゲスト、他の組織の方、顧客の連絡先の方はここでは使えません。",
    ))
}

/// The answer when Slack did not say in time who the person is.
pub fn unconfirmed(lang: Lang) -> Message {
    Message::plain(lang.pick(
        ":hourglass: Slack did not tell me in time who you are, so nothing was done. Please try again in a moment.",
        ":hourglass: Slack からあなたの情報を時間内に取得できなかったため、何も行いませんでした。少し待ってからもう一度お試しください。",
    ))
}

/// The answer to staff whose role does not allow `act`: who may.
pub fn denied(role: Role, act: Act, lang: Lang) -> Message {
    let who: Vec<&str> = WHO_MAY
        .iter()
        .find(|(a, _)| *a == act)
        .map(|(_, roles)| roles.iter().map(|r| r.as_str()).collect())
        .unwrap_or_default();
    Message::plain(match lang {
        Lang::En => format!(
            ":no_entry: You are {} here; to {}, ask for one of these roles: {}. An admin gives roles with `/readiness roles`.",
            role.label(lang),
            act.describe(lang),
            who.join(", ")
        ),
        Lang::Ja => format!(
            ":no_entry: あなたのロールは{}です。{}には次のロールが必要です：{}。ロールは管理者が `/readiness roles` で付与します。",
            role.label(lang),
            act.describe(lang),
            who.join("、")
        ),
    })
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
