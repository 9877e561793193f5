//! The `/readiness` grammar (docs/usage.md): text in, a [`Command`] or a [`ParseError`]
//! out. Pure; naming a customer is only resolved against the database later, because
//! inside a customer's channel the customer may be left out.

use crate::domain::roles::{Act, Role};
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime};

use super::checklist::Tier;
use super::policy::{IntakeMode, MILESTONES};
use super::report::Month;
use super::schedule::{DayWord, When, WhenError, YEARS};
use super::sla::Priority;
use super::slug::is_valid_slug;
use super::template::Owner;

/// A customer as the user named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerRef {
    /// `acme`
    Slug(String),
    /// `"Acme Corp"`
    Name(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    New {
        name: String,
        tier: Option<Tier>,
        /// An existing channel to link instead of creating one.
        channel: Option<String>,
        slug: Option<String>,
        /// `kickoff=YYYY-MM-DD`: the day the plan's `kickoff+…` dates count from (today
        /// if left out).
        kickoff: Option<NaiveDate>,
    },
    /// `show [customer] [category]`: with a single word, whether it names a category or
    /// a customer depends on the channel, so both stay words here.
    Show {
        first: Option<Word>,
        second: Option<Word>,
    },
    Assign {
        customer: Option<CustomerRef>,
        item: String,
        user: String,
        due: Option<DueDate>,
    },
    Done {
        customer: Option<CustomerRef>,
        item: String,
    },
    Undo {
        customer: Option<CustomerRef>,
        item: String,
    },
    /// `ticket [customer] <P0..P3> [opened=<time>] <summary>`
    Ticket {
        customer: Option<CustomerRef>,
        priority: Priority,
        opened: Option<Opened>,
        summary: String,
    },
    /// `ticket` alone: the new-ticket modal.
    TicketModal,
    /// `tickets [customer]`
    Tickets {
        customer: Option<CustomerRef>,
    },
    /// `escalation [P0..P3] [@who … | clear]`: show or (admins) set who is named at
    /// each escalation level.
    Escalation {
        priority: Option<Priority>,
        change: Option<PathChange>,
    },
    /// `remind [customer] <when> <text>`
    Remind {
        customer: Option<CustomerRef>,
        when: When,
        text: String,
    },
    /// `reminders [customer]`
    Reminders {
        customer: Option<CustomerRef>,
    },
    /// `golive [customer] [YYYY-MM-DD]`: the go-live date (today if left out) and the
    /// onboarding milestones it starts.
    GoLive {
        customer: Option<CustomerRef>,
        date: Option<NaiveDate>,
    },
    /// `customer [customer] [name=…] [tier=…] [csm=@…] [channel=#…] [<milestone>=on|off]
    /// [intake=all|reaction|mention|off|auto] [contacts=@a,@b|none] [archive|unarchive]`:
    /// shows the customer, or changes it.
    Customer {
        customer: Option<CustomerRef>,
        change: CustomerChange,
    },
    /// `audit [customer] [since=YYYY-MM-DD]`
    Audit {
        customer: Option<CustomerRef>,
        since: Option<NaiveDate>,
    },
    /// `report [customer] [month=YYYY-MM]`
    Report {
        customer: Option<CustomerRef>,
        month: Option<Month>,
    },
    /// `roles [@user admin|csm|agent|viewer|default]`: who has which role, or (admins)
    /// give someone one; `default` takes it back.
    Roles {
        change: Option<(String, Option<Role>)>,
    },
    /// `team [customer] [csm=@a] [se=@b] [support=@c] [security=@d] [legal=@e]
    /// [customer=@f]`: who holds each role of the customer's onboarding; with none
    /// given, shows them. `role=none` takes a role back.
    Team {
        customer: Option<CustomerRef>,
        /// Each role named, with its person (`None`: nobody any more).
        changes: Vec<(Owner, Option<String>)>,
    },
    /// `plan [customer]`: items by due week, with owner, date and state, and health.
    Plan {
        customer: Option<CustomerRef>,
    },
    /// `evidence [customer] <item> <url> [note…]`: proof attached to an item.
    Evidence {
        customer: Option<CustomerRef>,
        item: String,
        url: String,
        note: Option<String>,
    },
    /// `export [customer]`: the checklist as an HTML document and a CSV file, uploaded
    /// to the customer's channel.
    Export {
        customer: Option<CustomerRef>,
    },
}

impl Command {
    /// What the command would do, for the roles table.
    pub fn act(&self) -> Act {
        match self {
            Command::Help
            | Command::Show { .. }
            | Command::Tickets { .. }
            | Command::Reminders { .. }
            | Command::Escalation { change: None, .. }
            | Command::Plan { .. }
            | Command::Roles { change: None } => Act::Read,
            Command::Team { changes, .. } if changes.is_empty() => Act::Read,
            Command::Customer { change, .. } if change.is_empty() => Act::Read,
            // A report is posted, with its files, in the customer's channel.
            Command::New { .. }
            | Command::Customer { .. }
            | Command::GoLive { .. }
            | Command::Team { .. }
            | Command::Export { .. }
            | Command::Report { .. } => Act::ManageCustomers,
            Command::Assign { .. }
            | Command::Done { .. }
            | Command::Undo { .. }
            | Command::Evidence { .. } => Act::WorkChecklist,
            Command::Ticket { .. } | Command::TicketModal => Act::WorkTickets,
            Command::Remind { .. } => Act::Remind,
            Command::Audit { .. } => Act::ReadAudit,
            Command::Escalation { .. } | Command::Roles { .. } => Act::Administer,
        }
    }
}

/// What `/readiness customer` changes; all `None` (and no switches): show it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerChange {
    pub name: Option<String>,
    pub tier: Option<Tier>,
    pub csm: Option<String>,
    pub channel: Option<String>,
    pub archived: Option<bool>,
    /// Milestone reminders switched on (`true`) or off.
    pub milestones: Vec<(String, bool)>,
    /// `intake=`: the customer's own mode, or `Some(None)` (`auto`) to follow the
    /// policy's default.
    pub intake: Option<Option<IntakeMode>>,
    /// `contacts=`: the customer's people, all of them (empty: none).
    pub contacts: Option<Vec<String>>,
    /// `kickoff=YYYY-MM-DD`: a new kickoff date; the plan's `kickoff+…` dates move.
    pub kickoff: Option<NaiveDate>,
}

impl CustomerChange {
    pub fn is_empty(&self) -> bool {
        self == &CustomerChange::default()
    }
}

/// A new escalation path, or back to the policy file's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathChange {
    Set(Vec<String>),
    Clear,
}

/// Most steps a path may have (on-call → lead → manager, and a little room).
pub const MAX_PATH_STEPS: usize = 5;

/// A Slack mention as a path step, normalised: `<@U…>`, `<!subteam^S…>` or `<!here>`.
pub fn path_step(word: &str) -> Option<String> {
    let inner = word.strip_prefix('<')?.strip_suffix('>')?;
    let id = inner.split('|').next().unwrap_or_default();
    let ok_id = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric());
    if let Some(user) = id.strip_prefix('@') {
        return ok_id(user).then(|| format!("<@{user}>"));
    }
    if let Some(group) = id.strip_prefix("!subteam^") {
        return ok_id(group).then(|| format!("<!subteam^{group}>"));
    }
    matches!(id, "!here" | "!channel").then(|| format!("<{id}>"))
}

/// When a back-dated request arrived: with an offset (RFC 3339), or a local time in
/// the customer's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    Exact(DateTime<FixedOffset>),
    Local(NaiveDateTime),
}

