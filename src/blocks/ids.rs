//! The action_ids, block_ids and callback_ids the app puts into Slack and reads back.

use crate::domain::template::MAX_KEY_CHARS;

/// The checkboxes of one group of items.
pub const TICK: &str = "tick";
/// The "Edit an item…" menu of a section.
pub const ITEM_MENU: &str = "item_menu";
/// The overview's buttons that open a category; the value is `<customer>:<number>`.
pub const OPEN_CATEGORY: &str = "open_category";
/// The item edit modal.
pub const ITEM_MODAL: &str = "item_edit";
pub const MODAL_ASSIGNEE: &str = "assignee";
pub const MODAL_DUE: &str = "due";
pub const MODAL_NOTE: &str = "note";
pub const MODAL_NOT_APPLICABLE: &str = "not_applicable";

/// Longest note kept on an item.
pub const MAX_NOTE_CHARS: usize = 1000;

/// A checkbox group as rendered: its customer, its items, and which of them were
/// ticked (the group's `initial_options`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TickGroup {
    pub customer: i64,
    pub keys: Vec<String>,
    pub ticked: Vec<String>,
}

/// `tick:<customer>:<mask>:<key>,<key>,…` — the mask (hex) has bit `i` set when key
/// `i` was ticked as rendered. The group's state travels in its block_id, so a click
/// on any copy (even an ephemeral one, which Slack sends without the message) says
/// exactly what its clicker saw. At most 10 keys of at most [`MAX_KEY_CHARS`] each,
/// well inside the 255 characters of a block_id.
pub fn tick_block_id(customer_id: i64, keys: &[&str], ticked: &[bool]) -> String {
    debug_assert!(keys.len() <= 10 && keys.iter().all(|k| k.len() <= MAX_KEY_CHARS));
    let mask = ticked
        .iter()
        .enumerate()
        .filter(|(_, t)| **t)
        .fold(0u16, |m, (i, _)| m | (1 << i));
    format!("{TICK}:{customer_id}:{mask:x}:{}", keys.join(","))
}

/// The block_id of `group` as it was rendered.
pub fn tick_block_id_of(group: &TickGroup) -> String {
    let keys: Vec<&str> = group.keys.iter().map(String::as_str).collect();
    let ticked: Vec<bool> = group
        .keys
        .iter()
        .map(|k| group.ticked.contains(k))
        .collect();
    tick_block_id(group.customer, &keys, &ticked)
}

pub fn parse_tick_block_id(block_id: &str) -> Option<TickGroup> {
    let mut parts = block_id
        .strip_prefix(TICK)?
        .strip_prefix(':')?
        .splitn(3, ':');
    let customer = parts.next()?.parse().ok()?;
    let mask = u16::from_str_radix(parts.next()?, 16).ok()?;
    let keys: Vec<String> = parts
        .next()?
        .split(',')
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect();
    if keys.is_empty() || keys.len() > 10 || mask >> keys.len() != 0 {
        return None;
    }
    let ticked = keys
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, k)| k.clone())
        .collect();
    Some(TickGroup {
        customer,
        keys,
        ticked,
    })
}

/// `menu:<customer>:<section>`
pub fn menu_block_id(customer_id: i64, section: &str) -> String {
    format!("menu:{customer_id}:{section}")
}

pub fn parse_menu_block_id(block_id: &str) -> Option<i64> {
    let rest = block_id.strip_prefix("menu:")?;
    rest.split_once(':')?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_block_ids_round_trip() {
        let id = tick_block_id(42, &["1.1.1", "1.1.1.1", "1.1.2"], &[false, true, true]);
        assert_eq!(id, "tick:42:6:1.1.1,1.1.1.1,1.1.2");
        assert_eq!(
            parse_tick_block_id(&id),
            Some(TickGroup {
                customer: 42,
                keys: vec!["1.1.1".into(), "1.1.1.1".into(), "1.1.2".into()],
                ticked: vec!["1.1.1.1".into(), "1.1.2".into()],
            })
        );
        assert_eq!(parse_tick_block_id("tick:x:0:1.1.1"), None);
        assert_eq!(parse_tick_block_id("tick:1:0:"), None);
        assert_eq!(parse_tick_block_id("tick:1:zz:1.1.1"), None);
        // A mask naming more boxes than the group has is forged.
        assert_eq!(parse_tick_block_id("tick:1:2:1.1.1"), None);
        assert_eq!(parse_tick_block_id("other"), None);
        assert_eq!(parse_menu_block_id(&menu_block_id(7, "1.2")), Some(7));
    }
}

