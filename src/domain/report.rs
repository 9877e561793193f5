//! The monthly report's figures: SLA attainment per priority, the breaches, a weekly
//! trend and the tickets as CSV. Pure: every function takes `now`.
//!
//! A ticket belongs to the period it was OPENED in, `[from, to)`, whatever happened to
//! it afterwards, so a month's figures only change while its tickets are still open.
//! Each of its two targets (first response, resolution) is then:
//! - closed (`Ticket::closure`): measured with the business time it used, met when that
//!   is at most the target; closed late it is also a breach, over by the difference;
//! - open and already breached at `now`: measured and not met, its time the target plus
//!   the business time over it, and a breach;
//! - open and not breached: left out. It may still be met, so counting it either way
//!   would be a guess; it shows up once it closes or breaches.
//!
//! Targets are the ticket's current priority's (a re-prioritized ticket counts under
//! its last priority), in business time on the customer's calendar.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, SecondsFormat, Utc};
use chrono_tz::Tz;

use super::calendar::{Calendar, local_to_utc};
use super::policy::Policy;
use super::sla::{Priority, SlaState, Target};
use super::ticket::Ticket;

/// A calendar month, `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    pub year: i32,
    /// 1 for January … 12 for December.
    pub month: u32,
}

impl Month {
    /// "2026-11": a four-digit year and a two-digit month, nothing else (surrounding
    /// spaces aside), so that "2026-1" or "11-2026" are refused rather than guessed.
    pub fn parse(text: &str) -> Option<Month> {
        let (year, month) = text.trim().split_once('-')?;
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(year, 4) || !digits(month, 2) {
            return None;
        }
        let month = Month {
            year: year.parse().ok()?,
            month: month.parse().ok()?,
        };
        (1..=12).contains(&month.month).then_some(month)
    }

    /// The month that `t` falls in, read on a wall clock in `tz`.
    pub fn containing(t: DateTime<Utc>, tz: Tz) -> Month {
        let date = t.with_timezone(&tz).date_naive();
        Month {
            year: date.year(),
            month: date.month(),
        }
    }

    pub fn previous(self) -> Month {
        match self.month {
            1 => Month {
                year: self.year - 1,
                month: 12,
            },
            m => Month {
                year: self.year,
                month: m - 1,
            },
        }
    }

    fn next(self) -> Month {
        match self.month {
            12 => Month {
                year: self.year + 1,
                month: 1,
            },
            m => Month {
                year: self.year,
                month: m + 1,
            },
        }
    }

    /// [start, end) of the month as instants, midnight in `tz`. Where a DST jump skips
    /// midnight, the month starts at the end of the jump, as the calendar's days do.
    pub fn bounds(self, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            local_to_utc(tz, self.first_day().and_time(NaiveTime::MIN)),
            local_to_utc(tz, self.next().first_day().and_time(NaiveTime::MIN)),
        )
    }

    /// "2026-11".
    pub fn label(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }

    fn first_day(self) -> NaiveDate {
        // The fields are public: a month out of range is read as the nearest real one
        // rather than a panic in the middle of a report.
        NaiveDate::from_ymd_opt(self.year, self.month.clamp(1, 12), 1).unwrap_or(NaiveDate::MIN)
    }
}

/// Business-time attainment of one target over a set of tickets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attainment {
    /// Targets counted: closed, or open and already breached.
    pub measured: u32,
    pub met: u32,
    /// The median and 90th percentile of the measured times by the nearest-rank method:
    /// the smallest measured time that at least half (90%) of them do not exceed. Always
    /// one of the actual times, never an average of two; `None` when nothing was
    /// measured.
    pub median: Option<Duration>,
    pub p90: Option<Duration>,
}

impl Attainment {
    /// The share met, in percent; `None` when nothing was measured (not 100%: no data
    /// is not a perfect month).
    pub fn percent(&self) -> Option<f64> {
        (self.measured > 0).then(|| f64::from(self.met) * 100.0 / f64::from(self.measured))
    }

    fn of(measures: &[Measure]) -> Attainment {
        let mut times: Vec<Duration> = measures.iter().map(|m| m.time).collect();
        times.sort();
        Attainment {
            measured: count(measures.len()),
            met: count(measures.iter().filter(|m| m.met).count()),
            median: nearest_rank(&times, 50),
            p90: nearest_rank(&times, 90),
        }
    }
}

