//! The policy part of the configuration file: SLA targets per priority, support hours
//! per tier and escalations. Every key is optional and defaults to the seed's value.
//!
//! The file also holds the process settings, which `config` reads; the policy is the
//! `sla`, `tiers`, `escalation`, `reminders` and `retention` tables.
//! Inside those, anything unknown or malformed is refused with the key that holds it:
//! a typo must not silently fall back to a default target.

use chrono::{Duration, NaiveTime};
use chrono_tz::Tz;

use super::calendar::{Calendar, Holidays, Hours, parse_date};
use super::checklist::Tier;
use super::sla::{Priority, Share, Target};

/// Targets and repeats are bounded so that every computation on them stays quick.
const LONGEST_TARGET_DAYS: i64 = 366;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("the policy file is not valid TOML: {0}")]
    Toml(String),
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
}

fn invalid(key: impl Into<String>, message: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

/// A key its table does not have; the message names the ones it does (`known`).
fn unknown_key(key: &str, known: &str) -> PolicyError {
    invalid(key, format!("unknown key ({known})"))
}

/// Reads each entry of the table at `section` with `read`, given the entry's name,
/// value and full key (`section.name`). `read` answers false for a name it does not
/// know, which is refused with the names it does (`known`).
fn read_entries(
    table: &toml::Table,
    section: &str,
    known: &str,
    mut read: impl FnMut(&str, &toml::Value, &str) -> Result<bool, PolicyError>,
) -> Result<(), PolicyError> {
    for (name, value) in table {
        let key = format!("{section}.{name}");
        if !read(name, value, &key)? {
            return Err(unknown_key(&key, known));
        }
    }
    Ok(())
}

/// The two targets of one priority, in business time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    pub first_response: Duration,
    pub resolution: Duration,
    /// Staff's answer to each new message of the customer in a ticket's thread, once
    /// staff has answered before (`[sla.Pn] next_response`).
    pub next_response: Duration,
}

impl Targets {
    pub fn get(&self, target: Target) -> Duration {
        match target {
            Target::FirstResponse => self.first_response,
            Target::Resolution => self.resolution,
            Target::NextResponse => self.next_response,
        }
    }
}

/// A tier's support hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierHours {
    pub hours: Hours,
    pub timezone: Tz,
    pub holidays: Holidays,
    /// The availability target the tier promises ("99.9%"), shown in reports.
    pub availability: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    /// Shares of a target at which reminders go out, ascending.
    pub at: Vec<Share>,
    /// After a breach, a reminder every this long (business time); zero for none.
    pub repeat_after_breach: Duration,
    /// Where escalations go instead of a customer channel shared with the customer.
    pub internal_channel: Option<String>,
    /// Who is named at each level, per priority (indexed by `Priority::index`): Slack
    /// mention strings. Empty: the ticket's assignee or reporter (decided elsewhere).
    pub paths: [Vec<String>; 4],
    /// The workspace whose people and channel `paths` and `internal_channel` name.
    /// `None`: every workspace's (one workspace's token, or no names set).
    pub workspace: Option<String>,
}

impl Escalation {
    /// Whether the file's paths and internal channel are for `team`: they name people
    /// and a channel of one workspace only.
    pub fn applies_to(&self, team: &str) -> bool {
        self.workspace.as_deref().is_none_or(|w| w == team)
    }

    /// Whether the file names any people or channel.
    pub fn names_anyone(&self) -> bool {
        self.internal_channel.is_some() || self.paths.iter().any(|p| !p.is_empty())
    }
}

impl Default for Escalation {
    fn default() -> Self {
        Escalation {
            at: [500, 800, 1000].map(Share::from_permille).to_vec(),
            repeat_after_breach: Duration::hours(1),
            internal_channel: None,
            paths: Default::default(),
            workspace: None,
        }
    }
}

/// Who an escalation path names at `level`. Levels past the end of the path (the
/// repeats after a breach) name its last entry; `None` for an empty path.
pub fn path_step(path: &[String], level: u32) -> Option<&str> {
    let index = usize::try_from(level)
        .unwrap_or(usize::MAX)
        .min(path.len().checked_sub(1)?);
    path.get(index).map(String::as_str)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Indexed by `Priority::index`; see `Policy::targets`.
    pub sla: [Targets; 4],
    /// Indexed by `tier_index`; see `Policy::tier`.
    pub tiers: [TierHours; 3],
    pub escalation: Escalation,
    pub reminders: Reminders,
    pub retention: Retention,
    pub intake: Intake,
}

/// Which of a customer's messages open a ticket by themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntakeMode {
    /// `all` in a channel shared with the customer, `reaction` elsewhere (the policy's
    /// default only; a customer's own setting is one of the others).
    Auto,
    /// Every top-level message of a customer-side person in the customer's channel.
    All,
    /// The intake emoji, added by staff to a message.
    Reaction,
    /// A message that mentions the app.
    Mention,
    /// None: tickets are opened by hand only.
    Off,
}

impl IntakeMode {
    pub const ALL: [IntakeMode; 5] = [
        IntakeMode::Auto,
        IntakeMode::All,
        IntakeMode::Reaction,
        IntakeMode::Mention,
        IntakeMode::Off,
    ];

    pub fn parse(text: &str) -> Option<IntakeMode> {
        let text = text.trim().to_ascii_lowercase();
        IntakeMode::ALL.into_iter().find(|m| m.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            IntakeMode::Auto => "auto",
            IntakeMode::All => "all",
            IntakeMode::Reaction => "reaction",
            IntakeMode::Mention => "mention",
            IntakeMode::Off => "off",
        }
    }

