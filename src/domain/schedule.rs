//! Scheduled reminders: the `<when>` of `/readiness remind`, repeating reminders and
//! the morning an assignee hears about a due date.
//!
//! Reminders are wall-clock times in a time zone, so a weekly 09:00 stays at 09:00
//! across DST. A wall-clock time maps to an instant as the calendar maps its hours: the
//! earlier of two readings during a fall-back hour, the end of the gap during a
//! spring-forward jump, so a reminder set inside a skipped hour still fires, once.
//!
//! Recurrences are stored as text (`to_text`) that reads back with `parse_text`, using
//! the same grammar people type after `every`.

use chrono::{
    DateTime, Datelike, Duration, Months, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc,
    Weekday,
};
use chrono_tz::Tz;

pub use super::calendar::local_to_utc;
use super::calendar::{Calendar, WEEKDAY_NAMES, parse_weekday};
use super::i18n::Lang;

/// The time a reminder without one goes off: "tomorrow", "2026-12-01", "every monday".
pub const DEFAULT_TIME: NaiveTime = NaiveTime::from_hms_opt(9, 0, 0).expect("09:00 is a time");

/// "in …" goes at most this far ahead; further out, a date says what is meant.
pub const IN_AT_MOST_DAYS: i64 = 366;

/// The years a date typed in a command may fall in: the support calendar's (its
/// Japanese holidays are known for 2000–2099). A date outside is refused with the
/// command's usage, so nothing past it ever reaches date arithmetic.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2099;

/// "every N months" counts at most this many months (ten years).
pub const MONTHS_AT_MOST: u32 = 120;

/// `due_morning` looks this many days past the due date for a business day.
const BUSINESS_DAY_SEARCH_DAYS: u32 = 366;

/// Daily, weekday and weekly reminders fall within a week; a fortnight also covers a
/// time zone that skipped a whole day (Samoa, 2011-12-30).
const DAY_REPEAT_SEARCH_DAYS: u32 = 15;

/// "in 1 hour 30 minutes" is four words; a duration is looked for in at most this many.
const DURATION_WORDS_AT_MOST: usize = 6;

const WEEKDAY_NAMES_EN: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const WEEKDAY_NAMES_JA: [&str; 7] = ["月曜", "火曜", "水曜", "木曜", "金曜", "土曜", "日曜"];

/// A day named by a word rather than a date, as `remind` and `due=` read it: today,
/// tomorrow or a day of the week, in English or Japanese.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayWord {
    /// `today`, `今日`, `本日`.
    Today,
    /// `tomorrow`, `明日`.
    Tomorrow,
    /// `friday`, `fri`, `金曜`, `金曜日`: the next one after today (on a Friday,
    /// `friday` is a week ahead; `today` names today).
    Next(Weekday),
}

impl DayWord {
    /// The word's day, or `None` when it names none. English in any case; a weekday
    /// by its full name or its first three letters or more (as `every` reads it).
    pub fn parse(word: &str) -> Option<DayWord> {
        let lower = word.to_lowercase();
        match lower.as_str() {
            "today" | "今日" | "本日" | "きょう" => Some(DayWord::Today),
            "tomorrow" | "明日" | "あした" | "あす" => Some(DayWord::Tomorrow),
            _ => weekday_word(&lower).map(DayWord::Next),
        }
    }

    /// The date it names when `today` is the customer's today. `None` only at the end
    /// of chrono's calendar.
    pub fn date(self, today: NaiveDate) -> Option<NaiveDate> {
        match self {
            DayWord::Today => Some(today),
            DayWord::Tomorrow => today.succ_opt(),
            DayWord::Next(day) => {
                let ahead = (day_index(day) + 7 - day_index(today.weekday())) % 7;
                let ahead = if ahead == 0 { 7 } else { ahead };
                today.checked_add_days(chrono::Days::new(ahead as u64))
            }
        }
    }
}

/// A day of the week in English (`monday`, `mon`) or Japanese (`月曜`, `月曜日`).
fn weekday_word(lower: &str) -> Option<Weekday> {
    let japanese = lower.strip_suffix('日').unwrap_or(lower);
    WEEKDAY_NAMES_JA
        .iter()
        .position(|name| *name == japanese)
        .and_then(|index| Weekday::try_from(index as u8).ok())
        .or_else(|| parse_weekday(lower))
}

/// How a reminder repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repeat {
    Daily,
    /// Monday to Friday.
    Weekdays,
    Weekly(Weekday),
    /// Every `every` months on the anchor's day of month (clamped to the month's last
    /// day: Jan 31 → Feb 28/29), starting from the anchor date. Monthly = 1,
    /// quarterly = 3, yearly = 12.
    Months {
        every: u32,
        anchor: NaiveDate,
    },
}

impl Repeat {
    /// Whether the repeat names `date`. `next_after` asks only for day-based repeats;
    /// months it counts from the anchor straight to the right one.
    fn falls_on(&self, date: NaiveDate) -> bool {
        match self {
            Repeat::Daily => true,
            Repeat::Weekdays => !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
            Repeat::Weekly(day) => date.weekday() == *day,
            Repeat::Months { every, anchor } => (0..)
                .map_while(|k| months_after(*anchor, *every, k))
                .take_while(|d| *d <= date)
                .any(|d| d == date),
        }
    }
}

