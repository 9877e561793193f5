//! Support hours and holidays: how much business time lies between two instants, and
//! when a given amount of business time will have passed.
//!
//! Hours are local wall-clock windows in the calendar's time zone, so they follow DST.
//! A wall-clock time is mapped to the first instant at which the clock reads it or
//! later: the earlier of two during a fall-back hour, the end of the gap during a
//! spring-forward jump. That mapping never goes backwards, so the business intervals of
//! successive days are ordered and disjoint, and `business_between` is additive.
//!
//! Holidays are whole local days. 24/7 hours ignore them (docs/configuration.md, the
//! policy).

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::fmt;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;

/// `add_business` gives up after this many days in a row without any business time: a
/// calendar whose hours are empty or whose every day is a holiday never reaches a target.
pub const NO_BUSINESS_TIME_LIMIT_DAYS: u32 = 3660;

/// The offsets either side of a gap are read this far from it: wider than the longest
/// jump in the time zone database (a day: Samoa skipped 2011-12-30), narrower than the
/// time between two changes.
const GAP_SEARCH_HOURS: i64 = 48;

/// Lowercase day names, Monday first.
pub const WEEKDAY_NAMES: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

const MINUTES_PER_DAY: u16 = 24 * 60;

const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CalendarError(String);

impl CalendarError {
    fn new(message: impl Into<String>) -> Self {
        CalendarError(message.into())
    }
}

/// One span of a day, in minutes after local midnight; `end` may be 1440 ("24:00").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Window {
    pub start: u16,
    pub end: u16,
}

/// When the support team works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hours {
    /// "24/7": every instant counts, holidays included.
    Always,
    /// Windows per weekday, Monday first; each day's windows sorted and not overlapping.
    Weekly([Vec<Window>; 7]),
}

impl Hours {
    /// Parses "24/7", "Mon-Fri 09:00-18:00", "Mon,Wed 10:00-12:00; Sat 10:00-14:00" or
    /// "Mon-Fri 09:00-12:00,13:00-18:00". Day ranges may wrap ("Fri-Mon"); overlapping
    /// windows merge.
    pub fn parse(text: &str) -> Result<Hours, CalendarError> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("24/7") {
            return Ok(Hours::Always);
        }
        if text.is_empty() {
            return Err(CalendarError::new(
                "no hours given (e.g. \"Mon-Fri 09:00-18:00\" or \"24/7\")",
            ));
        }
        let mut days: [Vec<Window>; 7] = Default::default();
        for group in text.split(';') {
            let group = group.trim();
            if group.is_empty() {
                continue;
            }
            let (day_part, time_part) = split_group(group)?;
            let weekdays = parse_days(day_part)?;
            let windows = parse_windows(time_part)?;
            for day in weekdays {
                days[day].extend(windows.iter().copied());
            }
        }
        for windows in &mut days {
            *windows = merge(std::mem::take(windows));
        }
        if days.iter().all(Vec::is_empty) {
            return Err(CalendarError::new(
                "no hours given (e.g. \"Mon-Fri 09:00-18:00\" or \"24/7\")",
            ));
        }
        Ok(Hours::Weekly(days))
    }

    fn windows_on(&self, weekday: Weekday) -> &[Window] {
        match self {
            Hours::Always => &[],
            Hours::Weekly(days) => &days[weekday.num_days_from_monday() as usize],
        }
    }
}

impl std::str::FromStr for Hours {
    type Err = CalendarError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Hours::parse(text)
    }
}

/// The canonical form: days with the same windows grouped, e.g. "Mon-Fri 09:00-18:00".
impl fmt::Display for Hours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Hours::Weekly(days) = self else {
            return f.write_str("24/7");
        };
        let mut groups: Vec<(Vec<usize>, &Vec<Window>)> = Vec::new();
        for (day, windows) in days.iter().enumerate().filter(|(_, w)| !w.is_empty()) {
            match groups.iter_mut().find(|(_, w)| *w == windows) {
                Some((members, _)) => members.push(day),
                None => groups.push((vec![day], windows)),
            }
        }
        let texts: Vec<String> = groups
            .iter()
            .map(|(members, windows)| {
                let spans: Vec<String> = windows
                    .iter()
                    .map(|w| format!("{}-{}", clock_text(w.start), clock_text(w.end)))
                    .collect();
                format!("{} {}", day_list_text(members), spans.join(","))
            })
            .collect();
        f.write_str(&texts.join("; "))
    }
}

/// "Mon-Fri 09:00-18:00" → ("Mon-Fri", "09:00-18:00"): the days end where the first
/// digit starts, so "Mon - Fri 9:00 - 18:00" is read the same.
fn split_group(group: &str) -> Result<(&str, &str), CalendarError> {
    let Some(digit) = group.find(|c: char| c.is_ascii_digit()) else {
        return Err(CalendarError::new(format!(
            "\"{group}\" has no times (e.g. \"Mon-Fri 09:00-18:00\")"
        )));
    };
    let (days, times) = group.split_at(digit);
    if times.contains(|c: char| c.is_alphabetic()) {
        return Err(CalendarError::new(format!(
            "\"{group}\": separate day groups with \";\" (e.g. \"Mon-Fri 09:00-18:00; Sat 10:00-14:00\")"
        )));
    }
    if days.trim().is_empty() {
        return Err(CalendarError::new(format!(
            "\"{group}\" has no days (e.g. \"Mon-Fri 09:00-18:00\")"
        )));
    }
    Ok((days, times))
}

