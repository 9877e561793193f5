//! The checklist template: categories, sections and items, loaded from a TOML data
//! file. The seed's checklist is compiled in (`templates/enterprise-readiness.toml`);
//! a team may point `READINESS_TEMPLATE` at its own file in the same format.
//!
//! Every count the app shows is computed from here; nothing else knows that the seed
//! has 95 items.

use std::collections::HashMap;

use serde::Deserialize;
use toml::Spanned;

use super::checklist::Tier;
use super::i18n::Lang;

/// The seed's checklist, as shipped in the binary.
pub const BUILTIN_TEMPLATE: &str = include_str!("../../templates/enterprise-readiness.toml");

/// Longest label accepted. Labels become checkbox option text (75 characters at most in
/// Slack), after the item key and an indent, so they must leave room for both.
pub const MAX_LABEL_CHARS: usize = 60;
/// Item keys are checkbox option values (75 at most) and ten of them make up the block_id
/// of a checkbox group (255 at most), so they stay short.
pub const MAX_KEY_CHARS: usize = 15;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub categories: Vec<Category>,
    index: HashMap<String, (usize, usize, usize)>,
    /// The checklist each tier sees (Standard, Professional, Enterprise), built once at
    /// parse; empty in those views themselves.
    tier_views: Vec<Template>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub number: u32,
    pub ja: String,
    pub en: String,
    pub aliases: Vec<String>,
    /// Whether the category's items count toward go-live readiness (continuous
    /// improvement, for one, happens after go-live).
    pub required_for_go_live: bool,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub key: String,
    pub ja: String,
    pub en: String,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub key: String,
    pub ja: String,
    pub en: String,
    /// The seed marks it 必要な場合 ("if needed"): it may be set N/A.
    pub if_needed: bool,
    /// `1.1.1` for the sub-item `1.1.1.1`. A parent and its sub-items are separate boxes.
    pub parent: Option<String>,
    /// The tiers it applies to; empty means every tier.
    pub tiers: Vec<Tier>,
    /// The role that owns it on the customer's team (`/readiness team`).
    pub owner: Option<Owner>,
    /// When it is due, counted in business days from the kickoff or the go-live.
    pub due: Option<DueRule>,
    /// Items that must be done (or N/A) before this one can be ticked. In a tier's view
    /// only those that apply to the tier are left.
    pub after: Vec<String>,
}

/// The roles of a customer's onboarding team; an item's `owner` names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owner {
    Csm,
    Se,
    Support,
    Security,
    Legal,
    Customer,
}

impl Owner {
    pub const ALL: [Owner; 6] = [
        Owner::Csm,
        Owner::Se,
        Owner::Support,
        Owner::Security,
        Owner::Legal,
        Owner::Customer,
    ];

    /// The word used in templates and in `/readiness team csm=@a`.
    pub fn as_str(self) -> &'static str {
        match self {
            Owner::Csm => "csm",
            Owner::Se => "se",
            Owner::Support => "support",
            Owner::Security => "security",
            Owner::Legal => "legal",
            Owner::Customer => "customer",
        }
    }

    pub fn parse(text: &str) -> Option<Owner> {
        let wanted = text.trim().to_ascii_lowercase();
        Owner::ALL.into_iter().find(|o| o.as_str() == wanted)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Owner::Csm, Lang::En) => "CSM",
            (Owner::Se, Lang::En) => "Solutions engineer",
            (Owner::Support, Lang::En) => "Support",
            (Owner::Security, Lang::En) => "Security",
            (Owner::Legal, Lang::En) => "Legal",
            (Owner::Customer, Lang::En) => "Customer",
            (Owner::Csm, Lang::Ja) => "CSM",
            (Owner::Se, Lang::Ja) => "SE",
            (Owner::Support, Lang::Ja) => "サポート",
            (Owner::Security, Lang::Ja) => "セキュリティ",
            (Owner::Legal, Lang::Ja) => "法務",
            (Owner::Customer, Lang::Ja) => "お客様",
        }
    }
}

