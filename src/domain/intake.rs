//! Intake's pure rules: which of a customer's messages open a ticket (not a short
//! acknowledgement, not emoji alone), the priority its words raise it to, its summary
//! (Slack's markup made readable, clipped) and when it was written.

use chrono::{DateTime, Utc};

use super::sla::Priority;

/// A `message` event's subtype that is a person writing (none, a file shared with
/// text, a thread reply also sent to the channel). Joins, leaves, edits
/// (`message_changed`), deletions and bot posts are not.
pub fn is_written_by_a_person(subtype: Option<&str>, bot_id: Option<&str>) -> bool {
    bot_id.is_none_or(str::is_empty)
        && matches!(
            subtype.unwrap_or(""),
            "" | "file_share" | "thread_broadcast"
        )
}

/// When a message was written, from its `ts` (Unix seconds with microseconds): never
/// after `now` (a clock ahead of ours), `now` if the ts does not read.
pub fn written_at(ts: &str, now: DateTime<Utc>) -> DateTime<Utc> {
    let (secs, micros) = ts.split_once('.').unwrap_or((ts, "0"));
    let micros: String = micros
        .chars()
        .chain(std::iter::repeat('0'))
        .take(6)
        .collect();
    let (Ok(secs), Ok(frac)) = (secs.parse::<i64>(), micros.parse::<i64>()) else {
        return now;
    };
    let Some(ms) = secs
        .checked_mul(1000)
        .and_then(|s| s.checked_add(frac / 1000))
    else {
        return now;
    };
    DateTime::from_timestamp_millis(ms).map_or(now, |at| at.min(now))
}

/// Whether `c` draws an emoji (or joins, modifies or varies one).
fn is_emoji_char(c: char) -> bool {
    matches!(u32::from(c),
        0x1F000..=0x1FAFF   // pictographs, emoticons, transport, flags, skin tones
        | 0x2600..=0x27BF   // symbols, dingbats
        | 0x2B00..=0x2BFF   // arrows and stars (⭐)
        | 0x2190..=0x21FF
        | 0x2300..=0x23FF   // ⌚ ⏰
        | 0x25A0..=0x25FF
        | 0x2100..=0x214F   // ™ ℹ
        | 0x203C | 0x2049 | 0x00A9 | 0x00AE | 0x3030 | 0x303D | 0x3297 | 0x3299
        | 0xFE00..=0xFE0F   // variation selectors
        | 0x200D            // zero-width joiner
        | 0x20E3            // keycap
        | 0xE0020..=0xE007F // tags
    )
}