    /// The mode that applies in a channel: `Auto` decided by whether the channel is
    /// shared with the customer.
    pub fn resolved(self, shared_with_customer: bool) -> IntakeMode {
        match self {
            IntakeMode::Auto if shared_with_customer => IntakeMode::All,
            IntakeMode::Auto => IntakeMode::Reaction,
            mode => mode,
        }
    }
}

/// How a new ticket from intake gets its assignee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assign {
    /// Unassigned, as a ticket opened by hand.
    Nobody,
    /// To the member of this Slack user group (its id, `S…`) with the fewest open
    /// tickets; ties to the one assigned longest ago.
    RoundRobin { group: String },
}

/// The `[intake]` table: how a customer's own messages become tickets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intake {
    /// The default of every customer without its own (`/readiness customer … intake=`).
    pub mode: IntakeMode,
    /// The reaction that marks a message as a ticket (and, added by staff, makes one),
    /// without colons: `ticket`.
    pub emoji: String,
    /// The reaction by which staff resolves a ticket on the customer's message.
    pub resolve_emoji: String,
    pub default_priority: Priority,
    /// Words that raise a new ticket's priority (`[intake.priority_words] P1 = [...]`),
    /// highest priority first; matched as whole words, ignoring case.
    pub priority_words: Vec<(Priority, Vec<String>)>,
    /// Messages that are only an acknowledgement ("thanks") and open nothing; compared
    /// ignoring case, punctuation and spaces. Emoji-only messages are always one.
    pub acknowledgements: Vec<String>,
    /// Whether the app replies in the message's thread with the ticket's number and
    /// when to expect a first response.
    pub acknowledge: bool,
    /// A customer writing in the thread of a ticket resolved less than this ago
    /// reopens it; later, a new message is a new ticket.
    pub reopen_within: Duration,
    /// Whether the customer is asked for a rating when a ticket is resolved.
    pub csat: bool,
    pub assign: Assign,
}

impl Default for Intake {
    fn default() -> Self {
        Intake {
            mode: IntakeMode::Auto,
            emoji: "ticket".into(),
            resolve_emoji: "white_check_mark".into(),
            default_priority: Priority::P2,
            priority_words: Vec::new(),
            acknowledgements: ["thanks", "thank you", "ok", "ありがとう", "了解"]
                .map(String::from)
                .to_vec(),
            acknowledge: true,
            reopen_within: Duration::days(3),
            csat: true,
            assign: Assign::Nobody,
        }
    }
}

/// The onboarding milestones a go-live date starts (the seed's hypercare and review
/// cadence), each switchable per customer.
pub const MILESTONES: [&str; 5] = [
    "hypercare",
    "qbr",
    "security_review",
    "monthly_report",
    "yearly_report",
];

/// When reminders go out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminders {
    /// The assignee hears about an item on the morning it is due, at this time in their
    /// own zone.
    pub item_due_at: NaiveTime,
    /// The daily digest of overdue items, in the customer's zone.
    pub digest_at: NaiveTime,
    /// Hypercare check-ins and review reminders, in the customer's zone.
    pub milestone_at: NaiveTime,
    /// How long hypercare lasts after go-live (the seed: 2 weeks).
    pub hypercare: Duration,
    /// The milestones a go-live starts unless a customer switches them off.
    pub milestones: Vec<String>,
    /// Reminders, digests and reports a workspace may post a minute, all channels
    /// together: Slack allows "several hundred"; the rest is left for tickets.
    pub posts_per_minute: u32,
}

impl Default for Reminders {
    fn default() -> Self {
        let nine = NaiveTime::from_hms_opt(9, 0, 0).expect("a valid time");
        Reminders {
            item_due_at: nine,
            digest_at: nine,
            milestone_at: NaiveTime::from_hms_opt(10, 0, 0).expect("a valid time"),
            hypercare: Duration::weeks(2),
            milestones: MILESTONES.iter().map(|m| m.to_string()).collect(),
            posts_per_minute: 240,
        }
    }
}

/// How long records are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Audit entries older than this are purged (default 400 days; at least the
    /// seed's 90, which the database enforces too).
    pub audit: Duration,
    /// A workspace's data is kept this long after it uninstalls the app, then purged
    /// (default 30 days; the audit log keeps to `audit`).
    pub uninstalled: Duration,
}

/// The seed asks for audit logs kept at least this long.
pub const MIN_AUDIT_DAYS: i64 = 90;

impl Default for Retention {
    fn default() -> Self {
        Retention {
            audit: Duration::days(400),
            uninstalled: Duration::days(30),
        }
    }
}

fn tier_index(tier: Tier) -> usize {
    match tier {
        Tier::Standard => 0,
        Tier::Professional => 1,
        Tier::Enterprise => 2,
    }
}

/// The seed's values (docs/configuration.md lists them in its policy example).
impl Default for Policy {
    fn default() -> Self {
        let targets = |first_response, resolution, next_response| Targets {
            first_response: Duration::minutes(first_response),
            resolution: Duration::minutes(resolution),
            next_response: Duration::minutes(next_response),
        };
        let tier = |hours: &str, availability: &str| TierHours {
            hours: Hours::parse(hours).expect("the seed's hours parse"),
            timezone: chrono_tz::Asia::Tokyo,
            holidays: Holidays::japan(),
            availability: availability.to_string(),
        };
        Policy {
            sla: [
                targets(15, 4 * 60, 30),
                targets(60, 8 * 60, 2 * 60),
                targets(4 * 60, 24 * 60, 8 * 60),
                targets(8 * 60, 72 * 60, 24 * 60),
            ],
            tiers: [
                tier("Mon-Fri 09:00-18:00", "99.5%"),
                tier("Mon-Fri 09:00-21:00", "99.9%"),
                tier("24/7", "99.95%"),
            ],
            escalation: Escalation::default(),
            reminders: Reminders::default(),
            retention: Retention::default(),
            intake: Intake::default(),
        }
    }
}

