//! Evidence: the paperclip an item shows in the checklist, the answer to
//! `/readiness evidence`, its refusals, and the item modal's list of what an item
//! holds.

use super::{Message, clip, clip_mrkdwn, escape, escape_clipped, name};
use crate::domain::checklist::Tier;
use crate::domain::customer::Customer;
use crate::domain::evidence::{Evidence, EvidenceKind};
use crate::domain::i18n::Lang;
use crate::domain::template::Item;

/// Characters of a link quoted in an answer or the item modal.
const URL_CHARS: usize = 200;

/// The paperclip an item holding `count` pieces shows after its label (`📎 2`);
/// nothing for none.
pub fn paperclip(count: usize) -> String {
    if count == 0 {
        String::new()
    } else {
        format!(" 📎 {count}")
    }
}

/// `label` (escaped mrkdwn) with the paperclip appended, the label cut so that the
/// whole stays within `max` characters (an option's text: 75).
pub fn with_paperclip(label: &str, count: usize, max: usize) -> String {
    let clip = paperclip(count);
    let room = max.saturating_sub(clip.chars().count());
    format!("{}{clip}", clip_mrkdwn(label, room))
}

fn tier_names(tiers: &[Tier]) -> String {
    tiers
        .iter()
        .map(|t| t.title())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A link as shown in an answer: escaped, cut, never a mention or markup.
fn shown_url(url: &str) -> String {
    escape_clipped(url, URL_CHARS)
}

/// The answer to `/readiness evidence`: what was attached to which item, and how many
/// pieces the item holds now.
pub fn attached(
    customer: &Customer,
    item: &Item,
    added: &[Evidence],
    total: usize,
    lang: Lang,
) -> Message {
    let what: Vec<String> = added.iter().map(|e| describe(e, lang)).collect();
    let label = escape(item.label(lang));
    let customer = name(&customer.name);
    let key = &item.key;
    Message::plain(match lang {
        Lang::En => format!(
            ":paperclip: Attached to *{key}* {label} of {customer}: {}. It holds 📎 {total}.",
            what.join(", ")
        ),
        Lang::Ja => format!(
            ":paperclip: {customer} の *{key}* {label} に添付しました：{}。証跡 📎 {total} 件。",
            what.join("、")
        ),
    })
}

/// One piece, in a line: a file by its name, a link by its address.
fn describe(e: &Evidence, lang: Lang) -> String {
    match e.kind {
        EvidenceKind::File => format!(
            "{} {}",
            lang.pick("file", "ファイル"),
            escape_clipped(e.file_name.as_deref().unwrap_or(&e.url), URL_CHARS)
        ),
        EvidenceKind::Link => shown_url(&e.url),
    }
}

/// The item is not on this customer's checklist: it is for other tiers.
pub fn other_tier(customer: &Customer, item: &Item, tiers: &[Tier], lang: Lang) -> Message {
    let label = escape(item.label(lang));
    let customer_name = name(&customer.name);
    let key = &item.key;
    let tier = customer.tier.title();
    let tiers = tier_names(tiers);
    Message::plain(match lang {
        Lang::En => format!(
            "*{key}* {label} is not on {customer_name}'s checklist: it is for {tiers} customers, and {customer_name} is {tier}. Nothing was attached."
        ),
        Lang::Ja => format!(
            "*{key}* {label} は {customer_name} のチェックリストにありません（{tiers} の顧客向けで、{customer_name} は {tier} です）。何も添付していません。"
        ),
    })
}

/// The item holds the most it may.
pub fn full(item: &Item, holds: usize, max: usize, lang: Lang) -> Message {
    let key = &item.key;
    Message::plain(match lang {
        Lang::En => format!(
            "*{key}* already holds {holds} pieces of evidence; an item holds at most {max}. Nothing was attached: put several documents behind one link (a shared folder) instead."
        ),
        Lang::Ja => format!(
            "*{key}* にはすでに {holds} 件の証跡があります（1 項目 {max} 件まで）。何も添付していません。複数の資料は共有フォルダなど 1 つのリンクにまとめてください。"
        ),
    })
}

/// Every link given was on the item already.
pub fn already_attached(item: &Item, lang: Lang) -> Message {
    let key = &item.key;
    Message::plain(match lang {
        Lang::En => format!("That is already attached to *{key}*: nothing changed."),
        Lang::Ja => format!("それはすでに *{key}* に添付されています。変更はありません。"),
    })
}

/// A note longer than a piece's note may be.
pub fn note_too_long(max: usize, lang: Lang) -> Message {
    Message::plain(match lang {
        Lang::En => format!("Keep the note under {max} characters. Nothing was attached."),
        Lang::Ja => format!("メモは {max} 文字以内にしてください。何も添付していません。"),
    })
}

/// What an item holds, one line a piece (newest last), for the item modal: as many as
/// fit in `max_chars`, then how many more.
pub fn listing(evidence: &[Evidence], max_chars: usize, lang: Lang) -> Option<String> {
    if evidence.is_empty() {
        return None;
    }
    let mut text = format!("*{}* 📎 {}", lang.pick("Evidence", "証跡"), evidence.len());
    for (n, e) in evidence.iter().enumerate() {
        let note = e
            .note
            .as_deref()
            .map(|n| format!(" — {}", escape(&clip(n, 80))))
            .unwrap_or_default();
        let line = format!("\n• {} <@{}>{note}", describe(e, lang), e.added_by);
        let rest = evidence.len() - n;
        let more = match lang {
            Lang::En => format!("\n… and {rest} more"),
            Lang::Ja => format!("\n…ほか {rest} 件"),
        };
        if text.chars().count() + line.chars().count() + more.chars().count() > max_chars {
            text.push_str(&more);
            break;
        }
        text.push_str(&line);
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::limits;
    use crate::domain::evidence::MAX_PER_ITEM;

    fn evidence(n: usize, url: &str) -> Evidence {
        Evidence {
            id: n as i64,
            team_id: "T1".into(),
            customer_id: 1,
            item_key: "1.1.1".into(),
            kind: if n.is_multiple_of(2) {
                EvidenceKind::Link
            } else {
                EvidenceKind::File
            },
            url: url.into(),
            file_id: (n % 2 == 1).then(|| format!("F{n}")),
            file_name: (n % 2 == 1).then(|| "<!channel> ".repeat(40)),
            note: Some("ノート".repeat(400)),
            added_by: "U0123456789".into(),
            added_at: 0,
        }
    }

    #[test]
    fn the_paperclip_keeps_a_label_within_75_characters() {
        assert_eq!(paperclip(0), "");
        assert_eq!(paperclip(2), " 📎 2");
        for count in [0, 1, 9, 10, MAX_PER_ITEM, 1000] {
            for label in ["1.1.1 SSO", &"長い項目名&amp;".repeat(20)] {
                let text = with_paperclip(label, count, limits::OPTION_TEXT);
                assert!(text.chars().count() <= limits::OPTION_TEXT, "{text}");
                if count > 0 {
                    assert!(text.ends_with(&format!("📎 {count}")), "{text}");
                } else {
                    assert!(!text.contains('📎'));
                }
            }
        }
    }

    #[test]
    fn the_listing_fits_and_says_how_many_are_left_out() {
        let many: Vec<Evidence> = (0..MAX_PER_ITEM)
            .map(|n| evidence(n, &format!("https://example.com/{}", "x".repeat(2900))))
            .collect();
        for lang in [Lang::En, Lang::Ja] {
            let text = listing(&many, limits::SECTION_TEXT, lang).unwrap();
            assert!(
                text.chars().count() <= limits::SECTION_TEXT,
                "{}",
                text.len()
            );
            assert!(text.contains(lang.pick("more", "ほか")), "{text}");
            assert!(!text.contains("<!channel>"), "{text}");
        }
        assert!(listing(&[], 3000, Lang::En).is_none());
    }
}
