//! A reminder as the store keeps it: the row the scheduler fires and the renderers
//! show. Pure data; `store::reminders` reads and writes it.

/// A reminder as stored (times in Unix ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderRecord {
    pub id: i64,
    pub team_id: String,
    pub customer_id: i64,
    /// `custom`, `item_due`, `digest`, or a milestone (`hypercare`, `qbr`, …).
    pub kind: String,
    pub unique_key: Option<String>,
    pub item_key: Option<String>,
    /// A user for a DM; `None`: the customer's channel.
    pub recipient: Option<String>,
    pub text: String,
    /// The canonical recurrence (`domain::schedule::Recurrence::to_text`); `None`: once.
    pub recurrence: Option<String>,
    /// The IANA zone its wall-clock times are in.
    pub tz: String,
    pub until_at: Option<i64>,
    pub next_due_at: Option<i64>,
    /// Times it fired.
    pub occurrence: i64,
    pub status: String,
    pub created_by: String,
    pub created_at: i64,
}
