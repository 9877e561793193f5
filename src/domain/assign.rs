//! Round-robin assignment of new tickets (`[intake] assign = "round-robin"`): the
//! member of the user group with the fewest open tickets, ties to the one assigned
//! longest ago (never assigned counts as longest ago), then by id so the choice does
//! not depend on the order Slack lists members in.

use std::collections::HashMap;

/// What the choice knows of one person's load.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Load {
    /// Their unresolved tickets.
    pub open: usize,
    /// When they were last given a ticket, in any order that grows with time (the
    /// ticket's number in the workspace); `None`: never.
    pub last_assigned: Option<i64>,
}

/// The member to give a new ticket to; `None` without members.
pub fn pick_assignee<'a>(
    members: impl IntoIterator<Item = &'a str>,
    loads: &HashMap<String, Load>,
) -> Option<&'a str> {
    members.into_iter().min_by_key(|member| {
        let load = loads.get(*member).copied().unwrap_or_default();
        // `None` sorts before every `Some`: never assigned is longest ago.
        (load.open, load.last_assigned, *member)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn load(open: usize, last: Option<i64>) -> Load {
        Load {
            open,
            last_assigned: last,
        }
    }

    #[test]
    fn the_fewest_open_tickets_win_then_the_longest_wait() {
        let loads = HashMap::from([
            ("U1".to_string(), load(2, Some(9))),
            ("U2".to_string(), load(1, Some(7))),
            ("U3".to_string(), load(1, Some(3))),
        ]);
        assert_eq!(pick_assignee(["U1", "U2", "U3"], &loads), Some("U3"));
        // Someone never assigned, with no open ticket, goes first.
        assert_eq!(pick_assignee(["U1", "U2", "U4"], &loads), Some("U4"));
        assert_eq!(pick_assignee([], &loads), None);
    }

    proptest! {
        /// Whatever the loads and the order Slack lists members in, the pick is a
        /// member, nobody has fewer open tickets, and among those with as few nobody
        /// waited longer.
        #[test]
        fn the_pick_is_never_beaten(
            raw in proptest::collection::vec((0usize..4, proptest::option::of(0i64..6)), 1..8),
            rotate in 0usize..8,
        ) {
            let names: Vec<String> = (0..raw.len()).map(|i| format!("U{i}")).collect();
            let loads: HashMap<String, Load> = names
                .iter()
                .zip(&raw)
                .map(|(n, (open, last))| (n.clone(), load(*open, *last)))
                .collect();
            let mut order: Vec<&str> = names.iter().map(String::as_str).collect();
            let turn = rotate % order.len();
            order.rotate_left(turn);
            let picked = pick_assignee(order.iter().copied(), &loads).unwrap();
            let mine = loads[picked];
            for other in &names {
                let theirs = loads[other];
                prop_assert!(theirs.open >= mine.open);
                if theirs.open == mine.open {
                    prop_assert!(theirs.last_assigned >= mine.last_assigned);
                }
            }
            let again = pick_assignee(names.iter().map(String::as_str), &loads).unwrap();
            prop_assert_eq!(picked, again);
        }
    }
}