impl Opened {
    /// A time in [`OPENED_YEARS`] only: `0000-01-01T00:00:00Z` or a five-digit year is
    /// refused here rather than overflowing the arithmetic downstream (which refuses a
    /// time in the future, or over 30 days back, by comparing it with now).
    pub fn parse(text: &str) -> Option<Self> {
        if !starts_with_plain_year(text) {
            return None;
        }
        if let Ok(t) = DateTime::parse_from_rfc3339(text) {
            return OPENED_YEARS.contains(&t.year()).then_some(Opened::Exact(t));
        }
        ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
            .filter(|t| OPENED_YEARS.contains(&t.year()))
            .map(Opened::Local)
    }
}

/// The years an `opened=` time may name: Unix time on, four digits.
pub const OPENED_YEARS: std::ops::RangeInclusive<i32> = 1970..=9999;

/// Four ASCII digits and a `-`: chrono's `%Y` alone would take `+99999` or `-0001`.
fn starts_with_plain_year(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() > 4 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-'
}

/// A `YYYY-MM-DD` date typed in a command, within [`YEARS`].
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    if !starts_with_plain_year(text) {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|d| YEARS.contains(&d.year()))
}

/// One word of the command text; a double-quoted phrase is one word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub quoted: bool,
}

impl Word {
    pub fn customer_ref(&self) -> CustomerRef {
        if self.quoted {
            CustomerRef::Name(self.text.clone())
        } else {
            CustomerRef::Slug(self.text.to_lowercase())
        }
    }
}

/// A `due=` as typed: a date, or a day named relative to today in the customer's
/// time zone, with the words `remind` takes (`today`, `tomorrow`, `今日`, `明日`) and
/// a day of the week (`friday`, `金曜`: the next one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueDate {
    On(NaiveDate),
    Day(DayWord),
}

impl DueDate {
    /// `due=` its value: `YYYY-MM-DD` or a day word ([`DayWord::parse`]).
    pub fn parse(text: &str) -> Result<DueDate, Problem> {
        if let Some(day) = DayWord::parse(text) {
            return Ok(DueDate::Day(day));
        }
        match parse_date(text) {
            Some(date) => Ok(DueDate::On(date)),
            // A word that is no date at all is told the day words too.
            None if !text.starts_with(|c: char| c.is_ascii_digit()) => {
                Err(Problem::BadDue(text.to_string()))
            }
            None => Err(date_problem(text)),
        }
    }

    /// The date, `today` being the customer's today.
    pub fn on(self, today: NaiveDate) -> NaiveDate {
        match self {
            DueDate::On(date) => date,
            // Only at the end of chrono's calendar (year 262143) is there no next day.
            DueDate::Day(day) => day.date(today).unwrap_or(today),
        }
    }
}

/// What is wrong with a date that did not parse: a day missing from its month
/// (`2026-02-30`), or no date at all.
pub fn date_problem(text: &str) -> Problem {
    if super::schedule::is_month_and_day(text) {
        Problem::NoSuchDay(text.to_string())
    } else {
        Problem::BadDate(text.to_string())
    }
}

/// Which form to show back when the input was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    New,
    Show,
    Assign,
    Done,
    Undo,
    Ticket,
    Tickets,
    Escalation,
    Remind,
    Reminders,
    GoLive,
    Customer,
    Audit,
    Report,
    Roles,
    Team,
    Plan,
    Evidence,
    Export,
}

impl Form {
    /// Every form, in help's order (tests render each one's usage line).
    pub const ALL: [Form; 19] = [
        Form::New,
        Form::Show,
        Form::Assign,
        Form::Done,
        Form::Undo,
        Form::Ticket,
        Form::Tickets,
        Form::Escalation,
        Form::Remind,
        Form::Reminders,
        Form::GoLive,
        Form::Customer,
        Form::Audit,
        Form::Report,
        Form::Roles,
        Form::Team,
        Form::Plan,
        Form::Evidence,
        Form::Export,
    ];

