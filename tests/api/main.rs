//! End-to-end tests: the real app on port 0 with a fresh database, a Slack test double
//! on 127.0.0.1, and requests signed and shaped like Slack's.

/// Runs one storage scenario against SQLite and, when available, PostgreSQL.
macro_rules! on_both_backends {
    ($name:ident, $scenario:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = crate::support::TestDb::sqlite();
                super::$scenario(&db).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = crate::support::TestDb::postgres().await {
                    super::$scenario(&db).await;
                }
            }
        }
    };
}

mod backup;
mod binary;
mod checklist;
mod conversation;
mod crash;
mod csat;
mod customer_side;
mod delivery;
mod evidence;
mod export;
mod fuzz;
mod hardening;
mod intake;
mod intake_people;
mod language;
mod manifest;
mod plan_team;
mod plan_view;
mod plan_wait;
mod reminders;
mod roles;
mod shell;
mod sla;
mod socket_mode;
mod storage;
mod support;
mod transport;
mod workspaces;