/// The `k`th date of "every `every` months from `anchor`", the anchor's day clamped to
/// the month's length. Counted from the anchor each time, so Jan 31 gives Feb 28 and
/// then Mar 31, not Mar 28.
fn months_after(anchor: NaiveDate, every: u32, k: u32) -> Option<NaiveDate> {
    anchor.checked_add_months(Months::new(every.checked_mul(k)?))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence {
    pub repeat: Repeat,
    pub time: NaiveTime,
}

impl Recurrence {
    /// The first occurrence strictly after `after`, local time `time` in `tz`. For
    /// Months, never before the anchor date. `None` only past the end of chrono's
    /// calendar, or for a repeat of every 0 months.
    pub fn next_after(&self, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let after_date = after.with_timezone(&tz).date_naive();
        if let Repeat::Months { every, anchor } = self.repeat {
            return self.next_monthly(every, anchor, tz, after, after_date);
        }
        // A day early too: where a clock falls back across midnight, the local date
        // of a later instant can be the earlier one.
        let mut date = after_date.pred_opt().unwrap_or(after_date);
        for _ in 0..DAY_REPEAT_SEARCH_DAYS {
            if self.repeat.falls_on(date) {
                let t = local_to_utc(tz, date.and_time(self.time));
                if t > after {
                    return Some(t);
                }
            }
            date = date.succ_opt()?;
        }
        None
    }

    fn next_monthly(
        &self,
        every: u32,
        anchor: NaiveDate,
        tz: Tz,
        after: DateTime<Utc>,
        after_date: NaiveDate,
    ) -> Option<DateTime<Utc>> {
        if every == 0 {
            return None;
        }
        // Jump to a little before `after` rather than walking from the anchor: a
        // count one short of the months between them is at least a month early.
        let months_since_anchor = (after_date.year() - anchor.year()) * 12
            + after_date.month() as i32
            - anchor.month() as i32;
        let first_k = u32::try_from(months_since_anchor)
            .map(|months| (months / every).saturating_sub(1))
            .unwrap_or(0);
        // Two counts on from `first_k` the date is past `after`'s local date; one more
        // covers a clock that falls back across midnight.
        for k in first_k..first_k.saturating_add(4) {
            let date = months_after(anchor, every, k)?;
            let t = local_to_utc(tz, date.and_time(self.time));
            if t > after {
                return Some(t);
            }
        }
        None
    }

    /// Canonical text that round-trips through `parse_text` (stored in the database),
    /// e.g. "every monday 09:00", "every day 09:00", "every weekday 09:00",
    /// "every 3 months from 2026-12-01 10:00".
    pub fn to_text(&self) -> String {
        let time = time_text(self.time);
        match &self.repeat {
            Repeat::Daily => format!("every day {time}"),
            Repeat::Weekdays => format!("every weekday {time}"),
            Repeat::Weekly(day) => format!("every {} {time}", WEEKDAY_NAMES[day_index(*day)]),
            Repeat::Months { every: 1, anchor } => {
                format!("every month from {} {time}", date_text(*anchor))
            }
            Repeat::Months { every, anchor } => {
                format!("every {every} months from {} {time}", date_text(*anchor))
            }
        }
    }

    /// Reads what `to_text` writes, and anything else `every …` accepts in a command
    /// ("every Mon", "every quarter from 2026-12-01"); the whole text must be used.
    pub fn parse_text(text: &str) -> Option<Recurrence> {
        let words: Vec<&str> = text.split_whitespace().collect();
        match When::parse_prefix(&words) {
            Ok((When::Every(recurrence), used)) if used == words.len() => Some(recurrence),
            _ => None,
        }
    }

    /// For people: "every Monday at 09:00" / "毎週月曜 09:00", "every day at 09:00" /
    /// "毎日 09:00", "every weekday at 09:00" / "平日 09:00",
    /// "every 3 months at 10:00 (from 2026-12-01)" / "3か月ごと 10:00（2026-12-01から）".
    pub fn describe(&self, lang: Lang) -> String {
        let time = time_text(self.time);
        match (&self.repeat, lang) {
            (Repeat::Daily, Lang::En) => format!("every day at {time}"),
            (Repeat::Daily, Lang::Ja) => format!("毎日 {time}"),
            (Repeat::Weekdays, Lang::En) => format!("every weekday at {time}"),
            (Repeat::Weekdays, Lang::Ja) => format!("平日 {time}"),
            (Repeat::Weekly(day), Lang::En) => {
                format!("every {} at {time}", WEEKDAY_NAMES_EN[day_index(*day)])
            }
            (Repeat::Weekly(day), Lang::Ja) => {
                format!("毎週{} {time}", WEEKDAY_NAMES_JA[day_index(*day)])
            }
            (Repeat::Months { every: 1, anchor }, Lang::En) => {
                format!("every month at {time} (from {})", date_text(*anchor))
            }
            (Repeat::Months { every, anchor }, Lang::En) => format!(
                "every {every} months at {time} (from {})",
                date_text(*anchor)
            ),
            (Repeat::Months { every: 1, anchor }, Lang::Ja) => {
                format!("毎月 {time}（{}から）", date_text(*anchor))
            }
            (Repeat::Months { every, anchor }, Lang::Ja) => {
                format!("{every}か月ごと {time}（{}から）", date_text(*anchor))
            }
        }
    }
}

fn day_index(day: Weekday) -> usize {
    day.num_days_from_monday() as usize
}

/// "09:00", with seconds ("09:00:30") and fractions only when there are any, so the
/// text reads back to the same time.
fn time_text(time: NaiveTime) -> String {
    if time.nanosecond() != 0 {
        time.format("%H:%M:%S%.f").to_string()
    } else if time.second() != 0 {
        time.format("%H:%M:%S").to_string()
    } else {
        time.format("%H:%M").to_string()
    }
}

fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// The `<when>` of `/readiness remind [customer] <when> <text>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    /// "in 2h", "in 90m", "in 1h30m", "in 2 hours".
    In(Duration),
    /// "today 17:00".
    Today(NaiveTime),
    /// "tomorrow 10:00"; "tomorrow" alone is 09:00.
    Tomorrow(NaiveTime),
    /// "2026-12-01 09:30", "2026-12-01T09:30"; a date alone is 09:00.
    At(NaiveDateTime),
    /// "every monday 09:00", "every day", "every weekday 08:30",
    /// "every 3 months from 2026-12-01 10:00"; the time is 09:00 when left out.
    Every(Recurrence),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WhenError {
    #[error("say when: in 2h, today 17:00, tomorrow 10:00, 2026-12-01 09:30 or every monday 09:00")]
    Missing,
    #[error("\"in\" needs a duration, e.g. in 2h, in 90m, in 1h30m")]
    MissingDuration,
    #[error("\"{0}\" is not a duration (e.g. in 2h, in 90m, in 1h30m)")]
    BadDuration(String),
    #[error("\"today\" needs a time, e.g. today 17:00")]
    MissingTime,
    #[error("\"{0}\" is not a time (use HH:MM from 00:00 to 23:59, e.g. 09:30)")]
    BadTime(String),
    #[error("\"{0}\" is not a date (use YYYY-MM-DD, e.g. 2026-12-01)")]
    BadDate(String),
    /// Shaped like a date, but that day is not in the calendar (`2026-02-30`).
    #[error("\"{0}\": that day does not exist")]
    NoSuchDay(String),
    #[error(
        "\"every\" needs a day: every day, every weekday, every monday, or every 3 months from 2026-12-01"
    )]
    MissingDay,
    #[error("\"{0}\" is not a day (use day, weekday, or monday … sunday)")]
    BadDay(String),
    #[error(
        "\"{0}\": repeat every 1 to 120 months from a start date, e.g. every 3 months from 2026-12-01"
    )]
    BadMonths(String),
    #[error("that is too far ahead for \"in\" (at most 366 days); give a date instead")]
    TooFar,
}

impl When {
    /// Reads a when off the front of `words` (the command's words after the optional
    /// customer); returns it and how many words it used. The rest of the words are
    /// the reminder text.
    pub fn parse_prefix(words: &[&str]) -> Result<(When, usize), WhenError> {
        let Some((first, rest)) = words.split_first() else {
            return Err(WhenError::Missing);
        };
        match first.to_lowercase().as_str() {
            "in" => {
                let (duration, used) = parse_duration_prefix(rest)?;
                Ok((When::In(duration), 1 + used))
            }
            _ if today_or_tomorrow(first) == Some(DayWord::Today) => match optional_time(rest)? {
                (time, 1) => Ok((When::Today(time), 2)),
                _ => Err(WhenError::MissingTime),
            },
            _ if today_or_tomorrow(first) == Some(DayWord::Tomorrow) => {
                let (time, used) = optional_time(rest)?;
                Ok((When::Tomorrow(time), 1 + used))
            }
            "every" => {
                let (recurrence, used) = parse_every(rest)?;
                Ok((When::Every(recurrence), 1 + used))
            }
            _ if looks_like_date(first) => {
                let (at, used) = parse_date_time(first, rest)?;
                Ok((When::At(at), used))
            }
            _ => Err(WhenError::Missing),
        }
    }

    /// Whether `word` can start a when (so the command parser can tell
    /// `remind acme in 2h …` from `remind in 2h …`): "in", "today", "tomorrow",
    /// "every", or a YYYY-MM-DD date (a wrong one too, so it is refused as a date
    /// rather than taken for a customer).
    pub fn starts_when(word: &str) -> bool {
        let lower = word.to_lowercase();
        matches!(lower.as_str(), "in" | "every")
            || today_or_tomorrow(word).is_some()
            || looks_like_date(word)
    }

    /// When it first falls due for a customer in `tz`. `None` when that moment is not
    /// after `now` (a date in the past, "today 08:00" at 10:00). For Every, the first
    /// occurrence after now.
    pub fn first(&self, tz: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let today = now.with_timezone(&tz).date_naive();
        let due = match self {
            When::In(duration) => now.checked_add_signed(*duration)?,
            When::Today(time) => local_to_utc(tz, today.and_time(*time)),
            When::Tomorrow(time) => local_to_utc(tz, today.succ_opt()?.and_time(*time)),
            When::At(local) => local_to_utc(tz, *local),
            When::Every(recurrence) => recurrence.next_after(tz, now)?,
        };
        (due > now).then_some(due)
    }

