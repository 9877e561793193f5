//! Customer slugs and the names of their Slack channels.

/// At most this long, so `cust-<slug>-NN` stays inside Slack's 80-character channel names.
pub const MAX_SLUG_CHARS: usize = 70;

/// The ASCII slug of a customer name: lowercased, every run of other characters turned
/// into `-`, trimmed, at most 70 characters. `None` when the name has no ASCII letter or
/// digit (a Japanese name, say); the caller then numbers it `c<n>`.
pub fn slugify(name: &str) -> Option<String> {
    let mut slug = String::with_capacity(name.len());
    for ch in name.chars() {
        if ch.is_ascii_alphanumeric() {
            slug.push(ch.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let trimmed = slug.trim_matches('-');
    if trimmed.is_empty() {
        return None;
    }
    let mut cut: String = trimmed.chars().take(MAX_SLUG_CHARS).collect();
    while cut.ends_with('-') {
        cut.pop();
    }
    Some(cut)
}

/// A slug given with `slug=` must already be one.
pub fn is_valid_slug(slug: &str) -> bool {
    slugify(slug).as_deref() == Some(slug)
}

/// The name of the customer's dedicated channel; `attempt` 1 is `cust-<slug>`, then
/// `cust-<slug>-2`, `-3`, … when Slack answers `name_taken`.
pub fn channel_name(slug: &str, attempt: u32) -> String {
    if attempt <= 1 {
        format!("cust-{slug}")
    } else {
        format!("cust-{slug}-{attempt}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_become_lowercase_dashed_slugs() {
        assert_eq!(slugify("Acme").as_deref(), Some("acme"));
        assert_eq!(
            slugify("  ACME Corp., Ltd. ").as_deref(),
            Some("acme-corp-ltd")
        );
        assert_eq!(
            slugify("Acme 株式会社 Japan").as_deref(),
            Some("acme-japan")
        );
        assert_eq!(slugify("株式会社ミヤビ"), None);
        assert_eq!(slugify("---"), None);
    }

    #[test]
    fn given_slugs_must_already_be_slugs() {
        assert!(is_valid_slug("acme-2"));
        assert!(!is_valid_slug("Acme"));
        assert!(!is_valid_slug("-acme"));
        assert!(!is_valid_slug(""));
    }

    proptest! {
        #[test]
        fn every_name_gives_a_valid_slack_channel_name(name in "\\PC{0,200}", attempt in 1u32..100) {
            let slug = slugify(&name).unwrap_or_else(|| "c12345".into());
            prop_assert!(slug.len() <= MAX_SLUG_CHARS);
            let channel = channel_name(&slug, attempt);
            prop_assert!(channel.len() <= 80);
            prop_assert!(channel.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'));
            prop_assert!(is_valid_slug(&slug));
        }
    }
}
