//! The audit log's records: who changed what (before and after), when and where it
//! came from. Pure data; the store appends and reads them (`store::audit`), the
//! renderers show them (`blocks::audit`).

use serde::Serialize;
use serde_json::Value;

/// Where a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A slash command.
    Command,
    /// A button, checkbox or menu in a message or the App Home.
    Button,
    /// A modal's submission.
    Modal,
    /// An Events API event (a thread reply).
    Event,
    /// The scheduler (escalations, reminders, retention).
    Scheduler,
    /// The process itself at start (a changed policy).
    Start,
    /// The OAuth install flow.
    Install,
    /// A command line subcommand (`readiness rotate-key`).
    Cli,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Command => "command",
            Source::Button => "button",
            Source::Modal => "modal",
            Source::Event => "event",
            Source::Scheduler => "scheduler",
            Source::Start => "start",
            Source::Install => "install",
            Source::Cli => "cli",
        }
    }
}

/// Who made a change, and through what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor<'a> {
    /// A Slack user id, or `scheduler`.
    pub user: &'a str,
    pub source: Source,
}

impl<'a> Actor<'a> {
    pub fn new(user: &'a str, source: Source) -> Self {
        Actor { user, source }
    }

    pub fn scheduler() -> Actor<'static> {
        Actor {
            user: "scheduler",
            source: Source::Scheduler,
        }
    }

    /// An entry by this actor.
    pub fn entry(
        &self,
        team_id: &str,
        customer_id: Option<i64>,
        action: &str,
        subject: &str,
        at: i64,
    ) -> AuditEntry {
        AuditEntry {
            team_id: team_id.to_string(),
            customer_id,
            actor: self.user.to_string(),
            source: self.source,
            action: action.to_string(),
            subject: subject.to_string(),
            before: None,
            after: None,
            at,
        }
    }
}

/// One change, to append.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub team_id: String,
    pub customer_id: Option<i64>,
    pub actor: String,
    pub source: Source,
    /// `item.ticked`, `ticket.opened`, `reminder.cancelled`, …
    pub action: String,
    /// What it is about: an item key, `T-4`, a customer's slug, a reminder's id.
    pub subject: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// Unix milliseconds.
    pub at: i64,
}

impl AuditEntry {
    pub fn with(mut self, before: Option<Value>, after: Option<Value>) -> Self {
        self.before = before;
        self.after = after;
        self
    }
}

/// An entry as stored, for `/readiness audit` and the export.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    pub id: i64,
    pub team_id: String,
    pub customer_id: Option<i64>,
    pub actor: String,
    pub source: String,
    pub action: String,
    pub subject: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// Unix milliseconds.
    pub at: i64,
}