/// The date an item's due date counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Kickoff,
    GoLive,
}

/// `kickoff+5d`, `golive-10d`, `kickoff`: business days from an anchor date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueRule {
    pub anchor: Anchor,
    pub business_days: i32,
}

impl DueRule {
    /// Parses `kickoff`, `kickoff+5d`, `golive-10d` (at most a year of business days
    /// either way).
    pub fn parse(text: &str) -> Option<DueRule> {
        let text = text.trim().to_ascii_lowercase();
        let (anchor, rest) = if let Some(rest) = text.strip_prefix("kickoff") {
            (Anchor::Kickoff, rest)
        } else if let Some(rest) = text.strip_prefix("golive") {
            (Anchor::GoLive, rest)
        } else {
            return None;
        };
        if rest.is_empty() {
            return Some(DueRule {
                anchor,
                business_days: 0,
            });
        }
        let (sign, number) = match rest.as_bytes()[0] {
            b'+' => (1, &rest[1..]),
            b'-' => (-1, &rest[1..]),
            _ => return None,
        };
        let digits = number.strip_suffix('d')?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 3 {
            return None;
        }
        let days: i32 = digits.parse().ok()?;
        (days <= 260).then_some(DueRule {
            anchor,
            business_days: sign * days,
        })
    }
}

impl std::fmt::Display for DueRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let anchor = match self.anchor {
            Anchor::Kickoff => "kickoff",
            Anchor::GoLive => "golive",
        };
        match self.business_days {
            0 => write!(f, "{anchor}"),
            n => write!(f, "{anchor}{n:+}d"),
        }
    }
}

impl Category {
    pub fn label(&self, lang: Lang) -> &str {
        match lang {
            Lang::Ja => &self.ja,
            Lang::En => &self.en,
        }
    }
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.sections.iter().flat_map(|s| s.items.iter())
    }
    pub fn item_count(&self) -> usize {
        self.sections.iter().map(|s| s.items.len()).sum()
    }
}

impl Section {
    pub fn label(&self, lang: Lang) -> &str {
        match lang {
            Lang::Ja => &self.ja,
            Lang::En => &self.en,
        }
    }
}

impl Item {
    pub fn label(&self, lang: Lang) -> &str {
        match lang {
            Lang::Ja => &self.ja,
            Lang::En => &self.en,
        }
    }
}

