//! A customer's onboarding team (`/readiness team`): who holds each role, and what
//! each holder owns of the customer's tier's checklist. Pure.

use chrono::NaiveDate;

use super::checklist::States;
use super::template::{Owner, Template};

/// What one person holding a role of the team owns in the customer's tier: items of
/// that role, how many of them are theirs, and how many of those are open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleHeld {
    pub role: Owner,
    pub holder: Option<String>,
    /// Items of the tier's view whose owner is this role.
    pub items: usize,
    /// Of those, assigned to the holder.
    pub theirs: usize,
    /// Of those, neither done nor N/A.
    pub open: usize,
}

/// The team as `/readiness team` shows it: every role, held or not.
pub fn team_view(view: &Template, states: &States, team: &[(Owner, String)]) -> Vec<RoleHeld> {
    Owner::ALL
        .iter()
        .map(|&role| {
            let holder = team
                .iter()
                .find(|(r, _)| *r == role)
                .map(|(_, u)| u.clone());
            let of_role: Vec<_> = view.items().filter(|i| i.owner == Some(role)).collect();
            let theirs: Vec<_> = of_role
                .iter()
                .filter_map(|i| states.get(&i.key))
                .filter(|s| holder.is_some() && s.assignee == holder)
                .collect();
            RoleHeld {
                role,
                holder,
                items: of_role.len(),
                theirs: theirs.len(),
                open: theirs
                    .iter()
                    .filter(|s| !s.is_done() && !s.not_applicable)
                    .count(),
            }
        })
        .collect()
}

/// What a person owns of a customer: open items of the tier assigned to them, and the
/// first due date among them.
pub fn owned_by(view: &Template, states: &States, user: &str) -> (usize, Option<NaiveDate>) {
    let mine: Vec<_> = view
        .items()
        .filter_map(|i| states.get(&i.key))
        .filter(|s| s.assignee.as_deref() == Some(user) && !s.is_done() && !s.not_applicable)
        .collect();
    (mine.len(), mine.iter().filter_map(|s| s.due).min())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::checklist::{ItemState, Tier};

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_team_view_counts_each_roles_items_and_the_holders_share() {
        let template = Template::builtin();
        let view = template.for_tier(Tier::Standard);
        let team = [(Owner::Se, "U2".to_string())];
        let se_items: Vec<_> = view
            .items()
            .filter(|i| i.owner == Some(Owner::Se))
            .map(|i| i.key.clone())
            .collect();
        let mut states = States::new();
        for (n, key) in se_items.iter().enumerate() {
            states.insert(
                key.clone(),
                ItemState {
                    assignee: Some("U2".into()),
                    done_at: (n == 0).then_some(1),
                    due: Some(day(2027, 1, 1) + chrono::Days::new(n as u64)),
                    ..Default::default()
                },
            );
        }
        let shown = team_view(view, &states, &team);
        assert_eq!(shown.len(), Owner::ALL.len());
        let se = shown.iter().find(|r| r.role == Owner::Se).unwrap();
        assert_eq!(se.holder.as_deref(), Some("U2"));
        assert_eq!(
            (se.items, se.theirs, se.open),
            (se_items.len(), se_items.len(), se_items.len() - 1)
        );
        let csm = shown.iter().find(|r| r.role == Owner::Csm).unwrap();
        assert_eq!((csm.holder.as_deref(), csm.theirs), (None, 0));
        let (owned, first) = owned_by(view, &states, "U2");
        assert_eq!(owned, se_items.len() - 1);
        // The done one (due the 1st) does not count.
        assert_eq!(first, Some(day(2027, 1, 2)));
    }
}
