//! Roles at the edge: the role a request carries, the check before it changes
//! anything (a refusal is answered briefly and audited), and `/readiness roles`.

use chrono::{DateTime, Utc};
use std::time::Duration;

use tokio::time::Instant;

use super::Context;
use super::commands::{Answer, Refusal, SlashCommand};
use crate::blocks::{Message, escape};
use crate::delivery::users::Side;
use crate::domain::i18n::Lang;
use crate::domain::roles::{Act, Role, WHO_MAY, effective_role, is_group, may};
use crate::store::audit::{Actor, Source};
use tracing::debug;

/// How long a request waits, in all, for what Slack says of the person (their
/// `users.info` and their user groups' members, asked together): well inside Slack's
/// 3 seconds, with room for the database and the answer.
const LOOKUP_BUDGET: Duration = Duration::from_millis(1500);

/// `user`'s role in `team`: admin for Slack's admins and owners, else the one given
/// with `/readiness roles`, else the highest of their user groups', else the default.
/// (Whether they are staff at all is [`allowed`]'s question.)
pub async fn role_of(ctx: &Context, team: &str, user: &str) -> Result<Role, sqlx::Error> {
    let deadline = Instant::now() + LOOKUP_BUDGET;
    let ((own, groups), facts) = tokio::try_join!(given(ctx, team, user, deadline), async {
        Ok(ctx
            .usecases
            .users
            .facts_within(
                team,
                user,
                deadline.saturating_duration_since(Instant::now()),
            )
            .await)
    })?;
    let slack_admin = facts.is_some_and(|f| f.is_admin && !f.customer_side);
    Ok(effective_role(own, &groups, slack_admin, ctx.default_role))
}

/// The person's own role, and the roles of the user groups they are in (only asked of
/// Slack without one of their own), all groups asked together until `deadline`. A
/// group whose members Slack did not list in time counts as far as it restricts: its
/// role if that is below the default, so a lookup failing never lifts a restriction.
async fn given(
    ctx: &Context,
    team: &str,
    user: &str,
    deadline: Instant,
) -> Result<(Option<Role>, Vec<Role>), sqlx::Error> {
    let given = ctx.usecases.store.given_roles(team, user).await?;
    let wait = deadline.saturating_duration_since(Instant::now());
    let lookups = given.groups.iter().map(|(group, role)| async move {
        match ctx.usecases.users.members_within(team, group, wait).await {
            Some(members) if members.contains(user) => Some(*role),
            Some(_) => None,
            None => Some((*role).min(ctx.default_role)),
        }
    });
    let roles = futures_util::future::join_all(lookups)
        .await
        .into_iter()
        .flatten()
        .collect();
    Ok((given.own, roles))
}

/// How a role's holder is mentioned: a person, or a user group.
fn mention(holder: &str) -> String {
    if is_group(holder) {
        format!("<!subteam^{}>", escape(holder))
    } else {
        format!("<@{}>", escape(holder))
    }
}

/// Why someone may not do something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NotAllowed {
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

