//! `readiness export-audit`: the audit log, oldest first, as JSON lines or CSV, for a
//! SIEM. It walks the log a page at a time, so memory stays flat however long it is.

use std::io::Write;

use chrono::{DateTime, NaiveDate, Utc};

use crate::config::AuditFormat;
use crate::domain::report::csv_field;
use crate::store::Store;
use crate::store::audit::AuditRecord;

/// Entries read per page.
const PAGE: i64 = 1000;

/// `YYYY-MM-DD` (midnight UTC) or an RFC 3339 time, as Unix ms.
pub fn parse_since(text: &str) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text.trim()) {
        return Some(t.timestamp_millis());
    }
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .ok()
        .map(|d| {
            d.and_time(chrono::NaiveTime::MIN)
                .and_utc()
                .timestamp_millis()
        })
}

const CSV_HEADER: &str = "id,at,team_id,customer_id,actor,source,action,subject,before,after";

fn csv_line(e: &AuditRecord) -> String {
    let json =
        |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
    [
        e.id.to_string(),
        at(e.at),
        e.team_id.clone(),
        e.customer_id.map(|c| c.to_string()).unwrap_or_default(),
        e.actor.clone(),
        e.source.clone(),
        e.action.clone(),
        e.subject.clone(),
        json(&e.before),
        json(&e.after),
    ]
    .iter()
    .map(|f| csv_field(f))
    .collect::<Vec<_>>()
    .join(",")
}

fn at(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// Writes every entry at or after `since_ms` to `out`; returns how many.
pub async fn export(
    store: &Store,
    since_ms: i64,
    format: AuditFormat,
    out: &mut impl Write,
) -> anyhow::Result<u64> {
    if format == AuditFormat::Csv {
        writeln!(out, "{CSV_HEADER}")?;
    }
    let mut after_id = 0;
    let mut count = 0;
    loop {
        let page = store.audit_page(since_ms, after_id, PAGE).await?;
        for e in &page {
            match format {
                AuditFormat::Jsonl => {
                    let mut value = serde_json::to_value(e)?;
                    value["at"] = serde_json::Value::String(at(e.at));
                    writeln!(out, "{value}")?;
                }
                AuditFormat::Csv => writeln!(out, "{}", csv_line(e))?,
            }
        }
        count += page.len() as u64;
        match page.last() {
            Some(last) if page.len() as i64 == PAGE => after_id = last.id,
            _ => break,
        }
    }
    out.flush()?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_date_or_a_time() {
        assert_eq!(parse_since("2026-11-25"), Some(1_795_564_800_000));
        assert_eq!(
            parse_since("2026-11-25T09:00:00+09:00"),
            Some(1_795_564_800_000)
        );
        assert_eq!(parse_since("yesterday"), None);
    }

    #[test]
    fn csv_lines_quote_json_and_text() {
        let e = AuditRecord {
            id: 7,
            team_id: "T1".into(),
            customer_id: Some(3),
            actor: "U1".into(),
            source: "button".into(),
            action: "item.ticked".into(),
            subject: "1.1.2".into(),
            before: Some(serde_json::json!({"done": false})),
            after: Some(serde_json::json!({"done": true})),
            at: 1_795_564_800_000,
        };
        assert_eq!(
            csv_line(&e),
            r#"7,2026-11-25T00:00:00.000Z,T1,3,U1,button,item.ticked,1.1.2,"{""done"":false}","{""done"":true}""#
        );
    }
}
