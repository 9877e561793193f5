//! The onboarding plan: due dates counted in business days from the kickoff or the
//! go-live, what an item waits on, each item's place in the plan, and the customer's
//! health. Pure: the caller passes the template's view for the customer's tier, the
//! states, the customer's calendar and `today` (in the customer's zone).

use chrono::{Datelike, Duration, NaiveDate};

use super::calendar::{Calendar, Hours};
use super::checklist::States;
use super::template::{Anchor, DueRule, Item, Template};

/// How many business days ahead "due soon" looks (the "within 3 business days").
pub const DUE_SOON_BUSINESS_DAYS: i32 = 3;

/// The date `days` business days after (or, when negative, before) `from`. Zero days is
/// `from` itself when it is a business day, else the next one. A calendar with no
/// business day at all counts every day, so a date always comes out.
pub fn add_business_days(calendar: &Calendar, from: NaiveDate, days: i32) -> NaiveDate {
    let has_business_days = (0..14).any(|d| is_working_day(calendar, from + Duration::days(d)));
    let is_business = |d: NaiveDate| !has_business_days || is_working_day(calendar, d);
    let mut date = from;
    if days == 0 {
        while !is_business(date) {
            date += Duration::days(1);
        }
        return date;
    }
    let step = if days > 0 { 1 } else { -1 };
    let mut left = days.abs();
    while left > 0 {
        date += Duration::days(step);
        if is_business(date) {
            left -= 1;
        }
    }
    date
}

/// Whether the plan counts `date` as a business day: a day of the calendar's support
/// hours, except that 24/7 support (an Enterprise tier's) still plans onboarding work
/// on weekdays that are not the calendar's holidays: a security review is not due on
/// a Sunday because the help desk never closes.
pub fn is_working_day(calendar: &Calendar, date: NaiveDate) -> bool {
    match calendar.hours {
        Hours::Always => {
            date.weekday().num_days_from_monday() < 5 && !calendar.holidays.is_holiday(date)
        }
        _ => calendar.is_business_day(date),
    }
}

/// The due date a rule gives, if its anchor date is known.
pub fn planned_due(
    rule: DueRule,
    kickoff: Option<NaiveDate>,
    golive: Option<NaiveDate>,
    calendar: &Calendar,
) -> Option<NaiveDate> {
    let anchor = match rule.anchor {
        Anchor::Kickoff => kickoff?,
        Anchor::GoLive => golive?,
    };
    Some(add_business_days(calendar, anchor, rule.business_days))
}

/// The prerequisites of `item` (in the tier's view) that are neither done nor N/A, in
/// the template's order. Empty means it can be ticked.
pub fn waiting_on<'t>(item: &'t Item, states: &States) -> Vec<&'t str> {
    item.after
        .iter()
        .filter(|key| {
            !states
                .get(key.as_str())
                .is_some_and(|s| s.is_done() || s.not_applicable)
        })
        .map(String::as_str)
        .collect()
}

/// Where one item stands in the plan, from most to least settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PlanState {
    Done,
    NotApplicable,
    /// A prerequisite is not done yet; its date does not count against anyone.
    Waiting,
    Overdue,
    /// Due within [`DUE_SOON_BUSINESS_DAYS`] business days.
    DueSoon,
    Open,
}

impl PlanState {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanState::Done => "done",
            PlanState::NotApplicable => "n/a",
            PlanState::Waiting => "waiting",
            PlanState::Overdue => "overdue",
            PlanState::DueSoon => "due soon",
            PlanState::Open => "open",
        }
    }
}

/// The state of `item` on `today`. Its due date is the one stored for it.
pub fn plan_state(
    item: &Item,
    states: &States,
    today: NaiveDate,
    calendar: &Calendar,
) -> PlanState {
    let soon_until = add_business_days(calendar, today, DUE_SOON_BUSINESS_DAYS);
    state_until(item, states, today, soon_until)
}

/// [`plan_state`], with the last "due soon" day worked out once by the caller.
fn state_until(item: &Item, states: &States, today: NaiveDate, soon_until: NaiveDate) -> PlanState {
    let state = states.get(&item.key);
    if state.is_some_and(|s| s.is_done()) {
        return PlanState::Done;
    }
    if state.is_some_and(|s| s.not_applicable) {
        return PlanState::NotApplicable;
    }
    if !waiting_on(item, states).is_empty() {
        return PlanState::Waiting;
    }
    match state.and_then(|s| s.due) {
        Some(due) if due < today => PlanState::Overdue,
        Some(due) if due <= soon_until => PlanState::DueSoon,
        _ => PlanState::Open,
    }
}

