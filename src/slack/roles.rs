//! Roles at the edge: the role a request carries, the check before it changes
//! anything (a refusal is answered briefly and audited), and `/readiness roles`. The
//! work is `usecase::roles`'; the sentences are `blocks::roles`'.

use chrono::{DateTime, Utc};

use super::Context;
use super::commands::{Answer, Refusal, SlashCommand};
use crate::blocks::roles as render;
use crate::domain::i18n::Lang;
use crate::domain::roles::{Act, Role};
use crate::store::audit::{Actor, Source};
use crate::usecase::roles::{NotAllowed, RoleChanged};
use tracing::debug;

/// `user`'s role in `team` (see [`crate::usecase::UseCases::role_of`]), with the
/// workspace's default role.
pub async fn role_of(ctx: &Context, team: &str, user: &str) -> Result<Role, sqlx::Error> {
    ctx.usecases.role_of(team, user, ctx.default_role).await
}

/// Whether `user` may do `act`; if not, why (see
/// [`crate::usecase::UseCases::allowed`]).
pub(super) async fn allowed(
    ctx: &Context,
    team: &str,
    user: &str,
    act: Act,
) -> Result<Result<(), NotAllowed>, sqlx::Error> {
    ctx.usecases
        .allowed(team, user, act, ctx.default_role)
        .await
}

/// Lets `user` do `act`, or refuses: the refusal is audited (who, what, from where)
/// and its message, in the person's language, says why (and, to staff, who may).
pub(super) async fn require(
    ctx: &Context,
    team: &str,
    user: &str,
    act: Act,
    source: Source,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    let Err(why) = allowed(ctx, team, user, act).await? else {
        return Ok(());
    };
    Err(refuse(ctx, team, user, act, why, source, now).await)
}

/// The refusal of `act` to `user` for `why`: audited (who, what, from where), and its
/// message, in the person's language, says why (and, to staff, who may).
pub(super) async fn refuse(
    ctx: &Context,
    team: &str,
    user: &str,
    act: Act,
    why: NotAllowed,
    source: Source,
    now: DateTime<Utc>,
) -> Refusal {
    if let Err(e) = audit_refusal(ctx, team, user, act, why, source, now).await {
        return Refusal::Internal(e.into());
    }
    let lang = ctx.usecases.users.lang_for(team, user).await;
    Refusal::Message(match why {
        NotAllowed::Role(role) => render::denied(role, act, lang),
        NotAllowed::CustomerSide => render::customer_side(lang),
        NotAllowed::Unconfirmed => render::unconfirmed(lang),
    })
}

/// A refusal in the audit log, up to a rate per person.
pub(super) async fn audit_refusal(
    ctx: &Context,
    team: &str,
    user: &str,
    act: Act,
    why: NotAllowed,
    source: Source,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    // Audited up to a rate per person; the refusal is answered every time.
    if ctx.limits.audit_denial(team, user) {
        ctx.usecases
            .audit_denial(team, user, act, why, source, now)
            .await?;
    } else {
        debug!(
            user,
            act = act.as_str(),
            "a refusal past the audit rate: not audited"
        );
    }
    Ok(())
}

/// `/readiness roles`: the roles given in this workspace, or (admins) a change.
pub(super) async fn roles_command(
    ctx: &Context,
    cmd: &SlashCommand,
    change: Option<(String, Option<Role>)>,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<Answer, Refusal> {
    if let Some((holder, role)) = change {
        let actor = Actor::new(&cmd.user_id, Source::Command);
        let changed = ctx
            .usecases
            .change_role(&cmd.team_id, &holder, role, actor, ctx.default_role, now)
            .await?;
        return Ok(Answer::Ephemeral(match changed {
            RoleChanged::Group(role) => render::group_role_set(&holder, role, lang),
            RoleChanged::Person(now) => render::person_role_set(&holder, now, lang),
        }));
    }
    let given = ctx.usecases.roles_given(&cmd.team_id).await?;
    Ok(Answer::Ephemeral(render::roles_given(
        &given,
        ctx.default_role,
        lang,
    )))
}

/// The roles modal's submission: the person's role, given or taken back (the caller
/// has been checked for `Administer`). `Err` is the field error to show.
pub(super) async fn roles_submitted(
    ctx: &Context,
    team: &str,
    admin: &str,
    person: Option<&str>,
    role: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Result<(), (&'static str, &'static str)>, sqlx::Error> {
    Ok(ctx
        .usecases
        .give_role_from_form(team, admin, person, role, now)
        .await?
        .map_err(|problem| problem.field()))
}