    pub fn usage(self) -> &'static str {
        match self {
            Form::New => {
                "/readiness new <name> [tier=standard|professional|enterprise] [kickoff=YYYY-MM-DD] [channel=#existing] [slug=…]"
            }
            Form::Show => "/readiness show [customer] [category]",
            Form::Assign => "/readiness assign [customer] <item> @user [due=YYYY-MM-DD]",
            Form::Done => "/readiness done [customer] <item>",
            Form::Undo => "/readiness undo [customer] <item>",
            Form::Ticket => {
                "/readiness ticket [customer] <P0|P1|P2|P3> [opened=2026-11-20T17:00+09:00] <summary>"
            }
            Form::Tickets => "/readiness tickets [customer]",
            Form::Escalation => {
                "/readiness escalation [P0|P1|P2|P3] [@on-call @lead-group @manager | clear]"
            }
            Form::Remind => {
                "/readiness remind [customer] <in 2h | tomorrow 10:00 | 2026-12-01 09:30 | every monday 09:00> <text>"
            }
            Form::Reminders => "/readiness reminders [customer]",
            Form::GoLive => "/readiness golive [customer] [YYYY-MM-DD]",
            Form::Customer => {
                "/readiness customer [customer] [name=…] [tier=…] [csm=@user] [channel=#…] [qbr=off …] [intake=all|reaction|mention|off|auto] [contacts=@user,@user|none] [kickoff=YYYY-MM-DD] [archive|unarchive]"
            }
            Form::Audit => "/readiness audit [customer] [since=YYYY-MM-DD]",
            Form::Report => "/readiness report [customer] [month=YYYY-MM]",
            Form::Roles => "/readiness roles [@user|@group admin|csm|agent|viewer|default]",
            Form::Team => {
                "/readiness team [customer] [csm=@user] [se=@user] [support=@user] [security=@user] [legal=@user] [customer=@user]"
            }
            Form::Plan => "/readiness plan [customer]",
            Form::Evidence => "/readiness evidence [customer] <item> <https://link> [note]",
            Form::Export => "/readiness export [customer]",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    UnknownSubcommand(String),
    UnclosedQuote,
    Usage { form: Form, problem: Problem },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    MissingName,
    /// A customer name longer than [`MAX_NAME_CHARS`].
    NameTooLong,
    BadTier(String),
    BadDate(String),
    /// A `due=` that is neither a date nor a day word.
    BadDue(String),
    /// A `YYYY-MM-DD` whose day is not in its month (`2026-02-30`).
    NoSuchDay(String),
    BadSlug(String),
    BadChannel(String),
    BadUser(String),
    MissingItem,
    MissingUser,
    UnknownOption(String),
    TooManyWords(String),
    MissingPriority,
    MissingSummary,
    BadTime(String),
    BadMention(String),
    TooManySteps,
    /// The `<when>` of a reminder, and what was wrong with it.
    BadWhen(WhenError),
    MissingText,
    BadMonth(String),
    BadSwitch(String),
    BadRole(String),
    /// `intake=` with something other than all, reaction, mention, off or auto.
    BadIntake(String),
    /// An item of `contacts=` that is not a person.
    BadContact(String),
    /// More than [`MAX_CONTACTS`] contacts.
    TooManyContacts,
    /// `evidence` without a link.
    MissingUrl,
    /// A link that is not `http(s)://…` (or is too long to keep).
    BadUrl(String),
}

/// Longest evidence link kept: Slack's own URL fields stop at 3,000 characters.
pub const MAX_URL_CHARS: usize = 3000;

/// An evidence link as typed (`<https://…>` or `<https://…|label>` as Slack sends it, or
/// bare): the URL if it is http(s), has a host and fits.
pub fn evidence_url(text: &str) -> Option<String> {
    let inner = text
        .strip_prefix('<')
        .and_then(|t| t.strip_suffix('>'))
        .map(|t| t.split('|').next().unwrap_or(t))
        .unwrap_or(text)
        .trim();
    let rest = inner
        .strip_prefix("https://")
        .or_else(|| inner.strip_prefix("http://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let ok = !host.is_empty()
        && inner.chars().count() <= MAX_URL_CHARS
        && !inner
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>');
    ok.then(|| inner.to_string())
}

/// Most contacts a customer may have named: its people who write in, not its staff.
pub const MAX_CONTACTS: usize = 50;

/// The `text` of a `/readiness` command.
pub fn parse(text: &str) -> Result<Command, ParseError> {
    let words = split_words(text)?;
    let Some((head, rest)) = words.split_first() else {
        return Ok(Command::Help);
    };
    let sub = head.text.to_lowercase();
    match sub.as_str() {
        "help" | "?" | "ヘルプ" => Ok(Command::Help),
        "new" => parse_new(rest),
        "show" => parse_show(rest),
        "assign" => parse_assign(rest),
        "done" => {
            let (customer, item) = customer_and_item(rest, Form::Done)?;
            Ok(Command::Done { customer, item })
        }
        "undo" => {
            let (customer, item) = customer_and_item(rest, Form::Undo)?;
            Ok(Command::Undo { customer, item })
        }
        "ticket" => parse_ticket(rest),
        "escalation" | "escalations" => parse_escalation(rest),
        "tickets" => match rest {
            [] => Ok(Command::Tickets { customer: None }),
            [c] if key_value(c).is_none() => Ok(Command::Tickets {
                customer: Some(c.customer_ref()),
            }),
            [c] => Err(usage(Form::Tickets, Problem::UnknownOption(c.text.clone()))),
            [_, extra, ..] => Err(usage(
                Form::Tickets,
                Problem::TooManyWords(extra.text.clone()),
            )),
        },
        "remind" => parse_remind(rest),
        "roles" | "role" => parse_roles(rest),
        "reminders" => Ok(Command::Reminders {
            customer: only_customer(rest, Form::Reminders)?,
        }),
        "golive" | "go-live" => parse_golive(rest),
        "customer" => parse_customer(rest),
        "archive" | "unarchive" => Ok(Command::Customer {
            customer: only_customer(rest, Form::Customer)?,
            change: CustomerChange {
                archived: Some(sub == "archive"),
                ..CustomerChange::default()
            },
        }),
        "audit" => parse_audit(rest),
        "report" => parse_report(rest),
        "team" => parse_team(rest),
        "plan" => Ok(Command::Plan {
            customer: only_customer(rest, Form::Plan)?,
        }),
        "evidence" | "proof" => parse_evidence(rest),
        "export" => Ok(Command::Export {
            customer: only_customer(rest, Form::Export)?,
        }),
        _ => Err(ParseError::UnknownSubcommand(head.text.clone())),
    }
}

/// `[customer]` and nothing else.
fn only_customer(words: &[Word], form: Form) -> Result<Option<CustomerRef>, ParseError> {
    match words {
        [] => Ok(None),
        [c] if key_value(c).is_none() => Ok(Some(c.customer_ref())),
        [c] => Err(usage(form, Problem::UnknownOption(c.text.clone()))),
        [_, extra, ..] => Err(usage(form, Problem::TooManyWords(extra.text.clone()))),
    }
}

fn parse_remind(words: &[Word]) -> Result<Command, ParseError> {
    let starts = |w: &Word| !w.quoted && When::starts_when(&w.text);
    let (customer, rest) = match words {
        [first, ..] if starts(first) => (None, words),
        [first, second, ..] if starts(second) => (Some(first.customer_ref()), &words[1..]),
        _ => {
            return Err(usage(Form::Remind, Problem::BadWhen(WhenError::Missing)));
        }
    };
    let texts: Vec<&str> = rest.iter().map(|w| w.text.as_str()).collect();
    let (when, used) =
        When::parse_prefix(&texts).map_err(|e| usage(Form::Remind, Problem::BadWhen(e)))?;
    let text = texts[used..].join(" ").trim().to_string();
    if text.is_empty() {
        return Err(usage(Form::Remind, Problem::MissingText));
    }
    Ok(Command::Remind {
        customer,
        when,
        text,
    })
}

fn parse_golive(words: &[Word]) -> Result<Command, ParseError> {
    let date_of = |w: &Word| parse_date(&w.text);
    let looks_like_date = |w: &Word| !w.quoted && w.text.starts_with(|c: char| c.is_ascii_digit());
    let bad_date = |w: &Word| usage(Form::GoLive, date_problem(&w.text));
    let (customer, date) = match words {
        [] => (None, None),
        [d] if looks_like_date(d) => (None, Some(date_of(d).ok_or_else(|| bad_date(d))?)),
        [c] => (Some(c.customer_ref()), None),
        [c, d] => (
            Some(c.customer_ref()),
            Some(date_of(d).ok_or_else(|| bad_date(d))?),
        ),
        [_, _, extra, ..] => {
            return Err(usage(
                Form::GoLive,
                Problem::TooManyWords(extra.text.clone()),
            ));
        }
    };
    Ok(Command::GoLive { customer, date })
}

fn parse_customer(words: &[Word]) -> Result<Command, ParseError> {
    let mut change = CustomerChange::default();
    let mut customer = None;
    let bad = |problem| usage(Form::Customer, problem);
    let mut words = words.iter().peekable();
    while let Some(word) = words.next() {
        let Some((key, value)) = key_value(word) else {
            match word.text.to_lowercase().as_str() {
                "archive" if !word.quoted => change.archived = Some(true),
                "unarchive" if !word.quoted => change.archived = Some(false),
                _ if customer.is_none() => customer = Some(word.customer_ref()),
                _ => return Err(bad(Problem::TooManyWords(word.text.clone()))),
            }
            continue;
        };
        match key.as_str() {
            "name" => change.name = Some(checked_name(value, Form::Customer)?),
            "tier" => {
                change.tier =
                    Some(Tier::parse(value).ok_or_else(|| bad(Problem::BadTier(value.into())))?)
            }
            "csm" => {
                change.csm =
                    Some(user_id(value).ok_or_else(|| bad(Problem::BadUser(value.into())))?)
            }
            "channel" => {
                change.channel =
                    Some(channel_id(value).ok_or_else(|| bad(Problem::BadChannel(value.into())))?)
            }
            "intake" => {
                let mode = IntakeMode::parse(value)
                    .ok_or_else(|| bad(Problem::BadIntake(value.into())))?;
                change.intake = Some(Some(mode).filter(|m| *m != IntakeMode::Auto));
            }
            "kickoff" => {
                change.kickoff = Some(parse_date(value).ok_or_else(|| bad(date_problem(value)))?)
            }
            "contacts" => {
                // `contacts=@a, @b`: Slack keeps the space a person typed after a comma.
                let mut list = value.to_string();
                while list.trim_end().ends_with(',')
                    && let Some(next) = words.next_if(|w| !w.quoted && w.text.starts_with("<@"))
                {
                    list.push_str(&next.text);
                }
                change.contacts = Some(contact_list(&list).map_err(bad)?);
            }
            kind if MILESTONES.contains(&kind) => {
                let on = match value.to_lowercase().as_str() {
                    "on" | "yes" | "true" => true,
                    "off" | "no" | "false" => false,
                    _ => return Err(bad(Problem::BadSwitch(word.text.clone()))),
                };
                change.milestones.push((kind.to_string(), on));
            }
            _ => return Err(bad(Problem::UnknownOption(word.text.clone()))),
        }
    }
    Ok(Command::Customer { customer, change })
}

/// `@a,@b` (Slack sends `<@U1|a>,<@U2|b>`) → the people's ids, each once; empty or
/// `none` → none.
pub fn contact_list(text: &str) -> Result<Vec<String>, Problem> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    let mut users = Vec::new();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let user = user_id(item).ok_or_else(|| Problem::BadContact(item.to_string()))?;
        if !users.contains(&user) {
            users.push(user);
        }
    }
    if users.len() > MAX_CONTACTS {
        return Err(Problem::TooManyContacts);
    }
    Ok(users)
}

fn parse_roles(words: &[Word]) -> Result<Command, ParseError> {
    match words {
        [] => Ok(Command::Roles { change: None }),
        [who, role] => {
            // A person, or a Slack user group (its members share the role).
            let user = user_id(&who.text)
                .or_else(|| group_id(&who.text))
                .ok_or_else(|| usage(Form::Roles, Problem::BadUser(who.text.clone())))?;
            let role = match role.text.to_lowercase().as_str() {
                "default" => None,
                other => Some(
                    Role::parse(other)
                        .ok_or_else(|| usage(Form::Roles, Problem::BadRole(role.text.clone())))?,
                ),
            };
            Ok(Command::Roles {
                change: Some((user, role)),
            })
        }
        [_] => Err(usage(Form::Roles, Problem::MissingItem)),
        [_, _, extra, ..] => Err(usage(
            Form::Roles,
            Problem::TooManyWords(extra.text.clone()),
        )),
    }
}

fn parse_audit(words: &[Word]) -> Result<Command, ParseError> {
    let mut since = None;
    let mut positional = Vec::new();
    for word in words {
        match key_value(word) {
            Some((key, value)) if key == "since" => {
                since =
                    Some(parse_date(value).ok_or_else(|| usage(Form::Audit, date_problem(value)))?);
            }
            Some(_) => {
                return Err(usage(
                    Form::Audit,
                    Problem::UnknownOption(word.text.clone()),
                ));
            }
            None => positional.push(word.clone()),
        }
    }
    Ok(Command::Audit {
        customer: only_customer(&positional, Form::Audit)?,
        since,
    })
}

fn parse_report(words: &[Word]) -> Result<Command, ParseError> {
    let mut month = None;
    let mut positional = Vec::new();
    for word in words {
        match key_value(word) {
            Some((key, value)) if key == "month" => {
                month = Some(
                    Month::parse(value)
                        .ok_or_else(|| usage(Form::Report, Problem::BadMonth(value.into())))?,
                );
            }
            Some(_) => {
                return Err(usage(
                    Form::Report,
                    Problem::UnknownOption(word.text.clone()),
                ));
            }
            None => positional.push(word.clone()),
        }
    }
    Ok(Command::Report {
        customer: only_customer(&positional, Form::Report)?,
        month,
    })
}

/// The longest customer name, in characters: room for a legal entity's full name
/// ("Kabushiki Kaisha …", "… Holdings Co., Ltd."), short enough to sit in a header,
/// a Home row and a notification.
pub const MAX_NAME_CHARS: usize = 80;

/// A customer name, checked: not empty, at most [`MAX_NAME_CHARS`] characters.
fn checked_name(name: &str, form: Form) -> Result<String, ParseError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(usage(form, Problem::MissingName));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(usage(form, Problem::NameTooLong));
    }
    Ok(name.to_string())
}

