//! `/readiness audit`: the newest audit entries, one line each.

use std::collections::HashMap;

use super::{Message, clip, context, escape, escape_clipped, limits, section};
use crate::domain::audit::AuditRecord;
use crate::domain::i18n::Lang;

/// Characters of a change summary, escaped, in an entry's line.
const SUMMARY_CHARS: usize = 1000;

/// The most entries shown; the export has them all.
pub const SHOWN: usize = 40;

/// What changed, in a few words: the fields whose value differs.
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
            let old = before.get(k).map(short).unwrap_or_default();
            format!("{k}: {old} → {}", short(v))
        })
        .collect();
    changed.sort();
    changed.join(", ")
}

fn short(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "—".into(),
        serde_json::Value::String(s) => clip(s, 40),
        other => clip(&other.to_string(), 40),
    }
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
        let secs = e.at / 1000;
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
            format!(" — {}", escape_clipped(&summary, SUMMARY_CHARS))
        };
        let line = format!(
            "• <!date^{secs}^{{date_num}} {{time_secs}}|{secs}> {who} ({}) `{}` {}{customer}{summary}\n",
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
