//! A customer's checklist state and the progress figures derived from it.
//!
//! Progress is `done / applicable`: items set N/A leave the denominator, and a done item
//! set N/A afterwards leaves both.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::template::{Category, Template};

/// The tiers from the seed. Their hours and availability targets are policy, not here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Standard,
    Professional,
    Enterprise,
}

impl Tier {
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "standard" => Some(Tier::Standard),
            "professional" | "pro" => Some(Tier::Professional),
            "enterprise" => Some(Tier::Enterprise),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Standard => "standard",
            Tier::Professional => "professional",
            Tier::Enterprise => "enterprise",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Tier::Standard => "Standard",
            Tier::Professional => "Professional",
            Tier::Enterprise => "Enterprise",
        }
    }
}

/// What is recorded about one item of one customer. Absent rows mean "untouched".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemState {
    pub done_by: Option<String>,
    /// Unix milliseconds.
    pub done_at: Option<i64>,
    pub not_applicable: bool,
    pub assignee: Option<String>,
    pub due: Option<NaiveDate>,
    pub note: Option<String>,
    /// How many pieces of evidence it holds (`domain::evidence`), for the paperclip.
    pub evidence: usize,
}

impl ItemState {
    pub fn is_done(&self) -> bool {
        self.done_at.is_some()
    }
}

pub type States = HashMap<String, ItemState>;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub done: usize,
    pub applicable: usize,
}

impl Progress {
    pub fn percent(self) -> u32 {
        // Nothing applicable means nothing left to do.
        (self.done * 100)
            .checked_div(self.applicable)
            .unwrap_or(100) as u32
    }

    pub fn is_complete(self) -> bool {
        self.done == self.applicable
    }

    fn add(self, other: Progress) -> Progress {
        Progress {
            done: self.done + other.done,
            applicable: self.applicable + other.applicable,
        }
    }
}

pub fn category_progress(category: &Category, states: &States) -> Progress {
    items_progress(category.items().map(|i| i.key.as_str()), states)
}

pub fn items_progress<'a>(keys: impl Iterator<Item = &'a str>, states: &States) -> Progress {
    let mut p = Progress::default();
    for key in keys {
        match states.get(key) {
            Some(s) if s.not_applicable => {}
            Some(s) if s.is_done() => {
                p.done += 1;
                p.applicable += 1;
            }
            _ => p.applicable += 1,
        }
    }
    p
}

pub fn overall_progress(template: &Template, states: &States) -> Progress {
    template
        .categories
        .iter()
        .map(|c| category_progress(c, states))
        .fold(Progress::default(), Progress::add)
}

/// Progress over the categories that must be complete before go-live.
pub fn go_live_progress(template: &Template, states: &States) -> Progress {
    template
        .categories
        .iter()
        .filter(|c| c.required_for_go_live)
        .map(|c| category_progress(c, states))
        .fold(Progress::default(), Progress::add)
}

/// A text bar for progress, readable in any client and in notifications.
pub fn bar(progress: Progress, width: usize) -> String {
    let filled = (progress.done * width + progress.applicable / 2)
        .checked_div(progress.applicable)
        .unwrap_or(width);
    let filled = filled.min(width);
    format!("{}{}", "▰".repeat(filled), "▱".repeat(width - filled))
}

/// What a click on a checkbox group changes: the boxes to tick and to untick.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickDiff {
    pub ticked: Vec<String>,
    pub unticked: Vec<String>,
}

/// The change a click on a checkbox group makes, from what its clicker saw (`seen`:
/// the group as rendered, or their own earlier click on the same copy) and what the
/// group now says is selected. Only the group's own `keys` count (a forged value in
/// the payload changes nothing), in the group's order, and only those `applies`
/// (items the template still has).
pub fn tick_diff(
    keys: &[String],
    seen: &[String],
    selected: &[String],
    applies: impl Fn(&str) -> bool,
) -> TickDiff {
    let is_seen = |k: &str| seen.iter().any(|s| s == k);
    let is_selected = |k: &str| selected.iter().any(|s| s == k);
    let mut diff = TickDiff::default();
    for key in keys.iter().filter(|k| applies(k)) {
        match (is_seen(key), is_selected(key)) {
            (false, true) => diff.ticked.push(key.clone()),
            (true, false) => diff.unticked.push(key.clone()),
            _ => {}
        }
    }
    diff
}