/// Whether `user` may do `act`; if not, why. The customer's side (guests, people of
/// another organisation) may do nothing here, reading included, and nor may someone
/// Slack has not said is staff. What Slack says (the person, their groups) is asked
/// together under one budget, [`LOOKUP_BUDGET`], so the answer stays inside Slack's
/// 3 seconds however many groups hold roles.
pub(super) async fn allowed(
    ctx: &Context,
    team: &str,
    user: &str,
    act: Act,
) -> Result<Result<(), NotAllowed>, sqlx::Error> {
    let deadline = Instant::now() + LOOKUP_BUDGET;
    let side = async {
        Ok(ctx
            .usecases
            .users
            .side_within(
                team,
                user,
                deadline.saturating_duration_since(Instant::now()),
            )
            .await)
    };
    let roles = async {
        if act == Act::Read {
            Ok(None)
        } else {
            given(ctx, team, user, deadline).await.map(Some)
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
    let role = effective_role(own, &groups, false, ctx.default_role);
    if may(role, act) || ctx.usecases.users.is_admin(team, user).await == Some(true) {
        return Ok(Ok(()));
    }
    Ok(Err(NotAllowed::Role(role)))
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
    // Audited up to a rate per person; the refusal is answered every time.
    if ctx.limits.audit_denial(team, user) {
        let entry = Actor::new(user, source)
            .entry(
                team,
                None,
                "access.denied",
                act.as_str(),
                now.timestamp_millis(),
            )
            .with(None, Some(serde_json::json!({ "role": why.as_str() })));
        ctx.usecases.store.audit(&entry).await?;
    } else {
        debug!(
            user,
            act = act.as_str(),
            "a refusal past the audit rate: not audited"
        );
    }
    let lang = ctx.usecases.users.lang_for(team, user).await;
    Err(Refusal::Message(match why {
        NotAllowed::Role(role) => denied(role, act, lang),
        NotAllowed::CustomerSide => customer_side(lang),
        NotAllowed::Unconfirmed => unconfirmed(lang),
    }))
}

/// The answer to a guest or a person of another organisation.
fn customer_side(lang: Lang) -> Message {
    Message::plain(lang.pick(
        ":no_entry: Sorry, you can't do that: Readiness is for this workspace's own team, and guests and people of other organisations can't use it here.",
        ":no_entry: この操作はできません。Readiness はこのワークスペースのチーム向けで、ゲストや他の組織の方はここでは使えません。",
    ))
}

/// The answer when Slack did not say in time who the person is.
fn unconfirmed(lang: Lang) -> Message {
    Message::plain(lang.pick(
        ":hourglass: Slack did not tell me in time who you are, so nothing was done. Please try again in a moment.",
        ":hourglass: Slack からあなたの情報を時間内に取得できなかったため、何も行いませんでした。少し待ってからもう一度お試しください。",
    ))
}

fn denied(role: Role, act: Act, lang: Lang) -> Message {
    let who: Vec<&str> = WHO_MAY
        .iter()
        .find(|(a, _)| *a == act)
        .map(|(_, roles)| roles.iter().map(|r| r.as_str()).collect())
        .unwrap_or_default();
    Message::plain(match lang {
        Lang::En => format!(
            ":no_entry: You are {} here; to {}, ask for one of these roles: {}. An admin gives roles with `/readiness roles`.",
            role.label(lang),
            act.describe(lang),
            who.join(", ")
        ),
        Lang::Ja => format!(
            ":no_entry: あなたのロールは{}です。{}には次のロールが必要です：{}。ロールは管理者が `/readiness roles` で付与します。",
            role.label(lang),
            act.describe(lang),
            who.join("、")
        ),
    })
}

/// `/readiness roles`: the roles given in this workspace, or (admins) a change.
pub(super) async fn roles_command(
    ctx: &Context,
    cmd: &SlashCommand,
    change: Option<(String, Option<Role>)>,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<Answer, Refusal> {
    if let Some((user, role)) = change {
        ctx.usecases
            .store
            .set_role(
                &cmd.team_id,
                &user,
                role,
                Actor::new(&cmd.user_id, Source::Command),
                now,
            )
            .await?;
        let who = mention(&user);
        if is_group(&user) {
            return Ok(Answer::Ephemeral(Message::plain(match (lang, role) {
                (Lang::En, Some(role)) => format!(
                    ":white_check_mark: Members of {who} are now {} (unless given a role of their own).",
                    role.label(lang)
                ),
                (Lang::En, None) => format!(":white_check_mark: {who} no longer gives a role."),
                (Lang::Ja, Some(role)) => format!(
                    ":white_check_mark: {who} のメンバーのロールを{}にしました（個別のロールがある人を除く）。",
                    role.label(lang)
                ),
                (Lang::Ja, None) => {
                    format!(":white_check_mark: {who} のロール付与を解除しました。")
                }
            })));
        }
        let now = role_of(ctx, &cmd.team_id, &user).await?;
        return Ok(Answer::Ephemeral(Message::plain(match lang {
            Lang::En => format!(":white_check_mark: {who} is now {}.", now.label(lang)),
            Lang::Ja => format!(
                ":white_check_mark: {who} のロールを{}にしました。",
                now.label(lang)
            ),
        })));
    }
    let given = ctx.usecases.store.roles(&cmd.team_id).await?;
    let mut lines = vec![match lang {
        Lang::En => format!(
            "*Roles*: workspace admins and owners are admins; everyone else is {} unless given a role here, themselves or through a user group.",
            ctx.default_role.label(lang)
        ),
        Lang::Ja => format!(
            "*ロール*：ワークスペースの管理者・オーナーは管理者、それ以外の人は個別に付与されない限り{}です。",
            ctx.default_role.label(lang)
        ),
    }];
    for role in Role::ALL {
        let people: Vec<String> = given
            .iter()
            .filter(|(_, r)| *r == role)
            .map(|(holder, _)| mention(holder))
            .collect();
        if !people.is_empty() {
            lines.push(format!("`{}` {}", role.as_str(), people.join(" ")));
        }
    }
    Ok(Answer::Ephemeral(crate::blocks::roles::roles_list(
        lines.join("\n"),
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
    use crate::blocks::roles::{DEFAULT, PERSON, ROLE};
    let Some(person) = person.filter(|p| !p.is_empty()) else {
        return Ok(Err((PERSON, "Pick a person.")));
    };
    let role = match role {
        Some(DEFAULT) => None,
        Some(text) => match Role::parse(text) {
            Some(role) => Some(role),
            None => return Ok(Err((ROLE, "Pick a role."))),
        },
        None => return Ok(Err((ROLE, "Pick a role."))),
    };
    ctx.usecases
        .store
        .set_role(team, person, role, Actor::new(admin, Source::Modal), now)
        .await?;
    Ok(Ok(()))
}
