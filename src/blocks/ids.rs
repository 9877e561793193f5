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
