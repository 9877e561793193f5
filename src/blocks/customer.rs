//! What `/readiness new` and `/readiness customer` answer: a customer created, one not
//! found or taken, a customer's settings, a change saved.

use super::help::error_with_usage;
use super::{Message, escape_clipped, name, section};
use crate::domain::customer::Customer;
use crate::domain::i18n::Lang;
use crate::domain::policy::IntakeMode;

/// Characters of a customer's name, escaped, in a list of customers: ten of them and
/// their slugs stay well inside a section.
const LISTED_NAME_CHARS: usize = 60;

/// Customers as an answer lists them: each by name and slug (two may share a name),
/// with its channel when it has one.
fn listed(customers: &[Customer]) -> String {
    customers
        .iter()
        .map(|c| {
            format!(
                "{} (`{}`{})",
                escape_clipped(&c.name, LISTED_NAME_CHARS),
                c.slug,
                c.channel_id
                    .as_ref()
                    .map(|id| format!(" <#{id}>"))
                    .unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// No customer by the name typed.
pub fn unknown(named: &str, known: &[Customer], usage: &str, lang: Lang) -> Message {
    let known = listed(known);
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

/// A name that several customers share (a database from before names were kept
/// unique): none is picked; the person names one by its slug.
pub fn ambiguous(named: &str, candidates: &[Customer], usage: &str, lang: Lang) -> Message {
    let problem = match lang {
        Lang::En => format!(
            "`{}` is the name of {} customers: {}. Name one by its slug.",
            name(named),
            candidates.len(),
            listed(candidates)
        ),
        Lang::Ja => format!(
            "`{}` という名前の顧客が {} 件あります：{}。スラッグで指定してください。",
            name(named),
            candidates.len(),
            listed(candidates)
        ),
    };
    error_with_usage(&problem, usage, lang)
}

/// No customer named, in a channel that is no customer's.
pub fn name_one(known: &[Customer], usage: &str, lang: Lang) -> Message {
    let known = listed(known);
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

/// A new customer's name is another's (as people read it: width, case and spaces
/// aside), whatever its script.
pub fn name_taken(existing: &Customer, lang: Lang) -> Message {
    already_exists(
        existing,
        lang,
        ("A customer named ", "Choose another name."),
        ("という名前の顧客は", "別の名前を指定してください。"),
    )
}

/// A changed name that is another customer's.
pub fn name_of_another(other: &Customer, lang: Lang) -> Message {
    belongs_to(
        other,
        lang,
        ("That name is already another customer's: ", "."),
        ("その名前はすでに別の顧客のものです：", "。"),
    )
}

/// A new customer's slug is another's.
pub fn slug_taken(existing: &Customer, lang: Lang) -> Message {
    already_exists(
        existing,
        lang,
        ("", "Choose another name or `slug=`."),
        ("は", "別の名前か `slug=` を指定してください。"),
    )
}

/// "*name* already exists as `slug` (in its channel)": the words around it for each
/// language (`en`: before the name, the advice; `ja`: after the name, the advice).
fn already_exists(existing: &Customer, lang: Lang, en: (&str, &str), ja: (&str, &str)) -> Message {
    let customer = name(&existing.name);
    let slug = &existing.slug;
    let channel = existing.channel_id.as_ref();
    let text = match lang {
        Lang::En => {
            let (before, advice) = en;
            let channel = channel.map(|id| format!(" in <#{id}>")).unwrap_or_default();
            format!("{before}*{customer}* already exists as `{slug}`{channel}. {advice}")
        }
        Lang::Ja => {
            let (after, advice) = ja;
            let channel = channel.map(|id| format!("（<#{id}>）")).unwrap_or_default();
            format!("*{customer}* {after}すでに `{slug}`{channel} として登録されています。{advice}")
        }
    };
    error_with_usage(&text, &format!("/readiness show {slug}"), lang)
}

/// A new customer's channel is another's.
pub fn channel_taken(existing: &Customer, lang: Lang) -> Message {
    belongs_to(
        existing,
        lang,
        ("That channel already belongs to ", "."),
        ("そのチャンネルはすでに ", "のものです。"),
    )
}

/// "… *name* (`slug`) …": what is taken and by whom, with the words before and after
/// the customer for each language.
fn belongs_to(owner: &Customer, lang: Lang, en: (&str, &str), ja: (&str, &str)) -> Message {
    let customer = name(&owner.name);
    let slug = &owner.slug;
    Message::plain(match lang {
        Lang::En => format!("{}*{customer}* (`{slug}`){}", en.0, en.1),
        Lang::Ja => format!("{}*{customer}*（`{slug}`）{}", ja.0, ja.1),
    })
}

/// A customer created; its channel, named or to be created, follows. A slug made
/// from the name (`slug_generated`) is said with what it is for and how to choose one,
/// since commands name the customer by it (a numbered `c1` tells nothing).
pub fn created(
    customer: &Customer,
    linked: Option<&str>,
    slug_generated: bool,
    lang: Lang,
) -> Message {
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
    let mut text = match lang {
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
    };
    if slug_generated {
        text.push('\n');
        text.push_str(&match lang {
            Lang::En => format!(
                "Commands name it by its slug `{}`; to choose a slug, add `slug=` when you create a customer.",
                customer.slug
            ),
            Lang::Ja => format!(
                "コマンドではスラッグ `{}` で指定します。スラッグを選ぶには、作成時に `slug=` を付けてください。",
                customer.slug
            ),
        });
    }
    Message::plain(text)
}

/// A customer's settings; `milestones`: each milestone reminder and whether it is on;
/// `policy_intake`: the policy's intake mode, which applies without the customer's own;
/// `contacts`: the people named as the customer's (at most `MAX_CONTACTS`).
pub fn describe(
    c: &Customer,
    milestones: &[(&str, bool)],
    policy_intake: IntakeMode,
    contacts: &[String],
    lang: Lang,
) -> Message {
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
        "*{}* (`{}`) · {} · {state}\n{}: {channel} · CSM: <@{}> · {}: {} · {}: {}\n{}: {}",
        name(&c.name),
        c.slug,
        c.tier.title(),
        lang.pick("Channel", "チャンネル"),
        c.csm(),
        lang.pick("Kickoff", "キックオフ"),
        c.kickoff_on
            .map(|d| d.to_string())
            .unwrap_or_else(|| "—".into()),
        lang.pick("Go-live", "本番開始"),
        c.golive_on
            .map(|d| d.to_string())
            .unwrap_or_else(|| "—".into()),
        lang.pick("Milestones", "マイルストーン"),
        milestones.join(" ")
    );
    let intake = match c.intake_mode {
        Some(mode) => format!("`{}`", mode.as_str()),
        None => match lang {
            Lang::En => format!("`auto` (the policy's: `{}`)", policy_intake.as_str()),
            Lang::Ja => format!("`auto`（ポリシー：`{}`）", policy_intake.as_str()),
        },
    };
    let contacts = if contacts.is_empty() {
        "—".to_string()
    } else {
        contacts
            .iter()
            .map(|u| format!("<@{u}>"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let text = format!(
        "{text}\n{}: {intake} · {}: {contacts}",
        lang.pick("Intake", "受付"),
        lang.pick("Contacts", "連絡先"),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn named(slug: &str, name: &str, channel: Option<&str>) -> Customer {
        Customer {
            slug: slug.into(),
            name: name.into(),
            channel_id: channel.map(Into::into),
            ..crate::blocks::checklist::tests::customer()
        }
    }

    #[test]
    fn customers_are_listed_by_name_and_slug_and_an_ambiguous_name_picks_none() {
        let twins = [
            named("c1", "株式会社ミヤビ", Some("C0001")),
            named("c3", "株式会社ミヤビ", None),
        ];
        let en = ambiguous(
            "株式会社ミヤビ",
            &twins,
            "/readiness show [customer]",
            Lang::En,
        )
        .text;
        assert!(
            en.starts_with(
                "`株式会社ミヤビ` is the name of 2 customers: 株式会社ミヤビ (`c1` <#C0001>), 株式会社ミヤビ (`c3`). Name one by its slug."
            ),
            "{en}"
        );
        let ja = ambiguous(
            "株式会社ミヤビ",
            &twins,
            "/readiness show [customer]",
            Lang::Ja,
        )
        .text;
        assert!(
            ja.contains("2 件あります：株式会社ミヤビ (`c1` <#C0001>)"),
            "{ja}"
        );

        let known = [named("acme", "Acme <Corp> & Co", None)];
        let text = unknown("x", &known, "/readiness show [customer]", Lang::En).text;
        assert!(
            text.contains("Known: Acme &lt;Corp&gt; &amp; Co (`acme`)"),
            "escaped: {text}"
        );
    }

    #[test]
    fn a_generated_slug_is_explained_and_a_chosen_one_is_not() {
        let c = named("c1", "株式会社ミヤビ", None);
        for lang in [Lang::En, Lang::Ja] {
            let generated = created(&c, None, true, lang).text;
            assert!(
                generated.contains("`slug=`") && generated.contains("`c1`"),
                "{generated}"
            );
            let chosen = created(&c, None, false, lang).text;
            assert!(!chosen.contains("slug="), "{chosen}");
        }
    }

    /// The channel of an existing customer is named in each language's own words: a
    /// Japanese refusal once said "…登録されています in <#C0001>".
    #[test]
    fn a_taken_name_or_slug_names_the_channel_in_the_readers_language() {
        let existing = named("c1", "株式会社ミヤビ", Some("C0001"));
        for refusal in [name_taken, slug_taken] {
            let en = refusal(&existing, Lang::En).text;
            assert!(en.contains("already exists as `c1` in <#C0001>."), "{en}");
            let ja = refusal(&existing, Lang::Ja).text;
            assert!(
                ja.contains("`c1`（<#C0001>） として登録されています。"),
                "{ja}"
            );
            assert!(!ja.contains(" in "), "{ja}");
        }
    }
}
