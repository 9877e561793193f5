//! Customer satisfaction (CSAT) as Slack shows it: the question in a resolved
//! ticket's thread with its three answer buttons, the question once answered, the
//! rating on the ticket card, and the figures of the report and the App Home.
//!
//! The buttons' action_ids are `csat_good`, `csat_okay` and `csat_bad` (every one
//! starts with [`PREFIX`]); their value is the ticket's id. Nothing else is needed to
//! record a click: the ticket says which customer and workspace it is.

use slack_morphism::prelude::*;

use super::{Message, button_text, context, escape_clipped, section, texts};
use crate::domain::csat::{CsatSummary, Rating};
use crate::domain::i18n::Lang;

/// What every CSAT button's action_id starts with.
pub const PREFIX: &str = "csat_";

/// A ticket's summary, as the question quotes it.
const SUMMARY_CHARS: usize = 150;

/// The action_id of the button that answers `rating`.
pub fn action_id(rating: Rating) -> String {
    format!("{PREFIX}{}", rating.as_str())
}

/// The answer a CSAT button's action_id gives, if it is one.
pub fn rating_of_action(action_id: &str) -> Option<Rating> {
    Rating::parse(action_id.strip_prefix(PREFIX)?)
}

/// The answer's name in `lang`.
pub fn label(rating: Rating, lang: Lang) -> &'static str {
    match rating {
        Rating::Good => texts::CSAT_GOOD.get(lang),
        Rating::Okay => texts::CSAT_OKAY.get(lang),
        Rating::Bad => texts::CSAT_BAD.get(lang),
    }
}

fn emoji(rating: Rating) -> &'static str {
    match rating {
        Rating::Good => ":smiley:",
        Rating::Okay => ":neutral_face:",
        Rating::Bad => ":disappointed:",
    }
}

/// What the question is about.
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    pub ticket_id: i64,
    /// `T-3`
    pub label: &'a str,
    /// As typed: escaped and clipped here.
    pub summary: &'a str,
}

/// The question in the ticket's thread: unanswered, the three buttons; answered, the
/// thanks and the answer, and no button left to press.
pub fn question(asked: &Asked<'_>, answered: Option<(Rating, &str)>, lang: Lang) -> Message {
    let ticket = asked.label;
    let summary = escape_clipped(asked.summary, SUMMARY_CHARS);
    match answered {
        None => {
            let text = texts::CSAT_QUESTION.fill(lang, &[("ticket", ticket)]);
            let buttons: Vec<SlackActionBlockElement> = Rating::ALL
                .into_iter()
                .map(|rating| {
                    SlackBlockButtonElement::new(button_text(&format!(
                        "{} {}",
                        emoji(rating),
                        label(rating, lang)
                    )))
                    .with_action_id(action_id(rating).into())
                    .with_value(asked.ticket_id.to_string())
                    .into()
                })
                .collect();
            Message::new(
                text.clone(),
                vec![
                    section(&format!("{text}\n>{summary}")),
                    SlackActionsBlock::new(buttons)
                        .with_block_id(format!("csat:{}", asked.ticket_id).into())
                        .into(),
                ],
            )
        }
        Some((rating, by)) => {
            let text = format!(
                "{} {}",
                texts::CSAT_THANKS
                    .fill(lang, &[("ticket", ticket), ("rating", label(rating, lang))]),
                emoji(rating)
            );
            let by = escape_clipped(by, 40);
            Message::new(
                text.clone(),
                vec![
                    section(&format!("{text}\n>{summary}")),
                    context(&format!("<@{by}>")),
                ],
            )
        }
    }
}

/// The line the ticket card carries once the customer answered.
pub fn on_card(rating: Rating, by: &str, lang: Lang) -> String {
    format!(
        "{}: {} *{}* · <@{}>",
        texts::CSAT_TITLE.get(lang),
        emoji(rating),
        label(rating, lang),
        escape_clipped(by, 40)
    )
}

/// Adds the customer's answer to a rendered ticket card, as a context line before its
/// buttons (a resolved ticket has none, so it is usually last).
pub fn add_to_card(card: &mut Message, rating: Rating, by: &str, lang: Lang) {
    let line = context(&on_card(rating, by, lang));
    let at = card
        .blocks
        .iter()
        .position(|b| matches!(b, SlackBlock::Actions(_)))
        .unwrap_or(card.blocks.len());
    if card.blocks.len() < super::limits::MESSAGE_BLOCKS {
        card.blocks.insert(at, line);
    }
}

/// "66% good (2 of 3 answers)", or "no answers yet".
pub fn summary_text(summary: &CsatSummary, lang: Lang) -> String {
    match summary.percent_good() {
        None => texts::CSAT_NO_ANSWERS.get(lang).to_string(),
        Some(percent) => texts::CSAT_SHARE.fill(
            lang,
            &[
                ("percent", &percent.to_string()),
                ("good", &summary.good.to_string()),
                ("answered", &summary.answered.to_string()),
            ],
        ),
    }
}