/// The `percentile`th of `sorted` by nearest rank: the value at rank ⌈p/100 · n⌉.
fn nearest_rank(sorted: &[Duration], percentile: usize) -> Option<Duration> {
    let rank = (percentile * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// One priority's line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorityRow {
    pub priority: Priority,
    /// Tickets opened in the period, measured or not.
    pub opened: u32,
    pub first_response: Attainment,
    pub resolution: Attainment,
}

/// A target missed: closed late, or still open past it at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    pub ticket_id: i64,
    pub number: i64,
    pub priority: Priority,
    pub target: Target,
    /// Business time past the target.
    pub over: Duration,
    /// Where the ticket message is, for a permalink.
    pub channel_id: String,
    pub ts: Option<String>,
}

/// One ISO week (starting Monday) in the calendar's zone. Tickets count in the week of
/// the date they were opened, with both targets: `measured` and `met` are the sums of
/// first response and resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeekPoint {
    pub week_start: NaiveDate,
    pub measured: u32,
    pub met: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaReport {
    /// P0, P1, P2, P3: always four, so a quiet priority shows as quiet.
    pub rows: Vec<PriorityRow>,
    /// Worst first: the largest `over`, then by ticket number, first response before
    /// resolution.
    pub breaches: Vec<Breach>,
    /// Every week overlapping `[from, to)`, in order, even those with no ticket, so a
    /// chart of them has no holes.
    pub weeks: Vec<WeekPoint>,
    /// Next responses per priority (P0…P3), from [`next_response_counts`].
    pub next_responses: [NextResponseCount; 4],
}

/// A next-response round staff answered, for the report: its ticket and the business
/// time it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnsweredNext {
    pub ticket_id: i64,
    pub used: Duration,
}

/// The next responses of one priority's tickets: rounds answered within the target
/// (met), and rounds answered late or still waiting past the target at `now`
/// (breached). A round still waiting within its target is left out, as for the other
/// targets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NextResponseCount {
    pub met: u32,
    pub breached: u32,
}

impl NextResponseCount {
    pub fn measured(&self) -> u32 {
        self.met.saturating_add(self.breached)
    }
}

/// How the report counts the next responses of `ticket` (whose answered rounds are
/// among `answered`) at `now`, against its current priority's target.
fn next_responses_of(
    ticket: &Ticket,
    answered: &[AnsweredNext],
    policy: &Policy,
    cal: &Calendar,
    now: DateTime<Utc>,
) -> NextResponseCount {
    let length = ticket.target_length(policy, Target::NextResponse);
    let mut count = NextResponseCount::default();
    for round in answered.iter().filter(|a| a.ticket_id == ticket.id) {
        if round.used <= length {
            count.met += 1;
        } else {
            count.breached += 1;
        }
    }
    if ticket.next.awaiting.is_some()
        && matches!(
            ticket.sla_state(policy, cal, Target::NextResponse, now),
            SlaState::BreachedBy(_)
        )
    {
        count.breached += 1;
    }
    count
}

