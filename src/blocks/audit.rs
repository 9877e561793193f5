//! `/readiness audit`: the newest audit entries, one line each.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{Message, clip, clip_mrkdwn, context, escape, limits, section};
use crate::domain::audit::AuditRecord;
use crate::domain::i18n::Lang;

/// Characters of a change summary, escaped, in an entry's line.
const SUMMARY_CHARS: usize = 1000;

/// The most entries shown; the export has them all.
pub const SHOWN: usize = 40;

/// What changed, in a few words: the fields whose value differs, as mrkdwn (values
/// escaped). A value that is a moment (an RFC 3339 time, or the Unix ms of a `…_at`
/// field) is shown as the line's own time is, a date token, so that every time in a
/// line reads in one zone and one format.
pub fn change_summary(entry: &AuditRecord) -> String {
    let (Some(serde_json::Value::Object(before)), Some(serde_json::Value::Object(after))) =
        (&entry.before, &entry.after)
    else {
        return String::new();
    };
    let mut changed: Vec<String> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(v))
        .map(|(k, v)| {
            let old = before.get(k).map(|old| short(k, old)).unwrap_or_default();
            format!("{}: {old} → {}", escape(&clip(k, 40)), short(k, v))
        })
        .collect();
    changed.sort();
    changed.join(", ")
}

/// A value as mrkdwn: a moment as a date token, anything else escaped and cut.
fn short(key: &str, v: &serde_json::Value) -> String {
    if let Some(at) = moment(key, v) {
        return time_token(at);
    }
    match v {
        serde_json::Value::Null => "—".into(),
        serde_json::Value::String(s) => escape(&clip(s, 40)),
        other => escape(&clip(&other.to_string(), 40)),
    }
}

/// The moment a value names, if it names one.
fn moment(key: &str, v: &serde_json::Value) -> Option<DateTime<Utc>> {
    match v {
        serde_json::Value::String(s) => DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        serde_json::Value::Number(n) if key.ends_with("_at") => {
            n.as_i64().and_then(DateTime::from_timestamp_millis)
        }
        _ => None,
    }
}

/// A time in an audit line: Slack shows it in the reader's zone; the fallback (for
/// clients that cannot) is UTC, said as such.
fn time_token(at: DateTime<Utc>) -> String {
    format!(
        "<!date^{}^{{date_num}} {{time_secs}}|{}>",
        at.timestamp(),
        at.format("%Y-%m-%d %H:%M:%S UTC")
    )
}

/// The entries, newest first, with the customer names by id.
pub fn recent(entries: &[AuditRecord], names: &HashMap<i64, String>, lang: Lang) -> Message {
    if entries.is_empty() {
        return Message::plain(lang.pick(
            "No audit entries in that period.",
            "その期間の監査ログはありません。",
        ));
    }
    let mut blocks = vec![section(&format!(
        "*{}* ({}{})",
        lang.pick("Audit log, newest first", "監査ログ（新しい順）"),
        entries.len().min(SHOWN),
        if entries.len() > SHOWN { "+" } else { "" }
    ))];
    let mut text = String::new();
    for e in entries.iter().take(SHOWN) {
        let at = DateTime::from_timestamp_millis(e.at).unwrap_or_default();
        let customer = e
            .customer_id
            .and_then(|id| names.get(&id))
            .map(|n| format!(" · {}", escape(&clip(n, 40))))
            .unwrap_or_default();
        let who = if e.actor.starts_with(['U', 'W']) {
            format!("<@{}>", e.actor)
        } else {
            format!("`{}`", e.actor)
        };
        let summary = change_summary(e);
        let summary = if summary.is_empty() {
            String::new()
        } else {
            format!(" — {}", clip_mrkdwn(&summary, SUMMARY_CHARS))
        };
        let line = format!(
            "• {} {who} ({}) `{}` {}{customer}{summary}\n",
            time_token(at),
            e.source,
            e.action,
            escape(&clip(&e.subject, 60)),
        );
        if !text.is_empty() && text.chars().count() + line.chars().count() > limits::SECTION_TEXT {
            blocks.push(section(&text));
            text.clear();
        }
        text.push_str(&line);
    }
    if !text.is_empty() {
        blocks.push(section(&text));
    }
    blocks.push(context(lang.pick(
        "Everything, for a SIEM: `readiness export-audit --since 2026-01-01 --format jsonl`.",
        "すべてを SIEM へ：`readiness export-audit --since 2026-01-01 --format jsonl`",
    )));
    Message::new(format!("{} audit entries", entries.len()), blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: i64) -> AuditRecord {
        AuditRecord {
            id: i,
            team_id: "T1".into(),
            customer_id: Some(1),
            actor: "U1".into(),
            source: "button".into(),
            action: "item.changed".into(),
            subject: "1.1.2".into(),
            before: Some(serde_json::json!({"assignee": null, "note": "x"})),
            after: Some(serde_json::json!({"assignee": "U2", "note": "x"})),
            at: 1_800_000_000_000 + i,
        }
    }

    #[test]
    fn every_time_in_a_line_reads_in_one_zone_and_format() {
        let mut e = entry(0);
        e.before = Some(serde_json::json!({"responded": null, "archived_at": null}));
        e.after = Some(serde_json::json!({
            "responded": "2027-01-15T08:00:00+00:00",
            "archived_at": 1_800_000_000_000i64,
        }));
        let m = recent(&[e], &HashMap::new(), Lang::En);
        let line = m
            .blocks
            .iter()
            .map(|b| serde_json::to_string(b).unwrap())
            .collect::<String>();
        // The line's own time and both changed values, each a date token alike.
        assert_eq!(line.matches("<!date^").count(), 3, "{line}");
        assert!(
            line.contains("<!date^1800000000^{date_num} {time_secs}|2027-01-15 08:00:00 UTC>"),
            "{line}"
        );
        assert!(line.contains("<!date^1800000000^"), "{line}");
        assert!(!line.contains("+00:00"), "{line}");
        assert!(!line.contains("1800000000000"), "{line}");
    }

    #[test]
    fn entries_render_what_changed_and_fit_slack() {
        assert_eq!(change_summary(&entry(1)), "assignee: — → U2");
        let names = HashMap::from([(1, "Acme".to_string())]);
        let entries: Vec<AuditRecord> = (0..500).map(entry).collect();
        for lang in [Lang::En, Lang::Ja] {
            let m = recent(&entries, &names, lang);
            limits::check_message(&serde_json::to_value(&m).unwrap()).unwrap();
            let m = recent(&[], &names, lang);
            limits::check_message(&serde_json::to_value(&m).unwrap()).unwrap();
        }
    }
}
