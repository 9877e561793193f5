//! Evidence: proof attached to a customer's item, from `/readiness evidence` or the
//! item modal's link and file fields. Stored with its audit entry, and the posted
//! checklist re-rendered so the item's paperclip counts it.

use chrono::{DateTime, Utc};

use super::UseCases;
use crate::domain::checklist::Tier;
use crate::domain::customer::Customer;
use crate::domain::evidence::{Attachment, Evidence, MAX_NOTE_CHARS, MAX_PER_ITEM};
use crate::domain::template::Item;
use crate::store::audit::Actor;
use crate::store::evidence::EvidenceAdded;

/// Evidence attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attached<'t> {
    /// The template's item it is attached to.
    pub item: &'t Item,
    pub added: Vec<Evidence>,
    /// How many pieces the item holds now.
    pub total: usize,
}

/// Why nothing was attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvidenceRefusal {
    /// No item has this key.
    UnknownItem(String),
    /// The item is not on this customer's checklist: it applies to `tiers` only.
    OtherTier {
        key: String,
        tier: Tier,
        tiers: Vec<Tier>,
    },
    /// Item `key` holds `holds` pieces, and `max` is the most.
    Full {
        key: String,
        holds: usize,
        max: usize,
    },
    /// Every link given is on item `key` already (or none was given).
    AlreadyAttached { key: String },
    /// A note over `max` characters.
    NoteTooLong { max: usize },
}

impl UseCases {
    /// Attaches `attachments` (links already checked as http(s), files as Slack's) to
    /// item `key` of `customer`, each with `note`. Refused, changing nothing, for an
    /// unknown item, an item of another tier than the customer's, a note too long or
    /// an item that would hold more than [`MAX_PER_ITEM`].
    pub async fn add_evidence(
        &self,
        customer: &Customer,
        key: &str,
        attachments: &[Attachment],
        note: Option<&str>,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<Result<Attached<'_>, EvidenceRefusal>, sqlx::Error> {
        let Some(item) = self.template.item(key) else {
            return Ok(Err(EvidenceRefusal::UnknownItem(key.to_string())));
        };
        if self.template.for_tier(customer.tier).item(key).is_none() {
            return Ok(Err(EvidenceRefusal::OtherTier {
                key: item.key.clone(),
                tier: customer.tier,
                tiers: item.tiers.clone(),
            }));
        }
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        if note.is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
            return Ok(Err(EvidenceRefusal::NoteTooLong {
                max: MAX_NOTE_CHARS,
            }));
        }
        if attachments.is_empty() {
            return Ok(Err(EvidenceRefusal::AlreadyAttached {
                key: item.key.clone(),
            }));
        }
        let added = self
            .store
            .add_evidence(
                &customer.team_id,
                customer.id,
                &item.key,
                attachments,
                note,
                actor,
                now,
            )
            .await?;
        Ok(match added {
            EvidenceAdded::Added { added, total } => {
                // The posted checklist messages are behind the customer's version now.
                self.delivery.checklist_changed();
                Ok(Attached { item, added, total })
            }
            EvidenceAdded::AlreadyAttached => Err(EvidenceRefusal::AlreadyAttached {
                key: item.key.clone(),
            }),
            EvidenceAdded::Full { holds } => Err(EvidenceRefusal::Full {
                key: item.key.clone(),
                holds,
                max: MAX_PER_ITEM,
            }),
        })
    }
}

impl UseCases {
    /// What item `key` of `customer` holds, oldest first (for its modal).
    pub async fn evidence_of_item(
        &self,
        customer: &Customer,
        key: &str,
    ) -> Result<Vec<Evidence>, sqlx::Error> {
        self.store
            .evidence_of_item(&customer.team_id, customer.id, key)
            .await
    }
}