fn parse_days(text: &str) -> Result<Vec<usize>, CalendarError> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let mut days = Vec::new();
    for item in compact.split(',').filter(|item| !item.is_empty()) {
        match item.split_once('-') {
            Some((first, last)) => {
                let (first, last) = (parse_day(first)?, parse_day(last)?);
                // A range may wrap around the week: "Fri-Mon" is Fri, Sat, Sun, Mon.
                let mut day = first;
                loop {
                    days.push(day);
                    if day == last {
                        break;
                    }
                    day = (day + 1) % 7;
                }
            }
            None => days.push(parse_day(item)?),
        }
    }
    if days.is_empty() {
        return Err(CalendarError::new(format!(
            "no days in \"{}\"",
            text.trim()
        )));
    }
    Ok(days)
}

fn parse_day(text: &str) -> Result<usize, CalendarError> {
    parse_weekday(text)
        .map(|day| day.num_days_from_monday() as usize)
        .ok_or_else(|| {
            CalendarError::new(format!(
                "unknown day \"{text}\" (use Mon, Tue, Wed, Thu, Fri, Sat, Sun)"
            ))
        })
}

/// "monday", "Mon", "TUES": a day's full name or its first three letters or more, in
/// any case.
pub fn parse_weekday(text: &str) -> Option<Weekday> {
    let lower = text.to_ascii_lowercase();
    let index = WEEKDAY_NAMES
        .iter()
        .position(|name| lower.len() >= 3 && name.starts_with(&lower))?;
    Weekday::try_from(index as u8).ok()
}

fn parse_windows(text: &str) -> Result<Vec<Window>, CalendarError> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let mut windows = Vec::new();
    for item in compact.split(',').filter(|item| !item.is_empty()) {
        let Some((start, end)) = item.split_once('-') else {
            return Err(CalendarError::new(format!(
                "\"{item}\" is not a time span (use HH:MM-HH:MM, e.g. 09:00-18:00)"
            )));
        };
        let (start, end) = (parse_clock(start)?, parse_clock(end)?);
        if end <= start {
            return Err(CalendarError::new(format!(
                "{item}: the end must be after the start (split hours past midnight: \
                 \"Mon 22:00-24:00; Tue 00:00-06:00\")"
            )));
        }
        windows.push(Window { start, end });
    }
    Ok(windows)
}

/// "09:00" or "9:00" → minutes after midnight; "24:00" is the end of the day.
fn parse_clock(text: &str) -> Result<u16, CalendarError> {
    let bad = || {
        CalendarError::new(format!(
            "bad time \"{text}\" (use HH:MM, from 00:00 to 24:00)"
        ))
    };
    let (hour, minute) = text.split_once(':').ok_or_else(bad)?;
    let all_digits =
        |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(hour) || minute.len() != 2 || !all_digits(minute) {
        return Err(bad());
    }
    let (hour, minute): (u16, u16) = (
        hour.parse().map_err(|_| bad())?,
        minute.parse().map_err(|_| bad())?,
    );
    if minute > 59 || hour > 24 || (hour == 24 && minute != 0) {
        return Err(bad());
    }
    Ok(hour * 60 + minute)
}

fn merge(mut windows: Vec<Window>) -> Vec<Window> {
    windows.sort();
    let mut merged: Vec<Window> = Vec::with_capacity(windows.len());
    for window in windows {
        match merged.last_mut() {
            Some(last) if window.start <= last.end => last.end = last.end.max(window.end),
            _ => merged.push(window),
        }
    }
    merged
}

fn clock_text(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// [0, 1, 2, 3, 4] → "Mon-Fri"; [0, 2] → "Mon,Wed".
fn day_list_text(days: &[usize]) -> String {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for &day in days {
        match runs.last_mut() {
            Some((_, last)) if *last + 1 == day => *last = day,
            _ => runs.push((day, day)),
        }
    }
    let texts: Vec<String> = runs
        .iter()
        .map(|&(first, last)| match last - first {
            0 => DAY_NAMES[first].to_string(),
            1 => format!("{},{}", DAY_NAMES[first], DAY_NAMES[last]),
            _ => format!("{}-{}", DAY_NAMES[first], DAY_NAMES[last]),
        })
        .collect();
    texts.join(",")
}

/// Days off: Japan's public holidays (when `japan` is set) and a team's own dates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holidays {
    pub japan: bool,
    pub dates: BTreeSet<NaiveDate>,
}

impl Holidays {
    pub fn none() -> Self {
        Holidays::default()
    }

    pub fn japan() -> Self {
        Holidays {
            japan: true,
            dates: BTreeSet::new(),
        }
    }

    /// Reads the policy's list: "jp" for the built-in Japanese calendar, or a date
    /// "YYYY-MM-DD".
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Holidays, CalendarError> {
        let mut holidays = Holidays::none();
        for item in items {
            let item = item.as_ref().trim();
            if item.eq_ignore_ascii_case("jp") {
                holidays.japan = true;
            } else {
                holidays.dates.insert(parse_date(item)?);
            }
        }
        Ok(holidays)
    }

    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        self.dates.contains(&date) || (self.japan && is_japanese_holiday(date))
    }
}

