//! Roles: a person's role in a workspace, whether they may do something, the audit of
//! a refusal, and role administration (`/readiness roles` and its modal). The Slack
//! edge authorizes with these and renders their outcomes (`blocks::roles`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::UseCases;
use crate::blocks::roles::{DEFAULT, RoleFormProblem};
use crate::delivery::users::Side;
use crate::domain::roles::{Act, Role, effective_role, is_group, may};
use crate::store::audit::{Actor, Source};

/// How long a request waits, in all, for what Slack says of the person (their
/// `users.info` and their user groups' members, asked together): well inside Slack's
/// 3 seconds, with room for the database and the answer.
pub(super) const LOOKUP_BUDGET: Duration = Duration::from_millis(1500);

/// Why someone may not do something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAllowed {
    /// Staff whose role does not allow it.
    Role(Role),
    /// The customer's side (a guest, or of another organisation): no staff role.
    CustomerSide,
    /// Slack did not say in time who the person is.
    Unconfirmed,
}

impl NotAllowed {
    fn as_str(self) -> &'static str {
        match self {
            NotAllowed::Role(role) => role.as_str(),
            NotAllowed::CustomerSide => "customer-side",
            NotAllowed::Unconfirmed => "unconfirmed",
        }
    }
}

/// A role given or taken back with `/readiness roles`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleChanged {
    /// A user group's members now get this role (`None`: the group gives none).
    Group(Option<Role>),
    /// A person's role as it is now, all things counted.
    Person(Role),
}

/// The roles modal's two fields as submitted: the person and the role to give them
/// (`None`: take a given role back), or which field is wrong.
pub fn form_choice<'a>(
    person: Option<&'a str>,
    role: Option<&str>,
) -> Result<(&'a str, Option<Role>), RoleFormProblem> {
    let Some(person) = person.filter(|p| !p.is_empty()) else {
        return Err(RoleFormProblem::NoPerson);
    };
    let role = match role {
        Some(DEFAULT) => None,
        Some(text) => match Role::parse(text) {
            Some(role) => Some(role),
            None => return Err(RoleFormProblem::NoRole),
        },
        None => return Err(RoleFormProblem::NoRole),
    };
    Ok((person, role))
}

impl UseCases {
    /// `user`'s role in `team`: admin for Slack's admins and owners, else the one given
    /// with `/readiness roles`, else the highest of their user groups', else
    /// `default_role`. (Whether they are staff at all is [`UseCases::allowed`]'s
    /// question.)
    pub async fn role_of(
        &self,
        team: &str,
        user: &str,
        default_role: Role,
    ) -> Result<Role, sqlx::Error> {
        let deadline = Instant::now() + LOOKUP_BUDGET;
        let ((own, groups), facts) = tokio::try_join!(
            self.given_roles_by(team, user, default_role, deadline),
            async {
                Ok(self
                    .users
                    .facts_within(
                        team,
                        user,
                        deadline.saturating_duration_since(Instant::now()),
                    )
                    .await)
            }
        )?;
        let slack_admin = facts.is_some_and(|f| f.is_admin && !f.customer_side);
        Ok(effective_role(own, &groups, slack_admin, default_role))
    }

    /// The person's own role, and the roles of the user groups they are in (only asked
    /// of Slack without one of their own), all groups asked together until `deadline`.
    /// A group whose members Slack did not list in time counts as far as it restricts:
    /// its role if that is below the default, so a lookup failing never lifts a
    /// restriction.
    async fn given_roles_by(
        &self,
        team: &str,
        user: &str,
        default_role: Role,
        deadline: Instant,
    ) -> Result<(Option<Role>, Vec<Role>), sqlx::Error> {
        let given = self.store.given_roles(team, user).await?;
        let wait = deadline.saturating_duration_since(Instant::now());
        let lookups = given.groups.iter().map(|(group, role)| async move {
            match self.users.members_within(team, group, wait).await {
                Some(members) if members.contains(user) => Some(*role),
                Some(_) => None,
                None => Some((*role).min(default_role)),
            }
        });
        let roles = futures_util::future::join_all(lookups)
            .await
            .into_iter()
            .flatten()
            .collect();
        Ok((given.own, roles))
    }