/// An item a tick could not tick: it waits on prerequisites (item keys) that are
/// neither done nor N/A.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub item: String,
    pub on: Vec<String>,
}

/// Takes out of `diff.ticked` every item of `view` (the customer's tier's template)
/// that still waits on a prerequisite, and returns them with what each waits on. A
/// prerequisite counts as done when it is done or N/A in `states` and not unticked by
/// the same diff, or ticked (and kept) earlier in the same diff. Unticking is never
/// held: unticking a prerequisite leaves the items after it as they are.
pub fn hold_waiting(diff: &mut TickDiff, view: &Template, states: &States) -> Vec<Waiting> {
    let mut kept: Vec<String> = Vec::with_capacity(diff.ticked.len());
    let mut held = Vec::new();
    for key in std::mem::take(&mut diff.ticked) {
        let on: Vec<String> = match view.item(&key) {
            Some(item) => item
                .after
                .iter()
                .filter(|p| {
                    let settled = states
                        .get(p.as_str())
                        .is_some_and(|s| s.is_done() || s.not_applicable);
                    let unticked = diff.unticked.contains(p);
                    !((settled && !unticked) || kept.contains(p))
                })
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        if on.is_empty() {
            kept.push(key);
        } else {
            held.push(Waiting { item: key, on });
        }
    }
    diff.ticked = kept;
    held
}

#[cfg(test)]
mod tick_diff_tests {
    use super::*;
    use proptest::prelude::*;

    fn keys(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("1.1.{i}")).collect()
    }

    #[test]
    fn a_click_changes_only_what_differs_from_what_was_seen() {
        let k = keys(3);
        let diff = tick_diff(&k, &[k[0].clone()], &[k[1].clone()], |_| true);
        assert_eq!(diff.ticked, [k[1].clone()]);
        assert_eq!(diff.unticked, [k[0].clone()]);
        let forged = tick_diff(&k, &[], &["9.9.9".to_string()], |_| true);
        assert_eq!(forged, TickDiff::default());
    }

    proptest! {
        /// Applying the diff to what was seen gives what is selected, within the
        /// group's applicable keys; nothing is both ticked and unticked.
        #[test]
        fn the_diff_takes_what_was_seen_to_what_is_selected(
            n in 1usize..=10,
            seen_mask in 0u16..1024,
            selected_mask in 0u16..1024,
            dropped_mask in 0u16..1024,
            stray in proptest::option::of("[0-9.]{1,8}"),
        ) {
            let k = keys(n);
            let pick = |mask: u16| -> Vec<String> {
                k.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, k)| k.clone()).collect()
            };
            let seen = pick(seen_mask);
            let mut selected = pick(selected_mask);
            selected.extend(stray);
            let dropped = pick(dropped_mask);
            let applies = |key: &str| !dropped.iter().any(|d| d == key);
            let diff = tick_diff(&k, &seen, &selected, applies);
            for key in k.iter().filter(|key| applies(key)) {
                let was = seen.contains(key);
                let now = (was || diff.ticked.contains(key)) && !diff.unticked.contains(key);
                prop_assert_eq!(now, selected.contains(key));
                prop_assert!(!(diff.ticked.contains(key) && diff.unticked.contains(key)));
            }
            for key in diff.ticked.iter().chain(&diff.unticked) {
                prop_assert!(k.contains(key) && applies(key));
            }
        }
    }
}

#[cfg(test)]
mod waiting_tests {
    use super::tests::done;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_step_waits_for_the_one_before_unless_both_are_ticked_in_order() {
        let t = Template::builtin();
        let view = t.for_tier(Tier::Enterprise);
        let mut diff = TickDiff {
            ticked: vec!["6.1.2".into()],
            unticked: vec![],
        };
        let held = hold_waiting(&mut diff, view, &States::new());
        assert!(diff.ticked.is_empty());
        assert_eq!(
            held,
            [Waiting {
                item: "6.1.2".into(),
                on: vec!["6.1.1".into()]
            }]
        );
        let mut both = TickDiff {
            ticked: vec!["6.1.1".into(), "6.1.2".into()],
            unticked: vec![],
        };
        assert!(hold_waiting(&mut both, view, &States::new()).is_empty());
        assert_eq!(both.ticked.len(), 2);
        // Unticking the prerequisite in the same click holds the step back.
        let states: States = [("6.1.1".to_string(), done())].into();
        let mut undo = TickDiff {
            ticked: vec!["6.1.2".into()],
            unticked: vec!["6.1.1".into()],
        };
        assert_eq!(hold_waiting(&mut undo, view, &states).len(), 1);
        assert_eq!(undo.unticked, ["6.1.1"]);
    }