/// What a click is: decided here, in one place, from the action_id the app gave the
/// element and the block_id or value it carries. An element the app does not know, or
/// one whose ids do not parse (forged, or from an older release), is `Unknown` and does
/// nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockAction {
    /// A checkbox group: the group as rendered, and what it now has selected (only
    /// the group's own keys: a forged value is dropped).
    Tick {
        group: TickGroup,
        selected: Vec<String>,
    },
    /// "Edit an item…": the customer, and the item picked.
    ItemMenu {
        customer: i64,
        item: String,
    },
    /// A ticket's button or its priority menu.
    Ticket {
        ticket: i64,
        click: TicketClick,
    },
    /// A reminder's Cancel button (its value says which).
    CancelReminder {
        value: String,
    },
    /// `golive` without a date, confirmed: record `date` as the customer's go-live.
    ConfirmGoLive {
        customer: i64,
        date: chrono::NaiveDate,
    },
    /// The roles list's "Give a role…".
    OpenRoles,
    /// Another page of the App Home.
    HomePage {
        page: usize,
    },
    /// A customer's checklist, from the App Home.
    OpenChecklist {
        customer: i64,
    },
    /// A new ticket for a customer, from the App Home.
    NewTicket {
        customer: i64,
    },
    /// The overview's button for one category.
    OpenCategory {
        customer: i64,
        number: u32,
    },
    /// A customer's answer to a resolved ticket's "how did we do?" (`csat_good`,
    /// `csat_okay`, `csat_bad`; the value is the ticket's id).
    Csat {
        ticket: i64,
        rating: crate::domain::csat::Rating,
    },
    Unknown,
}

/// What a click on a ticket asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketClick {
    Respond,
    Resolve,
    Pause,
    Resume,
    Escalate,
    Priority(crate::domain::sla::Priority),
}

/// The parts of a clicked element a [`BlockAction`] is read from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Clicked<'a> {
    pub action_id: &'a str,
    pub block_id: &'a str,
    pub value: Option<&'a str>,
    /// A menu's chosen option.
    pub selected_option: Option<&'a str>,
    /// A checkbox group's selected options.
    pub selected_options: &'a [&'a str],
}

impl BlockAction {
    pub fn parse(clicked: &Clicked<'_>) -> Self {
        use super::{csat, home, reminders, roles, ticket};
        let Clicked {
            action_id,
            block_id,
            value,
            selected_option,
            selected_options,
        } = *clicked;
        let id = |text: Option<&str>| text.and_then(|t| t.parse::<i64>().ok());
        let parsed = match action_id {
            TICK => parse_tick_block_id(block_id).map(|group| {
                let selected = selected_options
                    .iter()
                    .filter(|v| group.keys.iter().any(|k| k == *v))
                    .map(|v| v.to_string())
                    .collect();
                BlockAction::Tick { group, selected }
            }),
            ITEM_MENU => {
                parse_menu_block_id(block_id)
                    .zip(selected_option)
                    .map(|(customer, item)| BlockAction::ItemMenu {
                        customer,
                        item: item.to_string(),
                    })
            }
            ticket::PRIORITY => selected_option
                .and_then(|v| v.split_once(':'))
                .and_then(|(t, p)| Some((t.parse().ok()?, crate::domain::sla::Priority::parse(p)?)))
                .map(|(ticket, priority)| BlockAction::Ticket {
                    ticket,
                    click: TicketClick::Priority(priority),
                }),
            ticket::RESPOND
            | ticket::RESOLVE
            | ticket::PAUSE
            | ticket::RESUME
            | ticket::ESCALATE => {
                let click = match action_id {
                    ticket::RESPOND => TicketClick::Respond,
                    ticket::RESOLVE => TicketClick::Resolve,
                    ticket::PAUSE => TicketClick::Pause,
                    ticket::RESUME => TicketClick::Resume,
                    _ => TicketClick::Escalate,
                };
                // The value is the ticket's id (older releases added `:<priority>`).
                let ticket = value.map(|v| v.split_once(':').map_or(v, |(t, _)| t));
                id(ticket).map(|ticket| BlockAction::Ticket { ticket, click })
            }
            reminders::CANCEL => value.map(|v| BlockAction::CancelReminder {
                value: v.to_string(),
            }),
            reminders::GOLIVE_CONFIRM => {
                value.and_then(|v| v.split_once(':')).and_then(|(c, d)| {
                    Some(BlockAction::ConfirmGoLive {
                        customer: c.parse().ok()?,
                        // The same range as a typed date: a forged year goes no further.
                        date: crate::domain::command::parse_date(d)?,
                    })
                })
            }
            roles::OPEN => Some(BlockAction::OpenRoles),
            home::OPEN_CHECKLIST => {
                id(value).map(|customer| BlockAction::OpenChecklist { customer })
            }
            home::NEW_TICKET => id(value).map(|customer| BlockAction::NewTicket { customer }),
            _ if action_id.starts_with(csat::PREFIX) => csat::rating_of_action(action_id)
                .zip(id(value))
                .map(|(rating, ticket)| BlockAction::Csat { ticket, rating }),
            _ if action_id.starts_with(home::PAGE) => Some(BlockAction::HomePage {
                page: value.and_then(|v| v.parse().ok()).unwrap_or(0),
            }),
            _ => action_id
                .strip_prefix(OPEN_CATEGORY)
                .and_then(|n| n.strip_prefix('_'))
                .and_then(|n| n.parse().ok())
                .zip(
                    value
                        .and_then(|v| v.split_once(':'))
                        .and_then(|(c, _)| c.parse().ok()),
                )
                .map(|(number, customer)| BlockAction::OpenCategory { customer, number }),
        };
        parsed.unwrap_or(BlockAction::Unknown)
    }