/// Slack's escapes in a command's text (`&amp;`, `&lt;`, `&gt;`: the only three it
/// makes) turned back into what the person typed, once: `&amp;lt;` is `&lt;`. Done per
/// word, after the words are split, so a typed `<` never opens a mention.
pub fn unescape_slack(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let (decoded, len) = if tail.starts_with("&amp;") {
            ('&', 5)
        } else if tail.starts_with("&lt;") {
            ('<', 4)
        } else if tail.starts_with("&gt;") {
            ('>', 4)
        } else {
            ('&', 1)
        };
        out.push(decoded);
        rest = &tail[len..];
    }
    out.push_str(rest);
    out
}

fn split_words(text: &str) -> Result<Vec<Word>, ParseError> {
    let mut words = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Ok(words);
        };
        // Slack (and macOS) may turn straight quotes into curly ones.
        if matches!(first, '"' | '“' | '”') {
            chars.next();
            let mut text = String::new();
            loop {
                match chars.next() {
                    Some('"' | '“' | '”') => break,
                    Some(c) => text.push(c),
                    None => return Err(ParseError::UnclosedQuote),
                }
            }
            words.push(Word {
                text: unescape_slack(text.trim()),
                quoted: true,
            });
        } else {
            let mut text = String::new();
            // `<@U123|some name>` is one word even if Slack put a space in the label.
            let mut in_angle = false;
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() && !in_angle {
                    break;
                }
                match c {
                    '<' => in_angle = true,
                    '>' => in_angle = false,
                    _ => {}
                }
                text.push(c);
                chars.next();
            }
            words.push(Word {
                text: unescape_slack(&text),
                quoted: false,
            });
        }
    }
}

fn key_value(word: &Word) -> Option<(String, &str)> {
    if word.quoted {
        return None;
    }
    let (k, v) = word.text.split_once('=')?;
    Some((k.to_lowercase(), v))
}

fn usage(form: Form, problem: Problem) -> ParseError {
    ParseError::Usage { form, problem }
}

fn parse_new(words: &[Word]) -> Result<Command, ParseError> {
    let mut name_parts = Vec::new();
    let (mut tier, mut channel, mut slug, mut kickoff) = (None, None, None, None);
    for word in words {
        match key_value(word) {
            Some((key, value)) => match key.as_str() {
                "kickoff" => {
                    kickoff = Some(
                        parse_date(value).ok_or_else(|| usage(Form::New, date_problem(value)))?,
                    )
                }
                "tier" => {
                    tier = Some(
                        Tier::parse(value)
                            .ok_or_else(|| usage(Form::New, Problem::BadTier(value.into())))?,
                    )
                }
                "channel" => {
                    channel = Some(
                        channel_id(value)
                            .ok_or_else(|| usage(Form::New, Problem::BadChannel(value.into())))?,
                    )
                }
                "slug" => {
                    if !is_valid_slug(value) {
                        return Err(usage(Form::New, Problem::BadSlug(value.into())));
                    }
                    slug = Some(value.to_string());
                }
                _ => return Err(usage(Form::New, Problem::UnknownOption(word.text.clone()))),
            },
            None => name_parts.push(word.text.as_str()),
        }
    }
    let name = checked_name(&name_parts.join(" "), Form::New)?;
    Ok(Command::New {
        name,
        tier,
        channel,
        slug,
        kickoff,
    })
}

/// `team [customer] [role=@user|none …]`
fn parse_team(words: &[Word]) -> Result<Command, ParseError> {
    let bad = |problem| usage(Form::Team, problem);
    let mut customer = None;
    let mut changes: Vec<(Owner, Option<String>)> = Vec::new();
    for word in words {
        match key_value(word) {
            Some((key, value)) => {
                let role = Owner::parse(&key)
                    .ok_or_else(|| bad(Problem::UnknownOption(word.text.clone())))?;
                let person = if value.eq_ignore_ascii_case("none") {
                    None
                } else {
                    Some(user_id(value).ok_or_else(|| bad(Problem::BadUser(value.into())))?)
                };
                changes.retain(|(r, _)| *r != role);
                changes.push((role, person));
            }
            None if customer.is_none() && changes.is_empty() => {
                customer = Some(word.customer_ref())
            }
            None => return Err(bad(Problem::TooManyWords(word.text.clone()))),
        }
    }
    Ok(Command::Team { customer, changes })
}