pub fn parse_date(text: &str) -> Result<NaiveDate, CalendarError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        CalendarError::new(format!(
            "\"{text}\" is neither \"jp\" nor a date YYYY-MM-DD"
        ))
    })
}

impl fmt::Display for Holidays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut items: Vec<String> = Vec::new();
        if self.japan {
            items.push("jp".to_string());
        }
        items.extend(self.dates.iter().map(|d| d.format("%Y-%m-%d").to_string()));
        f.write_str(&items.join(", "))
    }
}

/// The years for which the built-in Japanese calendar answers; outside them no day is a
/// Japanese holiday. Tickets are not back-dated further, `jpholiday` 0.1.4 is wrong
/// about some earlier years (1988-12-23, May 4 before 1986), and past 2099 the equinox
/// formula it uses stops matching the published one.
pub const JAPAN_YEARS: std::ops::RangeInclusive<i32> = 2000..=2099;

/// Japan's public holidays (国民の祝日), substitute holidays (振替休日) and citizens'
/// holidays (国民の休日), from the `jpholiday` crate with its known 2021 error fixed.
pub fn is_japanese_holiday(date: NaiveDate) -> bool {
    if !JAPAN_YEARS.contains(&date.year()) {
        return false;
    }
    thread_local! {
        // `jpholiday` answers one date by running every rule, allocating as it goes, and
        // its registry is not `Send`: each thread keeps the years it has asked for.
        static YEARS: RefCell<HashMap<i32, Vec<NaiveDate>>> = RefCell::new(HashMap::new());
    }
    YEARS.with(|years| {
        years
            .borrow_mut()
            .entry(date.year())
            .or_insert_with(|| japanese_holidays_of(date.year()))
            .contains(&date)
    })
}

fn japanese_holidays_of(year: i32) -> Vec<NaiveDate> {
    let mut dates: Vec<NaiveDate> = jpholiday::jpholiday::JPHoliday::new()
        .year_holidays(year)
        .into_iter()
        .map(|(date, _)| date)
        .collect();
    if year == 2021 {
        // jpholiday 0.1.4 misses the Olympic special measures law (令和3年): Marine Day
        // moved to 7/22, Sports Day to 7/23, Mountain Day to 8/8 (substitute 8/9).
        let day = |m, d| NaiveDate::from_ymd_opt(2021, m, d).expect("valid date");
        dates.retain(|d| ![day(7, 19), day(8, 11), day(10, 11)].contains(d));
        dates.extend([day(7, 22), day(7, 23), day(8, 8), day(8, 9)]);
        dates.sort();
    }
    dates
}

/// A team's support hours in one time zone, with its holidays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    pub hours: Hours,
    pub tz: Tz,
    pub holidays: Holidays,
}

impl Calendar {
    pub fn new(hours: Hours, tz: Tz, holidays: Holidays) -> Self {
        Calendar {
            hours,
            tz,
            holidays,
        }
    }

    /// 24/7: business time is wall-clock time.
    pub fn always() -> Self {
        Calendar::new(Hours::Always, Tz::UTC, Holidays::none())
    }