    /// What the click would do, for the roles table.
    pub fn act(&self) -> crate::domain::roles::Act {
        use crate::domain::roles::Act;
        match self {
            BlockAction::Tick { .. } | BlockAction::ItemMenu { .. } => Act::WorkChecklist,
            BlockAction::Ticket { .. } | BlockAction::NewTicket { .. } => Act::WorkTickets,
            BlockAction::CancelReminder { .. } => Act::Remind,
            // The same as typing `golive` with the date.
            BlockAction::ConfirmGoLive { .. } => Act::ManageCustomers,
            BlockAction::OpenRoles => Act::Administer,
            // Paging the Home, opening a checklist or a category: looking. A CSAT
            // answer is the customer's, not a staff power: the edge lets only the
            // customer's side give it, and never asks for a role.
            BlockAction::HomePage { .. }
            | BlockAction::Csat { .. }
            | BlockAction::OpenChecklist { .. }
            | BlockAction::OpenCategory { .. }
            | BlockAction::Unknown => Act::Read,
        }
    }
}

#[cfg(test)]
mod block_action_tests {
    use super::*;
    use crate::domain::roles::Act;
    use crate::domain::sla::Priority;

    fn click<'a>(action_id: &'a str, value: Option<&'a str>) -> Clicked<'a> {
        Clicked {
            action_id,
            value,
            ..Default::default()
        }
    }

    #[test]
    fn each_element_the_app_renders_is_one_kind_of_click() {
        let tick = Clicked {
            action_id: TICK,
            block_id: "tick:7:1:1.1.1,1.1.2",
            selected_options: &["1.1.2", "9.9.9"],
            ..Default::default()
        };
        assert_eq!(
            BlockAction::parse(&tick),
            BlockAction::Tick {
                group: TickGroup {
                    customer: 7,
                    keys: vec!["1.1.1".into(), "1.1.2".into()],
                    ticked: vec!["1.1.1".into()],
                },
                selected: vec!["1.1.2".into()],
            }
        );
        let priority = Clicked {
            action_id: super::super::ticket::PRIORITY,
            selected_option: Some("42:P0"),
            ..Default::default()
        };
        assert_eq!(
            BlockAction::parse(&priority),
            BlockAction::Ticket {
                ticket: 42,
                click: TicketClick::Priority(Priority::P0)
            }
        );
        assert_eq!(
            BlockAction::parse(&click(super::super::ticket::RESPOND, Some("42"))),
            BlockAction::Ticket {
                ticket: 42,
                click: TicketClick::Respond
            }
        );
        assert_eq!(
            BlockAction::parse(&click("open_category_3", Some("7:3"))),
            BlockAction::OpenCategory {
                customer: 7,
                number: 3
            }
        );
        assert_eq!(
            BlockAction::parse(&click("csat_okay", Some("42"))),
            BlockAction::Csat {
                ticket: 42,
                rating: crate::domain::csat::Rating::Okay
            }
        );
        assert_eq!(
            BlockAction::parse(&click(super::super::home::PAGE, Some("2"))),
            BlockAction::HomePage { page: 2 }
        );
        let golive = super::super::reminders::GOLIVE_CONFIRM;
        let date = chrono::NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        let value = super::super::reminders::golive_value(7, date);
        let confirmed = BlockAction::parse(&click(golive, Some(&value)));
        assert_eq!(confirmed, BlockAction::ConfirmGoLive { customer: 7, date });
        assert_eq!(confirmed.act(), Act::ManageCustomers);
        // A forged date, out of the range a typed one has, is no click.
        for forged in ["7:+99999-01-01", "7:2026-02-30", "x:2026-12-06", "7"] {
            assert_eq!(
                BlockAction::parse(&click(golive, Some(forged))),
                BlockAction::Unknown,
                "{forged}"
            );
        }
    }

    #[test]
    fn what_does_not_parse_is_unknown_and_only_looks() {
        for bad in [
            click("something_else", Some("1")),
            click(super::super::ticket::RESPOND, Some("x")),
            click(super::super::ticket::RESPOND, None),
            click(super::super::home::NEW_TICKET, Some("acme")),
            click("open_category_x", Some("7:3")),
            click("csat_great", Some("42")),
            click("csat_good", Some("x")),
            click("csat_good", None),
            Clicked {
                action_id: super::super::ticket::PRIORITY,
                selected_option: Some("42:P9"),
                ..Default::default()
            },
            Clicked {
                action_id: TICK,
                block_id: "tick:nope",
                ..Default::default()
            },
        ] {
            let parsed = BlockAction::parse(&bad);
            assert_eq!(parsed, BlockAction::Unknown, "{bad:?}");
            assert_eq!(parsed.act(), Act::Read);
        }
    }
}
