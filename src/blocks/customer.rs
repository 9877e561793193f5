//! What `/readiness new` and `/readiness customer` answer: a customer created, one not
//! found or taken, a customer's settings, a change saved.

use super::help::error_with_usage;
use super::{Message, name, section};
use crate::domain::customer::Customer;
use crate::domain::i18n::Lang;

/// The slugs suggested after "I don't know …", as the answer lists them.
fn slugs(known: &[String]) -> String {
    known
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// No customer by the name typed.
pub fn unknown(named: &str, known: &[String], usage: &str, lang: Lang) -> Message {
    let known = slugs(known);
    let problem = match (lang, known.is_empty()) {
        (Lang::En, true) => format!(
            "I don't know a customer `{}`; there are none yet.",
            name(named)
        ),
        (Lang::En, false) => format!("I don't know a customer `{}`. Known: {known}", name(named)),
        (Lang::Ja, true) => format!(
            "顧客 `{}` は見つかりません（まだ登録がありません）。",
            name(named)
        ),
        (Lang::Ja, false) => format!("顧客 `{}` は見つかりません。登録済み：{known}", name(named)),
    };
    error_with_usage(&problem, usage, lang)
}

/// No customer named, in a channel that is no customer's.
pub fn name_one(known: &[String], usage: &str, lang: Lang) -> Message {
    let known = slugs(known);
    let mut problem = lang
        .pick(
            "This is not a customer's channel: name the customer.",
            "ここは顧客のチャンネルではありません。顧客を指定してください。",
        )
        .to_string();
    if !known.is_empty() {
        problem.push_str(&format!(" {} {known}", lang.pick("Known:", "登録済み：")));
    }
    error_with_usage(&problem, usage, lang)
}

fn channel_suffix(c: &Customer) -> String {
    c.channel_id
        .as_ref()
        .map(|id| format!(" in <#{id}>"))
        .unwrap_or_default()
}

/// A new customer's slug is another's.
pub fn slug_taken(existing: &Customer, lang: Lang) -> Message {
    error_with_usage(
        &match lang {
            Lang::En => format!(
                "*{}* already exists as `{}`{}. Choose another name or `slug=`.",
                name(&existing.name),
                existing.slug,
                channel_suffix(existing)
            ),
            Lang::Ja => format!(
                "*{}* はすでに `{}` として登録されています{}。別の名前か `slug=` を指定してください。",
                name(&existing.name),
                existing.slug,
                channel_suffix(existing)
            ),
        },
        &format!("/readiness show {}", existing.slug),
        lang,
    )
}

/// A new customer's channel is another's.
pub fn channel_taken(existing: &Customer, lang: Lang) -> Message {
    Message::plain(match lang {
        Lang::En => format!(
            "That channel already belongs to *{}* (`{}`).",
            name(&existing.name),
            existing.slug
        ),
        Lang::Ja => format!(
            "そのチャンネルはすでに *{}*（`{}`）のものです。",
            name(&existing.name),
            existing.slug
        ),
    })
}

/// A customer created; its channel, named or to be created, follows.
pub fn created(customer: &Customer, linked: Option<&str>, lang: Lang) -> Message {
    let what = match linked {
        Some(c) => match lang {
            Lang::En => format!("linking <#{c}>"),
            Lang::Ja => format!("<#{c}> と連携しています"),
        },
        None => match lang {
            Lang::En => "creating its private channel".to_string(),
            Lang::Ja => "専用のプライベートチャンネルを作成しています".to_string(),
        },
    };
    Message::plain(match lang {
        Lang::En => format!(
            ":sparkles: Created *{}* (`{}`, {}), {what}…",
            name(&customer.name),
            customer.slug,
            customer.tier.title()
        ),
        Lang::Ja => format!(
            ":sparkles: *{}*（`{}`、{}）を作成しました。{what}…",
            name(&customer.name),
            customer.slug,
            customer.tier.title()
        ),
    })
}

/// A customer's settings; `milestones`: each milestone reminder and whether it is on.
pub fn describe(c: &Customer, milestones: &[(&str, bool)], lang: Lang) -> Message {
    let channel = c
        .channel_id
        .as_ref()
        .map(|id| format!("<#{id}>"))
        .unwrap_or_else(|| "—".into());
    let milestones: Vec<String> = milestones
        .iter()
        .map(|(k, on)| format!("`{k}={}`", if *on { "on" } else { "off" }))
        .collect();
    let state = if c.is_archived() {
        lang.pick(":file_cabinet: archived", ":file_cabinet: アーカイブ済み")
    } else {
        lang.pick("active", "稼働中")
    };
    let text = format!(
        "*{}* (`{}`) · {} · {state}\n{}: {channel} · CSM: <@{}> · {}: {}\n{}: {}",
        name(&c.name),
        c.slug,
        c.tier.title(),
        lang.pick("Channel", "チャンネル"),
        c.csm(),
        lang.pick("Go-live", "本番開始"),
        c.golive_on
            .map(|d| d.to_string())
            .unwrap_or_else(|| "—".into()),
        lang.pick("Milestones", "マイルストーン"),
        milestones.join(" ")
    );
    Message::plain(text)
}

/// A change that changed nothing.
pub fn unchanged(lang: Lang) -> Message {
    Message::plain(lang.pick(
        "Nothing to change: it is already so.",
        "変更はありません（すでにその状態です）。",
    ))
}

/// A changed channel that is another customer's.
pub fn channel_of_another(lang: Lang) -> Message {
    Message::plain(lang.pick(
        "That channel already belongs to another customer.",
        "そのチャンネルはすでに別の顧客のものです。",
    ))
}

/// A change saved, over the customer as it now is (`described`).
pub fn saved(mut described: Message, replanned: usize, lang: Lang) -> Message {
    let mut note = format!(
        ":white_check_mark: {}",
        lang.pick("Saved.", "保存しました。")
    );
    if replanned > 0 {
        note.push_str(&match lang {
            Lang::En => format!(" {replanned} open ticket(s) re-planned for the new tier's hours."),
            Lang::Ja => {
                format!(" 未解決のチケット {replanned} 件を新しいティアの時間で再計画しました。")
            }
        });
    }
    described.blocks.insert(0, section(&note));
    described
}
