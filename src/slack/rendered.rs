//! The answers `show` gives for one category, kept serialized.
//!
//! `/readiness show acme security` is the most frequent request that renders a large
//! answer (a category of up to 50 blocks, about 9 KB of JSON), and the same category
//! is asked again and again while nobody ticks. Rendering and serializing it were most
//! of that request's own time (benches/README.md, Acknowledgements). A kept answer is
//! reused only when everything the render reads is the same: the customer (name,
//! tier, channel), the category, the language and every item's state, compared in
//! full, so a tick, an assignment or a renamed customer is seen at once, on every
//! replica, without anyone having to invalidate anything.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use crate::blocks::Message;
use crate::domain::checklist::States;
use crate::domain::customer::Customer;
use crate::domain::i18n::Lang;

/// How many answers are kept at most. Each holds its inputs and about 9 KB of JSON,
/// so this bounds the memory to a few megabytes whatever the number of customers.
const MAX_KEPT: usize = 256;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    customer_id: i64,
    category: u32,
    lang: Lang,
}

/// What an answer was rendered from, and the answer's body.
struct Kept {
    customer: Customer,
    states: Arc<States>,
    body: Bytes,
}

#[derive(Default)]
pub struct RenderedCategories {
    kept: Mutex<HashMap<Key, Arc<Kept>>>,
}

impl RenderedCategories {
    /// The ephemeral body for `customer`'s `category` in `lang`: the one kept when it
    /// was rendered from the same inputs, else `render`'s, serialized and kept. When
    /// `render` gives more than one message (a category longer than one message is
    /// only possible with a team's own template), they are not kept but handed back,
    /// for the caller to send as it sends any answer in parts.
    pub fn ephemeral(
        &self,
        customer: &Customer,
        category: u32,
        states: &Arc<States>,
        lang: Lang,
        render: impl FnOnce() -> Vec<Message>,
    ) -> Result<Bytes, Vec<Message>> {
        let key = Key {
            customer_id: customer.id,
            category,
            lang,
        };
        let found = self.lock().get(&key).cloned();
        // Compared outside the lock: other requests are not held up by it.
        if let Some(kept) = found
            && kept.customer == *customer
            // The SQLite store hands out the same states until they change; elsewhere
            // they are compared item by item.
            && (Arc::ptr_eq(&kept.states, states) || kept.states == *states)
        {
            return Ok(kept.body.clone());
        }
        let messages = render();
        let [message] = messages.as_slice() else {
            return Err(messages);
        };
        let body = match serde_json::to_vec(&message.ephemeral()) {
            Ok(json) => Bytes::from(json),
            Err(_) => return Err(messages),
        };
        let kept = Arc::new(Kept {
            customer: customer.clone(),
            states: Arc::clone(states),
            body: body.clone(),
        });
        let mut map = self.lock();
        // Simpler than tracking use: when full, start again; the busy categories are
        // back after one render each.
        if map.len() >= MAX_KEPT && !map.contains_key(&key) {
            map.clear();
        }
        map.insert(key, kept);
        Ok(body)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<Kept>>> {
        // A panic while holding the lock leaves only a cache behind: keep using it.
        self.kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::checklist::tests::customer;
    use crate::domain::checklist::ItemState;

    fn message(text: &str) -> Vec<Message> {
        vec![Message::new(text.to_string(), Vec::new())]
    }

    #[test]
    fn the_same_inputs_reuse_the_answer_and_any_change_renders_again() {
        let cache = RenderedCategories::default();
        let acme = customer();
        let mut states = Arc::new(States::new());
        let mut renders = 0;
        let mut show = |customer: &Customer, states: &Arc<States>, lang: Lang, category: u32| {
            cache
                .ephemeral(customer, category, states, lang, || {
                    renders += 1;
                    message(&format!("render {renders}"))
                })
                .unwrap_or_else(|_| panic!("one message"))
        };
        let first = show(&acme, &states, Lang::En, 1);
        assert_eq!(show(&acme, &states, Lang::En, 1), first);
        // Equal states read again (from PostgreSQL, say) are the same inputs.
        assert_eq!(show(&acme, &Arc::new(States::new()), Lang::En, 1), first);

        // A tick, a renamed customer, another language or category: rendered anew.
        Arc::make_mut(&mut states).insert(
            "1.1.1".into(),
            ItemState {
                done_at: Some(1),
                ..ItemState::default()
            },
        );
        let ticked = show(&acme, &states, Lang::En, 1);
        assert_ne!(ticked, first);
        let mut renamed = acme.clone();
        renamed.name = "Acme Corp".into();
        assert_ne!(show(&renamed, &states, Lang::En, 1), ticked);
        let ja = show(&renamed, &states, Lang::Ja, 1);
        let other_category = show(&renamed, &states, Lang::Ja, 2);
        assert_ne!(ja, other_category);
        assert_eq!(renders, 5);
        let body: serde_json::Value = serde_json::from_slice(&ja).unwrap();
        assert_eq!(body["response_type"], "ephemeral");
        assert_eq!(body["text"], "render 4");
    }

    #[test]
    fn an_answer_of_several_messages_is_not_kept() {
        let cache = RenderedCategories::default();
        let answer = cache.ephemeral(&customer(), 1, &Arc::default(), Lang::En, || {
            let mut two = message("part 1");
            two.extend(message("part 2"));
            two
        });
        assert_eq!(answer.err().map(|parts| parts.len()), Some(2));
        assert!(cache.lock().is_empty());
    }

    #[test]
    fn it_never_keeps_more_than_its_bound() {
        let cache = RenderedCategories::default();
        let mut acme = customer();
        for id in 0..(MAX_KEPT as i64 * 2 + 3) {
            acme.id = id;
            let kept = cache.ephemeral(&acme, 1, &Arc::default(), Lang::En, || message("x"));
            assert!(kept.is_ok());
            assert!(cache.lock().len() <= MAX_KEPT);
        }
    }
}
