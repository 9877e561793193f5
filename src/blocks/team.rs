//! `/readiness team`: the customer's onboarding team shown, the answer to a change, and
//! the one DM a person newly named gets.

use chrono::NaiveDate;

use super::{Message, name, section};
use crate::domain::customer::Customer;
use crate::domain::i18n::Lang;
use crate::domain::team::RoleHeld;
use crate::domain::template::Owner;

/// One line a role: its holder and what they own.
fn role_line(held: &RoleHeld, lang: Lang) -> String {
    let label = held.role.label(lang);
    match (&held.holder, lang) {
        (Some(user), Lang::En) => format!(
            "• *{label}*: <@{user}> · {} of {} items, {} open",
            held.theirs, held.items, held.open
        ),
        (Some(user), Lang::Ja) => format!(
            "• *{label}*: <@{user}> · {} 件中 {} 件担当、未完了 {} 件",
            held.items, held.theirs, held.open
        ),
        (None, Lang::En) => format!("• *{label}*: nobody · {} items", held.items),
        (None, Lang::Ja) => format!("• *{label}*: 未設定 · {} 件", held.items),
    }
}

fn team_lines(customer: &Customer, team: &[RoleHeld], lang: Lang) -> String {
    let title = match lang {
        Lang::En => format!("*Onboarding team of {}*", name(&customer.name)),
        Lang::Ja => format!("*{} のオンボーディングチーム*", name(&customer.name)),
    };
    let mut lines = vec![title];
    lines.extend(team.iter().map(|h| role_line(h, lang)));
    lines.join("\n")
}

/// `/readiness team` without changes.
pub fn shown(customer: &Customer, team: &[RoleHeld], lang: Lang) -> Message {
    let text = team_lines(customer, team, lang);
    let hint = lang.pick(
        "Name someone with `/readiness team <customer> csm=@someone`; `role=none` takes a role back.",
        "`/readiness team <顧客> csm=@someone` で担当者を設定します。`role=none` で解除します。",
    );
    Message::new(
        lang.pick("Onboarding team", "オンボーディングチーム"),
        vec![section(&text), super::context(hint)],
    )
}

/// What a team change did, then the team as it is now.
pub fn changed(
    customer: &Customer,
    reassigned: usize,
    told: &[String],
    contact_added: Option<&str>,
    team: &[RoleHeld],
    lang: Lang,
) -> Message {
    let mentions = told
        .iter()
        .map(|u| format!("<@{u}>"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut head = match lang {
        Lang::En => format!(":white_check_mark: Team saved: {reassigned} items assigned anew."),
        Lang::Ja => format!(
            ":white_check_mark: チームを保存しました。{reassigned} 件の担当を更新しました。"
        ),
    };
    if !told.is_empty() {
        head.push_str(&match lang {
            Lang::En => format!(" Told {mentions} by DM what they now own."),
            Lang::Ja => format!(" {mentions} に担当内容を DM で伝えました。"),
        });
    }
    if let Some(user) = contact_added {
        head.push_str(&match lang {
            Lang::En => format!(" <@{user}> is now one of the customer's contacts."),
            Lang::Ja => format!(" <@{user}> を顧客側の連絡先に追加しました。"),
        });
    }
    Message::new(
        lang.pick("Team saved", "チームを保存しました"),
        vec![section(&head), section(&team_lines(customer, team, lang))],
    )
}

/// The one DM a person newly named to roles of a customer's team gets: the roles, how
/// many open items they now own there, and the first due date among them.
pub fn named_dm(
    customer: &Customer,
    roles: &[Owner],
    owned: usize,
    first_due: Option<NaiveDate>,
    by: &str,
    lang: Lang,
) -> Message {
    let roles = roles
        .iter()
        .map(|r| r.label(lang))
        .collect::<Vec<_>>()
        .join(", ");
    let channel = customer
        .channel_id
        .as_ref()
        .map(|c| format!(" (<#{c}>)"))
        .unwrap_or_default();
    let customer_name = name(&customer.name);
    let slug = &customer.slug;
    let owns = match (owned, first_due, lang) {
        (0, _, Lang::En) => "No open item is yours there yet.".to_string(),
        (0, _, Lang::Ja) => "現在担当の未完了項目はありません。".to_string(),
        (n, Some(due), Lang::En) => {
            format!("You now own {n} open items there, the first due {due}.")
        }
        (n, None, Lang::En) => format!("You now own {n} open items there."),
        (n, Some(due), Lang::Ja) => format!("未完了の担当項目は {n} 件、最初の期限は {due} です。"),
        (n, None, Lang::Ja) => format!("未完了の担当項目は {n} 件です。"),
    };
    let body = match lang {
        Lang::En => format!(
            ":wave: <@{by}> named you {roles} for *{customer_name}*{channel}. {owns} `/readiness plan {slug}` lists them; each item's due date reminds you on its morning."
        ),
        Lang::Ja => format!(
            ":wave: <@{by}> さんがあなたを *{customer_name}*{channel} の {roles} に設定しました。{owns} 一覧は `/readiness plan {slug}`、各項目は期限日の朝にお知らせします。"
        ),
    };
    Message::new(
        lang.pick(
            "You were named to a customer's onboarding team",
            "オンボーディングチームに設定されました",
        ),
        vec![section(&body)],
    )
}
