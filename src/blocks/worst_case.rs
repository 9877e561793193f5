//! Every surface the app renders, fed the worst text people can store (issue 13, item
//! 6): names, summaries, notes, labels and reminder texts of thousands of characters
//! made of what grows when escaped (`&`, `<`, `>`), what Slack reads as markup
//! (`<!channel>`, `*`, `` ` ``), four-byte and wide characters, newlines and control
//! characters. Whatever is stored, each result must stay inside `limits`: past them
//! Slack answers `invalid_blocks` and the user sees nothing.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use proptest::prelude::*;
use serde_json::Value;
use slack_morphism::prelude::*;

use super::home::{DueItem, HomeCustomer, HomeInput, HomeTicket};
use super::report::ReportInput;
use super::ticket::Escalation;
use super::{Message, limits};
use crate::domain::audit::AuditRecord;
use crate::domain::calendar::Calendar;
use crate::domain::checklist::{ItemState, Progress, States, Tier};
use crate::domain::customer::Customer;
use crate::domain::i18n::Lang;
use crate::domain::policy::Policy;
use crate::domain::reminder::ReminderRecord;
use crate::domain::report::{Attainment, Breach, Month, PriorityRow, SlaReport, WeekPoint};
use crate::domain::roles::Role;
use crate::domain::sla::{Priority, Target};
use crate::domain::template::Template;
use crate::domain::ticket::{Action, Ticket};

/// What stored text is made of, at its worst.
const PIECES: &[&str] = &[
    "&",
    "<",
    ">",
    "&amp;",
    "<!channel>",
    "<@U123>",
    "😀",
    "セキュリティ",
    "*",
    "`",
    "_",
    "~",
    "\n",
    "\"",
    "\\",
    "\u{1}",
    " ",
    "a",
];

const LANGS: [Lang; 2] = [Lang::En, Lang::Ja];

/// Text of `0..pieces` pieces: up to several thousand characters, more once escaped.
fn nasty(pieces: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..pieces).prop_map(|p| p.concat())
}

/// The texts one render is fed.
#[derive(Debug, Clone)]
struct Texts {
    name: String,
    summary: String,
    note: String,
    reminder: String,
    label: String,
}

fn texts() -> impl Strategy<Value = Texts> {
    (
        nasty(800),
        nasty(1500),
        nasty(1500),
        nasty(1500),
        nasty(400),
    )
        .prop_map(|(name, summary, note, reminder, label)| Texts {
            name,
            summary,
            note,
            reminder,
            label,
        })
}

/// Fixed extremes the generator may not reach: the longest runs of the worst pieces.
fn extremes() -> Vec<Texts> {
    let all = |s: &str| Texts {
        name: s.repeat(4000 / s.chars().count().max(1)),
        summary: s.repeat(4000 / s.chars().count().max(1)),
        note: s.repeat(4000 / s.chars().count().max(1)),
        reminder: s.repeat(4000 / s.chars().count().max(1)),
        label: s.repeat(400 / s.chars().count().max(1)),
    };
    let mut cases: Vec<Texts> = ["&", "<", "&amp;", "<!channel>", "😀", "\n", "*", "`"]
        .into_iter()
        .map(all)
        .collect();
    cases.push(Texts {
        name: "&amp;".repeat(700),
        summary: "&".repeat(2000),
        note: String::new(),
        reminder: String::new(),
        label: String::new(),
    });
    cases.push(Texts {
        name: String::new(),
        summary: String::new(),
        note: String::new(),
        reminder: String::new(),
        label: String::new(),
    });
    cases
}

fn check_message(what: &str, message: &Message) {
    let v = serde_json::to_value(message).unwrap();
    if let Err(e) = limits::check_message(&v) {
        panic!("{what}: {e}");
    }
}

fn check_view(what: &str, view: &SlackView) {
    let v: Value = serde_json::to_value(view).unwrap();
    if let Err(e) = limits::check_view(&v) {
        panic!("{what}: {e}");
    }
}

fn customer(id: i64, name: &str) -> Customer {
    Customer {
        id,
        slug: format!(
            "{id}{}",
            "a".repeat(crate::domain::slug::MAX_SLUG_CHARS - 4)
        ),
        name: name.to_string(),
        tier: [Tier::Standard, Tier::Professional, Tier::Enterprise][id as usize % 3],
        channel_id: Some(format!("C{id:09}")),
        csm: Some("U0CSM".into()),
        ..crate::blocks::checklist::tests::customer()
    }
}