/// A customer's onboarding health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Health {
    OnTrack,
    /// Something is due within three business days, is not done, and waits on nothing.
    AtRisk,
    /// Something is overdue.
    Behind,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::OnTrack => "on track",
            Health::AtRisk => "at risk",
            Health::Behind => "behind",
        }
    }
}

/// A customer's health with its reasons: how many items are overdue and how many are
/// due soon (neither done, N/A nor waiting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub health: Health,
    pub overdue: usize,
    pub due_soon: usize,
    /// The day it was judged on, in the customer's zone.
    pub today: NaiveDate,
}

/// The health of a customer's plan on `today`, with the counts behind it: behind if
/// anything is overdue, at risk if anything is due soon, else on track.
pub fn standing(
    template: &Template,
    states: &States,
    today: NaiveDate,
    calendar: &Calendar,
) -> Standing {
    let mut overdue = 0;
    let mut due_soon = 0;
    let soon_until = add_business_days(calendar, today, DUE_SOON_BUSINESS_DAYS);
    for item in template.items() {
        match state_until(item, states, today, soon_until) {
            PlanState::Overdue => overdue += 1,
            PlanState::DueSoon => due_soon += 1,
            _ => {}
        }
    }
    let health = if overdue > 0 {
        Health::Behind
    } else if due_soon > 0 {
        Health::AtRisk
    } else {
        Health::OnTrack
    };
    Standing {
        health,
        overdue,
        due_soon,
        today,
    }
}

/// [`standing`] at the instant `now`: `today` is the date in the calendar's zone (the
/// customer's tier's).
pub fn standing_at(
    template: &Template,
    states: &States,
    now: chrono::DateTime<chrono::Utc>,
    calendar: &Calendar,
) -> Standing {
    let today = now.with_timezone(&calendar.tz).date_naive();
    standing(template, states, today, calendar)
}