impl Policy {
    pub fn targets(&self, priority: Priority) -> Targets {
        self.sla[priority.index()]
    }

    pub fn target(&self, priority: Priority, target: Target) -> Duration {
        self.targets(priority).get(target)
    }

    pub fn tier(&self, tier: Tier) -> &TierHours {
        &self.tiers[tier_index(tier)]
    }

    pub fn calendar(&self, tier: Tier) -> Calendar {
        let hours = self.tier(tier);
        Calendar::new(hours.hours.clone(), hours.timezone, hours.holidays.clone())
    }

    /// Reads the `sla`, `tiers` and `escalation` tables of the configuration file, over
    /// the defaults. Every other top-level key is left to its owner.
    pub fn from_toml_str(text: &str) -> Result<Policy, PolicyError> {
        let file: toml::Table =
            toml::from_str(text).map_err(|e| PolicyError::Toml(e.to_string()))?;
        Policy::from_table(&file)
    }

    /// As `from_toml_str`, for a file its caller has already parsed.
    pub fn from_table(file: &toml::Table) -> Result<Policy, PolicyError> {
        let mut policy = Policy::default();
        if let Some(sla) = file.get("sla") {
            read_sla(&mut policy, table(sla, "sla")?)?;
        }
        if let Some(tiers) = file.get("tiers") {
            read_tiers(&mut policy, table(tiers, "tiers")?)?;
        }
        if let Some(escalation) = file.get("escalation") {
            read_escalation(&mut policy.escalation, table(escalation, "escalation")?)?;
        }
        if let Some(reminders) = file.get("reminders") {
            read_reminders(&mut policy.reminders, table(reminders, "reminders")?)?;
        }
        if let Some(retention) = file.get("retention") {
            read_retention(&mut policy.retention, table(retention, "retention")?)?;
        }
        if let Some(intake) = file.get("intake") {
            read_intake(&mut policy.intake, table(intake, "intake")?)?;
        }
        Ok(policy)
    }
}

fn read_sla(policy: &mut Policy, sla: &toml::Table) -> Result<(), PolicyError> {
    for (name, value) in sla {
        let key = format!("sla.{name}");
        let priority = Priority::parse(name)
            .ok_or_else(|| invalid(&key, "unknown priority (P0, P1, P2, P3)"))?;
        let targets = &mut policy.sla[priority.index()];
        for (name, value) in table(value, &key)? {
            let key = format!("{key}.{name}");
            let slot = match (Target::parse(name), name.as_str()) {
                (Some(Target::FirstResponse), _) => &mut targets.first_response,
                (Some(Target::Resolution), _) => &mut targets.resolution,
                (Some(Target::NextResponse), _) => &mut targets.next_response,
                (None, _) => {
                    return Err(unknown_key(
                        &key,
                        "first_response, resolution, next_response",
                    ));
                }
            };
            let duration = duration(value, &key)?;
            if duration <= Duration::zero() {
                return Err(invalid(&key, "a target must be longer than zero"));
            }
            *slot = duration;
        }
    }
    Ok(())
}

const TIER_KEYS: &str = "hours, timezone, holidays, availability";

