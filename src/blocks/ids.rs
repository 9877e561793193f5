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

/// `tick:<customer>:<key>,<key>,…` — at most 10 keys of at most
/// [`MAX_KEY_CHARS`] each, well inside the 255 characters of a block_id.
pub fn tick_block_id(customer_id: i64, keys: &[&str]) -> String {
    debug_assert!(keys.len() <= 10 && keys.iter().all(|k| k.len() <= MAX_KEY_CHARS));
    format!("{TICK}:{customer_id}:{}", keys.join(","))
}

/// The customer and the item keys of a checkbox group's block_id.
pub fn parse_tick_block_id(block_id: &str) -> Option<(i64, Vec<String>)> {
    let rest = block_id.strip_prefix(TICK)?.strip_prefix(':')?;
    let (customer, keys) = rest.split_once(':')?;
    let keys: Vec<String> = keys
        .split(',')
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect();
    if keys.is_empty() || keys.len() > 10 {
        return None;
    }
    Some((customer.parse().ok()?, keys))
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
        let id = tick_block_id(42, &["1.1.1", "1.1.1.1"]);
        assert_eq!(
            parse_tick_block_id(&id),
            Some((42, vec!["1.1.1".to_string(), "1.1.1.1".to_string()]))
        );
        assert_eq!(parse_tick_block_id("tick:x:1.1.1"), None);
        assert_eq!(parse_tick_block_id("tick:1:"), None);
        assert_eq!(parse_tick_block_id("other"), None);
        assert_eq!(parse_menu_block_id(&menu_block_id(7, "1.2")), Some(7));
    }
}
