//! The pure core: no I/O, no clock. Everything that decides lives here and takes the
//! time it needs as a parameter.

pub mod assign;
pub mod audit;
pub mod calendar;
pub mod checklist;
pub mod command;
pub mod csat;
pub mod customer;
pub mod evidence;
pub mod i18n;
pub mod intake;
pub mod plan;
pub mod policy;
pub mod reminder;
pub mod report;
pub mod roles;
pub mod schedule;
pub mod sla;
pub mod slug;
pub mod team;
pub mod template;
pub mod ticket;

/// Instants for tests, written as wall-clock times in Tokyo (the seed's time zone).
#[cfg(test)]
pub(crate) fn tokyo(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono_tz::Asia::Tokyo
        .with_ymd_and_hms(y, mo, d, h, mi, 0)
        .earliest()
        .expect("a Tokyo wall-clock time exists")
        .with_timezone(&chrono::Utc)
}

/// The seed's business calendar, for tests: weekdays 09:00–18:00 in Tokyo, with
/// Japan's holidays.
#[cfg(test)]
pub(crate) fn japan_weekdays() -> calendar::Calendar {
    calendar::Calendar::new(
        calendar::Hours::parse("mon-fri 09:00-18:00").expect("valid hours"),
        chrono_tz::Asia::Tokyo,
        calendar::Holidays::japan(),
    )
}

/// A date, for tests.
#[cfg(test)]
pub(crate) fn day(y: i32, m: u32, d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(y, m, d).expect("a real date")
}
