//! A customer being onboarded, and its dedicated channel.

use chrono::NaiveDate;
use unicode_normalization::UnicodeNormalization;

use super::checklist::Tier;
use super::policy::IntakeMode;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub id: i64,
    /// The Slack workspace the customer belongs to; every lookup is scoped by it.
    pub team_id: String,
    pub slug: String,
    pub name: String,
    pub tier: Tier,
    /// `None` until the channel has been created (or while creating it failed).
    pub channel_id: Option<String>,
    /// Why the channel could not be created, for the overview and the CSM.
    pub channel_error: Option<String>,
    pub created_by: String,
    /// Unix milliseconds.
    pub created_at: i64,
    /// The customer's CSM, if someone other than its creator was named.
    pub csm: Option<String>,
    /// When it was archived (Unix ms): its reminders stop until it is unarchived.
    pub archived_at: Option<i64>,
    /// The go-live date the onboarding milestones count from.
    pub golive_on: Option<NaiveDate>,
    /// The kickoff date the plan's `kickoff±Nd` due dates count from.
    pub kickoff_on: Option<NaiveDate>,
    /// Milestone reminders switched off for this customer (their kinds).
    pub reminders_off: Vec<String>,
    /// Which of its messages open a ticket by themselves (`intake=`); `None` follows
    /// the policy's `[intake] mode`. Never `Auto`: that is the policy's.
    pub intake_mode: Option<IntakeMode>,
}

impl Customer {
    /// Who hears about the customer's problems: its CSM, else whoever created it.
    pub fn csm(&self) -> &str {
        self.csm.as_deref().unwrap_or(&self.created_by)
    }

    pub fn is_archived(&self) -> bool {
        self.archived_at.is_some()
    }

    pub fn reminder_on(&self, kind: &str) -> bool {
        !self.reminders_off.iter().any(|k| k == kind)
    }
}

/// A customer name as compared for sameness: two names are the same customer's when
/// their keys are equal, whatever the script. Unicode NFKC (full-width `ＡＣＭＥ` is
/// `ACME`, half-width `ﾐﾔﾋﾞ` is `ミヤビ`), lowercased, normalised again (lowercasing
/// can undo NFKC), with runs of white space (ideographic spaces too) made one space and
/// the ends trimmed.
pub fn name_key(name: &str) -> String {
    let folded: String = name
        .nfkc()
        .collect::<String>()
        .to_lowercase()
        .nfkc()
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::name_key;

    #[test]
    fn names_are_the_same_whatever_their_width_case_or_spacing() {
        for (a, b) in [
            ("株式会社ミヤビ", " 株式会社ミヤビ　"),
            ("株式会社ミヤビ", "株式会社ﾐﾔﾋﾞ"),
            ("Acme Corp", "ＡＣＭＥ　ｃｏｒｐ"),
            ("Acme Corp", "acme   corp"),
            ("㈱ミヤビ", "(株)ミヤビ"),
            ("Ärzte GmbH", "ärzte gmbh"),
        ] {
            assert_eq!(name_key(a), name_key(b), "{a} / {b}");
        }
        for (a, b) in [
            ("株式会社ミヤビ", "株式会社ミヤビ東京"),
            ("Acme", "Acme Corp"),
            ("ミヤビ", "みやび"),
        ] {
            assert_ne!(name_key(a), name_key(b), "{a} / {b}");
        }
    }
}