    pub fn recurrence(&self) -> Option<&Recurrence> {
        match self {
            When::Every(recurrence) => Some(recurrence),
            _ => None,
        }
    }
}

/// `today` or `tomorrow` in either language (a weekday alone is no reminder's when:
/// it would read a customer named `mon` as a day).
fn today_or_tomorrow(word: &str) -> Option<DayWord> {
    DayWord::parse(word).filter(|day| !matches!(day, DayWord::Next(_)))
}

/// The duration after "in": the most words (up to six) that read as one, so
/// "in 2 hours 30 minutes call" takes four and leaves "call".
fn parse_duration_prefix(words: &[&str]) -> Result<(Duration, usize), WhenError> {
    let Some(first) = words.first() else {
        return Err(WhenError::MissingDuration);
    };
    let longest = words.len().min(DURATION_WORDS_AT_MOST);
    let is_number = |w: &str| w.bytes().all(|b| b.is_ascii_digit());
    let found = (1..=longest).rev().find_map(|count| {
        let words = &words[..count];
        // humantime reads "1 2h" as 12 hours: a bare number must be followed by its unit.
        let number_then_number = words
            .windows(2)
            .any(|pair| is_number(pair[0]) && pair[1].starts_with(|c: char| c.is_ascii_digit()));
        if number_then_number {
            return None;
        }
        humantime::parse_duration(&words.join(" "))
            .ok()
            .map(|duration| (duration, count))
    });
    let Some((duration, used)) = found else {
        return Err(WhenError::BadDuration((*first).to_string()));
    };
    if duration.is_zero() {
        return Err(WhenError::BadDuration(words[..used].join(" ")));
    }
    let duration = Duration::from_std(duration).map_err(|_| WhenError::TooFar)?;
    if duration > Duration::days(IN_AT_MOST_DAYS) {
        return Err(WhenError::TooFar);
    }
    Ok((duration, used))
}

/// A time as the next word, or 09:00 (using no word) when the next word is not one.
/// A word that looks like a time but is not one ("25:00") is an error, not text.
fn optional_time(words: &[&str]) -> Result<(NaiveTime, usize), WhenError> {
    match words.first() {
        Some(word) if looks_like_time(word) => Ok((parse_time(word)?, 1)),
        _ => Ok((DEFAULT_TIME, 0)),
    }
}

fn looks_like_time(word: &str) -> bool {
    word.starts_with(|c: char| c.is_ascii_digit()) && word.contains(':')
}

/// "9:05", "09:05", "09:05:30", "09:05:30.250"; minutes and seconds take two digits.
fn parse_time(word: &str) -> Result<NaiveTime, WhenError> {
    let bad = || WhenError::BadTime(word.to_string());
    let digits = |s: &str, min: usize, max: usize| {
        (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    let parts: Vec<&str> = word.split(':').collect();
    let well_formed = match parts.as_slice() {
        [hour, minute] => digits(hour, 1, 2) && digits(minute, 2, 2),
        [hour, minute, second] => {
            let (whole, fraction) = second.split_once('.').unwrap_or((second, "0"));
            digits(hour, 1, 2)
                && digits(minute, 2, 2)
                && digits(whole, 2, 2)
                && digits(fraction, 1, 9)
        }
        _ => false,
    };
    if !well_formed {
        return Err(bad());
    }
    let format = if parts.len() == 2 {
        "%H:%M"
    } else {
        "%H:%M:%S%.f"
    };
    let time = NaiveTime::parse_from_str(word, format).map_err(|_| bad())?;
    // chrono reads ":60" as a leap second, which no reminder means.
    if time.nanosecond() >= 1_000_000_000 {
        return Err(bad());
    }
    Ok(time)
}

/// "2026-12-01", "2026-1-5", "2026-12-01T09:30": four digits, a month and a day, and
/// perhaps a time after a "T". Whether the numbers make a date is checked later.
fn looks_like_date(word: &str) -> bool {
    let date_part = match word.find(['T', 't']) {
        Some(t) => &word[..t],
        None => word,
    };
    let parts: Vec<&str> = date_part.split('-').collect();
    let digits = |s: &str, min: usize, max: usize| {
        (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    matches!(parts.as_slice(), [y, m, d] if digits(y, 4, 4) && digits(m, 1, 2) && digits(d, 1, 2))
}

fn parse_date(word: &str) -> Result<NaiveDate, WhenError> {
    if !looks_like_date(word) || word.contains(['T', 't']) {
        return Err(WhenError::BadDate(word.to_string()));
    }
    match NaiveDate::parse_from_str(word, "%Y-%m-%d") {
        Ok(d) if YEARS.contains(&d.year()) => Ok(d),
        Err(_) if is_month_and_day(word) => Err(WhenError::NoSuchDay(word.to_string())),
        _ => Err(WhenError::BadDate(word.to_string())),
    }
}

/// Whether a `YYYY-MM-DD` word has a month 1 to 12 and a day 1 to 31, so that when it
/// is no date the day is missing from that month (`2026-02-30`, `2026-04-31`) rather
/// than the word being no date at all.
pub fn is_month_and_day(word: &str) -> bool {
    let parts: Vec<&str> = word.split('-').collect();
    let number = |s: &str, max: u32| {
        !s.is_empty()
            && s.len() <= 2
            && s.bytes().all(|b| b.is_ascii_digit())
            && s.parse::<u32>().is_ok_and(|n| (1..=max).contains(&n))
    };
    matches!(parts.as_slice(), [y, m, d]
        if y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()) && number(m, 12) && number(d, 31))
}

/// "2026-12-01 09:30", "2026-12-01T09:30" or "2026-12-01" (09:00).
fn parse_date_time(first: &str, rest: &[&str]) -> Result<(NaiveDateTime, usize), WhenError> {
    if let Some(t) = first.find(['T', 't']) {
        let date = parse_date(&first[..t])?;
        let time = parse_time(&first[t + 1..])?;
        return Ok((date.and_time(time), 1));
    }
    let date = parse_date(first)?;
    let (time, used) = optional_time(rest)?;
    Ok((date.and_time(time), 1 + used))
}

/// What follows "every": a day word or a count of months, then perhaps a time.
fn parse_every(words: &[&str]) -> Result<(Recurrence, usize), WhenError> {
    let Some(first) = words.first() else {
        return Err(WhenError::MissingDay);
    };
    let lower = first.to_lowercase();
    let (repeat, used) = match lower.as_str() {
        "day" => (Repeat::Daily, 1),
        "weekday" | "weekdays" => (Repeat::Weekdays, 1),
        "month" => parse_months(1, &words[..1], &words[1..])?,
        "quarter" => parse_months(3, &words[..1], &words[1..])?,
        "year" => parse_months(12, &words[..1], &words[1..])?,
        _ if lower.bytes().all(|b| b.is_ascii_digit()) => {
            let every = lower
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MONTHS_AT_MOST).contains(n))
                .ok_or_else(|| WhenError::BadMonths(months_phrase(&words[..2.min(words.len())])))?;
            match words.get(1).map(|w| w.to_lowercase()) {
                Some(unit) if unit == "month" || unit == "months" => {
                    parse_months(every, &words[..2], &words[2..])?
                }
                _ => {
                    return Err(WhenError::BadMonths(months_phrase(
                        &words[..2.min(words.len())],
                    )));
                }
            }
        }
        _ => match weekday_word(&lower) {
            Some(day) => (Repeat::Weekly(day), 1),
            None => return Err(WhenError::BadDay((*first).to_string())),
        },
    };
    let (time, time_used) = optional_time(&words[used..])?;
    Ok((Recurrence { repeat, time }, used + time_used))
}

fn months_phrase(words: &[&str]) -> String {
    format!("every {}", words.join(" "))
}

/// After "month" (or "N months"): "[from] YYYY-MM-DD". `unit` is the words naming
/// the months, counted in the words used.
fn parse_months(every: u32, unit: &[&str], rest: &[&str]) -> Result<(Repeat, usize), WhenError> {
    let from = usize::from(rest.first().is_some_and(|w| w.eq_ignore_ascii_case("from")));
    let Some(date_word) = rest.get(from).filter(|w| looks_like_date(w)) else {
        return Err(WhenError::BadMonths(months_phrase(unit)));
    };
    let anchor = parse_date(date_word)?;
    Ok((Repeat::Months { every, anchor }, unit.len() + from + 1))
}

/// When an assignee hears about an item due on `due`: `at` (e.g. 09:00) in the
/// assignee's own zone `assignee_tz`, on `due` — or, if `due` is not a business day of
/// the customer's calendar, on the next day that is (looking at most 366 days ahead,
/// then `due` after all).
pub fn due_morning(
    due: NaiveDate,
    at: NaiveTime,
    assignee_tz: Tz,
    customer: &Calendar,
) -> DateTime<Utc> {
    let day = due
        .iter_days()
        .take(BUSINESS_DAY_SEARCH_DAYS as usize + 1)
        .find(|&date| customer.is_business_day(date))
        .unwrap_or(due);
    local_to_utc(assignee_tz, day.and_time(at))
}

/// One reminder a go-live starts: when it first falls due (local time in the
/// customer's zone), how it repeats, and the last local time it may fall due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Milestone {
    pub kind: &'static str,
    pub first: NaiveDateTime,
    pub recurrence: Option<Recurrence>,
    pub until: Option<NaiveDateTime>,
}