/// A template file that cannot be used, with the line it went wrong on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct TemplateError {
    pub line: usize,
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplate {
    categories: Vec<Spanned<RawCategory>>,
    #[serde(default)]
    sections: Vec<Spanned<RawSection>>,
    #[serde(default)]
    items: Vec<Spanned<RawItem>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    number: u32,
    ja: String,
    en: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default = "yes")]
    required_for_go_live: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSection {
    key: String,
    ja: String,
    en: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    key: String,
    ja: String,
    en: String,
    #[serde(default)]
    if_needed: bool,
    #[serde(default)]
    tiers: Vec<String>,
    owner: Option<String>,
    due: Option<String>,
    #[serde(default)]
    after: Vec<String>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

fn numeric_key(key: &str) -> Option<Vec<u32>> {
    key.split('.').map(|part| part.parse().ok()).collect()
}

impl Template {
    /// The seed's checklist.
    pub fn builtin() -> Self {
        Self::parse(BUILTIN_TEMPLATE).expect("the built-in template is checked by unit tests")
    }

    /// Parses and checks a template file; the error names the line and the reason.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let raw: RawTemplate = toml::from_str(text).map_err(|e| TemplateError {
            line: e.span().map(|s| line_of(text, s.start)).unwrap_or(1),
            reason: e.message().to_string(),
        })?;
        let fail = |span: std::ops::Range<usize>, reason: String| TemplateError {
            line: line_of(text, span.start),
            reason,
        };
        let check_labels = |span: std::ops::Range<usize>, what: &str, ja: &str, en: &str| {
            for (lang, label) in [("ja", ja), ("en", en)] {
                let chars = label.chars().count();
                if label.trim().is_empty() {
                    return Err(fail(span.clone(), format!("{what}: `{lang}` is empty")));
                }
                if chars > MAX_LABEL_CHARS {
                    return Err(fail(
                        span.clone(),
                        format!(
                            "{what}: `{lang}` has {chars} characters; at most {MAX_LABEL_CHARS} fit a Slack checkbox"
                        ),
                    ));
                }
            }
            Ok(())
        };

        let mut categories: Vec<Category> = Vec::new();
        for spanned in &raw.categories {
            let span = spanned.span();
            let c = spanned.get_ref();
            if c.number == 0 || categories.iter().any(|k| k.number == c.number) {
                return Err(fail(
                    span,
                    format!("category number {} is zero or used twice", c.number),
                ));
            }
            check_labels(
                span.clone(),
                &format!("category {}", c.number),
                &c.ja,
                &c.en,
            )?;
            categories.push(Category {
                number: c.number,
                ja: c.ja.clone(),
                en: c.en.clone(),
                aliases: c.aliases.iter().map(|a| a.to_lowercase()).collect(),
                required_for_go_live: c.required_for_go_live,
                sections: Vec::new(),
            });
        }
        if categories.is_empty() {
            return Err(TemplateError {
                line: 1,
                reason: "the template has no [[categories]]".into(),
            });
        }

        let mut index = HashMap::new();
        // Where each item starts in the file, to name its line in a later check.
        let mut item_lines: HashMap<String, usize> = HashMap::new();
        let mut section_at: HashMap<String, (usize, usize)> = HashMap::new();
        for spanned in &raw.sections {
            let span = spanned.span();
            let s = spanned.get_ref();
            let parts = numeric_key(&s.key)
                .filter(|p| p.len() == 2)
                .ok_or_else(|| {
                    fail(
                        span.clone(),
                        format!("section key {:?} must look like 1.2", s.key),
                    )
                })?;
            let ci = categories
                .iter()
                .position(|c| c.number == parts[0])
                .ok_or_else(|| {
                    fail(
                        span.clone(),
                        format!(
                            "section {} names category {}, which is not defined",
                            s.key, parts[0]
                        ),
                    )
                })?;
            if section_at.contains_key(&s.key) {
                return Err(fail(span, format!("section {} is defined twice", s.key)));
            }
            check_labels(span.clone(), &format!("section {}", s.key), &s.ja, &s.en)?;
            section_at.insert(s.key.clone(), (ci, categories[ci].sections.len()));
            categories[ci].sections.push(Section {
                key: s.key.clone(),
                ja: s.ja.clone(),
                en: s.en.clone(),
                items: Vec::new(),
            });
        }

        for spanned in &raw.items {
            let span = spanned.span();
            let it = spanned.get_ref();
            if it.key.len() > MAX_KEY_CHARS {
                return Err(fail(span, format!("item key {:?} is too long", it.key)));
            }
            let parts = numeric_key(&it.key)
                .filter(|p| p.len() == 3 || p.len() == 4)
                .ok_or_else(|| {
                    fail(
                        span.clone(),
                        format!(
                            "item key {:?} must look like 1.2.3 (or 1.2.3.4 for a sub-item)",
                            it.key
                        ),
                    )
                })?;
            let section_key = format!("{}.{}", parts[0], parts[1]);
            let &(ci, si) = section_at.get(&section_key).ok_or_else(|| {
                fail(
                    span.clone(),
                    format!(
                        "item {} belongs to section {section_key}, which is not defined",
                        it.key
                    ),
                )
            })?;
            if index.contains_key(&it.key) {
                return Err(fail(span, format!("item {} is defined twice", it.key)));
            }
            let parent = if parts.len() == 4 {
                let parent = format!("{}.{}.{}", parts[0], parts[1], parts[2]);
                if !index.contains_key(&parent) {
                    return Err(fail(
                        span,
                        format!("sub-item {} must come after its item {parent}", it.key),
                    ));
                }
                Some(parent)
            } else {
                None
            };
            check_labels(span.clone(), &format!("item {}", it.key), &it.ja, &it.en)?;
            let refuse = |field: &str, value: &str, expected: &str| {
                fail(
                    span.clone(),
                    format!("item {}: {field} {value:?} {expected}", it.key),
                )
            };
            let tiers = it
                .tiers
                .iter()
                .map(|t| {
                    Tier::parse(t).ok_or_else(|| {
                        refuse(
                            "tier",
                            t,
                            "is not one of standard, professional, enterprise",
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let owner = it
                .owner
                .as_deref()
                .map(|o| {
                    Owner::parse(o).ok_or_else(|| {
                        refuse(
                            "owner",
                            o,
                            "is not one of csm, se, support, security, legal, customer",
                        )
                    })
                })
                .transpose()?;
            let due = it
                .due
                .as_deref()
                .map(|d| {
                    DueRule::parse(d).ok_or_else(|| {
                        refuse(
                            "due",
                            d,
                            "must look like kickoff+5d or golive-10d (business days)",
                        )
                    })
                })
                .transpose()?;
            item_lines.insert(it.key.clone(), span.start);
            let items = &mut categories[ci].sections[si].items;
            index.insert(it.key.clone(), (ci, si, items.len()));
            items.push(Item {
                key: it.key.clone(),
                ja: it.ja.clone(),
                en: it.en.clone(),
                if_needed: it.if_needed,
                parent,
                tiers,
                owner,
                due,
                after: it.after.clone(),
            });
        }
        if index.is_empty() {
            return Err(TemplateError {
                line: 1,
                reason: "the template has no [[items]]".into(),
            });
        }
        let mut template = Self {
            categories,
            index,
            tier_views: Vec::new(),
        };
        template
            .check_prerequisites()
            .map_err(|(key, reason)| TemplateError {
                line: line_of(text, item_lines.get(&key).copied().unwrap_or(0)),
                reason,
            })?;
        template.tier_views = [Tier::Standard, Tier::Professional, Tier::Enterprise]
            .into_iter()
            .map(|tier| template.only_for(tier))
            .collect();
        Ok(template)
    }

    /// Every `after` names an item of the template, and no item waits on itself, however
    /// far round. The error names the item to report and why.
    fn check_prerequisites(&self) -> Result<(), (String, String)> {
        for item in self.items() {
            for before in &item.after {
                if self.item(before).is_none() {
                    return Err((
                        item.key.clone(),
                        format!(
                            "item {}: after names {before:?}, which is not an item",
                            item.key
                        ),
                    ));
                }
            }
        }
        // Depth-first search with three colours: a grey item met again closes a cycle.
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Open,
            Done,
        }
        let keys: Vec<&str> = self.items().map(|i| i.key.as_str()).collect();
        let mut marks: HashMap<&str, Mark> = keys.iter().map(|k| (*k, Mark::New)).collect();
        for start in &keys {
            if marks[start] != Mark::New {
                continue;
            }
            // (item, index of the next prerequisite to visit)
            let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
            marks.insert(start, Mark::Open);
            while let Some((key, next)) = stack.pop() {
                let after = &self.item(key).expect("checked above").after;
                if let Some(before) = after.get(next) {
                    stack.push((key, next + 1));
                    match marks[before.as_str()] {
                        Mark::Open => {
                            return Err((
                                key.to_string(),
                                format!(
                                    "item {key}: after {before} makes a cycle (each waits on the other)"
                                ),
                            ));
                        }
                        Mark::New => {
                            marks.insert(before.as_str(), Mark::Open);
                            stack.push((before.as_str(), 0));
                        }
                        Mark::Done => {}
                    }
                } else {
                    marks.insert(key, Mark::Done);
                }
            }
        }
        Ok(())
    }

    /// The checklist as a tier sees it: items for other tiers are gone (sections left
    /// empty go too), and prerequisites that do not apply to the tier are dropped.
    fn only_for(&self, tier: Tier) -> Template {
        let applies = |item: &Item| item.tiers.is_empty() || item.tiers.contains(&tier);
        let kept: std::collections::HashSet<&str> = self
            .items()
            .filter(|i| applies(i))
            .map(|i| i.key.as_str())
            .collect();
        let mut index = HashMap::new();
        let categories = self
            .categories
            .iter()
            .enumerate()
            .map(|(ci, c)| {
                let sections: Vec<Section> = c
                    .sections
                    .iter()
                    .map(|s| Section {
                        items: s
                            .items
                            .iter()
                            .filter(|i| applies(i))
                            .map(|i| Item {
                                after: i
                                    .after
                                    .iter()
                                    .filter(|k| kept.contains(k.as_str()))
                                    .cloned()
                                    .collect(),
                                ..i.clone()
                            })
                            .collect(),
                        ..s.clone()
                    })
                    .filter(|s| !s.items.is_empty())
                    .collect();
                for (si, s) in sections.iter().enumerate() {
                    for (ii, i) in s.items.iter().enumerate() {
                        index.insert(i.key.clone(), (ci, si, ii));
                    }
                }
                Category {
                    sections,
                    ..c.clone()
                }
            })
            .collect();
        Template {
            categories,
            index,
            tier_views: Vec::new(),
        }
    }

    /// The checklist a customer of `tier` sees and is counted against. Every view of one
    /// customer (its checklist, overview, plan, export, reports) goes through this.
    pub fn for_tier(&self, tier: Tier) -> &Template {
        let at = match tier {
            Tier::Standard => 0,
            Tier::Professional => 1,
            Tier::Enterprise => 2,
        };
        self.tier_views.get(at).unwrap_or(self)
    }

    pub fn item(&self, key: &str) -> Option<&Item> {
        let &(c, s, i) = self.index.get(key)?;
        Some(&self.categories[c].sections[s].items[i])
    }

    /// The category an item belongs to.
    pub fn category_of(&self, key: &str) -> Option<&Category> {
        let &(c, _, _) = self.index.get(key)?;
        Some(&self.categories[c])
    }

    pub fn item_count(&self) -> usize {
        self.index.len()
    }

    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.categories.iter().flat_map(|c| c.items())
    }

    /// A category by its number (`1`), English or Japanese name, or alias; case-insensitive.
    /// A category by its number, its name in either language, an alias, or the start
    /// of its Japanese name when only one starts so (`インフラ` for `インフラ・運用`:
    /// Japanese has no short aliases the way `infra` is one).
    pub fn find_category(&self, name: &str) -> Option<&Category> {
        let wanted = name.trim().to_lowercase();
        let exact = self.categories.iter().find(|c| {
            c.number.to_string() == wanted
                || c.en.to_lowercase() == wanted
                || c.ja.to_lowercase() == wanted
                || c.aliases.contains(&wanted)
        });
        if exact.is_some() || wanted.is_empty() || wanted.is_ascii() {
            return exact;
        }
        let mut starting = self
            .categories
            .iter()
            .filter(|c| c.ja.to_lowercase().starts_with(&wanted));
        match (starting.next(), starting.next()) {
            (Some(only), None) => Some(only),
            _ => None,
        }
    }

    pub fn category(&self, number: u32) -> Option<&Category> {
        self.categories.iter().find(|c| c.number == number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_template_has_the_seeds_95_items_by_category() {
        let t = Template::builtin();
        let counts: Vec<(String, usize)> = t
            .categories
            .iter()
            .map(|c| (c.en.clone(), c.item_count()))
            .collect();
        let expected = [
            ("Security", 26),
            ("SLA", 11),
            ("Support", 19),
            ("Infrastructure", 11),
            ("Legal", 10),
            ("Onboarding", 12),
            ("Continuous improvement", 6),
        ];
        assert_eq!(
            counts,
            expected
                .iter()
                .map(|(n, c)| (n.to_string(), *c))
                .collect::<Vec<_>>()
        );
        assert_eq!(t.item_count(), 95);
    }

    #[test]
    fn sub_items_are_their_own_boxes_under_their_parent() {
        let t = Template::builtin();
        let saml = t.item("1.1.1.1").unwrap();
        assert_eq!(saml.parent.as_deref(), Some("1.1.1"));
        assert_eq!(t.item("1.1.2").unwrap().parent, None);
        assert!(t.item("1.1.1").unwrap().ja.contains("SSO"));
    }

    #[test]
    fn only_the_seeds_if_needed_items_may_be_not_applicable() {
        let t = Template::builtin();
        let if_needed: Vec<&str> = t
            .items()
            .filter(|i| i.if_needed)
            .map(|i| i.key.as_str())
            .collect();
        assert!(!if_needed.is_empty());
        for key in &if_needed {
            assert!(t.item(key).unwrap().ja.contains("必要な場合"), "{key}");
        }
        let marked_in_seed = t.items().filter(|i| i.ja.contains("必要な場合")).count();
        assert_eq!(if_needed.len(), marked_in_seed);
    }

    #[test]
    fn categories_are_found_by_number_alias_or_name_in_any_case() {
        let t = Template::builtin();
        for name in ["1", "security", "SECURITY", "セキュリティ", "Security"] {
            assert_eq!(t.find_category(name).map(|c| c.number), Some(1), "{name}");
        }
        assert_eq!(t.find_category("infra").map(|c| c.number), Some(4));
        assert_eq!(t.find_category("インフラ・運用").map(|c| c.number), Some(4));
        assert_eq!(t.find_category("継続的改善").map(|c| c.number), Some(7));
        assert_eq!(t.find_category("インフラ").map(|c| c.number), Some(4));
        assert_eq!(t.find_category("セキュ").map(|c| c.number), Some(1));
        assert!(t.find_category("8").is_none());
        assert!(t.find_category("nope").is_none());
    }

    #[test]
    fn a_malformed_template_is_refused_with_its_line_and_reason() {
        let text = "[[categories]]\nnumber = 1\nja = \"A\"\nen = \"A\"\n\n[[sections]]\nkey = \"1.1\"\nja = \"S\"\nen = \"S\"\n\n[[items]]\nkey = \"1.2.1\"\nja = \"x\"\nen = \"x\"\n";
        let err = Template::parse(text).unwrap_err();
        assert_eq!(err.line, 11, "{err}");
        assert!(err.reason.contains("section 1.2"), "{err}");

        let syntax = Template::parse("[[categories]]\nnumber = \"one\"\n").unwrap_err();
        assert_eq!(syntax.line, 2, "{syntax}");

        let orphan = "[[categories]]\nnumber = 1\nja = \"A\"\nen = \"A\"\n[[sections]]\nkey = \"1.1\"\nja = \"S\"\nen = \"S\"\n[[items]]\nkey = \"1.1.1.1\"\nja = \"x\"\nen = \"x\"\n";
        let err = Template::parse(orphan).unwrap_err();
        assert_eq!(err.line, 9);
        assert!(err.reason.contains("must come after"), "{err}");
    }

    const ONE_SECTION: &str = "[[categories]]\nnumber = 1\nja = \"A\"\nen = \"A\"\n[[sections]]\nkey = \"1.1\"\nja = \"S\"\nen = \"S\"\n";

    fn with_items(items: &str) -> Result<Template, TemplateError> {
        Template::parse(&format!("{ONE_SECTION}{items}"))
    }

    #[test]
    fn a_tier_sees_only_its_items_and_counts_them() {
        let t = Template::builtin();
        let enterprise_only: Vec<&str> = t
            .items()
            .filter(|i| !i.tiers.is_empty())
            .map(|i| i.key.as_str())
            .collect();
        assert_eq!(enterprise_only, vec!["3.1.3", "3.1.4"]);
        for key in &enterprise_only {
            assert!(t.item(key).unwrap().ja.contains("Enterpriseのみ"), "{key}");
        }
        let standard = t.for_tier(Tier::Standard);
        assert_eq!(
            standard.item_count(),
            t.item_count() - enterprise_only.len()
        );
        assert!(standard.item("3.1.3").is_none());
        assert!(standard.item("3.1.2").is_some());
        assert_eq!(
            standard.category(3).unwrap().item_count(),
            t.category(3).unwrap().item_count() - 2
        );
        assert_eq!(
            t.for_tier(Tier::Professional).item_count(),
            standard.item_count()
        );
        assert_eq!(t.for_tier(Tier::Enterprise).item_count(), t.item_count());
    }

    #[test]
    fn the_builtin_plan_orders_only_the_onboarding_process() {
        let t = Template::builtin();
        let steps: Vec<&Item> = t.category(6).unwrap().items().collect();
        assert_eq!(steps.first().unwrap().after, Vec::<String>::new());
        for pair in steps.windows(2) {
            assert_eq!(pair[1].after, vec![pair[0].key.clone()], "{}", pair[1].key);
        }
        let ordered = t.items().filter(|i| !i.after.is_empty()).count();
        assert_eq!(ordered, steps.len() - 1);
        // Every item has an owner and a date.
        for item in t.items() {
            assert!(item.owner.is_some() && item.due.is_some(), "{}", item.key);
        }
    }

    #[test]
    fn a_prerequisite_of_another_tier_is_dropped_from_the_view() {
        let t = with_items(
            "[[items]]\nkey = \"1.1.1\"\nja = \"a\"\nen = \"a\"\ntiers = [\"enterprise\"]\n[[items]]\nkey = \"1.1.2\"\nja = \"b\"\nen = \"b\"\nafter = [\"1.1.1\"]\n",
        )
        .unwrap();
        assert_eq!(
            t.for_tier(Tier::Enterprise).item("1.1.2").unwrap().after,
            vec!["1.1.1"]
        );
        assert!(
            t.for_tier(Tier::Standard)
                .item("1.1.2")
                .unwrap()
                .after
                .is_empty()
        );
    }

    #[test]
    fn a_wrong_plan_is_refused_with_its_line_and_reason() {
        let item = |key: &str, extra: &str| {
            format!("[[items]]\nkey = \"{key}\"\nja = \"x\"\nen = \"x\"\n{extra}")
        };
        // The items start on line 9 (after the category and the section).
        for (extra, words) in [
            ("tiers = [\"gold\"]\n", "tier \"gold\""),
            ("owner = \"boss\"\n", "owner \"boss\""),
            ("due = \"next week\"\n", "due \"next week\""),
            ("after = [\"9.9.9\"]\n", "not an item"),
        ] {
            let err = with_items(&item("1.1.1", extra)).unwrap_err();
            assert_eq!(err.line, 9, "{err}");
            assert!(err.reason.contains(words), "{err}");
        }
        let cycle = format!(
            "{}{}{}",
            item("1.1.1", "after = [\"1.1.3\"]\n"),
            item("1.1.2", "after = [\"1.1.1\"]\n"),
            item("1.1.3", "after = [\"1.1.2\"]\n")
        );
        let err = with_items(&cycle).unwrap_err();
        assert!(err.reason.contains("cycle"), "{err}");
        assert!([9, 14, 19].contains(&err.line), "{err}");
        let itself = with_items(&item("1.1.1", "after = [\"1.1.1\"]\n")).unwrap_err();
        assert!(itself.reason.contains("cycle"), "{itself}");
    }

    #[test]
    fn labels_too_long_for_a_checkbox_are_refused() {
        let long = "x".repeat(MAX_LABEL_CHARS + 1);
        let text = format!(
            "[[categories]]\nnumber = 1\nja = \"A\"\nen = \"A\"\n[[sections]]\nkey = \"1.1\"\nja = \"S\"\nen = \"S\"\n[[items]]\nkey = \"1.1.1\"\nja = \"x\"\nen = \"{long}\"\n"
        );
        let err = Template::parse(&text).unwrap_err();
        assert!(err.reason.contains("characters"), "{err}");
    }
}
