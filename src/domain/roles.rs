//! Who may do what: four roles per workspace, and one table of what each may do
//! ([`WHO_MAY`], shown in docs/usage.md as it is here).
//!
//! Slack's workspace admins and owners (`users.info`) are always admins here, so no one
//! can lock a workspace out of its own settings. Anyone else has the role an admin gave
//! them with `/readiness roles`; else the highest role given to a Slack user group they
//! are in; else the workspace's default (`csm` unless the settings say otherwise).

use crate::domain::i18n::Lang;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Agent,
    Csm,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Csm, Role::Agent, Role::Viewer];

    pub fn parse(text: &str) -> Option<Role> {
        match text.to_ascii_lowercase().as_str() {
            "admin" => Some(Role::Admin),
            "csm" => Some(Role::Csm),
            "agent" | "support" => Some(Role::Agent),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Csm => "csm",
            Role::Agent => "agent",
            Role::Viewer => "viewer",
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Role::Admin => lang.pick("an admin", "管理者"),
            Role::Csm => lang.pick("a CSM", "CSM"),
            Role::Agent => lang.pick("a support agent", "サポート担当"),
            Role::Viewer => lang.pick("a viewer", "閲覧者"),
        }
    }
}

/// What a request would do, as far as roles are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// See checklists, tickets, reminders, reports and the App Home.
    Read,
    /// Tick, untick, assign, date and annotate checklist items.
    WorkChecklist,
    /// Create customers and change them (tier, CSM, channel, milestones, go-live,
    /// archive), and post their monthly reports in their channels.
    ManageCustomers,
    /// Open tickets, and answer, pause, resume, re-prioritise, escalate and resolve them.
    WorkTickets,
    /// Set and cancel reminders.
    Remind,
    /// Read the audit log.
    ReadAudit,
    /// Change the escalation paths and people's roles.
    Administer,
}

impl Act {
    pub fn describe(self, lang: Lang) -> &'static str {
        match self {
            Act::Read => lang.pick("see this", "閲覧"),
            Act::WorkChecklist => lang.pick("work on checklists", "チェックリストの更新"),
            Act::ManageCustomers => lang.pick("create or change customers", "顧客の作成・変更"),
            Act::WorkTickets => lang.pick("work on tickets", "チケットの対応"),
            Act::Remind => lang.pick("set or cancel reminders", "リマインダーの設定・取り消し"),
            Act::ReadAudit => lang.pick("read the audit log", "監査ログの閲覧"),
            Act::Administer => lang.pick(
                "change escalation paths or roles",
                "エスカレーション経路・ロールの変更",
            ),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Act::Read => "read",
            Act::WorkChecklist => "work_checklist",
            Act::ManageCustomers => "manage_customers",
            Act::WorkTickets => "work_tickets",
            Act::Remind => "remind",
            Act::ReadAudit => "read_audit",
            Act::Administer => "administer",
        }
    }
}

use Role::{Admin, Agent, Csm, Viewer};

/// The one table of who may do what.
pub const WHO_MAY: [(Act, &[Role]); 7] = [
    (Act::Read, &[Admin, Csm, Agent, Viewer]),
    (Act::WorkChecklist, &[Admin, Csm]),
    (Act::ManageCustomers, &[Admin, Csm]),
    (Act::WorkTickets, &[Admin, Csm, Agent]),
    (Act::Remind, &[Admin, Csm, Agent]),
    (Act::ReadAudit, &[Admin, Csm]),
    (Act::Administer, &[Admin]),
];

pub fn may(role: Role, act: Act) -> bool {
    WHO_MAY
        .iter()
        .any(|(a, roles)| *a == act && roles.contains(&role))
}

/// Whose role it is: Slack's admins and owners are admins; else the role given to the
/// person; else the highest given to a user group of theirs; else the default.
pub fn effective_role(
    given: Option<Role>,
    groups: &[Role],
    slack_admin: bool,
    default: Role,
) -> Role {
    if slack_admin {
        Admin
    } else {
        given
            .or_else(|| groups.iter().copied().max())
            .unwrap_or(default)
    }
}

/// Whether a role's holder is a Slack user group (`S…`) rather than a person.
pub fn is_group(holder: &str) -> bool {
    holder.starts_with('S')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_says_who_may_do_what() {
        assert!(may(Viewer, Act::Read));
        for act in [
            Act::WorkChecklist,
            Act::ManageCustomers,
            Act::WorkTickets,
            Act::Remind,
            Act::ReadAudit,
            Act::Administer,
        ] {
            assert!(!may(Viewer, act), "a viewer only reads: {act:?}");
            assert!(may(Admin, act), "an admin may do everything: {act:?}");
        }
        assert!(may(Agent, Act::WorkTickets) && !may(Agent, Act::WorkChecklist));
        assert!(may(Csm, Act::WorkChecklist) && !may(Csm, Act::Administer));
        // Every act is in the table exactly once.
        for (i, (act, _)) in WHO_MAY.iter().enumerate() {
            assert!(WHO_MAY[i + 1..].iter().all(|(other, _)| other != act));
        }
    }

    #[test]
    fn slacks_admins_are_admins_then_a_persons_role_then_their_groups_then_the_default() {
        assert_eq!(
            effective_role(Some(Viewer), &[], true, Csm),
            Admin,
            "no lock-out"
        );
        assert_eq!(effective_role(Some(Viewer), &[Admin], false, Csm), Viewer);
        assert_eq!(effective_role(None, &[], true, Csm), Admin);
        assert_eq!(effective_role(None, &[], false, Csm), Csm);
        assert_eq!(effective_role(None, &[], false, Viewer), Viewer);
        // The highest of a person's groups, even below the default.
        assert_eq!(effective_role(None, &[Viewer, Agent], false, Csm), Agent);
        assert_eq!(effective_role(None, &[Viewer], false, Csm), Viewer);
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("owner"), None);
        assert!(is_group("S0LEADS") && !is_group("U0ANN") && !is_group("W0ANN"));
    }
}