/// `evidence [customer] <item> <url> [note…]`
fn parse_evidence(words: &[Word]) -> Result<Command, ParseError> {
    let bad = |problem| usage(Form::Evidence, problem);
    let is_item = |w: &Word| !w.quoted && looks_like_item_key(&w.text);
    let (customer, item, rest) = match words {
        [item, rest @ ..] if is_item(item) => (None, item.text.clone(), rest),
        [customer, item, rest @ ..] if is_item(item) => {
            (Some(customer.customer_ref()), item.text.clone(), rest)
        }
        _ => return Err(bad(Problem::MissingItem)),
    };
    let Some((link, note)) = rest.split_first() else {
        return Err(bad(Problem::MissingUrl));
    };
    let url = evidence_url(&link.text).ok_or_else(|| bad(Problem::BadUrl(link.text.clone())))?;
    let note = note
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
        .trim()
        .to_string();
    Ok(Command::Evidence {
        customer,
        item,
        url,
        note: (!note.is_empty()).then_some(note),
    })
}

fn parse_escalation(words: &[Word]) -> Result<Command, ParseError> {
    let Some((first, rest)) = words.split_first() else {
        return Ok(Command::Escalation {
            priority: None,
            change: None,
        });
    };
    let priority = Priority::parse(&first.text)
        .ok_or_else(|| usage(Form::Escalation, Problem::MissingPriority))?;
    let change = match rest {
        [] => None,
        [w] if w.text.eq_ignore_ascii_case("clear") => Some(PathChange::Clear),
        steps => {
            if steps.len() > MAX_PATH_STEPS {
                return Err(usage(Form::Escalation, Problem::TooManySteps));
            }
            let steps = steps
                .iter()
                .map(|w| {
                    path_step(&w.text)
                        .ok_or_else(|| usage(Form::Escalation, Problem::BadMention(w.text.clone())))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Some(PathChange::Set(steps))
        }
    };
    Ok(Command::Escalation {
        priority: Some(priority),
        change,
    })
}

fn parse_ticket(words: &[Word]) -> Result<Command, ParseError> {
    if words.is_empty() {
        return Ok(Command::TicketModal);
    }
    let priority_of = |w: &Word| (!w.quoted).then(|| Priority::parse(&w.text)).flatten();
    let (customer, rest) = match words {
        [first, ..] if priority_of(first).is_some() => (None, words),
        [first, second, ..] if priority_of(second).is_some() => {
            (Some(first.customer_ref()), &words[1..])
        }
        _ => return Err(usage(Form::Ticket, Problem::MissingPriority)),
    };
    let priority =
        priority_of(&rest[0]).ok_or_else(|| usage(Form::Ticket, Problem::MissingPriority))?;
    let mut opened = None;
    let mut summary = Vec::new();
    for word in &rest[1..] {
        match key_value(word) {
            Some((key, value)) if key == "opened" && summary.is_empty() => {
                opened = Some(
                    Opened::parse(value)
                        .ok_or_else(|| usage(Form::Ticket, Problem::BadTime(value.into())))?,
                );
            }
            _ => summary.push(word.text.as_str()),
        }
    }
    let summary = summary.join(" ").trim().to_string();
    if summary.is_empty() {
        return Err(usage(Form::Ticket, Problem::MissingSummary));
    }
    Ok(Command::Ticket {
        customer,
        priority,
        opened,
        summary,
    })
}

fn parse_show(words: &[Word]) -> Result<Command, ParseError> {
    if let Some(option) = words.iter().find(|w| key_value(w).is_some()) {
        return Err(usage(
            Form::Show,
            Problem::UnknownOption(option.text.clone()),
        ));
    }
    match words {
        [] => Ok(Command::Show {
            first: None,
            second: None,
        }),
        [a] => Ok(Command::Show {
            first: Some(a.clone()),
            second: None,
        }),
        [a, b] => Ok(Command::Show {
            first: Some(a.clone()),
            second: Some(b.clone()),
        }),
        [_, _, extra, ..] => Err(usage(Form::Show, Problem::TooManyWords(extra.text.clone()))),
    }
}

/// An item key as in the seed: `1.2.3` or `1.2.3.4`.
pub fn looks_like_item_key(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    (3..=4).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `[customer] <item>`: the item is the word that looks like a key.
fn customer_and_item(
    words: &[Word],
    form: Form,
) -> Result<(Option<CustomerRef>, String), ParseError> {
    let positional: Vec<&Word> = words.iter().filter(|w| key_value(w).is_none()).collect();
    if let Some(option) = words.iter().find(|w| key_value(w).is_some()) {
        return Err(usage(form, Problem::UnknownOption(option.text.clone())));
    }
    split_customer_item(&positional, form)
}

fn split_customer_item(
    positional: &[&Word],
    form: Form,
) -> Result<(Option<CustomerRef>, String), ParseError> {
    match positional {
        [item] if !item.quoted => Ok((None, item.text.clone())),
        [customer, item] if !item.quoted => Ok((Some(customer.customer_ref()), item.text.clone())),
        [] | [_] => Err(usage(form, Problem::MissingItem)),
        [_, _] => Err(usage(form, Problem::MissingItem)),
        [_, _, extra, ..] => Err(usage(form, Problem::TooManyWords(extra.text.clone()))),
    }
}

fn parse_assign(words: &[Word]) -> Result<Command, ParseError> {
    let mut due = None;
    let mut user = None;
    let mut positional = Vec::new();
    for word in words {
        if let Some((key, value)) = key_value(word) {
            if key == "due" {
                due = Some(DueDate::parse(value).map_err(|p| usage(Form::Assign, p))?);
                continue;
            }
            return Err(usage(
                Form::Assign,
                Problem::UnknownOption(word.text.clone()),
            ));
        }
        if !word.quoted && (word.text.starts_with("<@") || word.text.starts_with('@')) {
            let id = user_id(&word.text)
                .ok_or_else(|| usage(Form::Assign, Problem::BadUser(word.text.clone())))?;
            user = Some(id);
            continue;
        }
        positional.push(word);
    }
    let (customer, item) = split_customer_item(&positional, Form::Assign)?;
    let user = user.ok_or_else(|| usage(Form::Assign, Problem::MissingUser))?;
    Ok(Command::Assign {
        customer,
        item,
        user,
        due,
    })
}

/// `<@U123|name>` or `<@U123>` → `U123`. A bare `@name` cannot be resolved without
/// the escaping Slack applies with `should_escape`, so it is refused.
pub fn user_id(text: &str) -> Option<String> {
    let inner = text.strip_prefix("<@")?.strip_suffix('>')?;
    let id = inner.split('|').next()?;
    valid_slack_id(id, &['U', 'W']).then(|| id.to_string())
}

/// `<!subteam^S123|@leads>` → `S123`.
pub fn group_id(text: &str) -> Option<String> {
    let inner = text.strip_prefix("<!subteam^")?.strip_suffix('>')?;
    let id = inner.split('|').next()?;
    valid_slack_id(id, &['S']).then(|| id.to_string())
}

/// `<#C123|name>`, `<#C123>` or a bare `C123` → `C123`.
pub fn channel_id(text: &str) -> Option<String> {
    let id = match text.strip_prefix("<#") {
        Some(rest) => rest.strip_suffix('>')?.split('|').next()?,
        None => text,
    };
    valid_slack_id(id, &['C', 'G']).then(|| id.to_string())
}

fn valid_slack_id(id: &str, prefixes: &[char]) -> bool {
    id.len() >= 3
        && id.len() <= 24
        && id.starts_with(prefixes)
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn word(text: &str) -> Word {
        Word {
            text: text.into(),
            quoted: false,
        }
    }

    #[test]
    fn ticket_takes_an_optional_customer_a_priority_a_time_and_the_rest_as_summary() {
        assert_eq!(
            parse("ticket P0 SSO is down for everyone"),
            Ok(Command::Ticket {
                customer: None,
                priority: Priority::P0,
                opened: None,
                summary: "SSO is down for everyone".into(),
            })
        );
        let Ok(Command::Ticket {
            customer, opened, ..
        }) = parse("ticket \"Acme Corp\" p2 opened=2026-11-20T17:00:00+09:00 Export slow")
        else {
            panic!("a ticket")
        };
        assert_eq!(customer, Some(CustomerRef::Name("Acme Corp".into())));
        let Some(Opened::Exact(t)) = opened else {
            panic!("an exact time")
        };
        assert_eq!(t.to_rfc3339(), "2026-11-20T17:00:00+09:00");
        assert!(matches!(
            parse("ticket acme P1 opened=2026-11-20T17:00 x"),
            Ok(Command::Ticket {
                opened: Some(Opened::Local(_)),
                ..
            })
        ));
        // `opened=` later in the summary is part of the text.
        assert!(matches!(
            parse("ticket P1 see opened=3 times"),
            Ok(Command::Ticket { opened: None, ref summary, .. }) if summary == "see opened=3 times"
        ));
        assert_eq!(parse("ticket"), Ok(Command::TicketModal));
        for (text, problem) in [
            ("ticket P5 x", Problem::MissingPriority),
            ("ticket acme", Problem::MissingPriority),
            ("ticket P1", Problem::MissingSummary),
            (
                "ticket P1 opened=2026-11-20",
                Problem::BadTime("2026-11-20".into()),
            ),
        ] {
            assert_eq!(
                parse(text),
                Err(ParseError::Usage {
                    form: Form::Ticket,
                    problem
                }),
                "{text}"
            );
        }
    }

    #[test]
    fn escalation_paths_take_users_groups_or_clear() {
        assert_eq!(
            parse("escalation"),
            Ok(Command::Escalation {
                priority: None,
                change: None
            })
        );
        assert_eq!(
            parse("escalation p1 <@U1|ann> <!subteam^S2|@leads> <!here>"),
            Ok(Command::Escalation {
                priority: Some(Priority::P1),
                change: Some(PathChange::Set(vec![
                    "<@U1>".into(),
                    "<!subteam^S2>".into(),
                    "<!here>".into()
                ]))
            })
        );
        assert_eq!(
            parse("escalation P3 clear"),
            Ok(Command::Escalation {
                priority: Some(Priority::P3),
                change: Some(PathChange::Clear)
            })
        );
        assert!(parse("escalation P0 <#C1|general>").is_err());
        assert!(parse("escalation P0 <@U1 x>").is_err());
        assert!(parse("escalation P0 @ann").is_err());
    }

    #[test]
    fn empty_text_and_help_give_help() {
        assert_eq!(parse(""), Ok(Command::Help));
        assert_eq!(parse("  help "), Ok(Command::Help));
    }

    #[test]
    fn the_plan_commands_parse_and_refuse_what_they_cannot_use() {
        let day = |d| NaiveDate::from_ymd_opt(2027, 1, d).unwrap();
        assert!(matches!(
            parse("new Globex tier=standard kickoff=2027-01-11"),
            Ok(Command::New { kickoff: Some(k), tier: Some(Tier::Standard), .. }) if k == day(11)
        ));
        assert!(matches!(
            parse("new Globex kickoff=2027-02-30"),
            Err(ParseError::Usage {
                form: Form::New,
                problem: Problem::NoSuchDay(_)
            })
        ));
        assert_eq!(
            parse("team globex csm=<@U01ME|me> se=<@U02SAM> customer=<@W03PAT|pat> legal=none"),
            Ok(Command::Team {
                customer: Some(CustomerRef::Slug("globex".into())),
                changes: vec![
                    (Owner::Csm, Some("U01ME".into())),
                    (Owner::Se, Some("U02SAM".into())),
                    (Owner::Customer, Some("W03PAT".into())),
                    (Owner::Legal, None),
                ],
            })
        );
        assert_eq!(
            parse("team"),
            Ok(Command::Team {
                customer: None,
                changes: vec![]
            })
        );
        for bad in ["team boss=<@U1>", "team se=sam", "team acme se=<@U1> extra"] {
            assert!(
                matches!(
                    parse(bad),
                    Err(ParseError::Usage {
                        form: Form::Team,
                        ..
                    })
                ),
                "{bad}"
            );
        }
        assert_eq!(
            parse("evidence globex 1.3.1 <https://trust.example.com/soc2.pdf> SOC 2 report"),
            Ok(Command::Evidence {
                customer: Some(CustomerRef::Slug("globex".into())),
                item: "1.3.1".into(),
                url: "https://trust.example.com/soc2.pdf".into(),
                note: Some("SOC 2 report".into()),
            })
        );
        for (bad, problem) in [
            ("evidence 1.3.1", Problem::MissingUrl),
            ("evidence 1.3.1 ftp://x", Problem::BadUrl("ftp://x".into())),
            (
                "evidence 1.3.1 https://",
                Problem::BadUrl("https://".into()),
            ),
            ("evidence globex", Problem::MissingItem),
        ] {
            assert_eq!(
                parse(bad),
                Err(ParseError::Usage {
                    form: Form::Evidence,
                    problem
                }),
                "{bad}"
            );
        }
        assert_eq!(
            parse("plan globex"),
            Ok(Command::Plan {
                customer: Some(CustomerRef::Slug("globex".into()))
            })
        );
        assert_eq!(parse("export"), Ok(Command::Export { customer: None }));
        assert!(matches!(
            parse("customer globex kickoff=2027-01-18"),
            Ok(Command::Customer { change, .. }) if change.kickoff == Some(day(18))
        ));
    }

    #[test]
    fn new_takes_every_plain_word_as_the_name() {
        assert_eq!(
            parse("new Acme Corp tier=Enterprise channel=<#C0123|acme> slug=acme"),
            Ok(Command::New {
                name: "Acme Corp".into(),
                tier: Some(Tier::Enterprise),
                channel: Some("C0123".into()),
                slug: Some("acme".into()),
                kickoff: None,
            })
        );
        assert_eq!(
            parse("new 株式会社ミヤビ"),
            Ok(Command::New {
                name: "株式会社ミヤビ".into(),
                tier: None,
                channel: None,
                slug: None,
                kickoff: None,
            })
        );
    }

    #[test]
    fn new_refuses_bad_tiers_slugs_and_missing_names() {
        assert!(matches!(
            parse("new Acme tier=gold"),
            Err(ParseError::Usage { form: Form::New, problem: Problem::BadTier(t) }) if t == "gold"
        ));
        assert!(matches!(
            parse("new tier=standard"),
            Err(ParseError::Usage {
                problem: Problem::MissingName,
                ..
            })
        ));
        assert!(matches!(
            parse("new Acme slug=Not_A_Slug"),
            Err(ParseError::Usage {
                problem: Problem::BadSlug(_),
                ..
            })
        ));
        assert!(matches!(
            parse("new Acme color=red"),
            Err(ParseError::Usage {
                problem: Problem::UnknownOption(_),
                ..
            })
        ));
    }

    #[test]
    fn show_keeps_its_words_for_the_channel_to_resolve() {
        assert_eq!(
            parse("show acme security"),
            Ok(Command::Show {
                first: Some(word("acme")),
                second: Some(word("security"))
            })
        );
        assert_eq!(
            parse("show \"Acme Corp\""),
            Ok(Command::Show {
                first: Some(Word {
                    text: "Acme Corp".into(),
                    quoted: true
                }),
                second: None
            })
        );
        assert!(parse("show a b c").is_err());
    }

    #[test]
    fn assign_finds_item_user_and_due_date_in_any_order() {
        assert_eq!(
            parse("assign acme 1.1.1 <@U024BE7LH|bob> due=2026-12-01"),
            Ok(Command::Assign {
                customer: Some(CustomerRef::Slug("acme".into())),
                item: "1.1.1".into(),
                user: "U024BE7LH".into(),
                due: NaiveDate::from_ymd_opt(2026, 12, 1).map(DueDate::On),
            })
        );
        assert_eq!(
            parse("assign <@U1AB> 2.1.1"),
            Ok(Command::Assign {
                customer: None,
                item: "2.1.1".into(),
                user: "U1AB".into(),
                due: None,
            })
        );
        // Thursday 2026-12-31 in the customer's time zone.
        let today = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        let day = |d: u32| {
            NaiveDate::from_ymd_opt(
                if d > 7 { 2026 } else { 2027 },
                if d > 7 { 12 } else { 1 },
                d,
            )
            .unwrap()
        };
        for (text, due) in [
            ("today", day(31)),
            ("Tomorrow", day(1)),
            ("今日", day(31)),
            ("明日", day(1)),
            ("friday", day(1)),
            ("Mon", day(4)),
            ("金曜", day(1)),
            ("月曜日", day(4)),
            // The same weekday as today is a week ahead.
            ("thursday", day(7)),
            ("木曜", day(7)),
        ] {
            match parse(&format!("assign 1.1.1 <@U1AB> due={text}")) {
                Ok(Command::Assign { due: Some(d), .. }) => assert_eq!(d.on(today), due, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        for text in ["soon", "someday", "fr", "月"] {
            assert_eq!(
                parse(&format!("assign 1.1.1 <@U1AB> due={text}")),
                Err(usage(Form::Assign, Problem::BadDue(text.into()))),
                "{text}"
            );
        }
        for text in [
            "assign 1.1.1 <@U1AB> due=2026-02-30",
            "golive acme 2026-04-31",
            "audit since=2026-02-29",
        ] {
            assert!(
                matches!(
                    parse(text),
                    Err(ParseError::Usage {
                        problem: Problem::NoSuchDay(_),
                        ..
                    })
                ),
                "{text}"
            );
        }
        assert!(matches!(
            parse("assign 1.1.1 <@U1AB> due=2026-13-01"),
            Err(ParseError::Usage {
                problem: Problem::BadDate(_),
                ..
            })
        ));
        assert!(matches!(
            parse("assign 1.1.1"),
            Err(ParseError::Usage {
                problem: Problem::MissingUser,
                ..
            })
        ));
        assert!(matches!(
            parse("assign 1.1.1 @bob"),
            Err(ParseError::Usage {
                problem: Problem::BadUser(_),
                ..
            })
        ));
    }

    #[test]
    fn done_and_undo_take_an_optional_customer() {
        assert_eq!(
            parse("done 1.2.3"),
            Ok(Command::Done {
                customer: None,
                item: "1.2.3".into()
            })
        );
        assert_eq!(
            parse("undo \"Acme Corp\" 1.2.3"),
            Ok(Command::Undo {
                customer: Some(CustomerRef::Name("Acme Corp".into())),
                item: "1.2.3".into()
            })
        );
        assert!(parse("done").is_err());
    }

    #[test]
    fn unknown_subcommands_and_open_quotes_are_errors() {
        assert_eq!(
            parse("frobnicate x"),
            Err(ParseError::UnknownSubcommand("frobnicate".into()))
        );
        assert_eq!(parse("show \"Acme"), Err(ParseError::UnclosedQuote));
    }

    #[test]
    fn roles_go_to_people_and_user_groups() {
        assert_eq!(
            parse("roles <@U0ANN|ann> agent"),
            Ok(Command::Roles {
                change: Some(("U0ANN".into(), Some(Role::Agent)))
            })
        );
        assert_eq!(
            parse("roles <!subteam^S0LEADS|@leads> viewer"),
            Ok(Command::Roles {
                change: Some(("S0LEADS".into(), Some(Role::Viewer)))
            })
        );
        assert_eq!(
            parse("roles <!subteam^S0LEADS|@leads> default"),
            Ok(Command::Roles {
                change: Some(("S0LEADS".into(), None))
            })
        );
        assert!(parse("roles <#C0GENERAL|x> agent").is_err());
        assert!(parse("roles <!here> agent").is_err());
    }

    #[test]
    fn mentions_are_unescaped() {
        assert_eq!(user_id("<@U123|bob>").as_deref(), Some("U123"));
        assert_eq!(user_id("<@W123>").as_deref(), Some("W123"));
        assert_eq!(user_id("@bob"), None);
        assert_eq!(channel_id("<#C123|general>").as_deref(), Some("C123"));
        assert_eq!(channel_id("G0ABC").as_deref(), Some("G0ABC"));
        assert_eq!(channel_id("#general"), None);
        assert!(looks_like_item_key("1.1.1.1"));
        assert!(!looks_like_item_key("1.1"));
        assert!(!looks_like_item_key("a.b.c"));
    }

    proptest! {
        #[test]
        fn any_text_parses_or_fails_without_panicking(text in "\\PC{0,300}") {
            let _ = parse(&text);
        }
    }

    #[test]
    fn remind_takes_an_optional_customer_a_when_and_the_rest_as_text() {
        let Ok(Command::Remind {
            customer,
            when,
            text,
        }) = parse("remind acme in 2h call Ken about SSO")
        else {
            panic!("a reminder")
        };
        assert_eq!(customer, Some(CustomerRef::Slug("acme".into())));
        assert_eq!(when, When::In(chrono::Duration::hours(2)));
        assert_eq!(text, "call Ken about SSO");
        assert!(matches!(
            parse("remind every monday 09:00 weekly sync"),
            Ok(Command::Remind { customer: None, when: When::Every(_), ref text }) if text == "weekly sync"
        ));
        assert!(matches!(
            parse("remind \"Acme Corp\" 2026-12-01 09:30 kickoff"),
            Ok(Command::Remind {
                customer: Some(CustomerRef::Name(_)),
                when: When::At(_),
                ..
            })
        ));
        for text in [
            "remind",
            "remind acme soon hello",
            "remind in 2h",
            "remind acme every funday 9:00 x",
        ] {
            assert!(
                matches!(
                    parse(text),
                    Err(ParseError::Usage {
                        form: Form::Remind,
                        ..
                    })
                ),
                "{text}"
            );
        }
        assert_eq!(
            parse("remind in 2h"),
            Err(usage(Form::Remind, Problem::MissingText))
        );
    }

    #[test]
    fn customer_changes_parse_and_bad_ones_are_refused() {
        let Ok(Command::Customer { customer, change }) =
            parse("customer acme name=Acme2 tier=enterprise csm=<@U0CSM|ken> qbr=off archive")
        else {
            panic!("a customer change")
        };
        assert_eq!(customer, Some(CustomerRef::Slug("acme".into())));
        assert_eq!(change.name.as_deref(), Some("Acme2"));
        assert_eq!(change.tier, Some(Tier::Enterprise));
        assert_eq!(change.csm.as_deref(), Some("U0CSM"));
        assert_eq!(change.archived, Some(true));
        assert_eq!(change.milestones, [("qbr".to_string(), false)]);
        assert!(matches!(
            parse("customer"),
            Ok(Command::Customer { customer: None, ref change }) if change.is_empty()
        ));
        assert!(matches!(
            parse("unarchive acme"),
            Ok(Command::Customer {
                change: CustomerChange {
                    archived: Some(false),
                    ..
                },
                ..
            })
        ));
        for (text, problem) in [
            ("customer acme tier=gold", Problem::BadTier("gold".into())),
            ("customer acme csm=ken", Problem::BadUser("ken".into())),
            (
                "customer acme qbr=maybe",
                Problem::BadSwitch("qbr=maybe".into()),
            ),
            (
                "customer acme colour=red",
                Problem::UnknownOption("colour=red".into()),
            ),
            ("customer acme beta", Problem::TooManyWords("beta".into())),
        ] {
            assert_eq!(parse(text), Err(usage(Form::Customer, problem)), "{text}");
        }
    }

    fn customer_change(text: &str) -> CustomerChange {
        match parse(text) {
            Ok(Command::Customer { change, .. }) => change,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn intake_and_contacts_parse_and_bad_ones_are_refused() {
        let change = customer_change("customer acme intake=Reaction contacts=<@U0A|ann>,<@W0B>");
        assert_eq!(change.intake, Some(Some(IntakeMode::Reaction)));
        assert_eq!(change.contacts, Some(vec!["U0A".into(), "W0B".into()]));
        // `auto` follows the policy: the customer's own setting is taken back.
        assert_eq!(customer_change("customer intake=auto").intake, Some(None));
        // A space after a comma, a repeated person, a trailing comma.
        let spaced =
            customer_change("customer acme contacts=<@U0A|ann>, <@U0B|bo>,<@U0A>, tier=standard");
        assert_eq!(spaced.contacts, Some(vec!["U0A".into(), "U0B".into()]));
        assert_eq!(spaced.tier, Some(Tier::Standard));
        for none in ["customer acme contacts=", "customer acme contacts=none"] {
            assert_eq!(customer_change(none).contacts, Some(Vec::new()), "{none}");
        }
        assert!(!customer_change("customer acme contacts=").is_empty());
        let many = (0..=MAX_CONTACTS)
            .map(|n| format!("<@U{n:04}>"))
            .collect::<Vec<_>>()
            .join(",");
        for (text, problem) in [
            (
                "customer acme intake=sometimes".to_string(),
                Problem::BadIntake("sometimes".into()),
            ),
            (
                "customer acme contacts=<#C1>".into(),
                Problem::BadContact("<#C1>".into()),
            ),
            (
                "customer acme contacts=<@U0A>,ann".into(),
                Problem::BadContact("ann".into()),
            ),
            (
                "customer acme contacts=<!subteam^S1|team>".into(),
                Problem::BadContact("<!subteam^S1|team>".into()),
            ),
            (
                format!("customer acme contacts={many}"),
                Problem::TooManyContacts,
            ),
        ] {
            assert_eq!(parse(&text), Err(usage(Form::Customer, problem)), "{text}");
        }
    }

    #[test]
    fn golive_audit_and_report_take_their_options() {
        assert!(matches!(
            parse("golive acme 2026-12-01"),
            Ok(Command::GoLive {
                customer: Some(_),
                date: Some(_)
            })
        ));
        assert!(matches!(
            parse("golive 2026-12-01"),
            Ok(Command::GoLive {
                customer: None,
                date: Some(_)
            })
        ));
        assert_eq!(
            parse("golive acme 2026-13-01"),
            Err(usage(Form::GoLive, Problem::BadDate("2026-13-01".into())))
        );
        assert!(matches!(
            parse("audit acme since=2026-11-01"),
            Ok(Command::Audit {
                customer: Some(_),
                since: Some(_)
            })
        ));
        assert!(matches!(
            parse("report month=2026-11"),
            Ok(Command::Report {
                customer: None,
                month: Some(Month {
                    year: 2026,
                    month: 11
                })
            })
        ));
        assert_eq!(
            parse("report acme month=2026-1x"),
            Err(usage(Form::Report, Problem::BadMonth("2026-1x".into())))
        );
    }

    #[test]
    fn dates_at_the_edges_are_refused_with_the_usage() {
        for (text, form) in [
            ("assign acme 1.1.1 <@U1AB> due=+99999-01-01", Form::Assign),
            ("assign acme 1.1.1 <@U1AB> due=-0001-01-01", Form::Assign),
            ("assign acme 1.1.1 <@U1AB> due=0000-01-01", Form::Assign),
            ("assign acme 1.1.1 <@U1AB> due=9999-12-31", Form::Assign),
            ("golive acme 9999-12-31", Form::GoLive),
            ("golive 9999-12-31", Form::GoLive),
            ("golive acme +99999-01-01", Form::GoLive),
            ("golive acme 1999-12-31", Form::GoLive),
            (
                "ticket acme P1 opened=0000-01-01T00:00:00Z Down",
                Form::Ticket,
            ),
            (
                "ticket acme P1 opened=+99999-01-01T00:00:00Z Down",
                Form::Ticket,
            ),
            ("ticket acme P1 opened=1969-12-31T23:59 Down", Form::Ticket),
            ("audit since=+99999-01-01", Form::Audit),
        ] {
            match parse(text) {
                Err(ParseError::Usage { form: f, .. }) => assert_eq!(f, form, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        for text in [
            "remind me every 0 months from 2026-12-01 hi",
            "remind me every 121 months from 2026-12-01 hi",
            "remind me 9999-12-31 hi",
            "remind me every month from 9999-12-31 hi",
            "remind me 0000-01-01 hi",
        ] {
            assert!(
                matches!(
                    parse(text),
                    Err(ParseError::Usage {
                        problem: Problem::BadWhen(_),
                        ..
                    })
                ),
                "{text}: {:?}",
                parse(text)
            );
        }
        // The edges of the range itself are taken.
        assert!(parse("golive acme 2099-12-31").is_ok());
        assert!(parse("golive acme 2000-01-01").is_ok());
    }

    proptest::proptest! {
        /// Whatever the year, a date either parses within the range or is refused.
        #[test]
        fn any_year_parses_in_range_or_is_refused(year in -300_000i64..300_000, m in 0u32..14, d in 0u32..33) {
            let text = format!("{year:04}-{m:02}-{d:02}");
            if let Some(date) = parse_date(&text) {
                proptest::prop_assert!(YEARS.contains(&date.year()));
            }
            let _ = parse(&format!("golive acme {text}"));
            let _ = parse(&format!("ticket acme P1 opened={text}T00:00:00Z x"));
        }
    }
}

#[cfg(test)]
mod bounded_input_tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn slacks_escapes_are_undone_once() {
        assert_eq!(unescape_slack("A &amp; B"), "A & B");
        assert_eq!(unescape_slack("&lt;b&gt;"), "<b>");
        assert_eq!(unescape_slack("&amp;lt;"), "&lt;");
        assert_eq!(unescape_slack("& &am &amp"), "& &am &amp");
        assert_eq!(
            unescape_slack("セキュリティ &amp; 法務"),
            "セキュリティ & 法務"
        );
    }

    #[test]
    fn names_are_decoded_and_capped() {
        let Ok(Command::New { name, .. }) = parse("new Smith &amp; Wesson") else {
            panic!()
        };
        assert_eq!(name, "Smith & Wesson");
        // 80 characters, each sent by Slack as `&amp;`, is the most a name holds.
        let longest = "&amp;".repeat(MAX_NAME_CHARS);
        let Ok(Command::New { name, .. }) = parse(&format!("new {longest}")) else {
            panic!()
        };
        assert_eq!(name.chars().count(), MAX_NAME_CHARS);
        let too_long = "&amp;".repeat(700);
        assert!(matches!(
            parse(&format!("new {too_long}")),
            Err(ParseError::Usage {
                form: Form::New,
                problem: Problem::NameTooLong
            })
        ));
        assert!(matches!(
            parse(&format!("customer acme name={}", "x".repeat(81))),
            Err(ParseError::Usage {
                form: Form::Customer,
                problem: Problem::NameTooLong
            })
        ));
    }

    proptest! {
        /// What Slack escapes, undone, is what was typed.
        #[test]
        fn unescaping_inverts_slacks_escaping(typed in "[&<>a-z ;]{0,40}") {
            let sent = typed.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
            prop_assert_eq!(unescape_slack(&sent), typed);
        }
    }
}