    proptest! {
        /// Whatever the states and the click, no item is ticked while a prerequisite
        /// of it is open afterwards, and no untick is held.
        #[test]
        fn a_tick_diff_never_ticks_a_waiting_item(
            done_mask in 0u32..(1 << 12),
            na_mask in 0u32..(1 << 12),
            tick_mask in 0u32..(1 << 12),
            untick_mask in 0u32..(1 << 12),
        ) {
            let t = Template::builtin();
            let view = t.for_tier(Tier::Standard);
            let keys: Vec<String> = view
                .category(6)
                .unwrap()
                .items()
                .map(|i| i.key.clone())
                .take(12)
                .collect();
            let pick = |mask: u32| -> Vec<String> {
                keys.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, k)| k.clone()).collect()
            };
            let mut states = States::new();
            for k in pick(done_mask) {
                states.insert(k, done());
            }
            for k in pick(na_mask) {
                states.entry(k).or_default().not_applicable = true;
            }
            let unticked = pick(untick_mask);
            let ticked: Vec<String> = pick(tick_mask).into_iter().filter(|k| !unticked.contains(k)).collect();
            let mut diff = TickDiff { ticked, unticked: unticked.clone() };
            let held = hold_waiting(&mut diff, view, &states);
            prop_assert_eq!(&diff.unticked, &unticked);
            let settled = |k: &str| {
                diff.ticked.iter().any(|t| t == k)
                    || (states.get(k).is_some_and(|s| s.is_done() || s.not_applicable)
                        && !unticked.iter().any(|u| u == k))
            };
            for key in &diff.ticked {
                for p in &view.item(key).unwrap().after {
                    prop_assert!(settled(p), "{} ticked while {} is open", key, p);
                }
            }
            for w in &held {
                prop_assert!(!w.on.is_empty());
                prop_assert!(!diff.ticked.contains(&w.item));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An item ticked by `U1`.
    pub(super) fn done() -> ItemState {
        ItemState {
            done_by: Some("U1".into()),
            done_at: Some(1),
            ..Default::default()
        }
    }

    #[test]
    fn progress_counts_done_over_applicable_items() {
        let t = Template::builtin();
        let mut states = States::new();
        assert_eq!(
            overall_progress(&t, &states),
            Progress {
                done: 0,
                applicable: t.item_count()
            }
        );
        states.insert("1.1.1".into(), done());
        states.insert(
            "1.3.4".into(),
            ItemState {
                not_applicable: true,
                ..Default::default()
            },
        );
        let security = t.category(1).unwrap();
        let p = category_progress(security, &states);
        assert_eq!(p.done, 1);
        assert_eq!(p.applicable, security.item_count() - 1);
        // A sub-item is not ticked with its parent.
        assert_eq!(
            items_progress(["1.1.1.1"].into_iter(), &states),
            Progress {
                done: 0,
                applicable: 1
            }
        );
    }

    #[test]
    fn go_live_ignores_categories_that_come_after_it() {
        let t = Template::builtin();
        let after: usize = t
            .categories
            .iter()
            .filter(|c| !c.required_for_go_live)
            .map(|c| c.item_count())
            .sum();
        assert!(after > 0);
        assert_eq!(
            go_live_progress(&t, &States::new()).applicable,
            t.item_count() - after
        );
    }

    #[test]
    fn bars_fill_in_proportion() {
        assert_eq!(
            bar(
                Progress {
                    done: 0,
                    applicable: 4
                },
                4
            ),
            "▱▱▱▱"
        );
        assert_eq!(
            bar(
                Progress {
                    done: 2,
                    applicable: 4
                },
                4
            ),
            "▰▰▱▱"
        );
        assert_eq!(
            bar(
                Progress {
                    done: 4,
                    applicable: 4
                },
                4
            ),
            "▰▰▰▰"
        );
        assert_eq!(
            bar(
                Progress {
                    done: 0,
                    applicable: 0
                },
                3
            ),
            "▰▰▰"
        );
        assert_eq!(
            Progress {
                done: 1,
                applicable: 3
            }
            .percent(),
            33
        );
    }
}
