//! The two languages the app speaks. Ephemeral answers follow the reader's Slack locale
//! (`ja…` → Japanese, anything else → English); messages posted in a channel follow
//! the workspace's `language` setting.
//!
//! Where the texts live, and why:
//! - `blocks::texts`, the catalogue: the shared vocabulary (one name per concept, e.g.
//!   チケット for a ticket), usage lines in each language, and the texts of every
//!   refusal a parser gives (a `<when>`, a date, a category, an item). Parsers in
//!   `domain/` return typed errors (`command::Problem`, `schedule::WhenError`) and
//!   never a sentence; `blocks/` renders them from the catalogue, whose test holds
//!   every entry to both languages (the Japanese one in Japanese).
//! - Everything else, a sentence that belongs to one renderer, stays next to the code
//!   that shows it as `lang.pick(en, ja)`, so a reader sees both texts of a message in
//!   one place. Moving those into the catalogue was not needed to keep them in both
//!   languages: `blocks/help.rs` and `tests/api/language.rs` render the answers and
//!   check that Japanese prose has no English sentence and English none in Japanese.
//! - A `Display` of a domain error (thiserror) is for logs only: no renderer shows it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Ja,
}

impl Lang {
    /// Slack locales look like `ja-JP` or `en-US`.
    pub fn from_locale(locale: &str) -> Self {
        if locale.to_ascii_lowercase().starts_with("ja") {
            Lang::Ja
        } else {
            Lang::En
        }
    }

    pub fn pick<'a>(self, en: &'a str, ja: &'a str) -> &'a str {
        match self {
            Lang::En => en,
            Lang::Ja => ja,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ja => "ja",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn japanese_locales_get_japanese_and_every_other_english() {
        assert_eq!(Lang::from_locale("ja-JP"), Lang::Ja);
        assert_eq!(Lang::from_locale("JA"), Lang::Ja);
        assert_eq!(Lang::from_locale("en-GB"), Lang::En);
        assert_eq!(Lang::from_locale("fr-FR"), Lang::En);
        assert_eq!(Lang::from_locale(""), Lang::En);
    }
}