/// The Monday of the week `date` falls in: the plan groups items by due week.
pub fn week_of(date: NaiveDate) -> NaiveDate {
    date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::Holidays;
    use crate::domain::checklist::{ItemState, Tier};
    use proptest::prelude::*;

    use crate::domain::{day, japan_weekdays as japan};

    #[test]
    fn business_days_skip_weekends_and_holidays() {
        let cal = japan();
        // Monday 2027-01-11 is Coming of Age Day in Japan, so the kickoff's first
        // business day is the Tuesday.
        assert_eq!(
            add_business_days(&cal, day(2027, 1, 11), 0),
            day(2027, 1, 12)
        );
        // Friday + 1 business day = Monday.
        assert_eq!(
            add_business_days(&cal, day(2027, 1, 15), 1),
            day(2027, 1, 18)
        );
        assert_eq!(
            add_business_days(&cal, day(2027, 1, 18), -1),
            day(2027, 1, 15)
        );
        // 5 business days from Tue 12 Jan: 13, 14, 15, 18, 19.
        assert_eq!(
            add_business_days(&cal, day(2027, 1, 12), 5),
            day(2027, 1, 19)
        );
        // Across New Year's Day (a holiday) and the weekend after it.
        assert_eq!(
            add_business_days(&cal, day(2026, 12, 31), 1),
            day(2027, 1, 4)
        );
        // 24/7 support still plans work on weekdays, without its holidays: Saturday
        // 16 January + 2 business days is Tuesday 19th.
        assert_eq!(
            add_business_days(&Calendar::always(), day(2027, 1, 16), 2),
            day(2027, 1, 19)
        );
        let always_in_japan =
            Calendar::new(Hours::Always, chrono_tz::Asia::Tokyo, Holidays::japan());
        assert_eq!(
            add_business_days(&always_in_japan, day(2027, 1, 8), 1),
            day(2027, 1, 12)
        );
    }

    #[test]
    fn a_rule_needs_its_anchor_date() {
        let cal = japan();
        let rule = DueRule::parse("golive-10d").unwrap();
        assert_eq!(planned_due(rule, Some(day(2027, 1, 12)), None, &cal), None);
        let due = planned_due(rule, None, Some(day(2027, 3, 1)), &cal).unwrap();
        assert!(cal.is_business_day(due));
        assert!(due < day(2027, 3, 1));
        let kickoff = DueRule::parse("kickoff+5d").unwrap();
        assert_eq!(
            planned_due(kickoff, Some(day(2027, 1, 12)), None, &cal),
            Some(day(2027, 1, 19))
        );
    }

    #[test]
    fn rules_parse_and_print_back() {
        for text in ["kickoff", "kickoff+5d", "golive-10d", "golive+20d"] {
            assert_eq!(DueRule::parse(text).unwrap().to_string(), text);
        }
        for bad in [
            "",
            "kickoff+",
            "kickoff+5",
            "kick+5d",
            "golive+5w",
            "golive-9999d",
            "golive*5d",
            "kickoff+-5d",
        ] {
            assert_eq!(DueRule::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_seeds_onboarding_steps_wait_one_for_another() {
        let template = Template::builtin();
        let view = template.for_tier(Tier::Standard);
        let mut states = States::new();
        let step = |k: &str| view.item(k).unwrap();
        assert!(waiting_on(step("6.1.1"), &states).is_empty());
        assert_eq!(waiting_on(step("6.1.2"), &states), vec!["6.1.1"]);
        assert_eq!(waiting_on(step("6.2.1"), &states), vec!["6.1.4"]);
        states.insert(
            "6.1.1".into(),
            ItemState {
                done_at: Some(1),
                ..Default::default()
            },
        );
        assert!(waiting_on(step("6.1.2"), &states).is_empty());
        let today = day(2027, 1, 12);
        assert_eq!(
            plan_state(step("6.1.3"), &states, today, &japan()),
            PlanState::Waiting
        );
    }

    /// A step of `check_each_dating`: its name, the items it dates (key and due day)
    /// and what the standing should then be judged.
    type Step<'a, E> = (&'a str, &'a [(&'a str, NaiveDate)], E);

    /// Dates items of the Enterprise checklist step by step, each step on top of the
    /// ones before, and checks after each one that `judge` of the standing on 12
    /// January 2027 in Japan is what the step expects. Returns the last states.
    fn check_each_dating<E: PartialEq + std::fmt::Debug>(
        steps: &[Step<'_, E>],
        judge: impl Fn(&Standing) -> E,
    ) -> States {
        let template = Template::builtin();
        let view = template.for_tier(Tier::Enterprise);
        let mut states = States::new();
        for (step, dated, expected) in steps {
            for (key, due) in *dated {
                let state = ItemState {
                    due: Some(*due),
                    ..Default::default()
                };
                states.insert(key.to_string(), state);
            }
            let standing = standing(view, &states, day(2027, 1, 12), &japan());
            assert_eq!(judge(&standing), *expected, "{step}");
        }
        states
    }

    #[test]
    fn health_is_the_worst_of_the_items() {
        check_each_dating(
            &[
                ("nothing dated", &[], Health::OnTrack),
                (
                    "due in three weeks",
                    &[("1.1.2", day(2027, 2, 1))],
                    Health::OnTrack,
                ),
                (
                    "due in two days",
                    &[("1.1.3", day(2027, 1, 14))],
                    Health::AtRisk,
                ),
                // Waiting items are nobody's fault yet.
                (
                    "a waiting one overdue",
                    &[("6.1.2", day(2027, 1, 1))],
                    Health::AtRisk,
                ),
                ("one overdue", &[("1.1.4", day(2027, 1, 8))], Health::Behind),
            ],
            |s| s.health,
        );
    }

    #[test]
    fn standing_counts_what_makes_the_health() {
        let due_soon = [("1.1.3", day(2027, 1, 14)), ("1.2.1", day(2027, 1, 15))];
        let states = check_each_dating(
            &[
                ("nothing dated", &[], (Health::OnTrack, 0, 0)),
                ("two due soon", &due_soon, (Health::AtRisk, 0, 2)),
                (
                    "one overdue",
                    &[("1.1.4", day(2027, 1, 8))],
                    (Health::Behind, 1, 2),
                ),
            ],
            |s| (s.health, s.overdue, s.due_soon),
        );
        let template = Template::builtin();
        let view = template.for_tier(Tier::Enterprise);
        let cal = japan();
        // 03:00 UTC on the 12th is noon in Tokyo: the same day there.
        let now = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2027, 1, 12, 3, 0, 0).unwrap();
        assert_eq!(
            standing_at(view, &states, now, &cal),
            standing(view, &states, day(2027, 1, 12), &cal)
        );
    }

    proptest! {
        #[test]
        fn business_days_land_on_business_days_in_order(
            start in 0i64..3650, days in -60i32..60
        ) {
            let cal = japan();
            let from = day(2024, 1, 1) + Duration::days(start);
            let to = add_business_days(&cal, from, days);
            prop_assert!(cal.is_business_day(to));
            if days > 0 { prop_assert!(to > from); }
            if days < 0 { prop_assert!(to < from); }
            // From a business day, going back the same number of business days
            // returns to it.
            if cal.is_business_day(from) {
                prop_assert_eq!(add_business_days(&cal, to, -days), from);
            }
        }
    }
}
