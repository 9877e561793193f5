//! The SLA clock of one ticket, its targets and its escalation thresholds.
//!
//! A clock is the business time already used plus the instant it last started running.
//! Everything else is derived from those two and a calendar, so:
//! - pausing folds the running stretch into `used`; resuming only sets the start;
//! - a change of calendar (hours, holidays, tier) folds the time used under the old one
//!   (`replan`), so time used stays used and only the time left counts against the new;
//! - a change of priority changes the target amounts, never the clock.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::calendar::Calendar;
use super::policy::Escalation;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Priority {
    P0,
    P1,
    P2,
    P3,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Priority::P0, Priority::P1, Priority::P2, Priority::P3];

    /// "P0" or "p0".
    pub fn parse(text: &str) -> Option<Priority> {
        Priority::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(text.trim()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::P0 => "P0",
            Priority::P1 => "P1",
            Priority::P2 => "P2",
            Priority::P3 => "P3",
        }
    }

    /// 0 for P0 … 3 for P3, for tables indexed by priority.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    FirstResponse,
    Resolution,
    /// Staff's answer to a customer's new message in the ticket's thread, once staff
    /// has answered before: a round of its own, with its own clock (`ticket::Awaiting`).
    NextResponse,
}

impl Target {
    /// The targets every ticket has, timed by the ticket's own clock. A next response
    /// exists only while a customer's message waits (`Target::EVERY` has it too).
    pub const ALL: [Target; 2] = [Target::FirstResponse, Target::Resolution];
    pub const EVERY: [Target; 3] = [
        Target::FirstResponse,
        Target::Resolution,
        Target::NextResponse,
    ];