    /// Business time in `[from, to)`; zero when `to <= from`.
    pub fn business_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        if to <= from {
            return Duration::zero();
        }
        if self.hours == Hours::Always {
            return to - from;
        }
        let mut total = Duration::zero();
        // Days before `from`'s local date end no later than its midnight, which is at or
        // before `from`: they cannot overlap.
        let mut date = self.local_date(from);
        while self.day_start(date) < to {
            for (start, end) in self.intervals_on(date) {
                let (start, end) = (start.max(from), end.min(to));
                if end > start {
                    total += end - start;
                }
            }
            let Some(next) = date.succ_opt() else { break };
            date = next;
        }
        total
    }

    /// The earliest instant `t >= from` with `business_between(from, t) == amount`
    /// (`from` itself for a zero or negative amount). `None` only when the calendar has
    /// no business time for `NO_BUSINESS_TIME_LIMIT_DAYS` days in a row (empty hours, or
    /// every day a holiday) or the answer is past the end of time; a calendar built
    /// from a validated policy always reaches any target.
    pub fn add_business(&self, from: DateTime<Utc>, amount: Duration) -> Option<DateTime<Utc>> {
        if amount <= Duration::zero() {
            return Some(from);
        }
        if self.hours == Hours::Always {
            return from.checked_add_signed(amount);
        }
        let mut left = amount;
        let mut date = self.local_date(from);
        let mut days_without_business = 0;
        loop {
            let mut any_business = false;
            for (start, end) in self.intervals_on(date) {
                let start = start.max(from);
                if end <= start {
                    continue;
                }
                any_business = true;
                let length = end - start;
                if left <= length {
                    // When `left` equals the interval, the answer is its end, not the
                    // start of the next one: the earliest instant that reaches it.
                    return Some(start + left);
                }
                left -= length;
            }
            days_without_business = if any_business {
                0
            } else {
                days_without_business + 1
            };
            if days_without_business > NO_BUSINESS_TIME_LIMIT_DAYS {
                return None;
            }
            date = date.succ_opt()?;
        }
    }

    pub fn is_business_time(&self, t: DateTime<Utc>) -> bool {
        if self.hours == Hours::Always {
            return true;
        }
        // A fall-back hour across midnight can put an instant of one local date after
        // the start of the next: look at both neighbours.
        let date = self.local_date(t);
        [date.pred_opt(), Some(date), date.succ_opt()]
            .into_iter()
            .flatten()
            .any(|day| {
                self.intervals_on(day)
                    .iter()
                    .any(|&(start, end)| start <= t && t < end)
            })
    }

    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        self.hours != Hours::Always && self.holidays.is_holiday(date)
    }

    /// Whether the team works on the local date `date`: every day for 24/7 hours,
    /// otherwise a day of the week with hours that is not a holiday.
    pub fn is_business_day(&self, date: NaiveDate) -> bool {
        match &self.hours {
            Hours::Always => true,
            Hours::Weekly(_) => {
                !self.holidays.is_holiday(date) && !self.hours.windows_on(date.weekday()).is_empty()
            }
        }
    }

    fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    fn day_start(&self, date: NaiveDate) -> DateTime<Utc> {
        self.first_instant_at(date.and_time(NaiveTime::MIN))
    }

    /// The business intervals of one local date, as UTC instants, in order.
    fn intervals_on(&self, date: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let windows = self.hours.windows_on(date.weekday());
        if windows.is_empty() || self.holidays.is_holiday(date) {
            return Vec::new();
        }
        let at = |minutes: u16| {
            if minutes == MINUTES_PER_DAY {
                date.succ_opt()
                    .map(|next| self.first_instant_at(next.and_time(NaiveTime::MIN)))
            } else {
                let time =
                    NaiveTime::from_hms_opt(u32::from(minutes / 60), u32::from(minutes % 60), 0)?;
                Some(self.first_instant_at(date.and_time(time)))
            }
        };
        windows
            .iter()
            .filter_map(|w| Some((at(w.start)?, at(w.end)?)))
            .collect()
    }

    /// The first instant at which the local wall clock reads `local` or later.
    fn first_instant_at(&self, local: NaiveDateTime) -> DateTime<Utc> {
        local_to_utc(self.tz, local)
    }
}

/// A local wall-clock time in `tz` as an instant. In a DST gap (the time does not
/// exist) it is the first instant after the gap; in an overlap, the earlier of the two.
pub fn local_to_utc(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        LocalResult::None => end_of_gap(tz, local),
    }
}

