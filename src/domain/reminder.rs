//! A reminder as the store keeps it: the row the scheduler fires and the renderers
//! show. Pure data; `store::reminders` reads and writes it.

/// What a reminder is, as planned: the same in a reminder to create
/// (`store::reminders::NewReminder`) and in one stored ([`ReminderRecord`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderPlan {
    pub team_id: String,
    pub customer_id: i64,
    /// `custom`, `item_due`, `digest`, or a milestone (`hypercare`, `qbr`, …).
    pub kind: String,
    /// With a key already present, that reminder is replaced (re-planned) instead.
    pub unique_key: Option<String>,
    pub item_key: Option<String>,
    /// A user for a DM; `None`: the customer's channel.
    pub recipient: Option<String>,
    pub text: String,
    /// The canonical recurrence (`domain::schedule::Recurrence::to_text`); `None`: once.
    pub recurrence: Option<String>,
    /// The IANA zone its wall-clock times are in.
    pub tz: String,
    /// Unix ms; `None`: no end.
    pub until_at: Option<i64>,
}

/// A reminder as stored (times in Unix ms): its plan, and what the store adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderRecord {
    pub id: i64,
    pub plan: ReminderPlan,
    /// `None` once it is done.
    pub next_due_at: Option<i64>,
    /// Times it fired.
    pub occurrence: i64,
    pub status: String,
    pub created_by: String,
    pub created_at: i64,
}

/// A stored reminder reads as its plan (`record.kind`, `record.text`, …): the plan's
/// fields are the reminder's own, kept in one struct so that a reminder to create and
/// one stored are not two lists of the same fields.
impl std::ops::Deref for ReminderRecord {
    type Target = ReminderPlan;

    fn deref(&self) -> &ReminderPlan {
        &self.plan
    }
}