/// The seed's onboarding cadence from a go-live date: a daily hypercare check-in for
/// the hypercare period (at least a day), then its end; the quarterly business and
/// security reviews three months on, the monthly report a month on and the yearly SLA
/// report a year on, each repeating from there. `wanted` says which kinds to plan.
pub fn milestones(
    golive: NaiveDate,
    reminders: &super::policy::Reminders,
    wanted: impl Fn(&str) -> bool,
) -> Vec<Milestone> {
    let at = reminders.milestone_at;
    let days = reminders.hypercare.num_days().max(1);
    let months = |n: u32| golive.checked_add_months(Months::new(n)).unwrap_or(golive);
    // Counted from the go-live date itself, so a go-live on the 31st keeps the 31st
    // (or the month's last day) rather than drifting to the 28th after February.
    let every = |n: u32| Recurrence {
        repeat: Repeat::Months {
            every: n,
            anchor: golive,
        },
        time: at,
    };
    let mut plan = Vec::new();
    if wanted("hypercare") {
        plan.push(Milestone {
            kind: "hypercare",
            first: golive.and_time(at),
            recurrence: Some(Recurrence {
                repeat: Repeat::Daily,
                time: at,
            }),
            until: Some((golive + Duration::days(days - 1)).and_time(at)),
        });
        plan.push(Milestone {
            kind: "hypercare_end",
            first: (golive + Duration::days(days)).and_time(at),
            recurrence: None,
            until: None,
        });
    }
    for (kind, n) in [
        ("qbr", 3),
        ("security_review", 3),
        ("monthly_report", 1),
        ("yearly_report", 12),
    ] {
        if wanted(kind) {
            plan.push(Milestone {
                kind,
                first: months(n).and_time(at),
                recurrence: Some(every(n)),
                until: None,
            });
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::{Holidays, Hours};
    use crate::domain::tokyo;
    use chrono::{LocalResult, TimeZone};
    use proptest::prelude::*;

    const TOKYO: Tz = chrono_tz::Asia::Tokyo;
    const NEW_YORK: Tz = chrono_tz::America::New_York;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn at(tz: Tz, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        tz.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .earliest()
            .unwrap()
            .with_timezone(&Utc)
    }

    fn parse(text: &str) -> Result<(When, usize), WhenError> {
        let words: Vec<&str> = text.split_whitespace().collect();
        When::parse_prefix(&words)
    }

    fn every(repeat: Repeat, time: NaiveTime) -> Recurrence {
        Recurrence { repeat, time }
    }

    #[test]
    fn in_takes_a_duration_of_one_or_more_words() {
        let cases = [
            ("in 2h call them", Duration::hours(2), 2),
            ("in 90m", Duration::minutes(90), 2),
            ("in 1h30m x", Duration::minutes(90), 2),
            ("in 2 hours call them", Duration::hours(2), 3),
            ("IN 1h 30m x", Duration::minutes(90), 3),
            ("in 1 hour 30 minutes check", Duration::minutes(90), 5),
            ("in 3 days", Duration::days(3), 3),
            ("in 45s ping", Duration::seconds(45), 2),
        ];
        for (text, duration, used) in cases {
            assert_eq!(parse(text), Ok((When::In(duration), used)), "{text}");
        }
        // A number in the text is not taken into the duration.
        assert_eq!(
            parse("in 2h 3 things"),
            Ok((When::In(Duration::hours(2)), 2))
        );
    }

    #[test]
    fn in_refuses_a_missing_bad_zero_or_distant_duration() {
        assert_eq!(parse("in"), Err(WhenError::MissingDuration));
        assert_eq!(parse("in soon"), Err(WhenError::BadDuration("soon".into())));
        assert_eq!(parse("in 2 x"), Err(WhenError::BadDuration("2".into())));
        assert_eq!(parse("in 0m x"), Err(WhenError::BadDuration("0m".into())));
        assert_eq!(parse("in 400d"), Err(WhenError::TooFar));
        assert_eq!(
            parse("in 99999999999999999999y"),
            Err(WhenError::BadDuration("99999999999999999999y".into()))
        );
        assert_eq!(parse("in 366d"), Ok((When::In(Duration::days(366)), 2)));
    }

    #[test]
    fn day_words_in_both_languages_name_today_tomorrow_or_the_next_weekday() {
        // Wednesday 2026-12-30.
        let today = date(2026, 12, 30);
        for (word, day) in [
            ("today", date(2026, 12, 30)),
            ("TODAY", date(2026, 12, 30)),
            ("今日", date(2026, 12, 30)),
            ("本日", date(2026, 12, 30)),
            ("tomorrow", date(2026, 12, 31)),
            ("明日", date(2026, 12, 31)),
            ("thursday", date(2026, 12, 31)),
            ("Fri", date(2027, 1, 1)),
            ("monday", date(2027, 1, 4)),
            ("月曜", date(2027, 1, 4)),
            ("日曜日", date(2027, 1, 3)),
            // Today's own weekday is the one a week ahead; `today` names today.
            ("wednesday", date(2027, 1, 6)),
            ("水曜", date(2027, 1, 6)),
        ] {
            assert_eq!(
                DayWord::parse(word).and_then(|d| d.date(today)),
                Some(day),
                "{word}"
            );
        }
        for word in [
            "",
            "mo",
            "月",
            "日",
            "曜日",
            "someday",
            "2026-12-30",
            "weekday",
        ] {
            assert_eq!(DayWord::parse(word), None, "{word}");
        }
    }

    #[test]
    fn remind_takes_today_and_tomorrow_in_japanese_and_every_japanese_weekday() {
        assert_eq!(parse("今日 17:00 x"), Ok((When::Today(hm(17, 0)), 2)));
        assert_eq!(parse("今日 x"), Err(WhenError::MissingTime));
        assert_eq!(parse("明日 x"), Ok((When::Tomorrow(hm(9, 0)), 1)));
        assert_eq!(
            parse("every 月曜 08:30 x"),
            Ok((
                When::Every(every(Repeat::Weekly(Weekday::Mon), hm(8, 30))),
                3
            ))
        );
        assert!(When::starts_when("明日"));
        // A weekday alone starts no when: `remind mon …` names a customer `mon`.
        assert!(!When::starts_when("mon"));
        assert!(!When::starts_when("月曜"));
    }

    #[test]
    fn today_and_tomorrow_take_a_time() {
        assert_eq!(parse("today 17:00 x"), Ok((When::Today(hm(17, 0)), 2)));
        assert_eq!(
            parse("Today 17:00:30"),
            Ok((When::Today(NaiveTime::from_hms_opt(17, 0, 30).unwrap()), 2))
        );
        assert_eq!(parse("today"), Err(WhenError::MissingTime));
        assert_eq!(parse("today call"), Err(WhenError::MissingTime));
        assert_eq!(
            parse("today 25:00"),
            Err(WhenError::BadTime("25:00".into()))
        );
        assert_eq!(
            parse("tomorrow 10:00 x"),
            Ok((When::Tomorrow(hm(10, 0)), 2))
        );
        assert_eq!(parse("tomorrow 9:05"), Ok((When::Tomorrow(hm(9, 5)), 2)));
        assert_eq!(
            parse("tomorrow call them"),
            Ok((When::Tomorrow(hm(9, 0)), 1))
        );
        assert_eq!(parse("TOMORROW"), Ok((When::Tomorrow(hm(9, 0)), 1)));
        for bad in [
            "24:00", "9:5", "09:60", "9:00:61", "12:00:60", "1:2:3:4", "09:00pm",
        ] {
            assert_eq!(
                parse(&format!("tomorrow {bad}")),
                Err(WhenError::BadTime(bad.into())),
                "{bad}"
            );
        }
    }

    #[test]
    fn dates_take_an_optional_time() {
        let moment = |h, m, s| date(2026, 12, 1).and_hms_opt(h, m, s).unwrap();
        assert_eq!(
            parse("2026-12-01 09:30 x"),
            Ok((When::At(moment(9, 30, 0)), 2))
        );
        assert_eq!(parse("2026-12-01 x"), Ok((When::At(moment(9, 0, 0)), 1)));
        assert_eq!(
            parse("2026-12-01T09:30"),
            Ok((When::At(moment(9, 30, 0)), 1))
        );
        assert_eq!(
            parse("2026-12-01T09:30:15 x"),
            Ok((When::At(moment(9, 30, 15)), 1))
        );
        assert_eq!(
            parse("2026-12-1 10:00"),
            Ok((When::At(moment(10, 0, 0)), 2))
        );
        assert_eq!(
            parse("2026-13-01"),
            Err(WhenError::BadDate("2026-13-01".into()))
        );
        assert_eq!(
            parse("2026-02-30 x"),
            Err(WhenError::NoSuchDay("2026-02-30".into()))
        );
        assert_eq!(
            parse("2026-12-01T25:00"),
            Err(WhenError::BadTime("25:00".into()))
        );
        assert_eq!(
            parse("2026-12-01 7:5"),
            Err(WhenError::BadTime("7:5".into()))
        );
    }

    #[test]
    fn every_takes_a_day_and_an_optional_time() {
        let cases = [
            (
                "every monday 09:00 standup",
                every(Repeat::Weekly(Weekday::Mon), hm(9, 0)),
                3,
            ),
            (
                "every Mon",
                every(Repeat::Weekly(Weekday::Mon), hm(9, 0)),
                2,
            ),
            (
                "Every FRIDAY 18:30 x",
                every(Repeat::Weekly(Weekday::Fri), hm(18, 30)),
                3,
            ),
            (
                "every thurs 8:00",
                every(Repeat::Weekly(Weekday::Thu), hm(8, 0)),
                3,
            ),
            (
                "every sun x",
                every(Repeat::Weekly(Weekday::Sun), hm(9, 0)),
                2,
            ),
            ("every day 07:15", every(Repeat::Daily, hm(7, 15)), 3),
            ("every day check", every(Repeat::Daily, hm(9, 0)), 2),
            ("every weekday 08:00", every(Repeat::Weekdays, hm(8, 0)), 3),
            ("every weekdays", every(Repeat::Weekdays, hm(9, 0)), 2),
        ];
        for (text, recurrence, used) in cases {
            assert_eq!(parse(text), Ok((When::Every(recurrence), used)), "{text}");
        }
    }

    #[test]
    fn every_takes_months_from_a_start_date() {
        let months = |every, anchor, time| {
            When::Every(Recurrence {
                repeat: Repeat::Months { every, anchor },
                time,
            })
        };
        assert_eq!(
            parse("every 3 months from 2026-12-01 10:00 renewal"),
            Ok((months(3, date(2026, 12, 1), hm(10, 0)), 6))
        );
        assert_eq!(
            parse("every month from 2026-01-31 invoices"),
            Ok((months(1, date(2026, 1, 31), hm(9, 0)), 4))
        );
        assert_eq!(
            parse("every 1 month 2026-01-31"),
            Ok((months(1, date(2026, 1, 31), hm(9, 0)), 4))
        );
        assert_eq!(
            parse("every quarter from 2026-12-01"),
            Ok((months(3, date(2026, 12, 1), hm(9, 0)), 4))
        );
        assert_eq!(
            parse("every year from 2026-04-01 09:30"),
            Ok((months(12, date(2026, 4, 1), hm(9, 30)), 5))
        );
        for text in [
            "every 0 months from 2026-12-01",
            "every 121 months from 2026-12-01",
            "every 3 weeks",
            "every 3",
        ] {
            assert!(
                matches!(parse(text), Err(WhenError::BadMonths(_))),
                "{text}"
            );
        }
        assert!(matches!(
            parse("every 3 months"),
            Err(WhenError::BadMonths(_))
        ));
        assert!(matches!(
            parse("every month soon"),
            Err(WhenError::BadMonths(_))
        ));
        assert_eq!(
            parse("every 3 months from 2026-02-30"),
            Err(WhenError::NoSuchDay("2026-02-30".into()))
        );
    }

    #[test]
    fn every_refuses_bad_days_and_times() {
        assert_eq!(parse("every"), Err(WhenError::MissingDay));
        assert_eq!(
            parse("every funday"),
            Err(WhenError::BadDay("funday".into()))
        );
        assert_eq!(parse("every mo"), Err(WhenError::BadDay("mo".into())));
        assert_eq!(
            parse("every monday 25:00"),
            Err(WhenError::BadTime("25:00".into()))
        );
    }

    #[test]
    fn words_that_are_no_when() {
        assert_eq!(parse(""), Err(WhenError::Missing));
        assert_eq!(parse("call them"), Err(WhenError::Missing));
        assert_eq!(parse("2026 plans"), Err(WhenError::Missing));
        for word in [
            "in",
            "Today",
            "tomorrow",
            "EVERY",
            "2026-12-01",
            "2026-12-01T09:30",
            "2026-13-01",
        ] {
            assert!(When::starts_when(word), "{word}");
        }
        for word in [
            "acme",
            "inside",
            "2026",
            "2026-12",
            "12-01-2026",
            "\"in\"",
            "everyday",
        ] {
            assert!(!When::starts_when(word), "{word}");
        }
    }

    #[test]
    fn errors_say_what_to_write() {
        assert!(
            WhenError::BadTime("25:00".into())
                .to_string()
                .contains("HH:MM")
        );
        assert!(
            WhenError::BadDate("2026-13-01".into())
                .to_string()
                .contains("YYYY-MM-DD")
        );
        assert!(WhenError::MissingDay.to_string().contains("every monday"));
        assert!(WhenError::TooFar.to_string().contains("366 days"));
    }

    #[test]
    fn first_in_tokyo_and_new_york() {
        // Friday 2026-11-20 10:00 in Tokyo is Thursday 20:00 in New York (EST).
        let now = tokyo(2026, 11, 20, 10, 0);
        let check = |when: When, tz: Tz, expected: Option<DateTime<Utc>>| {
            assert_eq!(when.first(tz, now), expected, "{when:?} in {tz}");
        };
        for tz in [TOKYO, NEW_YORK] {
            check(
                When::In(Duration::hours(2)),
                tz,
                Some(now + Duration::hours(2)),
            );
        }
        check(
            When::Today(hm(17, 0)),
            TOKYO,
            Some(at(TOKYO, 2026, 11, 20, 17, 0)),
        );
        check(When::Today(hm(8, 0)), TOKYO, None);
        check(When::Today(hm(10, 0)), TOKYO, None);
        check(When::Today(hm(17, 0)), NEW_YORK, None);
        check(
            When::Today(hm(21, 0)),
            NEW_YORK,
            Some(utc(2026, 11, 20, 2, 0)),
        );
        check(
            When::Tomorrow(hm(10, 0)),
            TOKYO,
            Some(utc(2026, 11, 21, 1, 0)),
        );
        check(
            When::Tomorrow(hm(10, 0)),
            NEW_YORK,
            Some(utc(2026, 11, 20, 15, 0)),
        );
        let moment = date(2026, 12, 1).and_time(hm(9, 30));
        check(When::At(moment), TOKYO, Some(utc(2026, 12, 1, 0, 30)));
        check(When::At(moment), NEW_YORK, Some(utc(2026, 12, 1, 14, 30)));
        check(When::At(date(2026, 11, 1).and_time(hm(9, 0))), TOKYO, None);
        let weekly = When::Every(every(Repeat::Weekly(Weekday::Mon), hm(9, 0)));
        check(weekly.clone(), TOKYO, Some(utc(2026, 11, 23, 0, 0)));
        check(weekly, NEW_YORK, Some(utc(2026, 11, 23, 14, 0)));
        let weekdays = When::Every(every(Repeat::Weekdays, hm(9, 0)));
        check(weekdays.clone(), TOKYO, Some(utc(2026, 11, 23, 0, 0)));
        check(weekdays, NEW_YORK, Some(utc(2026, 11, 20, 14, 0)));
        let daily = When::Every(every(Repeat::Daily, hm(9, 0)));
        check(daily.clone(), TOKYO, Some(utc(2026, 11, 21, 0, 0)));
        check(daily, NEW_YORK, Some(utc(2026, 11, 20, 14, 0)));
        let quarterly = When::Every(every(
            Repeat::Months {
                every: 3,
                anchor: date(2026, 12, 1),
            },
            hm(10, 0),
        ));
        check(quarterly.clone(), TOKYO, Some(utc(2026, 12, 1, 1, 0)));
        check(quarterly, NEW_YORK, Some(utc(2026, 12, 1, 15, 0)));
    }

    #[test]
    fn recurrence_is_only_for_every() {
        let weekly = every(Repeat::Weekly(Weekday::Mon), hm(9, 0));
        assert_eq!(When::Every(weekly.clone()).recurrence(), Some(&weekly));
        assert_eq!(When::Tomorrow(hm(9, 0)).recurrence(), None);
    }

    #[test]
    fn local_to_utc_across_new_york_dst() {
        let local = |m, d, h, mi, s| date(2026, m, d).and_hms_opt(h, mi, s).unwrap();
        // (local month, day, hour, minute, second; UTC month, day, hour, minute)
        let cases = [
            // Summer and winter.
            ((7, 1, 9, 0, 0), (7, 1, 13, 0)),
            ((12, 1, 9, 0, 0), (12, 1, 14, 0)),
            // Sun 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00 UTC); the skipped half
            // hour, to the second, is the jump.
            ((3, 8, 2, 30, 0), (3, 8, 7, 0)),
            ((3, 8, 2, 0, 0), (3, 8, 7, 0)),
            ((3, 8, 2, 59, 59), (3, 8, 7, 0)),
            ((3, 8, 3, 0, 0), (3, 8, 7, 0)),
            ((3, 8, 1, 59, 0), (3, 8, 6, 59)),
            // Sun 2026-11-01: 02:00 EDT falls back to 01:00 EST; 01:30 happens at 05:30
            // and 06:30 UTC, and the earlier counts.
            ((11, 1, 1, 30, 0), (11, 1, 5, 30)),
            ((11, 1, 2, 0, 0), (11, 1, 7, 0)),
        ];
        for ((m, d, h, mi, s), (um, ud, uh, umi)) in cases {
            assert_eq!(
                local_to_utc(NEW_YORK, local(m, d, h, mi, s)),
                utc(2026, um, ud, uh, umi),
                "{m}-{d} {h}:{mi}:{s} in New York"
            );
        }
        // Samoa skipped Friday 2011-12-30 whole: its midday is the jump at its midnight.
        let apia = chrono_tz::Pacific::Apia;
        let skipped = NaiveDate::from_ymd_opt(2011, 12, 30)
            .unwrap()
            .and_time(hm(12, 0));
        assert_eq!(local_to_utc(apia, skipped), utc(2011, 12, 30, 10, 0));
    }

    #[test]
    fn a_weekly_reminder_keeps_its_local_time_across_dst() {
        let monday = every(Repeat::Weekly(Weekday::Mon), hm(9, 0));
        // Mondays around the spring change: 14:00 UTC (EST), then 13:00 UTC (EDT).
        let first = monday.next_after(NEW_YORK, utc(2026, 2, 28, 0, 0)).unwrap();
        assert_eq!(first, utc(2026, 3, 2, 14, 0));
        let second = monday.next_after(NEW_YORK, first).unwrap();
        assert_eq!(second, utc(2026, 3, 9, 13, 0));
        // And around the autumn change, back to 14:00 UTC.
        let autumn = monday
            .next_after(NEW_YORK, utc(2026, 10, 27, 0, 0))
            .unwrap();
        assert_eq!(autumn, utc(2026, 11, 2, 14, 0));
        for t in [first, second, autumn] {
            assert_eq!(t.with_timezone(&NEW_YORK).time(), hm(9, 0));
        }
        // A Sunday 02:30 reminder fires at the jump on the spring day, at the earlier
        // 01:30 on the autumn day.
        let early = every(Repeat::Weekly(Weekday::Sun), hm(2, 30));
        assert_eq!(
            early.next_after(NEW_YORK, utc(2026, 3, 7, 0, 0)),
            Some(utc(2026, 3, 8, 7, 0))
        );
        let repeated = every(Repeat::Weekly(Weekday::Sun), hm(1, 30));
        let fall = repeated
            .next_after(NEW_YORK, utc(2026, 10, 31, 0, 0))
            .unwrap();
        assert_eq!(fall, utc(2026, 11, 1, 5, 30));
        // Once only: after the first 01:30, the next is a week on.
        assert_eq!(
            repeated.next_after(NEW_YORK, fall),
            Some(utc(2026, 11, 8, 6, 30))
        );
    }

    #[test]
    fn months_clamp_to_the_end_of_shorter_months() {
        let monthly = every(
            Repeat::Months {
                every: 1,
                anchor: date(2026, 1, 31),
            },
            hm(9, 0),
        );
        let mut t = utc(2026, 1, 1, 0, 0);
        let mut dates = Vec::new();
        for _ in 0..4 {
            t = monthly.next_after(TOKYO, t).unwrap();
            assert_eq!(t.with_timezone(&TOKYO).time(), hm(9, 0));
            dates.push(t.with_timezone(&TOKYO).date_naive());
        }
        assert_eq!(
            dates,
            [
                date(2026, 1, 31),
                date(2026, 2, 28),
                date(2026, 3, 31),
                date(2026, 4, 30)
            ]
        );
        let leap = every(
            Repeat::Months {
                every: 1,
                anchor: date(2028, 1, 31),
            },
            hm(9, 0),
        );
        let february = leap.next_after(TOKYO, at(TOKYO, 2028, 2, 1, 0, 0)).unwrap();
        assert_eq!(february, at(TOKYO, 2028, 2, 29, 9, 0));
    }

    #[test]
    fn quarterly_counts_from_its_anchor() {
        let quarterly = every(
            Repeat::Months {
                every: 3,
                anchor: date(2026, 12, 1),
            },
            hm(10, 0),
        );
        // Long before the anchor, the anchor; never earlier.
        assert_eq!(
            quarterly.next_after(TOKYO, utc(2020, 1, 1, 0, 0)),
            Some(at(TOKYO, 2026, 12, 1, 10, 0))
        );
        let mut t = at(TOKYO, 2026, 12, 1, 10, 0);
        let mut dates = Vec::new();
        for _ in 0..5 {
            t = quarterly.next_after(TOKYO, t).unwrap();
            dates.push(t.with_timezone(&TOKYO).date_naive());
        }
        assert_eq!(
            dates,
            [
                date(2027, 3, 1),
                date(2027, 6, 1),
                date(2027, 9, 1),
                date(2027, 12, 1),
                date(2028, 3, 1)
            ]
        );
        // From years later, straight to the right quarter.
        assert_eq!(
            quarterly.next_after(TOKYO, at(TOKYO, 2031, 7, 15, 0, 0)),
            Some(at(TOKYO, 2031, 9, 1, 10, 0))
        );
        assert_eq!(
            quarterly.next_after(TOKYO, at(TOKYO, 2031, 9, 1, 9, 59)),
            Some(at(TOKYO, 2031, 9, 1, 10, 0))
        );
        let never = every(
            Repeat::Months {
                every: 0,
                anchor: date(2026, 12, 1),
            },
            hm(10, 0),
        );
        assert_eq!(never.next_after(TOKYO, utc(2026, 1, 1, 0, 0)), None);
    }

    #[test]
    fn texts_for_storage_and_for_people() {
        let cases = [
            (
                every(Repeat::Weekly(Weekday::Mon), hm(9, 0)),
                "every monday 09:00",
                "every Monday at 09:00",
                "毎週月曜 09:00",
            ),
            (
                every(Repeat::Daily, hm(9, 0)),
                "every day 09:00",
                "every day at 09:00",
                "毎日 09:00",
            ),
            (
                every(Repeat::Weekdays, hm(9, 0)),
                "every weekday 09:00",
                "every weekday at 09:00",
                "平日 09:00",
            ),
            (
                every(
                    Repeat::Months {
                        every: 3,
                        anchor: date(2026, 12, 1),
                    },
                    hm(10, 0),
                ),
                "every 3 months from 2026-12-01 10:00",
                "every 3 months at 10:00 (from 2026-12-01)",
                "3か月ごと 10:00（2026-12-01から）",
            ),
            (
                every(
                    Repeat::Months {
                        every: 1,
                        anchor: date(2026, 1, 31),
                    },
                    hm(9, 0),
                ),
                "every month from 2026-01-31 09:00",
                "every month at 09:00 (from 2026-01-31)",
                "毎月 09:00（2026-01-31から）",
            ),
            (
                every(
                    Repeat::Weekly(Weekday::Sun),
                    NaiveTime::from_hms_opt(18, 5, 30).unwrap(),
                ),
                "every sunday 18:05:30",
                "every Sunday at 18:05:30",
                "毎週日曜 18:05:30",
            ),
        ];
        for (recurrence, text, en, ja) in cases {
            assert_eq!(recurrence.to_text(), text);
            assert_eq!(
                Recurrence::parse_text(text),
                Some(recurrence.clone()),
                "{text}"
            );
            assert_eq!(recurrence.describe(Lang::En), en);
            assert_eq!(recurrence.describe(Lang::Ja), ja);
        }
        assert_eq!(
            Recurrence::parse_text("Every Mon"),
            Some(every(Repeat::Weekly(Weekday::Mon), hm(9, 0)))
        );
        for text in [
            "",
            "tomorrow 09:00",
            "every monday 09:00 standup",
            "every",
            "in 2h",
        ] {
            assert_eq!(Recurrence::parse_text(text), None, "{text}");
        }
        let fraction = every(
            Repeat::Daily,
            NaiveTime::from_hms_milli_opt(7, 0, 0, 250).unwrap(),
        );
        assert_eq!(fraction.to_text(), "every day 07:00:00.250");
        assert_eq!(Recurrence::parse_text(&fraction.to_text()), Some(fraction));
    }

    fn mon_fri() -> Calendar {
        Calendar::new(
            Hours::parse("Mon-Fri 09:00-18:00").unwrap(),
            TOKYO,
            Holidays::none(),
        )
    }

    #[test]
    fn due_morning_moves_to_the_next_business_day() {
        let nine = hm(9, 0);
        // Wednesday is a business day: that morning, in the assignee's zone.
        assert_eq!(
            due_morning(date(2026, 11, 18), nine, TOKYO, &mon_fri()),
            at(TOKYO, 2026, 11, 18, 9, 0)
        );
        assert_eq!(
            due_morning(date(2026, 11, 18), nine, NEW_YORK, &mon_fri()),
            at(NEW_YORK, 2026, 11, 18, 9, 0)
        );
        // Saturday 2026-11-21 moves to Monday.
        assert_eq!(
            due_morning(date(2026, 11, 21), nine, TOKYO, &mon_fri()),
            at(TOKYO, 2026, 11, 23, 9, 0)
        );
        // With Japan's holidays, Monday 11-23 is 勤労感謝の日: Tuesday.
        let japan = Calendar::new(
            Hours::parse("Mon-Fri 09:00-18:00").unwrap(),
            TOKYO,
            Holidays::japan(),
        );
        assert_eq!(
            due_morning(date(2026, 11, 21), nine, TOKYO, &japan),
            at(TOKYO, 2026, 11, 24, 9, 0)
        );
        assert_eq!(
            due_morning(date(2026, 11, 21), nine, NEW_YORK, &japan),
            at(NEW_YORK, 2026, 11, 24, 9, 0)
        );
        // Golden Week: Saturday 5/2, then 5/3–5/6 off, Thursday 5/7.
        assert_eq!(
            due_morning(date(2026, 5, 2), nine, TOKYO, &japan),
            at(TOKYO, 2026, 5, 7, 9, 0)
        );
        // 24/7 works on Sunday; a calendar with no hours gives up and keeps the date.
        assert_eq!(
            due_morning(date(2026, 11, 22), nine, TOKYO, &Calendar::always()),
            at(TOKYO, 2026, 11, 22, 9, 0)
        );
        let empty = Calendar::new(Hours::Weekly(Default::default()), TOKYO, Holidays::none());
        assert_eq!(
            due_morning(date(2026, 11, 21), nine, TOKYO, &empty),
            at(TOKYO, 2026, 11, 21, 9, 0)
        );
    }

    fn zones() -> impl Strategy<Value = Tz> {
        prop_oneof![
            Just(TOKYO),
            Just(NEW_YORK),
            Just(chrono_tz::Europe::London),
            // Half-hour DST.
            Just(chrono_tz::Australia::Lord_Howe),
            Just(chrono_tz::UTC),
        ]
    }

    fn times() -> impl Strategy<Value = NaiveTime> {
        (0u32..24, 0u32..60, prop_oneof![Just(0u32), 0u32..60])
            .prop_map(|(h, m, s)| NaiveTime::from_hms_opt(h, m, s).unwrap())
    }

    fn dates() -> impl Strategy<Value = NaiveDate> {
        (0i64..365 * 100).prop_map(|days| date(2000, 1, 1) + Duration::days(days))
    }

    fn repeats() -> impl Strategy<Value = Repeat> {
        prop_oneof![
            Just(Repeat::Daily),
            Just(Repeat::Weekdays),
            (0u8..7).prop_map(|d| Repeat::Weekly(Weekday::try_from(d).unwrap())),
            (1u32..=MONTHS_AT_MOST, dates())
                .prop_map(|(every, anchor)| Repeat::Months { every, anchor }),
        ]
    }

    fn recurrences() -> impl Strategy<Value = Recurrence> {
        (repeats(), times()).prop_map(|(repeat, time)| Recurrence { repeat, time })
    }

    /// Recurrences whose months start within the instants below, or a little before.
    fn near_recurrences() -> impl Strategy<Value = Recurrence> {
        let anchors = (0i64..365 * 6).prop_map(|days| date(2025, 1, 1) + Duration::days(days));
        let repeat = prop_oneof![
            Just(Repeat::Daily),
            Just(Repeat::Weekdays),
            (0u8..7).prop_map(|d| Repeat::Weekly(Weekday::try_from(d).unwrap())),
            (1u32..=13, anchors).prop_map(|(every, anchor)| Repeat::Months { every, anchor }),
        ];
        (repeat, times()).prop_map(|(repeat, time)| Recurrence { repeat, time })
    }

    /// Instants from 2026 to 2030 to the millisecond, and some within days of the
    /// DST changes of New York, London and Lord Howe.
    fn instants() -> impl Strategy<Value = DateTime<Utc>> {
        let (first, last) = (utc(2026, 1, 1, 0, 0), utc(2031, 1, 1, 0, 0));
        let anywhere = (first.timestamp_millis()..last.timestamp_millis())
            .prop_map(|ms| DateTime::from_timestamp_millis(ms).unwrap());
        let changes = [
            utc(2026, 3, 8, 7, 0),
            utc(2026, 11, 1, 6, 0),
            utc(2026, 3, 29, 1, 0),
            utc(2026, 10, 25, 1, 0),
            utc(2026, 4, 4, 15, 0),
            utc(2026, 10, 3, 15, 30),
        ];
        let near_dst = (0..changes.len(), -3 * 86_400_000i64..3 * 86_400_000)
            .prop_map(move |(i, offset)| changes[i] + Duration::milliseconds(offset));
        prop_oneof![anywhere, near_dst]
    }

    /// The longest a recurrence can wait between two occurrences, with room for a DST
    /// change.
    fn longest_wait(repeat: &Repeat) -> Duration {
        let days = match repeat {
            Repeat::Daily => 1,
            Repeat::Weekdays => 3,
            Repeat::Weekly(_) => 7,
            Repeat::Months { every, .. } => 31 * i64::from(*every),
        };
        Duration::days(days) + Duration::hours(2)
    }

    proptest! {
        #[test]
        fn recurrence_text_round_trips(recurrence in recurrences()) {
            let text = recurrence.to_text();
            prop_assert_eq!(Recurrence::parse_text(&text), Some(recurrence.clone()));
            // In a command, the stored text is a when and the rest is left for the
            // reminder.
            let mut words: Vec<&str> = text.split_whitespace().collect();
            let used = words.len();
            words.push("standup");
            prop_assert!(When::starts_when(words[0]));
            prop_assert_eq!(When::parse_prefix(&words), Ok((When::Every(recurrence), used)));
        }

        #[test]
        fn next_after_is_later_and_keeps_the_local_time(
            tz in zones(), recurrence in near_recurrences(), after in instants(),
        ) {
            let next = recurrence.next_after(tz, after).unwrap();
            prop_assert!(next > after);
            let local = next.with_timezone(&tz).naive_local();
            if local.time() == recurrence.time {
                match &recurrence.repeat {
                    Repeat::Months { anchor, .. } => {
                        prop_assert!(local.date() >= *anchor);
                        prop_assert!(recurrence.repeat.falls_on(local.date()));
                    }
                    repeat => prop_assert!(repeat.falls_on(local.date())),
                }
            } else {
                // Only where the time did not exist: the reminder fires at the jump.
                let skipped = [local.date().pred_opt().unwrap(), local.date()]
                    .iter()
                    .any(|d| tz.from_local_datetime(&d.and_time(recurrence.time)) == LocalResult::None);
                prop_assert!(skipped, "{} at {} for {:?}", tz, local, recurrence);
                prop_assert_eq!(local_to_utc(tz, local), next);
            }
            // None missed in between.
            let not_started = matches!(recurrence.repeat, Repeat::Months { anchor, .. }
                if after.with_timezone(&tz).date_naive() < anchor);
            if !not_started {
                prop_assert!(next - after <= longest_wait(&recurrence.repeat));
            }
            // The next one is strictly later too, not the same instant again.
            let following = recurrence.next_after(tz, next).unwrap();
            prop_assert!(following > next);
        }

        #[test]
        fn local_to_utc_is_the_first_instant_reading_the_time_or_later(
            tz in zones(), t in instants(), seconds in 0i64..86_400,
        ) {
            let local = t.with_timezone(&tz).date_naive().and_time(NaiveTime::MIN)
                + Duration::seconds(seconds);
            let instant = local_to_utc(tz, local);
            prop_assert!(instant.with_timezone(&tz).naive_local() >= local);
            prop_assert!((instant - Duration::seconds(1)).with_timezone(&tz).naive_local() < local);
        }

        #[test]
        fn any_words_parse_or_fail_without_panicking(text in "\\PC{0,60}") {
            let words: Vec<&str> = text.split_whitespace().collect();
            if let Ok((_, used)) = When::parse_prefix(&words) {
                prop_assert!((1..=words.len()).contains(&used));
            }
        }

        #[test]
        fn when_words_parse_or_fail_without_panicking(
            words in proptest::collection::vec(
                prop_oneof![
                    Just("in".to_string()), Just("every".to_string()), Just("today".to_string()),
                    Just("tomorrow".to_string()), Just("months".to_string()), Just("from".to_string()),
                    "[0-9]{1,3}[a-z]{0,2}", "[0-9]{1,2}:[0-9]{1,3}", "[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}",
                    "[a-z]{1,8}",
                ],
                0..6,
            ),
            tz in zones(), now in instants(),
        ) {
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            if let Ok((when, used)) = When::parse_prefix(&words) {
                prop_assert!((1..=words.len()).contains(&used));
                if let Some(due) = when.first(tz, now) {
                    prop_assert!(due > now);
                }
            }
        }
    }

    #[test]
    fn a_go_live_plans_the_seeds_cadence() {
        let golive = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let reminders = crate::domain::policy::Reminders::default();
        let plan = milestones(golive, &reminders, |_| true);
        let kinds: Vec<&str> = plan.iter().map(|m| m.kind).collect();
        assert_eq!(
            kinds,
            [
                "hypercare",
                "hypercare_end",
                "qbr",
                "security_review",
                "monthly_report",
                "yearly_report"
            ]
        );
        let at = |y, m, d| {
            NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(10, 0, 0)
                .unwrap()
        };
        // Two weeks of check-ins: the 30th and the 13 days after, then the end.
        assert_eq!(plan[0].first, at(2026, 11, 30));
        assert_eq!(plan[0].until, Some(at(2026, 12, 13)));
        assert_eq!(plan[1].first, at(2026, 12, 14));
        assert_eq!(plan[2].first, at(2027, 2, 28)); // Nov 30 + 3 months, clamped
        assert_eq!(plan[4].first, at(2026, 12, 30));
        assert_eq!(plan[5].first, at(2027, 11, 30));
        let next_qbr = plan[2]
            .recurrence
            .as_ref()
            .unwrap()
            .next_after(TOKYO, local_to_utc(TOKYO, at(2027, 2, 28)))
            .unwrap();
        assert_eq!(next_qbr, local_to_utc(TOKYO, at(2027, 5, 30)));
        let only_qbr = milestones(golive, &reminders, |k| k == "qbr");
        assert_eq!(only_qbr.len(), 1);
    }
}