/// The App Home's line: the last 30 days.
pub fn home_line(summary: &CsatSummary, lang: Lang) -> String {
    format!(
        "{} {}: {}",
        texts::CSAT_TITLE.get(lang),
        lang.pick("(last 30 days)", "（過去 30 日）"),
        summary_text(summary, lang)
    )
}

/// The report's part: one line per priority (P0 … P3).
pub fn report_lines(rows: &[CsatSummary; 4], lang: Lang) -> String {
    let mut lines = vec![format!(
        "*{}* {}",
        texts::CSAT_TITLE.get(lang),
        lang.pick(
            "(answers to tickets opened this month)",
            "（当月起票のチケットへの回答）"
        )
    )];
    for (priority, row) in crate::domain::sla::Priority::ALL.iter().zip(rows) {
        lines.push(format!(
            "*{}* · {}",
            priority.as_str(),
            summary_text(row, lang)
        ));
    }
    lines.join("\n")
}

/// The short answers a click gets where only the clicker sees them.
pub fn staff_refused(lang: Lang) -> Message {
    Message::plain(texts::CSAT_STAFF_REFUSED.get(lang))
}

pub fn already_rated(lang: Lang) -> Message {
    Message::plain(texts::CSAT_ALREADY_RATED.get(lang))
}

pub fn try_again(lang: Lang) -> Message {
    Message::plain(texts::CSAT_TRY_AGAIN.get(lang))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::limits;
    use crate::blocks::texts::{english_run, has_japanese};

    fn check(message: &Message) {
        let v = serde_json::to_value(message).unwrap();
        limits::check_message(&v).unwrap();
        assert!(!message.text.is_empty());
    }

    #[test]
    fn action_ids_start_with_csat_and_read_back() {
        for rating in Rating::ALL {
            let id = action_id(rating);
            assert!(id.starts_with("csat"), "{id}");
            assert_eq!(rating_of_action(&id), Some(rating));
        }
        for other in ["csat_", "csat_great", "ticket_resolve", "good"] {
            assert_eq!(rating_of_action(other), None, "{other}");
        }
    }

    #[test]
    fn the_question_and_its_answer_stay_within_limits_in_both_languages() {
        let worst = "<@U1> *bold* & <!channel> とても長い説明".repeat(500);
        let by = "U".repeat(500);
        let asked = Asked {
            ticket_id: i64::MAX,
            label: "T-9223372036854775807",
            summary: &worst,
        };
        for lang in [Lang::En, Lang::Ja] {
            let open = question(&asked, None, lang);
            check(&open);
            let json = serde_json::to_string(&open.blocks).unwrap();
            for rating in Rating::ALL {
                assert!(json.contains(&action_id(rating)), "{json}");
            }
            assert!(
                json.contains(&i64::MAX.to_string()),
                "the value is the ticket id"
            );
            assert!(!json.contains("<!channel>"), "user text is escaped: {json}");
            for rating in Rating::ALL {
                let answered = question(&asked, Some((rating, &by)), lang);
                check(&answered);
                let json = serde_json::to_string(&answered.blocks).unwrap();
                assert!(!json.contains("csat_"), "no button left: {json}");
                assert!(json.contains(label(rating, lang)), "{json}");
            }
            let mut card = Message::plain("T-1");
            add_to_card(&mut card, Rating::Bad, &by, lang);
            check(&card);
            for m in [staff_refused(lang), already_rated(lang), try_again(lang)] {
                check(&m);
            }
        }
    }

    #[test]
    fn every_text_reads_in_its_own_language() {
        let asked = Asked {
            ticket_id: 3,
            label: "T-3",
            summary: "SSO",
        };
        let rows = [
            CsatSummary {
                answered: 3,
                good: 2,
            },
            CsatSummary::default(),
            CsatSummary::default(),
            CsatSummary {
                answered: 1,
                good: 0,
            },
        ];
        let ja = [
            question(&asked, None, Lang::Ja).text,
            question(&asked, Some((Rating::Good, "U1")), Lang::Ja).text,
            report_lines(&rows, Lang::Ja),
            home_line(&rows[0], Lang::Ja),
            on_card(Rating::Okay, "U1", Lang::Ja),
        ];
        for text in &ja {
            assert!(has_japanese(text), "{text}");
            assert_eq!(english_run(text, 2), None, "{text}");
        }
        let en = [
            question(&asked, None, Lang::En).text,
            report_lines(&rows, Lang::En),
            home_line(&rows[0], Lang::En),
        ];
        for text in &en {
            assert!(!has_japanese(text), "{text}");
        }
        let report = report_lines(&rows, Lang::En);
        assert!(
            report.contains("*P0* · 66% good (2 of 3 answers)"),
            "{report}"
        );
        assert!(report.contains("*P1* · no answers yet"), "{report}");
        assert!(
            report.contains("*P3* · 0% good (0 of 1 answers)"),
            "{report}"
        );
    }
}