fn read_tiers(policy: &mut Policy, tiers: &toml::Table) -> Result<(), PolicyError> {
    for (name, value) in tiers {
        let key = format!("tiers.{name}");
        let tier = Tier::parse(name)
            .ok_or_else(|| invalid(&key, "unknown tier (standard, professional, enterprise)"))?;
        let hours = &mut policy.tiers[tier_index(tier)];
        read_entries(table(value, &key)?, &key, TIER_KEYS, |name, value, key| {
            match name {
                "hours" => {
                    hours.hours = Hours::parse(string(value, key)?)
                        .map_err(|e| invalid(key, e.to_string()))?;
                }
                "timezone" => {
                    let text = string(value, key)?;
                    hours.timezone = text.parse::<Tz>().map_err(|_| {
                        invalid(
                            key,
                            format!(
                                "unknown time zone \"{text}\" (an IANA name such as \"Asia/Tokyo\")"
                            ),
                        )
                    })?;
                }
                "holidays" => hours.holidays = holidays(value, key)?,
                "availability" => hours.availability = string(value, key)?.trim().to_string(),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
    }
    Ok(())
}

const ESCALATION_KEYS: &str = "at, repeat_after_breach, internal_channel, workspace, path";

fn read_escalation(escalation: &mut Escalation, table_: &toml::Table) -> Result<(), PolicyError> {
    read_entries(table_, "escalation", ESCALATION_KEYS, |name, value, key| {
        match name {
            "at" => escalation.at = shares(value, key)?,
            "repeat_after_breach" => {
                let repeat = duration(value, key)?;
                if repeat > Duration::zero() && repeat < Duration::seconds(1) {
                    return Err(invalid(
                        key,
                        "repeat at most once a second, or \"0s\" for never",
                    ));
                }
                escalation.repeat_after_breach = repeat;
            }
            "internal_channel" => {
                let channel = string(value, key)?.trim();
                escalation.internal_channel = (!channel.is_empty()).then(|| channel.to_string());
            }
            "workspace" => {
                let team = string(value, key)?.trim();
                escalation.workspace = (!team.is_empty()).then(|| team.to_string());
            }
            "path" => {
                for (name, value) in table(value, key)? {
                    let key = format!("{key}.{name}");
                    let priority = Priority::parse(name)
                        .ok_or_else(|| invalid(&key, "unknown priority (P0, P1, P2, P3)"))?;
                    escalation.paths[priority.index()] = path(value, &key)?;
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    })
}

const REMINDER_KEYS: &str =
    "item_due_at, digest_at, milestone_at, hypercare, milestones, posts_per_minute";

fn read_reminders(reminders: &mut Reminders, table_: &toml::Table) -> Result<(), PolicyError> {
    read_entries(table_, "reminders", REMINDER_KEYS, |name, value, key| {
        match name {
            "item_due_at" => reminders.item_due_at = time_of_day(value, key)?,
            "digest_at" => reminders.digest_at = time_of_day(value, key)?,
            "milestone_at" => reminders.milestone_at = time_of_day(value, key)?,
            "hypercare" => reminders.hypercare = duration(value, key)?,
            "posts_per_minute" => {
                reminders.posts_per_minute = value
                    .as_integer()
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|n| (1..=60_000).contains(n))
                    .ok_or_else(|| invalid(key, "a whole number of posts a minute, 1 to 60000"))?;
            }
            "milestones" => {
                let mut on = Vec::new();
                for (index, item) in array(value, key)?.iter().enumerate() {
                    let item_key = format!("{key}[{index}]");
                    let kind = string(item, &item_key)?.trim();
                    if !MILESTONES.contains(&kind) {
                        return Err(invalid(
                            &item_key,
                            format!("unknown milestone \"{kind}\" ({})", MILESTONES.join(", ")),
                        ));
                    }
                    on.push(kind.to_string());
                }
                reminders.milestones = on;
            }
            _ => return Ok(false),
        }
        Ok(true)
    })
}

const RETENTION_KEYS: &str = "audit, uninstalled";

fn read_retention(retention: &mut Retention, table_: &toml::Table) -> Result<(), PolicyError> {
    read_entries(table_, "retention", RETENTION_KEYS, |name, value, key| {
        match name {
            "audit" => {
                let text = string(value, key)?;
                let days = humantime::parse_duration(text.trim())
                    .ok()
                    .and_then(|d| Duration::from_std(d).ok())
                    .ok_or_else(|| {
                        invalid(key, format!("bad duration \"{text}\" (e.g. \"400d\")"))
                    })?;
                if days < Duration::days(MIN_AUDIT_DAYS) || days > Duration::days(3660) {
                    return Err(invalid(
                        key,
                        format!(
                            "keep audit entries between {MIN_AUDIT_DAYS} days (the seed's minimum) and 10 years"
                        ),
                    ));
                }
                retention.audit = days;
            }
            "uninstalled" => {
                let text = string(value, key)?;
                let kept = humantime::parse_duration(text.trim())
                    .ok()
                    .and_then(|d| Duration::from_std(d).ok())
                    .filter(|d| *d <= Duration::days(3660))
                    .ok_or_else(|| {
                        invalid(
                            key,
                            format!("bad duration \"{text}\" (e.g. \"30d\", at most 10 years)"),
                        )
                    })?;
                retention.uninstalled = kept;
            }
            _ => return Ok(false),
        }
        Ok(true)
    })
}

const INTAKE_KEYS: &str = "mode, emoji, resolve_emoji, default_priority, priority_words, acknowledgements, acknowledge, csat, reopen_within, assign, assignees";

fn read_intake(intake: &mut Intake, table_: &toml::Table) -> Result<(), PolicyError> {
    read_entries(table_, "intake", INTAKE_KEYS, |name, value, key| {
        match name {
            "mode" => {
                let text = string(value, key)?;
                intake.mode = IntakeMode::parse(text).ok_or_else(|| {
                    invalid(
                        key,
                        format!("unknown mode \"{text}\" (auto, all, reaction, mention, off)"),
                    )
                })?;
            }
            "emoji" => intake.emoji = emoji_name(value, key)?,
            "resolve_emoji" => intake.resolve_emoji = emoji_name(value, key)?,
            "default_priority" => intake.default_priority = priority(value, key)?,
            "priority_words" => {
                let mut words = Vec::new();
                for (name, value) in table(value, key)? {
                    let key = format!("{key}.{name}");
                    let priority = Priority::parse(name)
                        .ok_or_else(|| invalid(&key, "unknown priority (P0, P1, P2, P3)"))?;
                    words.push((priority, words_of(value, &key)?));
                }
                words.sort_by_key(|(priority, _)| *priority);
                intake.priority_words = words;
            }
            "acknowledgements" => intake.acknowledgements = words_of(value, key)?,
            "acknowledge" => intake.acknowledge = boolean(value, key)?,
            "csat" => intake.csat = boolean(value, key)?,
            "reopen_within" => intake.reopen_within = duration(value, key)?,
            "assign" => {
                let text = string(value, key)?.trim();
                match text {
                    "" | "none" => intake.assign = Assign::Nobody,
                    "round-robin" => {
                        let group = table_
                            .get("assignees")
                            .map(|v| string(v, "intake.assignees"))
                            .transpose()?
                            .map(str::trim)
                            .filter(|g| !g.is_empty())
                            .ok_or_else(|| {
                                invalid(
                                    "intake.assignees",
                                    "round-robin needs a user group's id (\"S0123ABCD\")",
                                )
                            })?;
                        intake.assign = Assign::RoundRobin {
                            group: user_group_id(group)
                                .ok_or_else(|| {
                                    invalid(
                                        "intake.assignees",
                                        format!(
                                            "\"{group}\" is not a user group's id (\"S0123ABCD\" or \"<!subteam^S0123ABCD>\")"
                                        ),
                                    )
                                })?
                                .to_string(),
                        };
                    }
                    _ => {
                        return Err(invalid(
                            key,
                            format!("unknown way \"{text}\" (round-robin, none)"),
                        ));
                    }
                }
            }
            // Read with `assign`.
            "assignees" => {}
            _ => return Ok(false),
        }
        Ok(true)
    })
}

/// A user group's id from `S0123` or `<!subteam^S0123>` / `<!subteam^S0123|@name>`.
fn user_group_id(text: &str) -> Option<&str> {
    let id = text
        .strip_prefix("<!subteam^")
        .and_then(|rest| rest.strip_suffix('>'))
        .map_or(text, |inner| inner.split('|').next().unwrap_or(inner));
    (id.starts_with('S') && id.len() > 1 && id.chars().all(|c| c.is_ascii_alphanumeric()))
        .then_some(id)
}

/// An emoji's name, with or without its colons: `ticket`, `:ticket:`.
fn emoji_name(value: &toml::Value, key: &str) -> Result<String, PolicyError> {
    let text = string(value, key)?.trim().trim_matches(':');
    if text.is_empty()
        || !text
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '+' | '\''))
    {
        return Err(invalid(
            key,
            format!("\"{text}\" is not an emoji's name (e.g. \"ticket\")"),
        ));
    }
    Ok(text.to_string())
}

fn priority(value: &toml::Value, key: &str) -> Result<Priority, PolicyError> {
    let text = string(value, key)?;
    Priority::parse(text.trim())
        .ok_or_else(|| invalid(key, format!("unknown priority \"{text}\" (P0, P1, P2, P3)")))
}

fn boolean(value: &toml::Value, key: &str) -> Result<bool, PolicyError> {
    value.as_bool().ok_or_else(|| {
        invalid(
            key,
            format!("expected true or false, found {}", value.type_str()),
        )
    })
}

/// A list of non-empty words or phrases.
fn words_of(value: &toml::Value, key: &str) -> Result<Vec<String>, PolicyError> {
    let mut words = Vec::new();
    for (index, item) in array(value, key)?.iter().enumerate() {
        let item_key = format!("{key}[{index}]");
        let word = string(item, &item_key)?.trim();
        if word.is_empty() {
            return Err(invalid(&item_key, "an empty word"));
        }
        words.push(word.to_string());
    }
    Ok(words)
}

/// "09:00" or "09:00:30", a wall-clock time.
fn time_of_day(value: &toml::Value, key: &str) -> Result<NaiveTime, PolicyError> {
    let text = string(value, key)?.trim();
    NaiveTime::parse_from_str(text, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M"))
        .map_err(|_| invalid(key, format!("bad time \"{text}\" (HH:MM, e.g. \"09:00\")")))
}

fn table<'a>(value: &'a toml::Value, key: &str) -> Result<&'a toml::Table, PolicyError> {
    value.as_table().ok_or_else(|| {
        invalid(
            key,
            format!("expected a table ([{key}]), found {}", value.type_str()),
        )
    })
}

fn string<'a>(value: &'a toml::Value, key: &str) -> Result<&'a str, PolicyError> {
    value.as_str().ok_or_else(|| {
        invalid(
            key,
            format!("expected a string, found {}", value.type_str()),
        )
    })
}

