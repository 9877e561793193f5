//! Rate limits on slash commands, per person and per workspace, so one runaway script
//! cannot crowd out everyone else. Past a limit a command gets a short answer saying
//! when to try again, and nothing else happens. Clicks are not limited: each is one
//! change a person made by hand, and Slack already paces them.
//!
//! GCRA from the governor crate, keyed by user and by workspace, allowing a minute's
//! worth at once; keys unused for a while are dropped now and then, so memory stays
//! bounded by the active users.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::blocks::Message;
use crate::domain::i18n::Lang;

/// How often (in checks) keys that have recovered their whole allowance are dropped.
const FORGET_EVERY: u64 = 10_000;

pub struct CommandLimits {
    per_user: Option<(u32, DefaultKeyedRateLimiter<u64>)>,
    per_workspace: Option<(u32, DefaultKeyedRateLimiter<u64>)>,
    /// Refusals audited per person: [`DENIALS_AT_ONCE`], then one a minute.
    denials: DefaultKeyedRateLimiter<u64>,
    checks: AtomicU64,
}

/// A person's refusals (`access.denied`) audited at once; past that, one a minute.
/// Every refusal is still answered: only its entry is skipped, so one person (or a
/// script in their name) clicking what they may not cannot flood the audit log.
pub const DENIALS_AT_ONCE: u32 = 10;

/// Keys are hashes of the ids, so a check allocates nothing (64 bits: a collision
/// would only share an allowance).
fn key(parts: &[&str]) -> u64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut h = DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

/// Which limit a command ran into, and when it may come again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    User {
        per_minute: u32,
        retry_after: Duration,
    },
    Workspace {
        per_minute: u32,
        retry_after: Duration,
    },
}

fn limiter(per_minute: u32) -> Option<(u32, DefaultKeyedRateLimiter<u64>)> {
    NonZeroU32::new(per_minute).map(|n| (per_minute, RateLimiter::keyed(Quota::per_minute(n))))
}

impl CommandLimits {
    /// Commands a minute allowed per person and per workspace; 0 turns a limit off.
    pub fn new(per_user_per_minute: u32, per_workspace_per_minute: u32) -> Self {
        Self {
            per_user: limiter(per_user_per_minute),
            per_workspace: limiter(per_workspace_per_minute),
            denials: RateLimiter::keyed(
                Quota::per_minute(NonZeroU32::MIN)
                    .allow_burst(NonZeroU32::new(DENIALS_AT_ONCE).expect("not zero")),
            ),
            checks: AtomicU64::new(0),
        }
    }

    /// Whether `user` of `team`'s refusal now is audited (see [`DENIALS_AT_ONCE`]).
    pub fn audit_denial(&self, team: &str, user: &str) -> bool {
        if self.checks.fetch_add(1, Ordering::Relaxed) % FORGET_EVERY == FORGET_EVERY - 1 {
            self.denials.retain_recent();
        }
        self.denials.check_key(&key(&[team, user])).is_ok()
    }

    /// Takes one command from `user` of `team`'s allowance, or says which limit it hit.
    pub fn check(&self, team: &str, user: &str) -> Result<(), Limited> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % FORGET_EVERY == FORGET_EVERY - 1 {
            for (_, l) in [&self.per_user, &self.per_workspace].into_iter().flatten() {
                l.retain_recent();
            }
        }
        if let Some((per_minute, l)) = &self.per_user
            && let Err(not_until) = l.check_key(&key(&[team, user]))
        {
            return Err(Limited::User {
                per_minute: *per_minute,
                retry_after: not_until.wait_time_from(l.clock().now()),
            });
        }
        if let Some((per_minute, l)) = &self.per_workspace
            && let Err(not_until) = l.check_key(&key(&[team]))
        {
            return Err(Limited::Workspace {
                per_minute: *per_minute,
                retry_after: not_until.wait_time_from(l.clock().now()),
            });
        }
        Ok(())
    }
}

impl Limited {
    /// The short answer the command gets.
    pub fn answer(self, lang: Lang) -> Message {
        let (per_minute, retry_after) = match self {
            Limited::User {
                per_minute,
                retry_after,
            }
            | Limited::Workspace {
                per_minute,
                retry_after,
            } => (per_minute, retry_after),
        };
        // Whole seconds, at least one.
        let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        let secs = secs.max(1);
        Message::plain(match (self, lang) {
            (Limited::User { .. }, Lang::En) => format!(
                ":hourglass: That is more than the {per_minute} commands a minute I take from one person. Try again in {secs} s."
            ),
            (Limited::User { .. }, Lang::Ja) => format!(
                ":hourglass: 1 人あたり 1 分に {per_minute} 件までしか受け付けていません。{secs} 秒後にもう一度お試しください。"
            ),
            (Limited::Workspace { .. }, Lang::En) => format!(
                ":hourglass: This workspace is sending more than the {per_minute} commands a minute I take. Try again in {secs} s."
            ),
            (Limited::Workspace { .. }, Lang::Ja) => format!(
                ":hourglass: このワークスペースからのコマンドが 1 分あたり {per_minute} 件を超えました。{secs} 秒後にもう一度お試しください。"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_past_their_limit_is_told_when_to_come_back_and_others_go_on() {
        let limits = CommandLimits::new(3, 5);
        for _ in 0..3 {
            assert_eq!(limits.check("T1", "U1"), Ok(()));
        }
        let Err(
            limited @ Limited::User {
                per_minute: 3,
                retry_after,
            },
        ) = limits.check("T1", "U1")
        else {
            panic!("the fourth command in a minute is refused")
        };
        assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(20));
        assert!(
            limited
                .answer(Lang::En)
                .text
                .contains("3 commands a minute")
        );
        // Someone else in the workspace still gets in, until the workspace's limit.
        assert_eq!(limits.check("T1", "U2"), Ok(()));
        assert_eq!(limits.check("T1", "U2"), Ok(()));
        assert!(matches!(
            limits.check("T1", "U3"),
            Err(Limited::Workspace { per_minute: 5, .. })
        ));
        // Another workspace is not affected.
        assert_eq!(limits.check("T2", "U1"), Ok(()));
    }

    #[test]
    fn zero_turns_a_limit_off() {
        let limits = CommandLimits::new(0, 0);
        for _ in 0..10_000 {
            assert_eq!(limits.check("T1", "U1"), Ok(()));
        }
    }
}