fn opened() -> DateTime<Utc> {
    crate::domain::tokyo(2026, 11, 24, 10, 0)
}

fn now() -> DateTime<Utc> {
    opened() + Duration::minutes(90)
}

/// Ticket `number` of `customer_id`, in one of its states: running, paused, answered,
/// resolved.
fn ticket(number: i64, customer_id: i64, summary: &str, cal: &Calendar) -> Ticket {
    let mut t = Ticket {
        id: number,
        number,
        assignee: Some("U0ASSIGNEE".into()),
        ..Ticket::new(
            "T1",
            customer_id,
            "C1",
            Priority::ALL[number as usize % 4],
            summary,
            "UREP",
            opened(),
        )
    };
    let at = opened() + Duration::minutes(5);
    match number % 4 {
        1 => t.apply(&Action::Pause, "U", cal, at).unwrap(),
        2 => t.apply(&Action::Respond, "U", cal, at).unwrap(),
        3 => t.apply(&Action::Resolve, "U", cal, at).unwrap(),
        _ => {}
    }
    t
}

/// A piece of evidence with the worst text in every field a person or a file gives.
fn worst_evidence(n: usize, t: &Texts) -> crate::domain::evidence::Evidence {
    use crate::domain::evidence::{Evidence, EvidenceKind};
    let file = n % 2 == 1;
    Evidence {
        id: n as i64,
        team_id: "T1".into(),
        customer_id: 1,
        item_key: "1.1.1".into(),
        kind: if file {
            EvidenceKind::File
        } else {
            EvidenceKind::Link
        },
        url: format!("https://example.com/{}", "x".repeat(2980)),
        file_id: file.then(|| format!("F{n}")),
        file_name: file.then(|| t.name.chars().take(255).collect()),
        note: Some(t.note.clone()),
        added_by: "U0123456789".into(),
        added_at: 0,
    }
}

/// Every item assigned, due, noted, some done and some N/A.
fn states(template: &Template, note: &str) -> States {
    template
        .items()
        .enumerate()
        .map(|(n, item)| {
            let state = ItemState {
                done_by: (n % 2 == 0).then(|| "U1".into()),
                done_at: (n % 2 == 0).then_some(1),
                not_applicable: item.if_needed && n % 3 == 0,
                assignee: Some("U0123456789".into()),
                due: NaiveDate::from_ymd_opt(2026, 11, 1),
                note: Some(note.to_string()),
                // The most an item holds: the widest paperclip.
                evidence: crate::domain::evidence::MAX_PER_ITEM,
            };
            (item.key.clone(), state)
        })
        .collect()
}

/// The worst health there is to show: every count at its largest.
fn worst_standing() -> crate::domain::plan::Standing {
    crate::domain::plan::Standing {
        health: crate::domain::plan::Health::Behind,
        overdue: usize::MAX,
        due_soon: usize::MAX,
        today: NaiveDate::MAX,
    }
}

/// A reminder of any kind, to render.
pub(super) fn reminder(id: i64, text: &str) -> ReminderRecord {
    ReminderRecord {
        id,
        plan: crate::domain::reminder::ReminderPlan {
            team_id: "T1".into(),
            customer_id: 1,
            kind: ["custom", "item_due", "digest", "hypercare"][id as usize % 4].into(),
            unique_key: None,
            item_key: None,
            recipient: (id % 2 == 0).then(|| "U0RECIPIENT".into()),
            text: text.to_string(),
            recurrence: None,
            tz: "Asia/Tokyo".into(),
            until_at: None,
        },
        next_due_at: Some(1_800_000_000_000),
        occurrence: 0,
        status: "active".into(),
        created_by: "U1".into(),
        created_at: 0,
    }
}

fn audit_entry(i: i64, t: &Texts) -> AuditRecord {
    AuditRecord {
        id: i,
        team_id: "T1".into(),
        customer_id: Some(1),
        actor: "U1".into(),
        source: "button".into(),
        action: "item.changed".into(),
        subject: t.label.clone(),
        before: Some(serde_json::json!({"note": t.note, "name": t.name, "assignee": null})),
        after: Some(serde_json::json!({"note": t.summary, "name": t.label, "assignee": "U2"})),
        at: 1_800_000_000_000 + i,
    }
}