/// The text without its `:shortcode:` emoji.
fn without_shortcodes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(':') {
        let after = &rest[start + 1..];
        match after.find(':') {
            Some(end)
                if end > 0
                    && after[..end]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_+-'".contains(c)) =>
            {
                out.push_str(&rest[..start]);
                out.push(' ');
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str(&rest[..=start]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The letters and digits of `text`, lower-cased, without emoji: what an
/// acknowledgement is compared by ("Thanks!" and "thanks" are the same).
fn letters_of(text: &str) -> String {
    without_shortcodes(text)
        .chars()
        .filter(|c| c.is_alphanumeric() && !is_emoji_char(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether the message is emoji alone (`:+1: :tada:`, 👍🎉), ignoring spaces.
pub fn is_emoji_only(text: &str) -> bool {
    let rest = without_shortcodes(text);
    let mut any = rest.len() != text.len();
    for c in rest.chars() {
        if c.is_whitespace() {
            continue;
        }
        if !is_emoji_char(c) {
            return false;
        }
        any = true;
    }
    any
}

/// Whether the message only acknowledges: one of `acknowledgements`, compared
/// ignoring case, punctuation, spaces and emoji, or emoji alone.
pub fn is_acknowledgement(text: &str, acknowledgements: &[String]) -> bool {
    if is_emoji_only(text) {
        return true;
    }
    let letters = letters_of(text);
    !letters.is_empty() && acknowledgements.iter().any(|a| letters_of(a) == letters)
}

/// Whether `text` (already without markup) opens a ticket: something is said, and
/// it is not only an acknowledgement or punctuation.
pub fn opens_a_ticket(text: &str, acknowledgements: &[String]) -> bool {
    !letters_of(text).is_empty() && !is_acknowledgement(text, acknowledgements)
}

/// Whether a word is matched inside others (Japanese, Chinese: no spaces between
/// words).
fn is_unspaced_script(word: &str) -> bool {
    word.chars().any(|c| {
        matches!(u32::from(c),
            0x3040..=0x30FF     // hiragana, katakana
            | 0x3400..=0x4DBF   // CJK extension A
            | 0x4E00..=0x9FFF   // CJK ideographs
            | 0xF900..=0xFAFF
            | 0xFF66..=0xFF9F) // half-width katakana
    })
}

/// Whether `word` occurs in `text` (both lower-cased) as a whole word: not inside a
/// longer one, except in scripts written without spaces.
fn contains_word(text: &str, word: &str) -> bool {
    if word.is_empty() {
        return false;
    }
    if is_unspaced_script(word) {
        return text.contains(word);
    }
    let is_word_char = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    text.match_indices(word).any(|(at, _)| {
        !is_word_char(text[..at].chars().next_back())
            && !is_word_char(text[at + word.len()..].chars().next())
    })
}

/// The priority of a new ticket: `default`, raised to the highest priority whose
/// words (`[intake.priority_words]`) the text holds; never lowered by them.
pub fn priority_of(text: &str, default: Priority, words: &[(Priority, Vec<String>)]) -> Priority {
    let text = text.to_lowercase();
    words
        .iter()
        .filter(|(_, list)| {
            list.iter()
                .any(|w| contains_word(&text, w.trim().to_lowercase().as_str()))
        })
        .map(|(p, _)| *p)
        .chain([default])
        .min_by_key(|p| p.index())
        .unwrap_or(default)
}

/// Slack's markup made readable: `<@U1|ann>` → `@ann`, `<@U1>` → `@` and the name
/// `name_of` knows (else the id), `<#C1|general>` → `#general`, `<!here>` → `@here`,
/// `<https://x|label>` → `label`, `<https://x>` → the address; `&lt;` `&gt;` `&amp;`
/// back to their characters.
pub fn readable(text: &str, name_of: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('>') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        out.push_str(&markup(&after[..end], name_of));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// One `<…>` of Slack's markup, readable.
fn markup(inner: &str, name_of: &dyn Fn(&str) -> Option<String>) -> String {
    let (target, label) = match inner.split_once('|') {
        Some((t, l)) => (t, Some(l)),
        None => (inner, None),
    };
    if let Some(user) = target.strip_prefix('@') {
        let name = label.map(str::to_string).or_else(|| name_of(user));
        return format!(
            "@{}",
            name.as_deref().unwrap_or(user).trim_start_matches('@')
        );
    }
    if let Some(channel) = target.strip_prefix('#') {
        return format!("#{}", label.unwrap_or(channel));
    }
    if let Some(special) = target.strip_prefix('!') {
        if let Some(label) = label {
            return label.to_string();
        }
        return format!("@{}", special.split('^').next().unwrap_or(special));
    }
    match label {
        Some(label) if !label.trim().is_empty() => label.to_string(),
        _ => target.strip_prefix("mailto:").unwrap_or(target).to_string(),
    }
}

/// The text without the mentions it starts with (`<@U0APP> exports fail` →
/// `exports fail`): the app's own name is no part of what a mention asks.
pub fn without_leading_mentions(text: &str) -> &str {
    let mut rest = text.trim_start();
    while rest.starts_with("<@")
        && let Some(end) = rest.find('>')
    {
        rest = rest[end + 1..].trim_start();
    }
    rest
}

/// A ticket's summary from a message: readable, on one line, clipped to `limit`
/// characters (with an ellipsis).
pub fn summary_of(text: &str, name_of: &dyn Fn(&str) -> Option<String>, limit: usize) -> String {
    let one_line = readable(text, name_of)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if one_line.chars().count() <= limit {
        return one_line;
    }
    let mut clipped: String = one_line.chars().take(limit.saturating_sub(1)).collect();
    clipped.push('…');
    clipped
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn defaults() -> Vec<String> {
        crate::domain::policy::Intake::default().acknowledgements
    }

    fn nobody(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn short_acknowledgements_and_emoji_open_nothing() {
        let acks = defaults();
        for text in [
            "thanks",
            "Thanks!",
            "THANK YOU.",
            "thank  you :pray:",
            "ok",
            "OK 👍",
            "ありがとう！",
            "了解です".trim_end_matches("です"),
            ":+1: :tada:",
            "👍🎉",
            "👍🏽",
            "  ",
            "!!!",
            "",
        ] {
            assert!(!opens_a_ticket(text, &acks), "{text:?}");
        }
        for text in [
            "our SSO is down",
            "thanks, but the export still fails",
            "ok so the login page is blank",
            "ログインできません",
            ":warning: exports fail",
        ] {
            assert!(opens_a_ticket(text, &acks), "{text:?}");
        }
    }

    #[test]
    fn emoji_only_is_emoji_and_spaces_only() {
        assert!(is_emoji_only(":+1: :tada:"));
        assert!(is_emoji_only("❤️"));
        assert!(is_emoji_only("👨‍👩‍👧"));
        assert!(!is_emoji_only("a :+1:"));
        assert!(!is_emoji_only("time: 10:30"));
        assert!(!is_emoji_only(""));
    }

    #[test]
    fn only_persons_writing_count() {
        assert!(is_written_by_a_person(None, None));
        assert!(is_written_by_a_person(Some("file_share"), None));
        assert!(is_written_by_a_person(Some("thread_broadcast"), Some("")));
        for subtype in [
            "channel_join",
            "channel_leave",
            "message_changed",
            "message_deleted",
            "bot_message",
        ] {
            assert!(!is_written_by_a_person(Some(subtype), None), "{subtype}");
        }
        assert!(!is_written_by_a_person(None, Some("B1")));
    }

    #[test]
    fn words_raise_the_priority_as_whole_words_japanese_inside_words() {
        let words = vec![
            (Priority::P0, vec!["down".to_string(), "停止".to_string()]),
            (
                Priority::P1,
                vec!["urgent".to_string(), "data loss".to_string()],
            ),
        ];
        let p = |t: &str| priority_of(t, Priority::P2, &words);
        assert_eq!(p("Our SSO is DOWN!"), Priority::P0);
        assert_eq!(p("downtime planned"), Priority::P2, "not inside a word");
        assert_eq!(p("Urgent: export"), Priority::P1);
        assert_eq!(p("urgent, everything is down"), Priority::P0);
        assert_eq!(p("we see Data Loss"), Priority::P1);
        assert_eq!(p("サービスが停止しました"), Priority::P0);
        assert_eq!(p("a question"), Priority::P2);
        // Never lowered.
        assert_eq!(priority_of("urgent", Priority::P0, &words), Priority::P0);
    }

    #[test]
    fn markup_is_made_readable_and_clipped() {
        let names = |id: &str| (id == "U2").then(|| "bob".to_string());
        assert_eq!(
            summary_of(
                "Hi <@U1> and <@U2>, see <https://x.example/a|the doc> in <#C1|ops>\n<!here> &lt;now&gt; <https://y.example>",
                &names,
                200
            ),
            "Hi @U1 and @bob, see the doc in #ops @here <now> https://y.example"
        );
        assert_eq!(readable("<@U3|ann>", &nobody), "@ann");
        assert_eq!(readable("<!subteam^S1|@support>", &nobody), "@support");
        assert_eq!(readable("<mailto:a@b.c|a@b.c>", &nobody), "a@b.c");
        assert_eq!(readable("a < b", &nobody), "a < b");
        let long = "x".repeat(50);
        let clipped = summary_of(&long, &nobody, 10);
        assert_eq!(clipped.chars().count(), 10);
        assert!(clipped.ends_with('…'));
    }

    #[test]
    fn a_mention_loses_the_names_it_starts_with() {
        assert_eq!(
            without_leading_mentions("<@U0APP> exports fail"),
            "exports fail"
        );
        assert_eq!(
            without_leading_mentions(" <@U1> <@U2|b>  hi <@U3>"),
            "hi <@U3>"
        );
        assert_eq!(without_leading_mentions("<@U1"), "<@U1");
    }

    #[test]
    fn the_time_is_the_messages_never_after_now() {
        let now = crate::time_source::at_ms(1_800_000_000_000);
        assert_eq!(
            written_at("1700000000.123456", now).timestamp_millis(),
            1_700_000_000_123
        );
        assert_eq!(written_at("1900000000.000000", now), now);
        assert_eq!(written_at("nonsense", now), now);
        assert_eq!(written_at("", now), now);
        assert_eq!(
            written_at("1700000000", now).timestamp_millis(),
            1_700_000_000_000
        );
    }

    proptest! {
        #[test]
        fn any_text_gets_a_summary_within_the_limit(text in ".{0,300}", limit in 1usize..100) {
            let summary = summary_of(&text, &nobody, limit);
            prop_assert!(summary.chars().count() <= limit);
            prop_assert!(!summary.contains('\n'));
        }

        #[test]
        fn an_acknowledgement_decorated_is_still_one(
            ack in prop::sample::select(defaults()),
            punct in "[ !.,?～！。]{0,4}",
            upper in any::<bool>(),
        ) {
            let text = if upper { ack.to_uppercase() } else { ack.clone() };
            let text = format!("{punct}{text}{punct}");
            prop_assert!(is_acknowledgement(&text, &defaults()), "{}", text);
            prop_assert!(!opens_a_ticket(&text, &defaults()));
        }

        #[test]
        fn priority_words_never_lower_and_time_never_passes_now(
            text in ".{0,80}", secs in 0i64..4_000_000_000, micros in 0u32..1_000_000,
        ) {
            let words = vec![(Priority::P1, vec!["x".to_string()])];
            prop_assert!(priority_of(&text, Priority::P0, &words) == Priority::P0);
            let now = crate::time_source::at_ms(1_800_000_000_000);
            let ts = format!("{secs}.{micros:06}");
            prop_assert!(written_at(&ts, now) <= now);
        }
    }
}