    /// Whether `user` may do `act`; if not, why. The customer's side (guests, people of
    /// another organisation, contacts named by a CSM) may do nothing here, reading included, and nor may
    /// someone Slack has not said is staff. What Slack says (the person, their groups)
    /// is asked together under one budget, [`LOOKUP_BUDGET`], so the answer stays
    /// inside Slack's 3 seconds however many groups hold roles.
    pub async fn allowed(
        &self,
        team: &str,
        user: &str,
        act: Act,
        default_role: Role,
    ) -> Result<Result<(), NotAllowed>, sqlx::Error> {
        let deadline = Instant::now() + LOOKUP_BUDGET;
        // A contact a CSM named is the customer's, whatever Slack says.
        let side = self.side_by(team, user, None, deadline);
        let roles = async {
            if act == Act::Read {
                Ok(None)
            } else {
                self.given_roles_by(team, user, default_role, deadline)
                    .await
                    .map(Some)
            }
        };
        let (side, roles) = tokio::try_join!(side, roles)?;
        match side {
            Side::Staff => {}
            Side::Customer => return Ok(Err(NotAllowed::CustomerSide)),
            Side::Unknown => return Ok(Err(NotAllowed::Unconfirmed)),
        }
        let Some((own, groups)) = roles else {
            return Ok(Ok(()));
        };
        // Without Slack's admin flag: the facts are cached by now.
        let role = effective_role(own, &groups, false, default_role);
        if may(role, act) || self.users.is_admin(team, user).await == Some(true) {
            return Ok(Ok(()));
        }
        Ok(Err(NotAllowed::Role(role)))
    }

    /// A refusal in the audit log: who, what, from where, and why.
    pub async fn audit_denial(
        &self,
        team: &str,
        user: &str,
        act: Act,
        why: NotAllowed,
        source: Source,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let entry = Actor::new(user, source)
            .entry(
                team,
                None,
                "access.denied",
                act.as_str(),
                now.timestamp_millis(),
            )
            .with(None, Some(serde_json::json!({ "role": why.as_str() })));
        self.store.audit(&entry).await
    }

    /// `/readiness roles <holder> <role>`: gives `holder` (a person or a user group)
    /// `role`, or takes a given one back (`None`), and says what it is now.
    pub async fn change_role(
        &self,
        team: &str,
        holder: &str,
        role: Option<Role>,
        actor: Actor<'_>,
        default_role: Role,
        now: DateTime<Utc>,
    ) -> Result<RoleChanged, sqlx::Error> {
        self.store.set_role(team, holder, role, actor, now).await?;
        if is_group(holder) {
            return Ok(RoleChanged::Group(role));
        }
        Ok(RoleChanged::Person(
            self.role_of(team, holder, default_role).await?,
        ))
    }

    /// The roles given in workspace `team`, to people and user groups, by holder.
    pub async fn roles_given(&self, team: &str) -> Result<Vec<(String, Role)>, sqlx::Error> {
        self.store.roles(team).await
    }

    /// The roles modal's submission: the person's role, given or taken back (the
    /// caller has been checked for `Administer`), or which field is wrong.
    pub async fn give_role_from_form(
        &self,
        team: &str,
        admin: &str,
        person: Option<&str>,
        role: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Result<(), RoleFormProblem>, sqlx::Error> {
        let (person, role) = match form_choice(person, role) {
            Ok(choice) => choice,
            Err(problem) => return Ok(Err(problem)),
        };
        self.store
            .set_role(team, person, role, Actor::new(admin, Source::Modal), now)
            .await?;
        Ok(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_modal_needs_a_person_and_a_role_or_the_default() {
        assert_eq!(
            form_choice(Some("U1"), Some("agent")),
            Ok(("U1", Some(Role::Agent)))
        );
        assert_eq!(form_choice(Some("U1"), Some(DEFAULT)), Ok(("U1", None)));
        assert_eq!(
            form_choice(None, Some("agent")),
            Err(RoleFormProblem::NoPerson)
        );
        assert_eq!(
            form_choice(Some(""), Some("agent")),
            Err(RoleFormProblem::NoPerson)
        );
        assert_eq!(form_choice(Some("U1"), None), Err(RoleFormProblem::NoRole));
        assert_eq!(
            form_choice(Some("U1"), Some("owner")),
            Err(RoleFormProblem::NoRole)
        );
        // The person is checked first, as the modal shows the fields.
        assert_eq!(form_choice(None, None), Err(RoleFormProblem::NoPerson));
    }

    #[test]
    fn a_refusal_is_audited_with_why() {
        assert_eq!(NotAllowed::Role(Role::Viewer).as_str(), "viewer");
        assert_eq!(NotAllowed::CustomerSide.as_str(), "customer-side");
        assert_eq!(NotAllowed::Unconfirmed.as_str(), "unconfirmed");
    }
}