fn array<'a>(value: &'a toml::Value, key: &str) -> Result<&'a [toml::Value], PolicyError> {
    value.as_array().map(Vec::as_slice).ok_or_else(|| {
        invalid(
            key,
            format!("expected an array, found {}", value.type_str()),
        )
    })
}

/// A humantime duration: "15m", "4h", "1h 30m", "2s".
fn duration(value: &toml::Value, key: &str) -> Result<Duration, PolicyError> {
    let text = value.as_str().ok_or_else(|| {
        invalid(
            key,
            format!(
                "expected a duration string such as \"15m\", found {}",
                value.type_str()
            ),
        )
    })?;
    let parsed = humantime::parse_duration(text.trim()).map_err(|e| {
        invalid(
            key,
            format!("bad duration \"{text}\": {e} (e.g. \"15m\", \"4h\", \"1h 30m\")"),
        )
    })?;
    let longest = Duration::days(LONGEST_TARGET_DAYS);
    Duration::from_std(parsed)
        .ok()
        .filter(|d| *d <= longest)
        .ok_or_else(|| {
            invalid(
                key,
                format!("\"{text}\" is too long (at most {LONGEST_TARGET_DAYS} days)"),
            )
        })
}

/// "jp" and dates, quoted ("2026-12-29") or as TOML dates (2026-12-29).
fn holidays(value: &toml::Value, key: &str) -> Result<Holidays, PolicyError> {
    let mut holidays = Holidays::none();
    for (index, item) in array(value, key)?.iter().enumerate() {
        let item_key = format!("{key}[{index}]");
        let text = match item {
            toml::Value::String(text) => text.trim().to_string(),
            toml::Value::Datetime(datetime)
                if datetime.time.is_none() && datetime.offset.is_none() =>
            {
                datetime.to_string()
            }
            other => {
                return Err(invalid(
                    item_key,
                    format!(
                        "expected \"jp\" or a date YYYY-MM-DD, found {}",
                        other.type_str()
                    ),
                ));
            }
        };
        if text.eq_ignore_ascii_case("jp") {
            holidays.japan = true;
        } else {
            let date = parse_date(&text).map_err(|e| invalid(&item_key, e.to_string()))?;
            holidays.dates.insert(date);
        }
    }
    Ok(holidays)
}