    pub fn parse(text: &str) -> Option<Target> {
        Target::EVERY.into_iter().find(|t| t.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Target::FirstResponse => "first_response",
            Target::Resolution => "resolution",
            Target::NextResponse => "next_response",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A share of a target in permille, so 12.5% stays exact: `Share::from_permille(125)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Share(u32);

impl Share {
    pub const FULL: Share = Share(1000);

    pub fn from_permille(permille: u32) -> Share {
        Share(permille)
    }

    pub fn permille(self) -> u32 {
        self.0
    }

    /// "50%", "12.5%" (at most one decimal).
    pub fn parse(text: &str) -> Option<Share> {
        let number = text.trim().strip_suffix('%')?.trim();
        let (whole, tenth) = match number.split_once('.') {
            Some((whole, tenth)) if tenth.len() == 1 => (whole, tenth),
            Some(_) => return None,
            None => (number, "0"),
        };
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 6 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || !digits(tenth) {
            return None;
        }
        Some(Share(
            whole.parse::<u32>().ok()? * 10 + tenth.parse::<u32>().ok()?,
        ))
    }

    /// The share of `amount`, rounded down to the millisecond.
    pub fn of(self, amount: Duration) -> Duration {
        let millis = i128::from(amount.num_milliseconds()) * i128::from(self.0) / 1000;
        Duration::milliseconds(i64::try_from(millis).unwrap_or(i64::MAX))
    }
}

impl fmt::Display for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 % 10 {
            0 => write!(f, "{}%", self.0 / 10),
            tenth => write!(f, "{}.{}%", self.0 / 10, tenth),
        }
    }
}

/// The business time that escalation `level` (0-based) stands for. Levels
/// `0..at.len()` are the shares in `escalation.at`; after them level `at.len() + k`
/// repeats `k + 1` times `repeat_after_breach` past the target (or past the largest
/// share, if that is beyond the target). `None` when there is no such level: past the
/// shares with repeats turned off (zero).
pub fn threshold_amount(target: Duration, escalation: &Escalation, level: u32) -> Option<Duration> {
    let level = usize::try_from(level).ok()?;
    if let Some(share) = escalation.at.get(level) {
        return Some(share.of(target));
    }
    if escalation.repeat_after_breach <= Duration::zero() {
        return None;
    }
    let largest_share = escalation
        .at
        .iter()
        .max()
        .map_or(Duration::zero(), |s| s.of(target));
    let repeats = i32::try_from(level - escalation.at.len() + 1).ok()?;
    let repeated = escalation.repeat_after_breach.checked_mul(repeats)?;
    target.max(largest_share).checked_add(&repeated)
}

/// A ticket's clock for one target. Stored as it is: `used` in milliseconds and
/// `running_since` as an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    /// Business time used before `running_since` (all of it while paused).
    pub used: Duration,
    /// When it last started running; `None` while paused or stopped.
    pub running_since: Option<DateTime<Utc>>,
}

/// When a clock's used time reaches an amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// At this instant if the clock keeps running. It may be in the past (a back-dated
    /// ticket, a restart): the threshold is due now, late.
    At(DateTime<Utc>),
    /// Already covered by the time used before the clock last started (or before it
    /// was paused). The exact instant was folded away: due now, late.
    Reached,
    /// Paused before reaching it: nothing is due until the clock resumes.
    Paused,
    /// The calendar has no business time left to reach it (see `Calendar::add_business`).
    Never,
}

impl Due {
    /// The instant to schedule: `At` as it is, `Reached` at `reached` (the caller's
    /// best known instant, already past), nothing while paused or never.
    pub fn fire_at(self, reached: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Due::At(t) => Some(t),
            Due::Reached => Some(reached),
            Due::Paused | Due::Never => None,
        }
    }
}

impl Clock {
    pub fn start(opened_at: DateTime<Utc>) -> Clock {
        Clock {
            used: Duration::zero(),
            running_since: Some(opened_at),
        }
    }

    pub fn is_running(&self) -> bool {
        self.running_since.is_some()
    }

    pub fn used_at(&self, calendar: &Calendar, now: DateTime<Utc>) -> Duration {
        match self.running_since {
            Some(since) => self.used + calendar.business_between(since, now),
            None => self.used,
        }
    }

    /// Stops the clock, keeping the time used. Pausing a paused clock changes nothing.
    pub fn pause(&mut self, calendar: &Calendar, now: DateTime<Utc>) {
        self.used = self.used_at(calendar, now);
        self.running_since = None;
    }

    /// Starts a paused clock again. Resuming a running clock changes nothing.
    pub fn resume(&mut self, now: DateTime<Utc>) {
        if self.running_since.is_none() {
            self.running_since = Some(now);
        }
    }

    /// Before the calendar changes: fold the time used under `old_calendar` into `used`
    /// and run on from `now`, so that only the time left counts against the new one.
    pub fn replan(&mut self, old_calendar: &Calendar, now: DateTime<Utc>) {
        if let Some(since) = self.running_since {
            self.used = self.used_at(old_calendar, now);
            // A clock started after `now` (a clock set ahead) keeps its start.
            self.running_since = Some(since.max(now));
        }
    }

    /// When the used time reaches `amount` if the clock keeps running.
    pub fn when_used(&self, calendar: &Calendar, amount: Duration) -> Due {
        if amount <= self.used {
            return Due::Reached;
        }
        let Some(since) = self.running_since else {
            return Due::Paused;
        };
        match calendar.add_business(since, amount - self.used) {
            Some(t) => Due::At(t),
            None => Due::Never,
        }
    }
}

/// What a ticket shows for one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaState {
    /// Running; `left` is business time.
    DueIn { due: DateTime<Utc>, left: Duration },
    /// Waiting on the customer, or a calendar with no business time left.
    Paused { left: Duration },
    /// Met after `after` business time; `late` when that was past the target.
    Met { after: Duration, late: bool },
    /// Business time used past the target; zero right at the due instant and while
    /// outside business hours just after it.
    BreachedBy(Duration),
}

/// The state of one target at `now`. `met_used` is the business time used when the
/// target was met (first response, resolution), if it was.
pub fn state(
    clock: &Clock,
    calendar: &Calendar,
    target: Duration,
    met_used: Option<Duration>,
    now: DateTime<Utc>,
) -> SlaState {
    if let Some(after) = met_used {
        return SlaState::Met {
            after,
            late: after > target,
        };
    }
    let used = clock.used_at(calendar, now);
    if used >= target {
        return SlaState::BreachedBy(used - target);
    }
    let left = target - used;
    match clock.when_used(calendar, target) {
        Due::At(due) => SlaState::DueIn { due, left },
        Due::Reached | Due::Paused | Due::Never => SlaState::Paused { left },
    }
}

/// A short human duration, rounded down: "45s", "12m", "3h 5m", "2d 4h". Negative
/// durations get a "-". Its days are 24 hours: SLA amounts shown to people are
/// business time and go through `blocks::ticket::business_time` instead.
pub fn short(duration: Duration) -> String {
    let sign = if duration < Duration::zero() { "-" } else { "" };
    let seconds = duration.num_seconds().unsigned_abs();
    let (days, hours, minutes) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60);
    let text = if seconds < 60 {
        format!("{seconds}s")
    } else if seconds < 3600 {
        format!("{minutes}m")
    } else if seconds < 86_400 {
        match minutes {
            0 => format!("{hours}h"),
            _ => format!("{hours}h {minutes}m"),
        }
    } else {
        match hours {
            0 => format!("{days}d"),
            _ => format!("{days}d {hours}h"),
        }
    };
    format!("{sign}{text}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::{Holidays, Hours};
    use proptest::prelude::*;

    use crate::domain::tokyo;

    fn calendar(hours: &str) -> Calendar {
        Calendar::new(
            Hours::parse(hours).unwrap(),
            chrono_tz::Asia::Tokyo,
            Holidays::japan(),
        )
    }

    fn standard() -> Calendar {
        calendar("Mon-Fri 09:00-18:00")
    }

    fn h(hours: i64) -> Duration {
        Duration::hours(hours)
    }

    fn m(minutes: i64) -> Duration {
        Duration::minutes(minutes)
    }

    fn escalation(at: &[u32], repeat: Duration) -> Escalation {
        Escalation {
            at: at.iter().map(|&p| Share::from_permille(p)).collect(),
            repeat_after_breach: repeat,
            ..Escalation::default()
        }
    }

    #[test]
    fn priorities_and_targets_parse() {
        assert_eq!(Priority::parse("p0"), Some(Priority::P0));
        assert_eq!(Priority::parse("P3"), Some(Priority::P3));
        assert_eq!(Priority::parse("P4"), None);
        assert_eq!(Priority::P2.as_str(), "P2");
        assert_eq!(Target::parse("first_response"), Some(Target::FirstResponse));
        assert_eq!(Target::Resolution.as_str(), "resolution");
    }

    #[test]
    fn shares_parse_exactly() {
        assert_eq!(Share::parse("50%"), Some(Share::from_permille(500)));
        assert_eq!(Share::parse(" 12.5% "), Some(Share::from_permille(125)));
        assert_eq!(Share::parse("100 %"), Some(Share::FULL));
        for bad in ["50", "%", "1.25%", "-5%", "x%", "5.%"] {
            assert_eq!(Share::parse(bad), None, "{bad}");
        }
        assert_eq!(Share::from_permille(125).to_string(), "12.5%");
        assert_eq!(Share::from_permille(800).to_string(), "80%");
        assert_eq!(
            Share::from_permille(333).of(Duration::seconds(1)),
            Duration::milliseconds(333)
        );
    }

    #[test]
    fn thresholds_are_shares_then_repeats() {
        let policy = escalation(&[500, 800, 1000], h(1));
        let target = h(4);
        let levels: Vec<Option<Duration>> = (0..6)
            .map(|level| threshold_amount(target, &policy, level))
            .collect();
        assert_eq!(
            levels,
            [
                Some(h(2)),
                Some(m(192)),
                Some(h(4)),
                Some(h(5)),
                Some(h(6)),
                Some(h(7))
            ]
        );
        let no_repeats = escalation(&[500, 1000], Duration::zero());
        assert_eq!(threshold_amount(target, &no_repeats, 1), Some(h(4)));
        assert_eq!(threshold_amount(target, &no_repeats, 2), None);
        // Repeats start after the largest share when it is past the target.
        let beyond = escalation(&[1500, 500], h(1));
        assert_eq!(threshold_amount(target, &beyond, 2), Some(h(7)));
    }

    #[test]
    fn standard_p2_first_response_is_due_tuesday_noon() {
        let clock = Clock::start(tokyo(2026, 11, 20, 17, 0));
        assert_eq!(
            clock.when_used(&standard(), h(4)),
            Due::At(tokyo(2026, 11, 24, 12, 0))
        );
        let monday = tokyo(2026, 11, 23, 10, 0);
        assert_eq!(
            state(&clock, &standard(), h(4), None, monday),
            SlaState::DueIn {
                due: tokyo(2026, 11, 24, 12, 0),
                left: h(3)
            }
        );
        let tuesday = tokyo(2026, 11, 24, 13, 30);
        assert_eq!(
            state(&clock, &standard(), h(4), None, tuesday),
            SlaState::BreachedBy(m(90))
        );
    }

    #[test]
    fn enterprise_p0_counts_every_minute() {
        let enterprise = Calendar::new(Hours::Always, chrono_tz::Asia::Tokyo, Holidays::japan());
        let clock = Clock::start(tokyo(2026, 11, 22, 23, 50));
        assert_eq!(
            clock.when_used(&enterprise, m(15)),
            Due::At(tokyo(2026, 11, 23, 0, 5))
        );
    }

    #[test]
    fn pause_and_resume_keep_the_time_used() {
        let cal = standard();
        let mut clock = Clock::start(tokyo(2026, 11, 24, 9, 0));
        clock.pause(&cal, tokyo(2026, 11, 24, 10, 0));
        assert_eq!(clock.used, h(1));
        assert_eq!(clock.when_used(&cal, h(4)), Due::Paused);
        assert_eq!(
            state(&clock, &cal, h(4), None, tokyo(2026, 11, 25, 10, 0)),
            SlaState::Paused { left: h(3) }
        );
        // Pausing twice changes nothing.
        clock.pause(&cal, tokyo(2026, 11, 24, 17, 0));
        assert_eq!(clock.used, h(1));
        clock.resume(tokyo(2026, 11, 24, 16, 0));
        clock.resume(tokyo(2026, 11, 24, 17, 0));
        assert_eq!(clock.running_since, Some(tokyo(2026, 11, 24, 16, 0)));
        // 1h used, 2h on Tuesday afternoon, 1h on Wednesday.
        assert_eq!(
            clock.when_used(&cal, h(4)),
            Due::At(tokyo(2026, 11, 25, 10, 0))
        );
    }

    #[test]
    fn reached_thresholds_are_due_now() {
        let cal = standard();
        let mut clock = Clock::start(tokyo(2026, 11, 24, 9, 0));
        clock.pause(&cal, tokyo(2026, 11, 24, 12, 0));
        let now = tokyo(2026, 11, 24, 12, 1);
        assert_eq!(clock.when_used(&cal, h(2)), Due::Reached);
        assert_eq!(clock.when_used(&cal, h(2)).fire_at(now), Some(now));
        assert_eq!(clock.when_used(&cal, h(4)).fire_at(now), None);
        // A back-dated ticket: its 50% was due in the past, and says when.
        let backdated = Clock::start(tokyo(2026, 11, 20, 9, 0));
        assert_eq!(
            backdated.when_used(&cal, h(2)).fire_at(now),
            Some(tokyo(2026, 11, 20, 11, 0))
        );
    }

    #[test]
    fn replan_keeps_the_time_used() {
        // Standard → Professional at Tue 17:00, with 2h used: 2h left now count until
        // 19:00 instead of Wednesday 10:00.
        let (standard, professional) = (standard(), calendar("Mon-Fri 09:00-21:00"));
        let mut clock = Clock::start(tokyo(2026, 11, 24, 15, 0));
        let now = tokyo(2026, 11, 24, 17, 0);
        assert_eq!(
            clock.when_used(&standard, h(4)),
            Due::At(tokyo(2026, 11, 25, 10, 0))
        );
        clock.replan(&standard, now);
        assert_eq!(
            clock,
            Clock {
                used: h(2),
                running_since: Some(now)
            }
        );
        assert_eq!(
            clock.when_used(&professional, h(4)),
            Due::At(tokyo(2026, 11, 24, 19, 0))
        );
        // A paused clock has nothing to fold.
        clock.pause(&professional, tokyo(2026, 11, 24, 18, 0));
        let paused = clock;
        clock.replan(&professional, tokyo(2026, 11, 24, 20, 0));
        assert_eq!(clock, paused);
    }

    #[test]
    fn met_targets() {
        let clock = Clock::start(tokyo(2026, 11, 24, 9, 0));
        let now = tokyo(2026, 11, 30, 9, 0);
        assert_eq!(
            state(&clock, &standard(), h(1), Some(m(40)), now),
            SlaState::Met {
                after: m(40),
                late: false
            }
        );
        assert_eq!(
            state(&clock, &standard(), h(1), Some(m(61)), now),
            SlaState::Met {
                after: m(61),
                late: true
            }
        );
    }

    #[test]
    fn short_durations() {
        assert_eq!(short(Duration::zero()), "0s");
        assert_eq!(short(Duration::seconds(45)), "45s");
        assert_eq!(short(Duration::seconds(12 * 60 + 59)), "12m");
        assert_eq!(short(h(3) + m(5)), "3h 5m");
        assert_eq!(short(h(3)), "3h");
        assert_eq!(short(h(52) + m(30)), "2d 4h");
        assert_eq!(short(h(72)), "3d");
        assert_eq!(short(-m(90)), "-1h 30m");
    }

    fn calendars() -> impl Strategy<Value = Calendar> {
        prop_oneof![
            Just(standard()),
            Just(calendar("Mon-Fri 09:00-21:00")),
            Just(Calendar::new(
                Hours::parse("Mon-Fri 09:00-18:00").unwrap(),
                chrono_tz::America::New_York,
                Holidays::parse(&["2026-11-26"]).unwrap(),
            )),
        ]
    }

    fn instants() -> impl Strategy<Value = DateTime<Utc>> {
        let (first, last) = (tokyo(2026, 1, 1, 0, 0), tokyo(2030, 12, 1, 0, 0));
        (first.timestamp_millis()..last.timestamp_millis())
            .prop_map(|ms| DateTime::from_timestamp_millis(ms).unwrap())
    }

    fn durations(max_hours: i64) -> impl Strategy<Value = Duration> {
        (1i64..max_hours * 3_600_000).prop_map(Duration::milliseconds)
    }

    fn due(clock: &Clock, cal: &Calendar, target: Duration) -> DateTime<Utc> {
        match clock.when_used(cal, target) {
            Due::At(t) => t,
            other => panic!("expected a due instant, got {other:?}"),
        }
    }

    proptest! {
        /// A pause that lies wholly outside business hours moves no deadline.
        #[test]
        fn pause_outside_business_hours_moves_nothing(
            cal in calendars(), opened in instants(), target in durations(24),
            pause_after in durations(48), fraction in 0.0f64..=1.0,
        ) {
            let paused_at = opened + pause_after;
            // Up to the next business instant after the pause, nothing is counted.
            let next_business = cal.add_business(paused_at, Duration::milliseconds(1)).unwrap()
                - Duration::milliseconds(1);
            let quiet = next_business - paused_at;
            let resumed_at = paused_at + Duration::milliseconds((quiet.num_milliseconds() as f64 * fraction) as i64);
            prop_assert_eq!(cal.business_between(paused_at, resumed_at), Duration::zero());

            let mut clock = Clock::start(opened);
            let before = clock.when_used(&cal, target);
            clock.pause(&cal, paused_at);
            clock.resume(resumed_at);
            let after = clock.when_used(&cal, target);
            if clock.used < target {
                prop_assert_eq!(after, before);
            } else {
                prop_assert_eq!(after, Due::Reached);
            }
        }

        /// Any pause moves a deadline still ahead later by exactly the business time
        /// it covered, and never earlier.
        #[test]
        fn pause_moves_the_deadline_by_the_business_time_paused(
            cal in calendars(), opened in instants(), target in durations(40),
            pause_after in durations(60), pause_for in durations(60),
        ) {
            let (paused_at, resumed_at) = (opened + pause_after, opened + pause_after + pause_for);
            let mut clock = Clock::start(opened);
            let before = due(&clock, &cal, target);
            clock.pause(&cal, paused_at);
            clock.resume(resumed_at);
            prop_assume!(clock.used < target);
            let after = due(&clock, &cal, target);
            prop_assert!(after >= before);
            prop_assert_eq!(cal.business_between(before, after), cal.business_between(paused_at, resumed_at));
        }

        /// Time used stays used across a calendar change; the rest counts on the new one.
        #[test]
        fn replan_keeps_time_used(
            old in calendars(), new in calendars(), opened in instants(),
            change_after in durations(100), later in durations(100), target in durations(40),
        ) {
            let now = opened + change_after;
            let mut clock = Clock::start(opened);
            let used_before = clock.used_at(&old, now);
            clock.replan(&old, now);
            prop_assert_eq!(clock.used_at(&new, now), used_before);
            prop_assert_eq!(clock.used_at(&new, now + later), used_before + new.business_between(now, now + later));
            match clock.when_used(&new, target) {
                Due::At(t) => prop_assert_eq!(used_before + new.business_between(now, t), target),
                Due::Reached => prop_assert!(used_before >= target),
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }

        /// Thresholds never go down as the level goes up, for sorted shares.
        #[test]
        fn thresholds_ascend(target in durations(100), repeat in durations(5), level in 0u32..20) {
            let policy = escalation(&[500, 800, 1000], repeat);
            prop_assert!(threshold_amount(target, &policy, level) <= threshold_amount(target, &policy, level + 1));
        }
    }
}