/// The next responses of the tickets opened in `[from, to)`, per priority (P0…P3).
pub fn next_response_counts(
    tickets: &[Ticket],
    answered: &[AnsweredNext],
    policy: &Policy,
    cal: &Calendar,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> [NextResponseCount; 4] {
    let mut counts = [NextResponseCount::default(); 4];
    for ticket in opened_in(tickets, from, to) {
        let of = next_responses_of(ticket, answered, policy, cal, now);
        let row = &mut counts[ticket.priority.index()];
        row.met += of.met;
        row.breached += of.breached;
    }
    counts
}

/// One target of one ticket as the report counts it.
#[derive(Debug, Clone, Copy)]
struct Measure {
    time: Duration,
    met: bool,
    /// Past the target: a breach.
    over: Option<Duration>,
}

/// How the report counts `target` of `ticket` at `now` (see the module comment);
/// `None` when it is left out.
fn measure(
    ticket: &Ticket,
    policy: &Policy,
    cal: &Calendar,
    target: Target,
    now: DateTime<Utc>,
) -> Option<Measure> {
    let length = ticket.target_length(policy, target);
    if let Some(closure) = ticket.closure(target) {
        let met = closure.used <= length;
        return Some(Measure {
            time: closure.used,
            met,
            over: (!met).then(|| closure.used - length),
        });
    }
    match ticket.sla_state(policy, cal, target, now) {
        SlaState::BreachedBy(over) => Some(Measure {
            time: length + over,
            met: false,
            over: Some(over),
        }),
        _ => None,
    }
}

fn opened_in(tickets: &[Ticket], from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<&Ticket> {
    tickets
        .iter()
        .filter(|t| from <= t.opened_at && t.opened_at < to)
        .collect()
}

fn week_start(date: NaiveDate) -> NaiveDate {
    date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
}

/// The Mondays of the weeks that overlap `[from, to)` in `tz`.
fn weeks_overlapping(from: DateTime<Utc>, to: DateTime<Utc>, tz: Tz) -> Vec<NaiveDate> {
    if to <= from {
        return Vec::new();
    }
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).date_naive();
    // `to` itself is outside: a period ending at a Monday's midnight has no part of
    // that week.
    let last = week_start(local(to - Duration::nanoseconds(1)));
    let mut week = week_start(local(from));
    let mut weeks = Vec::new();
    while week <= last {
        weeks.push(week);
        week += Duration::weeks(1);
    }
    weeks
}

/// The SLA part of the report over tickets opened in `[from, to)`, as things stand at
/// `now` (see the module comment for what counts). `cal` is the customer's calendar:
/// its zone sets the weeks.
pub fn sla_report(
    tickets: &[Ticket],
    policy: &Policy,
    cal: &Calendar,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> SlaReport {
    let tickets = opened_in(tickets, from, to);
    let mut opened = [0u32; 4];
    let mut measures: [[Vec<Measure>; 2]; 4] = Default::default();
    let mut breaches = Vec::new();
    let mut weeks: Vec<WeekPoint> = weeks_overlapping(from, to, cal.tz)
        .into_iter()
        .map(|week_start| WeekPoint {
            week_start,
            measured: 0,
            met: 0,
        })
        .collect();
    for ticket in tickets {
        let p = ticket.priority.index();
        opened[p] += 1;
        let week = week_start(ticket.opened_at.with_timezone(&cal.tz).date_naive());
        let point = weeks.iter_mut().find(|w| w.week_start == week);
        let mut in_week = (0, 0);
        for (t, target) in Target::ALL.into_iter().enumerate() {
            let Some(m) = measure(ticket, policy, cal, target, now) else {
                continue;
            };
            measures[p][t].push(m);
            in_week.0 += 1;
            in_week.1 += u32::from(m.met);
            if let Some(over) = m.over {
                breaches.push(Breach {
                    ticket_id: ticket.id,
                    number: ticket.number,
                    priority: ticket.priority,
                    target,
                    over,
                    channel_id: ticket.channel_id.clone(),
                    ts: ticket.ts.clone(),
                });
            }
        }
        if let Some(point) = point {
            point.measured += in_week.0;
            point.met += in_week.1;
        }
    }
    breaches.sort_by(|a, b| {
        b.over
            .cmp(&a.over)
            .then(a.number.cmp(&b.number))
            .then(a.target.cmp(&b.target))
    });
    let rows = Priority::ALL
        .into_iter()
        .map(|priority| {
            let [first_response, resolution] = &measures[priority.index()];
            PriorityRow {
                priority,
                opened: opened[priority.index()],
                first_response: Attainment::of(first_response),
                resolution: Attainment::of(resolution),
            }
        })
        .collect();
    SlaReport {
        rows,
        breaches,
        weeks,
        next_responses: Default::default(),
    }
}

const CSV_HEADER: &str = "number,priority,opened_at,summary,first_response_business_minutes,\
first_response_met,resolution_business_minutes,resolution_met,next_responses_met,\
next_responses_breached,csat";

/// What was said about the month's tickets beyond the tickets themselves: staff's
/// answered next responses and the customer's ratings (by ticket id).
#[derive(Debug, Clone, Copy, Default)]
pub struct Answers<'a> {
    pub next_responses: &'a [AnsweredNext],
    pub csat: Option<&'a std::collections::HashMap<i64, super::csat::Rating>>,
}

/// One CSV row per ticket opened in [from, to), oldest first, under a header row:
/// number, priority, opened_at (RFC 3339, in the calendar's zone), summary,
/// first_response_business_minutes, first_response_met, resolution_business_minutes,
/// resolution_met, next_responses_met, next_responses_breached (its rounds among
/// `answers.next_responses`, counted as [`next_response_counts`] does), csat (the
/// customer's answer, `good`/`okay`/`bad`, from `answers.csat` by ticket id; empty
/// without one).
///
/// Minutes are whole business minutes rounded up, so that with whole-minute targets
/// "minutes ≤ target" agrees with the met column (a 15m 30s answer to a 15m target
/// reads 16, not 15). A target counted as the report counts it: a closed one has its
/// time and `true`/`false`, an open breached one its time so far and `false`, an open
/// one not yet breached both fields empty. RFC 4180: CRLF line ends, and a field with
/// a comma, a quote or a line break is quoted with its quotes doubled.
pub fn tickets_csv(
    tickets: &[Ticket],
    answers: Answers<'_>,
    policy: &Policy,
    cal: &Calendar,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> String {
    let Answers {
        next_responses: answered,
        csat,
    } = answers;
    let mut tickets = opened_in(tickets, from, to);
    tickets.sort_by_key(|t| (t.opened_at, t.number));
    let mut csv = format!("{CSV_HEADER}\r\n");
    for ticket in tickets {
        let mut fields = vec![
            ticket.number.to_string(),
            ticket.priority.as_str().to_string(),
            ticket
                .opened_at
                .with_timezone(&cal.tz)
                .fixed_offset()
                .to_rfc3339_opts(SecondsFormat::Secs, true),
            ticket.summary.clone(),
        ];
        for target in Target::ALL {
            match measure(ticket, policy, cal, target, now) {
                Some(m) => {
                    fields.push(whole_minutes_up(m.time).to_string());
                    fields.push(m.met.to_string());
                }
                None => fields.extend([String::new(), String::new()]),
            }
        }
        let next = next_responses_of(ticket, answered, policy, cal, now);
        fields.push(next.met.to_string());
        fields.push(next.breached.to_string());
        fields.push(
            csat.and_then(|c| c.get(&ticket.id))
                .map_or("", |r| r.as_str())
                .to_string(),
        );
        let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        csv.push_str(&row.join(","));
        csv.push_str("\r\n");
    }
    csv
}

fn whole_minutes_up(duration: Duration) -> i64 {
    let minutes = duration.num_minutes();
    if duration > Duration::minutes(minutes) {
        minutes + 1
    } else {
        minutes
    }
}

/// A CSV field: as it is, or quoted with its quotes doubled when it holds a comma, a
/// quote or a line break.
pub fn csv_field(text: &str) -> String {
    // A cell a spreadsheet would read as a formula (typed text such as `=HYPERLINK(…)`
    // in a summary or a note) is kept as text with a leading `'`, as OWASP advises
    // for CSV files people open in Excel; numbers like `-5` stay numbers.
    let guarded;
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) && text.parse::<f64>().is_err()
    {
        guarded = format!("'{text}");
        guarded.as_str()
    } else {
        text
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::{Holidays, Hours};
    use crate::domain::csat::Rating;
    use crate::domain::sla::Clock;
    use crate::domain::ticket::{Action, Closure};
    use crate::domain::tokyo;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn nov(d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        utc(2026, 11, d, h, mi)
    }

    fn m(minutes: i64) -> Duration {
        Duration::minutes(minutes)
    }

    fn h(hours: i64) -> Duration {
        Duration::hours(hours)
    }

    fn date(y: i32, mo: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, mo, d).unwrap()
    }

    /// A ticket `number` (id `100 + number`), with its first response and resolution
    /// closed after the business time given, if given. A resolved ticket's clock is
    /// stopped at its resolution.
    fn ticket(
        number: i64,
        priority: Priority,
        summary: &str,
        opened_at: DateTime<Utc>,
        responded: Option<Duration>,
        resolved: Option<Duration>,
    ) -> Ticket {
        let closure = |used: Duration| Closure {
            at: opened_at + used,
            by: "UENG".into(),
            used,
        };
        let mut t = Ticket::new("T1", 1, "C1", priority, summary, "UREP", opened_at);
        t.id = 100 + number;
        t.number = number;
        t.ts = Some(format!("1700000000.{number:06}"));
        t.responded = responded.map(closure);
        t.resolved = resolved.map(closure);
        if let Some(used) = resolved {
            t.clock = Clock {
                used,
                running_since: None,
            };
        }
        t
    }

    fn paused(mut t: Ticket, used: Duration) -> Ticket {
        t.clock = Clock {
            used,
            running_since: None,
        };
        t
    }

    /// November 2026 on a 24/7 UTC calendar with the seed's targets: P0 15m / 4h,
    /// P1 1h / 8h. Nov 1 is a Sunday; Nov 30 a Monday.
    fn fixture() -> Vec<Ticket> {
        use Priority::*;
        vec![
            ticket(
                1,
                P0,
                "ログインできない",
                nov(2, 9, 0),
                Some(m(10)),
                Some(h(3)),
            ),
            // Late on both: 5m and 2h over.
            ticket(
                2,
                P0,
                "Export fails, \"quoted\"",
                nov(3, 9, 0),
                Some(m(20)),
                Some(h(6)),
            ),
            // Answered in 4m 30s; resolution paused at 2h of 4h: not measured.
            paused(
                ticket(
                    3,
                    P0,
                    "Slow dashboard",
                    nov(10, 12, 0),
                    Some(m(4) + Duration::seconds(30)),
                    None,
                ),
                h(2),
            ),
            // Open, running for an hour at `now`: first response 45m over, resolution
            // still due.
            ticket(4, P0, "Down", nov(30, 23, 0), None, None),
            // Exactly on both targets: met.
            ticket(
                5,
                P1,
                "line1\nline2",
                nov(16, 9, 0),
                Some(m(30)),
                Some(h(8)),
            ),
            // Late on both: 30m and 2h over.
            ticket(6, P1, "SSO setup", nov(17, 9, 0), Some(m(90)), Some(h(10))),
            ticket(7, P1, "API key", nov(24, 9, 0), Some(m(60)), Some(h(7))),
            // Opened a minute before the month, and late: not in the report.
            ticket(
                8,
                P1,
                "October",
                utc(2026, 10, 31, 23, 59),
                Some(h(5)),
                Some(h(30)),
            ),
            // Opened at the month's end, which is outside it.
            ticket(9, P0, "December", utc(2026, 12, 1, 0, 0), None, None),
            // Open and paused well within its targets: counted as opened, not measured.
            paused(
                ticket(10, P1, "Question", nov(25, 10, 0), None, None),
                m(20),
            ),
        ]
    }

    fn november() -> (DateTime<Utc>, DateTime<Utc>) {
        Month {
            year: 2026,
            month: 11,
        }
        .bounds(Tz::UTC)
    }

    fn now() -> DateTime<Utc> {
        utc(2026, 12, 1, 0, 0)
    }

    fn report() -> SlaReport {
        let (from, to) = november();
        sla_report(
            &fixture(),
            &Policy::default(),
            &Calendar::always(),
            from,
            to,
            now(),
        )
    }

    fn attainment(measured: u32, met: u32, median: Duration, p90: Duration) -> Attainment {
        Attainment {
            measured,
            met,
            median: Some(median),
            p90: Some(p90),
        }
    }

    #[test]
    fn months_parse_strictly_and_step_across_years() {
        let nov = Month {
            year: 2026,
            month: 11,
        };
        assert_eq!(Month::parse("2026-11"), Some(nov));
        assert_eq!(Month::parse(" 2026-11 "), Some(nov));
        for bad in [
            "2026-13",
            "2026-00",
            "2026-1",
            "26-11",
            "2026/11",
            "2026-11-01",
            "",
            "２０２６-11",
        ] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
        assert_eq!(nov.label(), "2026-11");
        assert_eq!(
            Month::parse("2027-01").unwrap().previous().label(),
            "2026-12"
        );
        assert_eq!(nov.previous().label(), "2026-10");
    }

    #[test]
    fn a_month_is_read_on_the_customers_wall_clock() {
        // 15:00 UTC on the 30th is already December 1st in Tokyo.
        let t = utc(2026, 11, 30, 15, 0);
        assert_eq!(Month::containing(t, Tz::UTC).label(), "2026-11");
        assert_eq!(
            Month::containing(t, chrono_tz::Asia::Tokyo).label(),
            "2026-12"
        );
        let nov = Month::parse("2026-11").unwrap();
        assert_eq!(
            nov.bounds(chrono_tz::Asia::Tokyo),
            (tokyo(2026, 11, 1, 0, 0), tokyo(2026, 12, 1, 0, 0))
        );
        assert_eq!(
            nov.bounds(Tz::UTC),
            (utc(2026, 11, 1, 0, 0), utc(2026, 12, 1, 0, 0))
        );
        // New York leaves DST on November 1st at 02:00: the month starts at EDT
        // midnight (UTC-4) and ends at EST midnight (UTC-5).
        assert_eq!(
            nov.bounds(chrono_tz::America::New_York),
            (utc(2026, 11, 1, 4, 0), utc(2026, 12, 1, 5, 0))
        );
        assert_eq!(
            Month::parse("2026-12").unwrap().bounds(Tz::UTC),
            (utc(2026, 12, 1, 0, 0), utc(2027, 1, 1, 0, 0))
        );
    }

    #[test]
    fn nearest_rank_picks_a_measured_time() {
        let times = [m(1), m(2), m(3), m(4)];
        assert_eq!(nearest_rank(&times, 50), Some(m(2)));
        assert_eq!(nearest_rank(&times, 90), Some(m(4)));
        assert_eq!(nearest_rank(&times[..1], 50), Some(m(1)));
        assert_eq!(nearest_rank(&times[..1], 90), Some(m(1)));
        // Ten values: the 90th percentile is the 9th, not the largest.
        let ten: Vec<Duration> = (1..=10).map(m).collect();
        assert_eq!(nearest_rank(&ten, 90), Some(m(9)));
        assert_eq!(nearest_rank(&ten, 50), Some(m(5)));
        assert_eq!(nearest_rank(&[], 50), None);
    }

    #[test]
    fn attainment_per_priority_counts_closed_and_breached_targets_only() {
        let report = report();
        assert_eq!(
            report.rows,
            vec![
                PriorityRow {
                    priority: Priority::P0,
                    opened: 4,
                    // 4m30s, 10m met; 20m late; the open one 15m + 45m over.
                    first_response: attainment(4, 2, m(10), m(60)),
                    // 3h met, 6h late; #3 paused and #4 running within 4h: left out.
                    resolution: attainment(2, 1, h(3), h(6)),
                },
                PriorityRow {
                    priority: Priority::P1,
                    // #8 (before the month) is not counted; #10 is, though unmeasured.
                    opened: 4,
                    // 30m, 60m (exactly the target) met; 90m late.
                    first_response: attainment(3, 2, m(60), m(90)),
                    // 7h, 8h (exactly) met; 10h late.
                    resolution: attainment(3, 2, h(8), h(10)),
                },
                PriorityRow {
                    priority: Priority::P2,
                    opened: 0,
                    first_response: Attainment::default(),
                    resolution: Attainment::default(),
                },
                PriorityRow {
                    priority: Priority::P3,
                    opened: 0,
                    first_response: Attainment::default(),
                    resolution: Attainment::default(),
                },
            ]
        );
        let p0 = &report.rows[0];
        assert_eq!(p0.first_response.percent(), Some(50.0));
        assert_eq!(report.rows[1].resolution.percent(), Some(200.0 / 3.0));
        assert_eq!(report.rows[2].first_response.percent(), None);
    }

    #[test]
    fn a_ticket_raised_past_its_new_target_counts_the_breach_no_escalation_told() {
        // P3 for 65 minutes, then P1: P1's 1h first response was past at the change.
        // Its thresholds are not posted late (one line says so), and the report counts
        // the breach all the same, open and once answered.
        let (policy, cal) = (Policy::default(), Calendar::always());
        let opened = nov(20, 9, 0);
        let mut t = ticket(11, Priority::P3, "Raised", opened, None, None);
        t.apply(
            &Action::SetPriority(Priority::P1),
            "UCSM",
            &cal,
            opened + m(65),
        )
        .unwrap();
        let (from, to) = november();
        let breaches = |report: SlaReport| -> Vec<(Priority, Target, Duration)> {
            report
                .breaches
                .iter()
                .map(|b| (b.priority, b.target, b.over))
                .collect()
        };
        let open = sla_report(
            std::slice::from_ref(&t),
            &policy,
            &cal,
            from,
            to,
            opened + m(65),
        );
        assert_eq!(
            breaches(open),
            vec![(Priority::P1, Target::FirstResponse, m(5))]
        );
        t.apply(&Action::Respond, "UENG", &cal, opened + m(70))
            .unwrap();
        let answered = sla_report(&[t], &policy, &cal, from, to, opened + h(3));
        assert_eq!(
            answered.rows[Priority::P1.index()].first_response,
            attainment(1, 0, m(70), m(70))
        );
        assert_eq!(
            breaches(answered),
            vec![(Priority::P1, Target::FirstResponse, m(10))]
        );
    }

    #[test]
    fn breaches_are_late_closures_and_open_targets_past_due_worst_first() {
        let report = report();
        let seen: Vec<(i64, Target, Duration)> = report
            .breaches
            .iter()
            .map(|b| (b.number, b.target, b.over))
            .collect();
        use Target::*;
        assert_eq!(
            seen,
            vec![
                // A tie on 2h: the lower number first.
                (2, Resolution, h(2)),
                (6, Resolution, h(2)),
                (4, FirstResponse, m(45)),
                (6, FirstResponse, m(30)),
                (2, FirstResponse, m(5)),
            ]
        );
        let open = &report.breaches[2];
        assert_eq!(
            open,
            &Breach {
                ticket_id: 104,
                number: 4,
                priority: Priority::P0,
                target: FirstResponse,
                over: m(45),
                channel_id: "C1".into(),
                ts: Some("1700000000.000004".into()),
            }
        );
    }

    #[test]
    fn weeks_cover_the_month_including_empty_ones() {
        // Each week's start, tickets measured and met.
        let expected = [
            // Sunday the 1st belongs to the week of Monday, October 26th; #8 was
            // opened in it but before the month.
            (date(2026, 10, 26), 0, 0),
            (date(2026, 11, 2), 4, 2),
            (date(2026, 11, 9), 1, 1),
            (date(2026, 11, 16), 4, 2),
            (date(2026, 11, 23), 2, 2),
            (date(2026, 11, 30), 1, 0),
        ];
        let weeks = report().weeks;
        assert_eq!(weeks.len(), expected.len());
        for (week, (start, measured, met)) in weeks.iter().zip(expected) {
            assert_eq!(
                (week.week_start, week.measured, week.met),
                (start, measured, met),
                "the week of {start}"
            );
        }
        // A period ending at a Monday's midnight has no part of that week.
        assert_eq!(
            weeks_overlapping(nov(2, 0, 0), nov(9, 0, 0), Tz::UTC),
            vec![date(2026, 11, 2)]
        );
        assert_eq!(
            weeks_overlapping(nov(9, 0, 0), nov(9, 0, 0), Tz::UTC),
            vec![]
        );
    }

    #[test]
    fn weeks_and_the_month_follow_the_calendars_zone() {
        // Monday 01:00 in Tokyo is still Sunday in UTC.
        let cal = Calendar::new(Hours::Always, chrono_tz::Asia::Tokyo, Holidays::none());
        let (from, to) = Month::parse("2026-11").unwrap().bounds(cal.tz);
        let opened = tokyo(2026, 11, 9, 1, 0);
        let tickets = [ticket(1, Priority::P1, "x", opened, Some(m(5)), None)];
        let report = sla_report(&tickets, &Policy::default(), &cal, from, to, opened + h(1));
        let week = report.weeks.iter().find(|w| w.measured > 0).unwrap();
        assert_eq!(week.week_start, date(2026, 11, 9));
        assert_eq!(report.weeks.len(), 6);
        let csv = tickets_csv(
            &tickets,
            Answers::default(),
            &Policy::default(),
            &cal,
            from,
            to,
            opened + h(1),
        );
        assert!(csv.contains(",2026-11-09T01:00:00+09:00,"), "{csv}");
    }

    #[test]
    fn the_csv_has_every_ticket_of_the_month_oldest_first_quoted_where_needed() {
        let (from, to) = november();
        // T-1 (P0, 30m): one next response within its target, one past it; T-5 (P1,
        // 2h): one within.
        let answered = [
            AnsweredNext {
                ticket_id: 101,
                used: m(20),
            },
            AnsweredNext {
                ticket_id: 101,
                used: m(45),
            },
            AnsweredNext {
                ticket_id: 105,
                used: h(1),
            },
        ];
        // The customer rated T-1 and T-6 (ids 101 and 106).
        let csat = [(101, Rating::Good), (106, Rating::Bad)]
            .into_iter()
            .collect();
        let csv = tickets_csv(
            &fixture(),
            Answers {
                next_responses: &answered,
                csat: Some(&csat),
            },
            &Policy::default(),
            &Calendar::always(),
            from,
            to,
            now(),
        );
        let expected = [
            "number,priority,opened_at,summary,first_response_business_minutes,first_response_met,resolution_business_minutes,resolution_met,next_responses_met,next_responses_breached,csat",
            "1,P0,2026-11-02T09:00:00Z,ログインできない,10,true,180,true,1,1,good",
            "2,P0,2026-11-03T09:00:00Z,\"Export fails, \"\"quoted\"\"\",20,false,360,false,0,0,",
            // 4m 30s rounds up; the paused resolution is not measured.
            "3,P0,2026-11-10T12:00:00Z,Slow dashboard,5,true,,,0,0,",
            "5,P1,2026-11-16T09:00:00Z,\"line1\nline2\",30,true,480,true,1,0,",
            "6,P1,2026-11-17T09:00:00Z,SSO setup,90,false,600,false,0,0,bad",
            "7,P1,2026-11-24T09:00:00Z,API key,60,true,420,true,0,0,",
            "10,P1,2026-11-25T10:00:00Z,Question,,,,,0,0,",
            // Open: its first response 1h so far, breached; its resolution not yet.
            "4,P0,2026-11-30T23:00:00Z,Down,60,false,,,0,0,",
        ];
        assert_eq!(csv, format!("{}\r\n", expected.join("\r\n")));
    }

    #[test]
    fn next_responses_count_answered_rounds_and_waiting_ones_past_the_target() {
        let (from, to) = november();
        let mut tickets = fixture();
        // T-4 (P0, open): the customer wrote 40 minutes before `now`, unanswered: past
        // P0's 30 minutes. T-7 (P1): the customer wrote 10 minutes before, within 2h.
        for (number, ago) in [(4, m(40)), (7, m(10))] {
            let t = tickets.iter_mut().find(|t| t.number == number).unwrap();
            t.next.awaiting = Some(crate::domain::ticket::Awaiting {
                since: now() - ago,
                by: "UCUST".into(),
                clock: Clock::start(now() - ago),
            });
        }
        let answered = [
            AnsweredNext {
                ticket_id: 101,
                used: m(20),
            },
            AnsweredNext {
                ticket_id: 105,
                used: h(3),
            },
            // A ticket of another month: not counted.
            AnsweredNext {
                ticket_id: 999,
                used: m(1),
            },
        ];
        let counts = next_response_counts(
            &tickets,
            &answered,
            &Policy::default(),
            &Calendar::always(),
            from,
            to,
            now(),
        );
        assert_eq!(
            counts,
            [
                NextResponseCount {
                    met: 1,
                    breached: 1
                },
                NextResponseCount {
                    met: 0,
                    breached: 1
                },
                NextResponseCount::default(),
                NextResponseCount::default(),
            ]
        );
        assert_eq!(counts[0].measured(), 2);
    }

    #[test]
    fn csv_fields_and_minutes() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("a\r\nb"), "\"a\r\nb\"");
        assert_eq!(csv_field("日本語、全角カンマ"), "日本語、全角カンマ");
        // Formulas stay text; numbers stay numbers.
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("+1 555"), "'+1 555");
        assert_eq!(csv_field("-5"), "-5");
        assert_eq!(csv_field("-"), "'-");
        assert_eq!(csv_field(""), "");
        assert_eq!(whole_minutes_up(Duration::zero()), 0);
        assert_eq!(whole_minutes_up(m(15)), 15);
        assert_eq!(whole_minutes_up(m(15) + Duration::milliseconds(1)), 16);
    }

    #[test]
    fn nothing_opened_is_an_empty_report_with_its_weeks() {
        let (from, to) = november();
        let report = sla_report(
            &[],
            &Policy::default(),
            &Calendar::always(),
            from,
            to,
            now(),
        );
        assert_eq!(report.rows.len(), 4);
        assert!(report.rows.iter().all(|r| r.opened == 0
            && r.first_response == Attainment::default()
            && r.resolution == Attainment::default()));
        assert!(report.breaches.is_empty());
        assert_eq!(report.weeks.len(), 6);
        let csv = tickets_csv(
            &[],
            Answers::default(),
            &Policy::default(),
            &Calendar::always(),
            from,
            to,
            now(),
        );
        assert_eq!(csv, format!("{CSV_HEADER}\r\n"));
    }
}
