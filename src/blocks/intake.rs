//! What intake posts: the short reply in the customer's thread (the ticket's number
//! and when to expect a first response, in business time), and the line of a card
//! posted away from the customer's message that links back to it.

use super::{Message, context};
use crate::domain::calendar::Calendar;
use crate::domain::i18n::Lang;
use crate::domain::sla::SlaState;
use crate::domain::ticket::Ticket;

/// The reply under the customer's message once it is a ticket. `first_response`:
/// where that target stands now.
pub fn acknowledgement(
    ticket: &Ticket,
    first_response: &SlaState,
    cal: &Calendar,
    lang: Lang,
) -> Message {
    let label = ticket.label();
    let when = match first_response {
        SlaState::DueIn { due, left } => Some(format!(
            "{} {}.",
            lang.pick("Expect a first response", "初回応答の目安："),
            super::ticket::due_text(*due, *left, cal, lang)
        )),
        SlaState::Paused { left } => Some(format!(
            "{} {}.",
            lang.pick("Expect a first response within", "初回応答の目安：",),
            super::ticket::business_time(*left, lang)
        )),
        // Already answered, or late already: the number is what helps.
        SlaState::Met { .. } | SlaState::BreachedBy(_) => None,
    };
    let text = match lang {
        Lang::En => format!(
            ":ticket: Thanks, we have this as *{label}*.{}",
            when.map(|w| format!(" {w}")).unwrap_or_default()
        ),
        Lang::Ja => format!(
            ":ticket: ありがとうございます。*{label}* として受け付けました。{}",
            when.unwrap_or_default()
        ),
    };
    Message::plain(text)
}

/// The line under a card posted in the internal channel: a link to the customer's
/// message it was made from.
pub fn link_to_message(permalink: &str, lang: Lang) -> super::SlackBlock {
    context(&format!(
        "<{permalink}|{}>",
        lang.pick("The customer's message", "顧客のメッセージ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::Policy;
    use crate::domain::sla::{Priority, Target};

    #[test]
    fn the_reply_names_the_ticket_and_the_first_response_in_both_languages() {
        let policy = Policy::default();
        let cal = policy.calendar(crate::domain::checklist::Tier::Standard);
        let at = crate::time_source::at_ms(1_800_000_000_000);
        let ticket = Ticket::new("T1", 1, "C1", Priority::P2, "SSO down", "U1", at);
        let state = ticket.sla_state(&policy, &cal, Target::FirstResponse, at);
        for lang in [Lang::En, Lang::Ja] {
            let shown =
                serde_json::to_string(&acknowledgement(&ticket, &state, &cal, lang)).unwrap();
            assert!(shown.contains(&ticket.label()), "{shown}");
            if matches!(state, SlaState::DueIn { .. }) {
                assert!(shown.contains("<!date^"), "{shown}");
            }
        }
        let ja = acknowledgement(&ticket, &state, &cal, Lang::Ja).text;
        assert!(ja.contains("受け付けました"), "{ja}");
    }
}