fn sla_report(breaches: usize) -> SlaReport {
    let attainment = Attainment {
        measured: 3,
        met: 2,
        median: Some(Duration::minutes(10)),
        p90: Some(Duration::minutes(60)),
    };
    SlaReport {
        rows: Priority::ALL
            .iter()
            .map(|&priority| PriorityRow {
                priority,
                opened: 4,
                first_response: attainment.clone(),
                resolution: attainment.clone(),
            })
            .collect(),
        breaches: (0..breaches as i64)
            .map(|n| Breach {
                ticket_id: n,
                number: n,
                priority: Priority::P0,
                target: Target::Resolution,
                over: Duration::hours(n),
                channel_id: "C1".into(),
                ts: None,
            })
            .collect(),
        weeks: (0..6)
            .map(|w| WeekPoint {
                week_start: NaiveDate::from_ymd_opt(2026, 10, 26).unwrap() + Duration::weeks(w),
                measured: 4,
                met: 2,
            })
            .collect(),
        next_responses: [crate::domain::report::NextResponseCount {
            met: u32::MAX,
            breached: u32::MAX,
        }; 4],
    }
}

/// Renders every surface with `t` and checks each against Slack's limits.
fn every_surface(t: &Texts) {
    let policy = Policy::default();
    let template = Template::builtin();
    let cal = policy.calendar(Tier::Enterprise);
    let acme = customer(1, &t.name);
    let many: Vec<Customer> = (1..=120).map(|id| customer(id, &t.name)).collect();
    let states = states(&template, &t.note);
    let tickets: Vec<Ticket> = (1..=200)
        .map(|n| ticket(n, n % 120 + 1, &t.summary, &cal))
        .collect();
    let named = vec!["<@U1>".to_string(), "<!subteam^S1>".to_string()];

    for lang in LANGS {
        // The checklist: overview, every category, the assignment DM.
        check_message(
            "overview",
            &super::checklist::overview(&template, &acme, &states, Some(&worst_standing()), lang),
        );
        for category in &template.categories {
            for m in super::checklist::category_messages(&acme, category, &states, lang) {
                check_message("category", &m);
            }
        }
        check_message(
            "plan",
            &super::plan::plan(
                &super::plan::PlanInput {
                    customer: &acme,
                    view: template.for_tier(acme.tier),
                    states: &states,
                    today: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
                    calendar: &cal,
                },
                lang,
            ),
        );
        let item = template.items().next().unwrap();
        check_message(
            "assigned DM",
            &super::checklist::assigned_dm(
                &acme,
                item,
                "U1",
                NaiveDate::from_ymd_opt(2026, 12, 1),
                lang,
            ),
        );

        // Tickets: the ticket in each state, its escalations, the list.
        for ticket in tickets.iter().take(4) {
            check_message(
                "ticket",
                &super::ticket::ticket_message(ticket, &t.name, &policy, &cal, now(), lang),
            );
            for percent in [50, 100, 300] {
                let e = Escalation {
                    ticket,
                    target: Target::FirstResponse,
                    percent,
                    target_length: Duration::hours(1),
                    named: &named,
                    late_since: Some(opened()),
                    due: Some(opened() + Duration::hours(1)),
                };
                check_message("escalation", &super::ticket::escalation(&e, &cal, lang));
            }
            check_message(
                "manual escalation",
                &super::ticket::manual_escalation(ticket, "U1", &named, lang),
            );
            let past: Vec<_> = Target::ALL
                .into_iter()
                .map(|target| (target, ticket.sla_state(&policy, &cal, target, now())))
                .collect();
            check_message(
                "priority change",
                &super::ticket::priority_changed(
                    &super::ticket::PriorityChange {
                        ticket,
                        from: Priority::P3,
                        by: "U1",
                        past: &past,
                    },
                    &cal,
                    lang,
                ),
            );
        }
        let rows: Vec<(Ticket, &str, &Calendar)> = tickets
            .iter()
            .map(|ticket| (ticket.clone(), t.name.as_str(), &cal))
            .collect();
        check_message(
            "tickets",
            &super::ticket::ticket_list(&rows, &policy, now(), lang),
        );
        check_message(
            "not a customer channel",
            &super::ticket_modal::not_a_customer_channel(lang),
        );
        check_message(
            "ticket without a channel",
            &super::ticket::no_channel(&acme, lang),
        );
        check_message(
            "opened= refused",
            &super::ticket::opened_no_such_local_time(opened().naive_utc(), lang),
        );
        check_message(
            "opened= refused",
            &super::ticket::opened_in_the_future(lang),
        );
        check_message(
            "opened= refused",
            &super::ticket::opened_too_long_ago(i64::MAX, lang),
        );
        let paths: Vec<(Priority, Vec<String>)> = Priority::ALL
            .into_iter()
            .map(|p| (p, named.clone()))
            .collect();
        check_message(
            "escalation paths",
            &super::ticket::escalation_paths(&paths, true, lang),
        );

        // The App Home, first and a middle page.
        let homes: Vec<HomeCustomer<'_>> = many
            .iter()
            .map(|c| HomeCustomer {
                customer: c,
                overall: Progress {
                    done: 3,
                    applicable: 95,
                },
                categories: (0..12)
                    .map(|i| {
                        (
                            format!("{}{i}", t.label),
                            Progress {
                                done: i,
                                applicable: 12,
                            },
                        )
                    })
                    .collect(),
                standing: Some(worst_standing()),
            })
            .collect();
        let due: Vec<DueItem<'_>> = many
            .iter()
            .map(|c| DueItem {
                customer: c,
                key: &t.label,
                label: &t.note,
                due: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
            })
            .collect();
        for page in [0, 5] {
            let input = HomeInput {
                viewer: "U0VIEWER",
                customers: homes.clone(),
                tickets: tickets
                    .iter()
                    .map(|ticket| HomeTicket {
                        ticket,
                        customer_name: &t.name,
                        calendar: &cal,
                    })
                    .collect(),
                due_this_week: due.clone(),
                page,
                csat_last_30_days: Some(crate::domain::csat::CsatSummary {
                    answered: u32::MAX,
                    good: u32::MAX,
                }),
            };
            check_view(
                "home",
                &super::home::home_view(&input, &policy, now(), lang),
            );
        }
        check_view("customer-side home", &super::home::customer_side_home(lang));

        // Reminders: a custom one, the due DM, the digest, milestones, the list.
        check_message(
            "custom reminder",
            &super::reminders::custom(&t.reminder, "U1", lang),
        );
        check_message(
            "item due",
            &super::reminders::item_due(
                &acme,
                item,
                NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
                lang,
            ),
        );
        check_message(
            "item due after waiting",
            &super::reminders::item_due_after_waiting(
                &acme,
                item,
                NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
                lang,
            ),
        );
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let overdue = super::reminders::overdue(&template, &states, today);
        check_message(
            "digest",
            &super::reminders::digest(&acme, &overdue, today, Some(&worst_standing()), lang),
        );
        check_message(
            "empty digest",
            &super::reminders::digest(&acme, &[], today, None, lang),
        );
        for kind in crate::domain::policy::MILESTONES
            .iter()
            .chain(&["hypercare_end", "other"])
        {
            check_message(
                "milestone",
                &super::reminders::milestone(&acme, kind, &t.label, lang),
            );
        }
        let reminders: Vec<(ReminderRecord, &str)> = (1..=40)
            .map(|id| (reminder(id, &t.reminder), t.name.as_str()))
            .collect();
        check_message(
            "reminders",
            &super::reminders::list(&reminders, &|_| Some(t.label.clone()), lang),
        );
        check_message(
            "scheduled",
            &super::reminders::scheduled(
                &reminders[0].0,
                Some(t.label.clone()),
                chrono_tz::Asia::Tokyo,
                lang,
            ),
        );

        check_message(
            "reminders after cancel",
            &super::reminders::after_cancel(Some(&reminders[0].0), &reminders, lang),
        );
        check_message("archived", &super::reminders::archived(&acme, lang));
        let mut gone_live = acme.clone();
        gone_live.golive_on = Some(today);
        for customer in [&acme, &gone_live] {
            check_message(
                "golive proposed",
                &super::reminders::golive_proposed(customer, today, chrono_tz::Asia::Tokyo, lang),
            );
        }
        let planned: Vec<ReminderRecord> = reminders.iter().map(|(r, _)| r.clone()).collect();
        check_message(
            "golive planned",
            &super::reminders::golive_planned(&acme, today, &planned, lang),
        );
        check_message(
            "golive planned nothing",
            &super::reminders::golive_planned(&acme, today, &[], lang),
        );

        // The monthly report.
        let links = HashMap::new();
        let sla = sla_report(40);
        let report = ReportInput {
            customer: &acme,
            month: Month::parse("2026-11").unwrap(),
            overall: Progress {
                done: 12,
                applicable: 20,
            },
            categories: (0..40)
                .map(|i| {
                    (
                        format!("{i} {}", t.label),
                        Progress {
                            done: 1,
                            applicable: 2,
                        },
                    )
                })
                .collect(),
            sla: &sla,
            availability: &t.label,
            links: &links,
            csat: &[crate::domain::csat::CsatSummary {
                answered: u32::MAX,
                good: 0,
            }; 4],
        };
        check_message("report", &super::report::report_message(&report, lang));

        // Help with the caller's customers, and the answers to bad input.
        let listed: Vec<(Customer, Progress)> = many
            .iter()
            .take(40)
            .map(|c| {
                (
                    c.clone(),
                    Progress {
                        done: 1,
                        applicable: 2,
                    },
                )
            })
            .collect();
        for who in [
            super::help::Listed::Yours { others: 7 },
            super::help::Listed::Workspace,
        ] {
            check_message("help", &super::help::help(&template, &listed, who, lang));
        }
        check_message(
            "error with usage",
            &super::help::error_with_usage(&t.summary, &t.label, lang),
        );
        for error in [
            crate::domain::command::ParseError::UnknownSubcommand(t.summary.clone()),
            crate::domain::command::ParseError::Usage {
                form: crate::domain::command::Form::New,
                problem: crate::domain::command::Problem::BadTier(t.summary.clone()),
            },
        ] {
            check_message("parse error", &super::help::parse_error(&error, lang));
        }
        let form = crate::domain::command::Form::Done;
        for refusal in [
            super::help::unknown_item(&t.summary, false, form, lang),
            super::help::unknown_category(&t.summary, &template.categories, lang),
            super::help::name_the_customer_too(&t.summary, lang),
            super::help::parse_error(
                &crate::domain::command::ParseError::Usage {
                    form: crate::domain::command::Form::Remind,
                    problem: crate::domain::command::Problem::BadWhen(
                        crate::domain::schedule::WhenError::BadMonths(t.summary.clone()),
                    ),
                },
                lang,
            ),
        ] {
            check_message("refusal", &refusal);
        }

        // The customer answers: not found, ambiguous, taken, created.
        let ten = &many[..10];
        let customer_answers = [
            super::customer::unknown(&t.name, ten, &t.label, lang),
            super::customer::ambiguous(&t.name, ten, &t.label, lang),
            super::customer::name_one(ten, &t.label, lang),
            super::customer::name_taken(&acme, lang),
            super::customer::name_of_another(&acme, lang),
            super::customer::slug_taken(&acme, lang),
            super::customer::created(&acme, None, true, lang),
            // The most contacts, each with the longest id a mention may have.
            super::customer::saved(
                super::customer::describe(
                    &acme,
                    &crate::domain::policy::MILESTONES.map(|k| (k, false)),
                    crate::domain::policy::IntakeMode::Auto,
                    &(0..crate::domain::command::MAX_CONTACTS)
                        .map(|i| format!("U{i:023}"))
                        .collect::<Vec<_>>(),
                    lang,
                ),
                3,
                lang,
            ),
        ];
        for answer in &customer_answers {
            check_message("customer answer", answer);
        }

        // The onboarding team: every role held by the longest id, every count huge,
        // and the most people one change can name.
        let people: Vec<String> = (0..crate::domain::template::Owner::ALL.len())
            .map(|i| format!("U{i:023}"))
            .collect();
        let held: Vec<crate::domain::team::RoleHeld> = crate::domain::template::Owner::ALL
            .iter()
            .zip(&people)
            .map(|(&role, user)| crate::domain::team::RoleHeld {
                role,
                holder: Some(user.clone()),
                items: usize::MAX,
                theirs: usize::MAX,
                open: usize::MAX,
            })
            .collect();
        check_message("team", &super::team::shown(&acme, &held, lang));
        check_message(
            "team changed",
            &super::team::changed(&acme, usize::MAX, &people, Some(&people[0]), &held, lang),
        );
        check_message(
            "team DM",
            &super::team::named_dm(
                &acme,
                &crate::domain::template::Owner::ALL,
                usize::MAX,
                NaiveDate::from_ymd_opt(2026, 12, 1),
                &people[0],
                lang,
            ),
        );

        // The audit list.
        let entries: Vec<AuditRecord> = (0..60).map(|i| audit_entry(i, t)).collect();
        let names = HashMap::from([(1, t.name.clone())]);
        check_message("audit", &super::audit::recent(&entries, &names, lang));

        // The modals.
        let if_needed = template.items().find(|i| i.if_needed).unwrap();
        // Holding all but one piece (the fields still offered), and holding the most.
        let held: Vec<crate::domain::evidence::Evidence> = (0
            ..crate::domain::evidence::MAX_PER_ITEM)
            .map(|n| worst_evidence(n, t))
            .collect();
        for evidence in [&held[1..], &held[..]] {
            check_view(
                "item modal",
                &super::item_modal::item_modal(
                    &acme,
                    if_needed,
                    &states[&if_needed.key],
                    &[],
                    evidence,
                    lang,
                ),
            );
        }
        let meta = super::ticket_modal::TicketModalMetadata::default();
        check_view(
            "ticket modal",
            &super::ticket_modal::ticket_modal(None, &many, Some(&t.summary), &meta, lang),
        );
        check_view(
            "ticket modal in a channel",
            &super::ticket_modal::ticket_modal(Some(&acme), &[], Some(&t.summary), &meta, lang),
        );
        let overview =
            super::checklist::overview(&template, &acme, &states, Some(&worst_standing()), lang);
        check_view(
            "overview modal",
            &super::modal_of(&t.name, overview.blocks, "Close"),
        );
        // A category as the App Home shows it: all its parts in one modal.
        for category in &template.categories {
            let blocks = super::checklist::category_messages(&acme, category, &states, lang)
                .into_iter()
                .flat_map(|m| m.blocks)
                .collect();
            check_view("category modal", &super::modal_of(&t.label, blocks, "Back"));
        }

        // Roles.
        // The list's text is built by the command from escaped holders.
        let roles = format!("*Roles*\n{}", super::escape(&t.summary));
        check_message("roles", &super::roles::roles_list(roles, lang));
        check_view("roles modal", &super::roles::roles_modal(lang));
        // Every role given to many people and user groups (ids are Slack's: short).
        let holders: Vec<(String, Role)> = Role::ALL
            .iter()
            .flat_map(|role| {
                (0..100)
                    .flat_map(move |i| [(format!("U{i:010}"), *role), (format!("S{i:010}"), *role)])
            })
            .collect();
        check_message(
            "roles given",
            &super::roles::roles_given(&holders, Role::Viewer, lang),
        );
        for role in [Some(Role::Admin), None] {
            check_message(
                "group role set",
                &super::roles::group_role_set(&format!("S{}", t.summary), role, lang),
            );
        }
        check_message(
            "person role set",
            &super::roles::person_role_set(&format!("U{}", t.summary), Role::Csm, lang),
        );
        for act in crate::domain::roles::WHO_MAY.map(|(act, _)| act) {
            check_message("denied", &super::roles::denied(Role::Viewer, act, lang));
        }
        check_message("customer side", &super::roles::customer_side(lang));
        check_message("unconfirmed", &super::roles::unconfirmed(lang));

        // What a CSM hears of the customer's channel.
        check_message(
            "channel archived",
            &super::channel::archived(&acme, "C0123456789", lang),
        );
        check_message(
            "channel left",
            &super::channel::left(&acme, "C0123456789", lang),
        );
        check_message(
            "channel renamed",
            &super::channel::renamed(&acme, &t.name, lang),
        );

        // The report command's answers.
        check_message("report without a channel", &super::report::no_channel(lang));
        let month = Month::containing(now(), chrono_tz::UTC);
        check_message(
            "report being posted",
            &super::report::being_posted(&acme, month, "C0123456789", lang),
        );

        // A plain answer.
        let answer = format!(":warning: *{}*", super::escape(&t.summary));
        check_message("plain", &Message::plain(answer));
    }
}

#[test]
fn every_surface_stays_within_limits_for_the_worst_fixed_texts() {
    for t in extremes() {
        every_surface(&t);
    }
}

/// The case of the issue: 700 `&` sent as `&amp;` and stored as is, a summary of 2,000
/// `&`: the list answered a section of 6,888 characters.
#[test]
fn a_name_of_seven_hundred_escaped_ampersands_lists_within_limits() {
    let policy = Policy::default();
    let cal = policy.calendar(Tier::Standard);
    let name = "&amp;".repeat(700);
    let rows = vec![(ticket(4, 1, &"&".repeat(2000), &cal), name.as_str(), &cal)];
    for lang in LANGS {
        let m = super::ticket::ticket_list(&rows, &policy, now(), lang);
        check_message("tickets", &m);
        let shown = serde_json::to_string(&m.blocks).unwrap();
        assert!(shown.contains("T-4"), "{shown}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn every_surface_stays_within_limits_for_any_text(t in texts()) {
        every_surface(&t);
    }
}