/// ["50%", "80%", "100%"]: sorted, duplicates dropped; each in (0%, 1000%].
fn shares(value: &toml::Value, key: &str) -> Result<Vec<Share>, PolicyError> {
    let mut shares = Vec::new();
    for (index, item) in array(value, key)?.iter().enumerate() {
        let item_key = format!("{key}[{index}]");
        let text = string(item, &item_key)?;
        let share = Share::parse(text).ok_or_else(|| {
            invalid(
                &item_key,
                format!("bad share \"{text}\" (e.g. \"50%\" or \"12.5%\")"),
            )
        })?;
        if share.permille() == 0 || share.permille() > 10_000 {
            return Err(invalid(
                &item_key,
                format!("{share} is out of range (above 0%, at most 1000%)"),
            ));
        }
        shares.push(share);
    }
    if shares.is_empty() {
        return Err(invalid(key, "give at least one share, e.g. [\"100%\"]"));
    }
    shares.sort();
    shares.dedup();
    Ok(shares)
}

/// `{ levels = ["<@U1>", "<!subteam^S1>"] }`: Slack mention strings, in order.
fn path(value: &toml::Value, key: &str) -> Result<Vec<String>, PolicyError> {
    let mut levels = Vec::new();
    for (name, value) in table(value, key)? {
        let key = format!("{key}.{name}");
        if name != "levels" {
            return Err(unknown_key(&key, "levels"));
        }
        for (index, item) in array(value, &key)?.iter().enumerate() {
            let item_key = format!("{key}[{index}]");
            let mention = string(item, &item_key)?.trim();
            if mention.is_empty() {
                return Err(invalid(
                    &item_key,
                    "empty; use a mention such as \"<@U0ONCALL>\"",
                ));
            }
            levels.push(mention.to_string());
        }
    }
    Ok(levels)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::tokyo;

    fn error(text: &str) -> String {
        Policy::from_toml_str(text).unwrap_err().to_string()
    }

    #[test]
    fn defaults_are_the_seed() {
        let policy = Policy::default();
        let minutes = |p, t| policy.target(p, t).num_minutes();
        use Priority::*;
        use Target::*;
        assert_eq!(
            [P0, P1, P2, P3].map(|p| (minutes(p, FirstResponse), minutes(p, Resolution))),
            [(15, 240), (60, 480), (240, 1440), (480, 4320)]
        );
        assert_eq!(
            policy.tier(Tier::Standard).hours.to_string(),
            "Mon-Fri 09:00-18:00"
        );
        assert_eq!(
            policy.tier(Tier::Professional).hours.to_string(),
            "Mon-Fri 09:00-21:00"
        );
        assert_eq!(policy.tier(Tier::Enterprise).hours, Hours::Always);
        for tier in [Tier::Standard, Tier::Professional, Tier::Enterprise] {
            assert_eq!(policy.tier(tier).timezone, chrono_tz::Asia::Tokyo);
            assert_eq!(policy.tier(tier).holidays, Holidays::japan());
        }
        let shares: Vec<String> = policy.escalation.at.iter().map(Share::to_string).collect();
        assert_eq!(shares, ["50%", "80%", "100%"]);
        assert_eq!(policy.escalation.repeat_after_breach, Duration::hours(1));
        assert_eq!(policy.escalation.internal_channel, None);
        assert_eq!(Policy::from_toml_str("").unwrap(), policy);
    }

    #[test]
    fn the_example_file_parses_beside_other_settings() {
        let text = r##"
            listen = "127.0.0.1:4000"
            database_url = "sqlite://readiness.db"
            [sla.P0]
            first_response = "15m"
            resolution = "4h"
            [sla.p2]
            first_response = "3s"
            [tiers.standard]
            hours = "Mon-Fri 09:00-18:00"
            timezone = "Asia/Tokyo"
            holidays = ["jp", "2026-12-29", 2026-12-30]
            [tiers.enterprise]
            hours = "24/7"
            [tiers.professional]
            timezone = "America/New_York"
            [escalation]
            at = ["80%", "50%", "100%", "12.5%"]
            repeat_after_breach = "1h 30m"
            internal_channel = "#support-escalations"
            [escalation.path.P0]
            levels = ["<@U0ONCALL>", "<!subteam^S0LEADS>", "<@U0MANAGER>"]
            [reminders]
            item_due_at = "08:30"
            digest_at = "09:00:05"
            hypercare = "10d"
            milestones = ["hypercare", "qbr"]
            [retention]
            audit = "120d"
            uninstalled = "7d"
        "##;
        let policy = Policy::from_toml_str(text).unwrap();
        assert_eq!(
            policy.target(Priority::P2, Target::FirstResponse),
            Duration::seconds(3)
        );
        assert_eq!(
            policy.target(Priority::P2, Target::Resolution),
            Duration::hours(24)
        );
        let standard = policy.tier(Tier::Standard);
        assert!(standard.holidays.japan);
        assert_eq!(standard.holidays.dates.len(), 2);
        assert_eq!(
            policy.tier(Tier::Professional).timezone,
            chrono_tz::America::New_York
        );
        assert_eq!(
            policy.tier(Tier::Professional).hours.to_string(),
            "Mon-Fri 09:00-21:00"
        );
        let shares: Vec<u32> = policy.escalation.at.iter().map(|s| s.permille()).collect();
        assert_eq!(shares, [125, 500, 800, 1000]);
        assert_eq!(policy.escalation.repeat_after_breach, Duration::minutes(90));
        assert_eq!(
            policy.escalation.internal_channel.as_deref(),
            Some("#support-escalations")
        );
        assert_eq!(policy.reminders.item_due_at.to_string(), "08:30:00");
        assert_eq!(policy.reminders.digest_at.to_string(), "09:00:05");
        assert_eq!(policy.reminders.hypercare, Duration::days(10));
        assert_eq!(policy.reminders.milestones, ["hypercare", "qbr"]);
        assert_eq!(policy.retention.audit, Duration::days(120));
        assert!(error("[retention]\naudit = \"30d\"").contains("90 days"));
        assert_eq!(policy.retention.uninstalled, Duration::days(7));
        assert_eq!(Policy::default().retention.uninstalled, Duration::days(30));
        assert!(error("[retention]\nuninstalled = \"soon\"").contains("retention.uninstalled"));
        assert!(error("[reminders]\ndigest_at = \"25:00\"").contains("reminders.digest_at"));
        assert!(error("[reminders]\nmilestones = [\"party\"]").contains("unknown milestone"));
        let paths = &policy.escalation.paths;
        assert_eq!(path_step(&paths[0], 0), Some("<@U0ONCALL>"));
        assert_eq!(path_step(&paths[0], 2), Some("<@U0MANAGER>"));
        assert_eq!(path_step(&paths[0], 7), Some("<@U0MANAGER>"));
        assert_eq!(path_step(&paths[1], 0), None);

        // The team's dates are holidays in the calendar the policy builds.
        let calendar = policy.calendar(Tier::Standard);
        let opened = tokyo(2026, 12, 28, 17, 0);
        assert_eq!(
            calendar.add_business(opened, Duration::hours(2)),
            Some(tokyo(2026, 12, 31, 10, 0))
        );
        let enterprise = policy.calendar(Tier::Enterprise);
        assert_eq!(
            enterprise.add_business(opened, Duration::hours(2)),
            Some(tokyo(2026, 12, 28, 19, 0))
        );
    }

    #[test]
    fn an_empty_internal_channel_is_none() {
        let policy = Policy::from_toml_str("[escalation]\ninternal_channel = \"\"\n").unwrap();
        assert_eq!(policy.escalation.internal_channel, None);
    }

    #[test]
    fn mistakes_are_refused_with_their_key() {
        let cases = [
            (
                "[sla.P5]\nfirst_response = \"1h\"",
                "sla.P5: unknown priority (P0, P1, P2, P3)",
            ),
            (
                "[sla.P0]\nfirst_respons = \"1h\"",
                "sla.P0.first_respons: unknown key",
            ),
            (
                "[sla.P0]\nresolution = \"4 hourz\"",
                "sla.P0.resolution: bad duration \"4 hourz\"",
            ),
            (
                "[sla.P0]\nresolution = 14400",
                "sla.P0.resolution: expected a duration string",
            ),
            (
                "[sla.P0]\nresolution = \"0s\"",
                "sla.P0.resolution: a target must be longer than zero",
            ),
            (
                "[sla.P0]\nresolution = \"400days\"",
                "sla.P0.resolution: \"400days\" is too long",
            ),
            ("sla = 3", "sla: expected a table"),
            ("[tiers.gold]\nhours = \"24/7\"", "tiers.gold: unknown tier"),
            (
                "[tiers.standard]\nhours = \"Mon-Fri 9-18\"",
                "tiers.standard.hours: bad time \"9\"",
            ),
            (
                "[tiers.standard]\nhour = \"24/7\"",
                "tiers.standard.hour: unknown key",
            ),
            (
                "[tiers.standard]\ntimezone = \"Asia/Tokio\"",
                "tiers.standard.timezone: unknown time zone \"Asia/Tokio\"",
            ),
            (
                "[tiers.standard]\nholidays = [\"jp\", \"2026-02-30\"]",
                "tiers.standard.holidays[1]: \"2026-02-30\"",
            ),
            (
                "[tiers.standard]\nholidays = \"jp\"",
                "tiers.standard.holidays: expected an array",
            ),
            (
                "[tiers.standard]\nholidays = [3]",
                "tiers.standard.holidays[0]: expected \"jp\" or a date",
            ),
            (
                "[escalation]\nat = [\"0%\"]",
                "escalation.at[0]: 0% is out of range",
            ),
            (
                "[escalation]\nat = [\"1001%\"]",
                "escalation.at[0]: 1001% is out of range",
            ),
            (
                "[escalation]\nat = [\"half\"]",
                "escalation.at[0]: bad share \"half\"",
            ),
            (
                "[escalation]\nat = []",
                "escalation.at: give at least one share",
            ),
            (
                "[escalation]\nrepeat_after_breach = \"10ms\"",
                "escalation.repeat_after_breach: repeat at most once a second",
            ),
            (
                "[escalation]\nrepeat = \"1h\"",
                "escalation.repeat: unknown key",
            ),
            (
                "[escalation.path.P9]\nlevels = []",
                "escalation.path.P9: unknown priority",
            ),
            (
                "[escalation.path.P0]\nlevel = []",
                "escalation.path.P0.level: unknown key (levels)",
            ),
            (
                "[escalation.path.P0]\nlevels = [\"\"]",
                "escalation.path.P0.levels[0]: empty",
            ),
            ("[sla.P0\n", "the policy file is not valid TOML"),
        ];
        for (text, expected) in cases {
            let message = error(text);
            assert!(
                message.starts_with(expected),
                "{text:?}\n  got:  {message}\n  want: {expected}"
            );
        }
    }

    #[test]
    fn zero_repeat_turns_repeats_off() {
        let policy = Policy::from_toml_str("[escalation]\nrepeat_after_breach = \"0s\"").unwrap();
        assert_eq!(policy.escalation.repeat_after_breach, Duration::zero());
    }

    #[test]
    fn the_files_people_belong_to_one_workspace_when_it_says_so() {
        let open = Policy::default().escalation;
        assert!(open.applies_to("T1") && !open.names_anyone());
        let policy = Policy::from_toml_str(
            "[escalation]\nworkspace = \"T1\"\n[escalation.path.P0]\nlevels = [\"<@U0ONCALL>\"]\n",
        )
        .unwrap();
        assert!(policy.escalation.applies_to("T1"));
        assert!(!policy.escalation.applies_to("T2"));
        assert!(policy.escalation.names_anyone());
    }

    #[test]
    fn the_intake_table_defaults_to_the_product_and_reads_every_key() {
        let policy = Policy::default();
        assert_eq!(policy.intake.mode, IntakeMode::Auto);
        assert_eq!(policy.intake.emoji, "ticket");
        assert_eq!(policy.intake.resolve_emoji, "white_check_mark");
        assert_eq!(policy.intake.default_priority, Priority::P2);
        assert!(policy.intake.acknowledge && policy.intake.csat);
        assert_eq!(policy.intake.reopen_within, Duration::days(3));
        assert_eq!(policy.intake.assign, Assign::Nobody);
        assert_eq!(
            Priority::ALL.map(|p| policy.targets(p).next_response.num_minutes()),
            [30, 120, 480, 1440]
        );
        let policy = Policy::from_toml_str(
            r#"
[sla.P1]
next_response = "2s"
[intake]
mode = "reaction"
emoji = ":eyes:"
resolve_emoji = "heavy_check_mark"
default_priority = "p3"
acknowledgements = ["cheers"]
acknowledge = false
csat = false
reopen_within = "1h"
assign = "round-robin"
assignees = "<!subteam^S0SUPPORT|@support>"
[intake.priority_words]
P2 = ["soon"]
P0 = ["down", "停止"]
"#,
        )
        .unwrap();
        let intake = &policy.intake;
        assert_eq!(
            policy.targets(Priority::P1).next_response,
            Duration::seconds(2)
        );
        assert_eq!(intake.mode, IntakeMode::Reaction);
        assert_eq!(intake.emoji, "eyes");
        assert_eq!(intake.resolve_emoji, "heavy_check_mark");
        assert_eq!(intake.default_priority, Priority::P3);
        assert_eq!(intake.acknowledgements, ["cheers"]);
        assert!(!intake.acknowledge && !intake.csat);
        assert_eq!(intake.reopen_within, Duration::hours(1));
        assert_eq!(
            intake.assign,
            Assign::RoundRobin {
                group: "S0SUPPORT".into()
            }
        );
        assert_eq!(
            intake.priority_words,
            [
                (Priority::P0, vec!["down".to_string(), "停止".to_string()]),
                (Priority::P2, vec!["soon".to_string()]),
            ]
        );
    }

    #[test]
    fn a_bad_intake_key_is_refused_with_its_name() {
        for (text, key) in [
            ("[intake]\nmode = \"sometimes\"", "intake.mode"),
            ("[intake]\nemoji = \"a b\"", "intake.emoji"),
            (
                "[intake]\ndefault_priority = \"P9\"",
                "intake.default_priority",
            ),
            ("[intake]\ncsat = \"yes\"", "intake.csat"),
            ("[intake]\nassign = \"round-robin\"", "intake.assignees"),
            (
                "[intake]\nassign = \"round-robin\"\nassignees = \"U1\"",
                "intake.assignees",
            ),
            ("[intake]\nassign = \"random\"", "intake.assign"),
            (
                "[intake]\nacknowledgements = [\" \"]",
                "intake.acknowledgements[0]",
            ),
            (
                "[intake.priority_words]\nP7 = [\"x\"]",
                "intake.priority_words.P7",
            ),
            ("[intake]\nsurprise = 1", "intake.surprise"),
            ("[sla.P0]\nnext_response = \"0s\"", "sla.P0.next_response"),
        ] {
            assert!(
                error(text).starts_with(&format!("{key}:")),
                "{text}: {}",
                error(text)
            );
        }
    }

    #[test]
    fn auto_intake_is_all_where_the_customer_is_in_the_channel() {
        assert_eq!(IntakeMode::Auto.resolved(true), IntakeMode::All);
        assert_eq!(IntakeMode::Auto.resolved(false), IntakeMode::Reaction);
        for mode in [
            IntakeMode::All,
            IntakeMode::Reaction,
            IntakeMode::Mention,
            IntakeMode::Off,
        ] {
            assert_eq!(mode.resolved(true), mode);
            assert_eq!(IntakeMode::parse(mode.as_str()), Some(mode));
        }
    }
}