/// The instant the clock jumped over `local`. Read with the offset after the jump,
/// `local` is an instant before it; with the offset before, one after it. Between the
/// two the clock reads `local` or later from the jump on, so halving finds it, to the
/// second (the database's changes fall on whole seconds).
fn end_of_gap(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let offset_near = |hours: i64| {
        let probe = local
            .checked_add_signed(Duration::hours(hours))
            .unwrap_or(local);
        i64::from(tz.offset_from_utc_datetime(&probe).fix().local_minus_utc())
    };
    let as_utc = local.and_utc().timestamp();
    let mut before_jump = as_utc - offset_near(GAP_SEARCH_HOURS);
    let mut after_jump = as_utc - offset_near(-GAP_SEARCH_HOURS);
    let reads = |seconds: i64| {
        DateTime::from_timestamp(seconds, 0).map(|t| t.with_timezone(&tz).naive_local())
    };
    let bracketed = before_jump < after_jump
        && reads(before_jump).is_some_and(|r| r < local)
        && reads(after_jump).is_some_and(|r| r >= local);
    if !bracketed {
        // Not a single jump within two days (no zone in the database does this):
        // read the time as UTC rather than fail.
        return local.and_utc();
    }
    while after_jump - before_jump > 1 {
        let middle = before_jump + (after_jump - before_jump) / 2;
        if reads(middle).is_some_and(|r| r >= local) {
            after_jump = middle;
        } else {
            before_jump = middle;
        }
    }
    DateTime::from_timestamp(after_jump, 0).unwrap_or_else(|| local.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn at(tz: Tz, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        tz.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .earliest()
            .unwrap()
            .with_timezone(&Utc)
    }

    use crate::domain::tokyo;

    fn standard() -> Calendar {
        Calendar::new(
            Hours::parse("Mon-Fri 09:00-18:00").unwrap(),
            chrono_tz::Asia::Tokyo,
            Holidays::parse(&["jp"]).unwrap(),
        )
    }

    fn professional() -> Calendar {
        Calendar::new(
            Hours::parse("Mon-Fri 09:00-21:00").unwrap(),
            chrono_tz::Asia::Tokyo,
            Holidays::parse(&["jp"]).unwrap(),
        )
    }

    fn new_york() -> Calendar {
        Calendar::new(
            Hours::parse("Mon-Fri 09:00-18:00; Sun 01:00-03:30").unwrap(),
            chrono_tz::America::New_York,
            Holidays::parse(&["2026-11-26"]).unwrap(),
        )
    }

    fn h(hours: i64) -> Duration {
        Duration::hours(hours)
    }

    #[test]
    fn hours_parse_forms() {
        let standard = Hours::parse("Mon-Fri 09:00-18:00").unwrap();
        assert_eq!(standard.to_string(), "Mon-Fri 09:00-18:00");
        let split = Hours::parse("Mon,Wed 10:00-12:00; Sat 10:00-14:00").unwrap();
        assert_eq!(split.to_string(), "Mon,Wed 10:00-12:00; Sat 10:00-14:00");
        let spaced = Hours::parse(" monday - friday 9:00 - 12:00, 13:00-24:00 ").unwrap();
        assert_eq!(spaced.to_string(), "Mon-Fri 09:00-12:00,13:00-24:00");
        let wrapped = Hours::parse("Fri-Mon 08:00-20:00").unwrap();
        assert_eq!(wrapped.to_string(), "Mon,Fri-Sun 08:00-20:00");
        assert_eq!(Hours::parse(&wrapped.to_string()).unwrap(), wrapped);
        let merged = Hours::parse("Mon 09:00-12:00; Mon 11:00-18:00").unwrap();
        assert_eq!(merged.to_string(), "Mon 09:00-18:00");
        assert_eq!(Hours::parse("24/7").unwrap(), Hours::Always);
        assert_eq!(Hours::Always.to_string(), "24/7");
    }

    #[test]
    fn hours_refuse_bad_input_with_a_reason() {
        let cases = [
            ("", "no hours"),
            ("Mon-Fri", "has no times"),
            ("09:00-18:00", "has no days"),
            ("Mon-Fry 09:00-18:00", "unknown day \"Fry\""),
            ("Mon-Fri 09:00-25:00", "bad time \"25:00\""),
            ("Mon-Fri 9-18", "bad time \"9\""),
            (
                "Mon-Fri 18:00-09:00",
                "18:00-09:00: the end must be after the start",
            ),
            ("Mon 09:00-09:00", "the end must be after the start"),
            ("Mon-Fri 09:00", "not a time span"),
            ("Mon 24:30-24:45", "bad time \"24:30\""),
            (
                "Mon-Fri 09:00-18:00 Sat 10:00-12:00",
                "separate day groups with \";\"",
            ),
        ];
        for (text, expected) in cases {
            let error = Hours::parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }

    #[test]
    fn holidays_parse() {
        let holidays = Holidays::parse(&["jp", "2026-12-29"]).unwrap();
        assert!(holidays.japan);
        assert!(holidays.is_holiday(date(2026, 12, 29)));
        assert!(holidays.is_holiday(date(2026, 11, 23)));
        assert!(!holidays.is_holiday(date(2026, 11, 24)));
        assert_eq!(holidays.to_string(), "jp, 2026-12-29");
        let error = Holidays::parse(&["2026-13-01"]).unwrap_err().to_string();
        assert!(error.contains("\"2026-13-01\""), "{error}");
    }

    /// The Cabinet Office lists (内閣府「国民の祝日について」), with 振替休日 and 国民の休日.
    #[test]
    fn japanese_holidays_2026_to_2030() {
        let expected: [(i32, &[(u32, u32)]); 5] = [
            (
                2026,
                &[
                    (1, 1),
                    (1, 12),
                    (2, 11),
                    (2, 23),
                    (3, 20),
                    (4, 29),
                    (5, 3),
                    (5, 4),
                    (5, 5),
                    (5, 6),
                    (7, 20),
                    (8, 11),
                    (9, 21),
                    (9, 22),
                    (9, 23),
                    (10, 12),
                    (11, 3),
                    (11, 23),
                ],
            ),
            (
                2027,
                &[
                    (1, 1),
                    (1, 11),
                    (2, 11),
                    (2, 23),
                    (3, 21),
                    (3, 22),
                    (4, 29),
                    (5, 3),
                    (5, 4),
                    (5, 5),
                    (7, 19),
                    (8, 11),
                    (9, 20),
                    (9, 23),
                    (10, 11),
                    (11, 3),
                    (11, 23),
                ],
            ),
            (
                2028,
                &[
                    (1, 1),
                    (1, 10),
                    (2, 11),
                    (2, 23),
                    (3, 20),
                    (4, 29),
                    (5, 3),
                    (5, 4),
                    (5, 5),
                    (7, 17),
                    (8, 11),
                    (9, 18),
                    (9, 22),
                    (10, 9),
                    (11, 3),
                    (11, 23),
                ],
            ),
            (
                2029,
                &[
                    (1, 1),
                    (1, 8),
                    (2, 11),
                    (2, 12),
                    (2, 23),
                    (3, 20),
                    (4, 29),
                    (4, 30),
                    (5, 3),
                    (5, 4),
                    (5, 5),
                    (7, 16),
                    (8, 11),
                    (9, 17),
                    (9, 23),
                    (9, 24),
                    (10, 8),
                    (11, 3),
                    (11, 23),
                ],
            ),
            (
                2030,
                &[
                    (1, 1),
                    (1, 14),
                    (2, 11),
                    (2, 23),
                    (3, 20),
                    (4, 29),
                    (5, 3),
                    (5, 4),
                    (5, 5),
                    (5, 6),
                    (7, 15),
                    (8, 11),
                    (8, 12),
                    (9, 16),
                    (9, 23),
                    (10, 14),
                    (11, 3),
                    (11, 4),
                    (11, 23),
                ],
            ),
        ];
        for (year, days) in expected {
            let expected: Vec<NaiveDate> = days.iter().map(|&(m, d)| date(year, m, d)).collect();
            let mut actual = Vec::new();
            let mut day = date(year, 1, 1);
            while day.year() == year {
                if is_japanese_holiday(day) {
                    actual.push(day);
                }
                day = day.succ_opt().unwrap();
            }
            assert_eq!(actual, expected, "{year}");
        }
    }

    #[test]
    fn japanese_holidays_of_past_years() {
        // 2021: the Olympic moves, which jpholiday 0.1.4 gets wrong on its own.
        for (m, d) in [(7, 22), (7, 23), (8, 8), (8, 9)] {
            assert!(is_japanese_holiday(date(2021, m, d)), "2021-{m}-{d}");
        }
        for (m, d) in [(7, 19), (8, 11), (10, 11)] {
            assert!(!is_japanese_holiday(date(2021, m, d)), "2021-{m}-{d}");
        }
        // 2019: the enthronement, with citizens' holidays either side of 5/1.
        for (m, d) in [(4, 30), (5, 1), (5, 2), (5, 6), (10, 22)] {
            assert!(is_japanese_holiday(date(2019, m, d)), "2019-{m}-{d}");
        }
        // Silver Week citizens' holidays; a 5/6 substitute for a Sunday 5/4 (2008).
        assert!(is_japanese_holiday(date(2015, 9, 22)));
        assert!(is_japanese_holiday(date(2008, 5, 6)));
        // Whole years, counted with their substitute and citizens' holidays.
        let count = |year| {
            (1..=366)
                .filter_map(|ordinal| NaiveDate::from_yo_opt(year, ordinal))
                .filter(|&d| is_japanese_holiday(d))
                .count()
        };
        let counts: Vec<usize> = (2018..=2025).map(count).collect();
        assert_eq!(counts, [20, 22, 18, 17, 16, 17, 21, 19]);
        // Outside the years it answers for, no day is a Japanese holiday.
        assert!(!is_japanese_holiday(date(1999, 1, 1)));
        assert!(!is_japanese_holiday(date(2100, 1, 1)));
    }

    #[test]
    fn standard_p2_first_response_skips_the_weekend_and_labour_thanksgiving() {
        // Fri 17:00 + 4h: 1h on Friday, Mon 23rd is 勤労感謝の日, 3h on Tuesday.
        let opened = tokyo(2026, 11, 20, 17, 0);
        assert_eq!(
            standard().add_business(opened, h(4)),
            Some(tokyo(2026, 11, 24, 12, 0))
        );
        assert_eq!(
            standard().business_between(opened, tokyo(2026, 11, 24, 12, 0)),
            h(4)
        );
    }

    #[test]
    fn professional_counts_the_evening() {
        let opened = tokyo(2026, 11, 20, 17, 0);
        // 4h on Friday until 21:00, then Tuesday.
        assert_eq!(
            professional().add_business(opened, h(4)),
            Some(tokyo(2026, 11, 20, 21, 0))
        );
        assert_eq!(
            professional().add_business(opened, h(5)),
            Some(tokyo(2026, 11, 24, 10, 0))
        );
        // Opened at night: the clock starts at 09:00 the next working day.
        let night = tokyo(2026, 11, 24, 23, 30);
        assert_eq!(
            professional().add_business(night, Duration::minutes(15)),
            Some(tokyo(2026, 11, 25, 9, 15))
        );
    }

    #[test]
    fn always_ignores_holidays() {
        let enterprise = Calendar::new(
            Hours::Always,
            chrono_tz::Asia::Tokyo,
            Holidays::parse(&["jp", "2026-11-21"]).unwrap(),
        );
        let opened = tokyo(2026, 11, 20, 17, 0);
        assert_eq!(
            enterprise.add_business(opened, h(4)),
            Some(tokyo(2026, 11, 20, 21, 0))
        );
        assert_eq!(
            enterprise.business_between(opened, tokyo(2026, 11, 24, 17, 0)),
            h(96)
        );
        assert!(enterprise.is_business_time(tokyo(2026, 11, 23, 3, 0)));
        assert!(!enterprise.is_holiday(date(2026, 11, 23)));
    }

    #[test]
    fn business_days_have_hours_and_are_not_holidays() {
        // Fri 11-20 works; Sat 11-21 has no hours; Mon 11-23 is 勤労感謝の日.
        assert!(standard().is_business_day(date(2026, 11, 20)));
        assert!(!standard().is_business_day(date(2026, 11, 21)));
        assert!(!standard().is_business_day(date(2026, 11, 23)));
        assert!(standard().is_business_day(date(2026, 11, 24)));
        // New York works Sundays but not its Thanksgiving date.
        assert!(new_york().is_business_day(date(2026, 11, 22)));
        assert!(!new_york().is_business_day(date(2026, 11, 26)));
        // 24/7 works every day, holidays included.
        let enterprise = Calendar::new(Hours::Always, chrono_tz::Asia::Tokyo, Holidays::japan());
        assert!(enterprise.is_business_day(date(2026, 11, 21)));
        assert!(enterprise.is_business_day(date(2026, 11, 23)));
    }

    #[test]
    fn team_dates_are_holidays() {
        let mut calendar = standard();
        calendar.holidays.dates.insert(date(2026, 12, 29));
        calendar.holidays.dates.insert(date(2026, 12, 30));
        // Mon 28th 17:00 + 2h: 1h on the 28th, 29th and 30th off, 1h on the 31st.
        let opened = tokyo(2026, 12, 28, 17, 0);
        assert_eq!(
            calendar.add_business(opened, h(2)),
            Some(tokyo(2026, 12, 31, 10, 0))
        );
        assert!(!calendar.is_business_time(tokyo(2026, 12, 29, 10, 0)));
        assert!(standard().is_business_time(tokyo(2026, 12, 29, 10, 0)));
    }

    #[test]
    fn long_holiday_stretches_are_crossed_day_by_day() {
        // Golden Week 2026: Wed 4/29 off, 5/3–5/6 off. Thu 4/30 and Fri 5/1 work.
        let opened = tokyo(2026, 4, 28, 18, 0);
        assert_eq!(
            standard().add_business(opened, h(18)),
            Some(tokyo(2026, 5, 1, 18, 0))
        );
        assert_eq!(
            standard().add_business(opened, h(18) + Duration::milliseconds(1)),
            Some(tokyo(2026, 5, 7, 9, 0) + Duration::milliseconds(1))
        );
    }

    #[test]
    fn zero_amount_and_reversed_ranges() {
        let t = tokyo(2026, 11, 21, 12, 0);
        assert_eq!(standard().add_business(t, Duration::zero()), Some(t));
        assert_eq!(standard().business_between(t, t - h(50)), Duration::zero());
    }

    #[test]
    fn a_calendar_with_no_business_time_never_reaches_a_target() {
        let empty = Calendar::new(Hours::Weekly(Default::default()), Tz::UTC, Holidays::none());
        assert_eq!(empty.add_business(tokyo(2026, 1, 1, 0, 0), h(1)), None);
    }

    #[test]
    fn windows_follow_daylight_saving_time() {
        let ny = chrono_tz::America::New_York;
        let whole_days = Calendar::new(
            Hours::parse("Mon-Sun 00:00-24:00").unwrap(),
            ny,
            Holidays::none(),
        );
        // Spring forward on Sun 2026-03-08 (23h day), fall back on Sun 2026-11-01 (25h).
        let day = |y, m, d| (at(ny, y, m, d, 0, 0), at(ny, y, m, d + 1, 0, 0));
        let (start, end) = day(2026, 3, 8);
        assert_eq!(whole_days.business_between(start, end), h(23));
        let (start, end) = day(2026, 11, 1);
        assert_eq!(whole_days.business_between(start, end), h(25));

        // "Sun 01:00-03:30": 02:00-03:00 does not exist in March, and 01:00-02:00
        // happens twice in November.
        let sunday = new_york();
        let (start, end) = day(2026, 3, 8);
        assert_eq!(sunday.business_between(start, end), Duration::minutes(90));
        let (start, end) = day(2026, 11, 1);
        assert_eq!(sunday.business_between(start, end), Duration::minutes(210));
        // 09:00 New York is 13:00 UTC in summer and 14:00 UTC in winter.
        let summer = at(ny, 2026, 7, 1, 8, 0);
        assert_eq!(
            sunday.add_business(summer, h(1)).unwrap().to_rfc3339(),
            "2026-07-01T14:00:00+00:00"
        );
        let winter = at(ny, 2026, 12, 1, 8, 0);
        assert_eq!(
            sunday.add_business(winter, h(1)).unwrap().to_rfc3339(),
            "2026-12-01T15:00:00+00:00"
        );
        // Thanksgiving is the team's date: Wed 17:00 + 2h ends Fri 10:00.
        let wednesday = at(ny, 2026, 11, 25, 17, 0);
        assert_eq!(
            sunday.add_business(wednesday, h(2)),
            Some(at(ny, 2026, 11, 27, 10, 0))
        );
    }

    #[test]
    fn a_window_in_a_spring_forward_gap_is_empty() {
        let ny = chrono_tz::America::New_York;
        let calendar = Calendar::new(
            Hours::parse("Sun 02:10-02:50").unwrap(),
            ny,
            Holidays::none(),
        );
        let (start, end) = (at(ny, 2026, 3, 7, 0, 0), at(ny, 2026, 3, 10, 0, 0));
        assert_eq!(calendar.business_between(start, end), Duration::zero());
        let (start, end) = (at(ny, 2026, 3, 14, 0, 0), at(ny, 2026, 3, 17, 0, 0));
        assert_eq!(calendar.business_between(start, end), Duration::minutes(40));
    }

    fn calendars() -> impl Strategy<Value = Calendar> {
        prop_oneof![
            Just(standard()),
            Just(professional()),
            Just(new_york()),
            Just(Calendar::new(
                Hours::Always,
                chrono_tz::Asia::Tokyo,
                Holidays::japan()
            )),
            Just(Calendar::new(
                Hours::parse("Mon,Wed 10:00-12:00,13:00-15:30; Sat 22:00-24:00; Sun 00:00-02:00")
                    .unwrap(),
                chrono_tz::Europe::London,
                Holidays::parse(&["jp", "2027-01-04"]).unwrap(),
            )),
        ]
    }

    /// Instants from 2026 to 2030, to the millisecond.
    fn instants() -> impl Strategy<Value = DateTime<Utc>> {
        let (first, last) = (tokyo(2026, 1, 1, 0, 0), tokyo(2031, 1, 1, 0, 0));
        (first.timestamp_millis()..last.timestamp_millis())
            .prop_map(|ms| DateTime::from_timestamp_millis(ms).unwrap())
    }

    /// Around the 2026 and 2027 DST changes of New York and London, where the windows
    /// of `new_york()` and the London calendar cross the skipped and repeated hours.
    fn instants_near_dst() -> impl Strategy<Value = DateTime<Utc>> {
        let changes = [
            tokyo(2026, 3, 8, 16, 0),
            tokyo(2026, 3, 29, 10, 0),
            tokyo(2026, 10, 25, 10, 0),
            tokyo(2026, 11, 1, 15, 0),
            tokyo(2027, 3, 14, 16, 0),
            tokyo(2027, 11, 7, 15, 0),
        ];
        (0..changes.len(), -3 * 86_400_000i64..3 * 86_400_000)
            .prop_map(move |(i, offset)| changes[i] + Duration::milliseconds(offset))
    }

    fn dst_calendars() -> impl Strategy<Value = Calendar> {
        prop_oneof![
            Just(new_york()),
            Just(Calendar::new(
                Hours::parse("Mon-Sun 00:30-01:30,01:45-02:15,02:30-03:00,23:00-24:00").unwrap(),
                chrono_tz::America::New_York,
                Holidays::none(),
            )),
            Just(Calendar::new(
                Hours::parse("Sat 22:00-24:00; Sun 00:00-02:30; Mon-Fri 09:00-17:30").unwrap(),
                chrono_tz::Europe::London,
                Holidays::none(),
            )),
        ]
    }

    /// Up to 10 days, to the millisecond.
    fn amounts() -> impl Strategy<Value = Duration> {
        (0i64..240 * 3_600_000).prop_map(Duration::milliseconds)
    }

    proptest! {
        #[test]
        fn add_business_inverts_business_between(cal in calendars(), from in instants(), amount in amounts()) {
            let due = cal.add_business(from, amount).unwrap();
            prop_assert!(due >= from);
            prop_assert_eq!(cal.business_between(from, due), amount);
            // The earliest such instant: a millisecond before, the amount is not reached.
            if amount > Duration::zero() {
                let before = due - Duration::milliseconds(1);
                prop_assert!(cal.business_between(from, before) < amount);
                prop_assert!(cal.is_business_time(before));
            }
        }

        #[test]
        fn inverse_and_additive_across_dst_changes(
            cal in dst_calendars(), a in instants_near_dst(), b in instants_near_dst(),
            amount in (0i64..30 * 3_600_000).prop_map(Duration::milliseconds),
        ) {
            let due = cal.add_business(a, amount).unwrap();
            prop_assert_eq!(cal.business_between(a, due), amount);
            if amount > Duration::zero() {
                prop_assert!(cal.business_between(a, due - Duration::milliseconds(1)) < amount);
            }
            let (first, last) = (a.min(b), a.max(b));
            let middle = first + (last - first) / 2;
            prop_assert_eq!(
                cal.business_between(first, last),
                cal.business_between(first, middle) + cal.business_between(middle, last)
            );
            prop_assert_eq!(
                cal.is_business_time(a),
                cal.business_between(a, a + Duration::milliseconds(1)) == Duration::milliseconds(1)
            );
        }

        #[test]
        fn business_between_is_additive(cal in calendars(), a in instants(), b in instants(), c in instants()) {
            let mut points = [a, b, c];
            points.sort();
            let [a, b, c] = points;
            prop_assert_eq!(cal.business_between(a, c), cal.business_between(a, b) + cal.business_between(b, c));
            prop_assert!(cal.business_between(a, c) <= c - a);
        }

        #[test]
        fn both_are_monotonic(cal in calendars(), from in instants(), x in amounts(), y in amounts()) {
            let (small, large) = (x.min(y), x.max(y));
            prop_assert!(cal.add_business(from, small) <= cal.add_business(from, large));
            let (near, far) = (from + small, from + large);
            prop_assert!(cal.business_between(from, near) <= cal.business_between(from, far));
        }

        /// Reaching the business time up to `to` never takes longer than `to`: the
        /// earliest instant is returned, not the start of the next window.
        #[test]
        fn add_business_stops_at_the_earliest_instant(cal in calendars(), from in instants(), span in amounts()) {
            let to = from + span;
            let reached = cal.add_business(from, cal.business_between(from, to)).unwrap();
            prop_assert!(reached <= to);
            prop_assert_eq!(cal.business_between(reached, to), Duration::zero());
        }

        #[test]
        fn is_business_time_agrees_with_business_between(cal in calendars(), t in instants()) {
            let counted = cal.business_between(t, t + Duration::milliseconds(1));
            prop_assert_eq!(cal.is_business_time(t), counted == Duration::milliseconds(1));
        }
    }
}
