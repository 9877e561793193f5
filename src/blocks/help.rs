//! Help, and the short answers to input that could not be used.

use super::{
    Message, NAME_CHARS, context, escape, escape_clipped, packed_sections, section, texts,
};
use crate::domain::checklist::{Progress, Tier};
use crate::domain::command::{Form, MAX_CONTACTS, MAX_NAME_CHARS, ParseError, Problem};
use crate::domain::customer::Customer;
use crate::domain::i18n::Lang;
use crate::domain::template::{Category, Template};

/// Characters kept of a word a person typed, escaped, when an answer quotes it.
const QUOTED_CHARS: usize = 200;

/// At most this many customers are listed in help; the rest are counted.
pub const HELP_CUSTOMERS: usize = 30;

/// Whose customers help lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listed {
    /// The caller's (created by them, or with an item theirs); `others` more exist.
    Yours { others: usize },
    /// The caller has none of their own: the workspace's.
    Workspace,
}

pub fn help(
    template: &Template,
    customers: &[(Customer, Progress)],
    listed: Listed,
    lang: Lang,
) -> Message {
    let usage = match lang {
        Lang::En => {
            "*Readiness* — the enterprise readiness checklist, in Slack.\n\
            `/readiness new <name> [tier=standard|professional|enterprise] [kickoff=YYYY-MM-DD] [channel=#existing] [slug=…]` start a customer's onboarding and its channel\n\
            `/readiness show [customer] [category]` the checklist, with checkboxes\n\
            `/readiness assign [customer] <item> @user [due=YYYY-MM-DD]` give an item to someone\n\
            `/readiness done [customer] <item>` · `/readiness undo [customer] <item>` tick or untick an item\n\
            `/readiness ticket [customer] <P0|P1|P2|P3> [opened=<time>] <summary>` a support request with SLA timers (`/readiness ticket` alone opens a form)\n\
            `/readiness tickets [customer]` open requests, worst first · `/readiness escalation [P0…]` who is named at each level\n\
            `/readiness remind [customer] <in 2h|tomorrow 10:00|2026-12-01 09:30|every monday 09:00> <text>` · `/readiness reminders [customer]` list and cancel\n\
            `/readiness golive [customer] [date]` hypercare and review reminders · `/readiness customer [customer] [name=…] [tier=…] [csm=@…] [intake=all|reaction|mention|off|auto] [contacts=@a,@b] [archive|unarchive]`\n\
            `/readiness report [customer] [month=YYYY-MM]` the monthly report · `/readiness audit [customer] [since=YYYY-MM-DD]` who changed what\n\
            `/readiness team [customer] [csm=@…] [se=@…] [support=@…] [security=@…] [legal=@…] [customer=@…]` who holds each onboarding role (their items are assigned to them)\n\
            `/readiness plan [customer]` the plan by week, with the customer's health · `/readiness evidence [customer] <item> <https://…> [note]` proof on an item · `/readiness export [customer]` the checklist as a document the customer can file\n\
            `/readiness roles [@user admin|csm|agent|viewer|default]` who may do what (admins give roles)\n\
            In a customer's channel the customer is implied. Elsewhere name it by its slug or by its name in \"double quotes\"."
        }
        Lang::Ja => {
            "*Readiness* — Enterprise 準備チェックリストを Slack で。\n\
            `/readiness new <名前> [tier=standard|professional|enterprise] [kickoff=YYYY-MM-DD] [channel=#既存] [slug=…]` 顧客のオンボーディングと専用チャンネルを開始\n\
            `/readiness show [顧客] [カテゴリ]` チェックリストを表示（チェックボックス付き）\n\
            `/readiness assign [顧客] <項目> @ユーザー [due=YYYY-MM-DD]` 項目の担当者を設定\n\
            `/readiness done [顧客] <項目>` · `/readiness undo [顧客] <項目>` 項目を完了／未完了に\n\
            `/readiness ticket [顧客] <P0|P1|P2|P3> [opened=<日時>] <概要>` SLA タイマー付きのサポートチケット（`/readiness ticket` だけでフォーム）\n\
            `/readiness tickets [顧客]` 未解決のチケット（深刻な順） · `/readiness escalation [P0…]` 各段階で呼ぶ人\n\
            `/readiness remind [顧客] <in 2h|tomorrow 10:00|2026-12-01 09:30|every monday 09:00> <内容>` · `/readiness reminders [顧客]` 一覧と取り消し\n\
            `/readiness golive [顧客] [日付]` ハイパーケアとレビューのリマインダー · `/readiness customer [顧客] [name=…] [tier=…] [csm=@…] [intake=all|reaction|mention|off|auto] [contacts=@a,@b] [archive|unarchive]`\n\
            `/readiness report [顧客] [month=YYYY-MM]` 月次レポート · `/readiness audit [顧客] [since=YYYY-MM-DD]` 変更履歴\n\
            `/readiness team [顧客] [csm=@…] [se=@…] [support=@…] [security=@…] [legal=@…] [customer=@…]` オンボーディングの役割ごとの担当者（役割の項目を割り当て）\n\
            `/readiness plan [顧客]` 週ごとの計画と進捗の健全性 · `/readiness evidence [顧客] <項目> <https://…> [メモ]` 項目に証跡を添付 · `/readiness export [顧客]` 顧客が保管できる文書として出力\n\
            `/readiness roles [@ユーザー admin|csm|agent|viewer|default]` 権限（ロールの付与は管理者）\n\
            顧客のチャンネル内では顧客名を省略できます。それ以外ではスラッグか \"二重引用符\" で囲んだ名前で指定します。"
        }
    };
    // Escaped, for the same reason as a usage line (`error_with_usage`).
    let usage = escape(usage);
    let categories: Vec<String> = template
        .categories
        .iter()
        .map(|c| format!("`{}` {}", c.number, escape(c.label(lang))))
        .collect();
    let mut text = format!(
        "{usage}\n*{}* {}",
        lang.pick("Categories:", "カテゴリ："),
        categories.join(" · ")
    );
    let mut blocks = vec![section(&text)];
    let heading = match listed {
        Listed::Yours { .. } => lang.pick("Your customers", "担当の顧客"),
        Listed::Workspace => lang.pick("Customers", "顧客"),
    };
    let list = if customers.is_empty() {
        lang.pick(
            "No customers yet. Start with `/readiness new Acme tier=enterprise`.",
            "顧客はまだありません。`/readiness new Acme tier=enterprise` で始めましょう。",
        )
        .to_string()
    } else {
        let mut lines: Vec<String> = customers
            .iter()
            .take(HELP_CUSTOMERS)
            .map(|(c, p)| {
                let channel = c
                    .channel_id
                    .as_ref()
                    .map(|id| format!(" <#{id}>"))
                    .unwrap_or_default();
                format!(
                    "• `{}` {} — {}/{} ({}%){channel}",
                    c.slug,
                    escape_clipped(&c.name, NAME_CHARS),
                    p.done,
                    p.applicable,
                    p.percent()
                )
            })
            .collect();
        let more = customers.len().saturating_sub(HELP_CUSTOMERS)
            + match listed {
                Listed::Yours { others } => others,
                Listed::Workspace => 0,
            };
        if more > 0 {
            lines.push(match lang {
                Lang::En => {
                    format!("…and {more} more in this workspace (`/readiness show <slug>`)")
                }
                Lang::Ja => format!("…ほか {more} 件（`/readiness show <スラッグ>`）"),
            });
        }
        format!("*{heading}*\n{}", lines.join("\n"))
    };
    blocks.extend(packed_sections(&list.lines().collect::<Vec<_>>()));
    text.push('\n');
    text.push_str(&list);
    Message::new(text, blocks)
}

/// A short error with the form that would have worked.
pub fn error_with_usage(problem: &str, usage: &str, lang: Lang) -> Message {
    // A usage line names its parts in angle brackets, which mrkdwn would read as a
    // link: `<P0|P1|P2|P3>` would show as "P1|P2|P3".
    // Its parts are named in the reader's language, as help names them.
    let usage = escape(&texts::usage(usage, lang));
    let text = format!("{problem}\n{} `{usage}`", texts::USE.get(lang));
    Message::new(
        text,
        vec![
            section(&format!(":warning: {problem}")),
            context(&format!("{} `{usage}`", texts::USE.get(lang))),
        ],
    )
}

pub fn parse_error(error: &ParseError, lang: Lang) -> Message {
    match error {
        ParseError::UnknownSubcommand(word) => error_with_usage(
            &match lang {
                Lang::En => format!(
                    "I don't know the command `{}`.",
                    escape_clipped(word, QUOTED_CHARS)
                ),
                Lang::Ja => format!(
                    "`{}` というコマンドはありません。",
                    escape_clipped(word, QUOTED_CHARS)
                ),
            },
            "/readiness help",
            lang,
        ),
        ParseError::UnclosedQuote => error_with_usage(
            lang.pick(
                "A double quote is not closed.",
                "二重引用符が閉じられていません。",
            ),
            "/readiness show \"Acme Corp\" security",
            lang,
        ),
        ParseError::Usage { form, problem } => {
            error_with_usage(&problem_text(*form, problem, lang), form.usage(), lang)
        }
    }
}

/// No item by the number typed: `looks_like_key` tells a number the checklist lacks
/// from a word that is no number at all.
pub fn unknown_item(key: &str, looks_like_key: bool, form: Form, lang: Lang) -> Message {
    let text = if looks_like_key {
        texts::NO_SUCH_ITEM
    } else {
        texts::NOT_AN_ITEM_NUMBER
    };
    let key = escape_clipped(key, QUOTED_CHARS);
    error_with_usage(&text.fill(lang, &[("word", &key)]), form.usage(), lang)
}

/// An item of the template that is not on this customer's tier's checklist.
pub fn not_in_tier(key: &str, tier: Tier, form: Form, lang: Lang) -> Message {
    error_with_usage(&not_in_tier_text(key, tier, lang), form.usage(), lang)
}

/// [`not_in_tier`]'s sentence alone (a modal's field error).
pub fn not_in_tier_text(key: &str, tier: Tier, lang: Lang) -> String {
    let key = escape_clipped(key, QUOTED_CHARS);
    texts::NOT_IN_TIER.fill(lang, &[("word", &key), ("tier", tier.title())])
}

/// No category by the name typed; the categories listed by number and by their name
/// in the reader's language (what `show` takes back).
pub fn unknown_category(name: &str, categories: &[Category], lang: Lang) -> Message {
    let separator = lang.pick(", ", "、");
    let list: Vec<String> = categories
        .iter()
        .map(|c| format!("`{}` {}", c.number, escape(c.label(lang))))
        .collect();
    let name = escape_clipped(name, QUOTED_CHARS);
    let problem =
        texts::UNKNOWN_CATEGORY.fill(lang, &[("word", &name), ("list", &list.join(separator))]);
    error_with_usage(&problem, Form::Show.usage(), lang)
}

/// `show <category>` outside a customer's channel.
pub fn name_the_customer_too(category: &str, lang: Lang) -> Message {
    error_with_usage(
        texts::NOT_A_CUSTOMER_CHANNEL.get(lang),
        &format!("/readiness show <customer> {category}"),
        lang,
    )
}

fn problem_text(form: Form, problem: &Problem, lang: Lang) -> String {
    let q = |s: &str| escape_clipped(s, QUOTED_CHARS);
    match (problem, lang) {
        (Problem::MissingName, Lang::En) => "Give the customer a name.".into(),
        (Problem::MissingName, Lang::Ja) => "顧客名を指定してください。".into(),
        (Problem::NameTooLong, Lang::En) => format!(
            "A customer name can have at most {MAX_NAME_CHARS} characters: shorten it (the full legal name can go in a note)."
        ),
        (Problem::NameTooLong, Lang::Ja) => {
            format!(
                "顧客名は {MAX_NAME_CHARS} 文字までです。短くしてください（正式名称はメモに書けます）。"
            )
        }
        (Problem::BadTier(t), Lang::En) => format!(
            "`{}` is not a tier: use standard, professional or enterprise.",
            q(t)
        ),
        (Problem::BadTier(t), Lang::Ja) => format!(
            "`{}` はティアではありません。standard・professional・enterprise のいずれかです。",
            q(t)
        ),
        (Problem::BadDate(d), _) => texts::BAD_DATE.fill(lang, &[("word", &q(d))]),
        (Problem::NoSuchDay(d), _) => texts::NO_SUCH_DAY.fill(lang, &[("word", &q(d))]),
        (Problem::BadDue(d), _) => texts::BAD_DUE.fill(lang, &[("word", &q(d))]),
        (Problem::BadSlug(s), Lang::En) => format!(
            "`{}` is not a slug: lowercase letters, digits and dashes only.",
            q(s)
        ),
        (Problem::BadSlug(s), Lang::Ja) => format!(
            "`{}` はスラッグに使えません。小文字英数字とハイフンのみです。",
            q(s)
        ),
        (Problem::BadChannel(c), Lang::En) => {
            format!("`{}` is not a channel: pick one with #.", q(c))
        }
        (Problem::BadChannel(c), Lang::Ja) => {
            format!(
                "`{}` はチャンネルではありません。# で選んでください。",
                q(c)
            )
        }
        (Problem::BadUser(u), Lang::En) => format!("`{}` is not a person: pick one with @.", q(u)),
        (Problem::BadUser(u), Lang::Ja) => {
            format!("`{}` はユーザーではありません。@ で選んでください。", q(u))
        }
        (Problem::MissingItem, Lang::En) => "Name the item by its number, like 1.1.1.".into(),
        (Problem::MissingItem, Lang::Ja) => "項目を番号で指定してください（例：1.1.1）。".into(),
        (Problem::MissingUser, Lang::En) => "Say who gets the item, with @.".into(),
        (Problem::MissingUser, Lang::Ja) => "担当者を @ で指定してください。".into(),
        (Problem::UnknownOption(o), Lang::En) => {
            format!("`{}` is not an option of `{}`.", q(o), form_name(form))
        }
        (Problem::UnknownOption(o), Lang::Ja) => {
            format!(
                "`{}` は `{}` のオプションではありません。",
                q(o),
                form_name(form)
            )
        }
        (Problem::TooManyWords(w), Lang::En) => format!("I did not expect `{}` there.", q(w)),
        (Problem::TooManyWords(w), Lang::Ja) => format!("`{}` は余分です。", q(w)),
        (Problem::MissingPriority, Lang::En) => "Give a priority: P0, P1, P2 or P3.".into(),
        (Problem::MissingPriority, Lang::Ja) => "優先度（P0〜P3）を指定してください。".into(),
        (Problem::MissingSummary, Lang::En) => {
            "Say in a few words what the request is about.".into()
        }
        (Problem::MissingSummary, Lang::Ja) => "チケットの概要を書いてください。".into(),
        (Problem::BadTime(t), Lang::En) => format!(
            "`{}` is not a time like 2026-11-20T17:00+09:00 (without an offset: the customer's time zone).",
            q(t)
        ),
        (Problem::BadMention(m), Lang::En) => format!(
            "`{}` is not a person or a user group: pick them with @.",
            q(m)
        ),
        (Problem::BadMention(m), Lang::Ja) => format!(
            "`{}` はユーザーでもユーザーグループでもありません。@ で選んでください。",
            q(m)
        ),
        (Problem::TooManySteps, Lang::En) => format!(
            "A path has at most {} steps.",
            crate::domain::command::MAX_PATH_STEPS
        ),
        (Problem::TooManySteps, Lang::Ja) => format!(
            "経路は {} 段までです。",
            crate::domain::command::MAX_PATH_STEPS
        ),
        (Problem::BadTime(t), Lang::Ja) => format!(
            "`{}` は日時として読めません（例：2026-11-20T17:00+09:00。オフセットなしは顧客のタイムゾーン）。",
            q(t)
        ),
        (Problem::BadWhen(e), _) => texts::when_error(e, lang, q),
        (Problem::MissingText, Lang::En) => "Say what to remind about after the time.".into(),
        (Problem::MissingText, Lang::Ja) => "時刻のあとにリマインドの内容を書いてください。".into(),
        (Problem::BadMonth(m), Lang::En) => format!("`{}` is not a month like 2026-11.", q(m)),
        (Problem::BadMonth(m), Lang::Ja) => {
            format!("`{}` は月として読めません（例：2026-11）。", q(m))
        }
        (Problem::BadSwitch(w), Lang::En) => format!(
            "`{}`: a milestone is switched `on` or `off` ({}).",
            q(w),
            crate::domain::policy::MILESTONES.join(", ")
        ),
        (Problem::BadSwitch(w), Lang::Ja) => format!(
            "`{}`：マイルストーンは `on` か `off` で切り替えます（{}）。",
            q(w),
            crate::domain::policy::MILESTONES.join(", ")
        ),
        (Problem::BadRole(r), Lang::En) => format!(
            "`{}` is not a role: admin, csm, agent, viewer, or default to take one back.",
            q(r)
        ),
        (Problem::BadIntake(m), Lang::En) => format!(
            "`{}` is not an intake mode: all, reaction, mention, off, or auto for the policy's.",
            q(m)
        ),
        (Problem::BadIntake(m), Lang::Ja) => format!(
            "`{}` は受付モードではありません（all、reaction、mention、off、ポリシーに従うなら auto）。",
            q(m)
        ),
        (Problem::BadContact(c), Lang::En) => format!(
            "`{}` is not a person: name contacts with @, separated by commas (`contacts=none` clears them).",
            q(c)
        ),
        (Problem::BadContact(c), Lang::Ja) => format!(
            "`{}` はユーザーではありません。連絡先は @ でカンマ区切りに指定します（`contacts=none` で解除）。",
            q(c)
        ),
        (Problem::TooManyContacts, Lang::En) => {
            format!("A customer can have at most {MAX_CONTACTS} contacts.")
        }
        (Problem::TooManyContacts, Lang::Ja) => {
            format!("連絡先は 1 顧客につき {MAX_CONTACTS} 人までです。")
        }
        (Problem::BadRole(r), Lang::Ja) => format!(
            "`{}` はロールではありません（admin、csm、agent、viewer、元に戻すなら default）。",
            q(r)
        ),
        (Problem::MissingUrl, Lang::En) => "Give the link to the proof after the item.".into(),
        (Problem::MissingUrl, Lang::Ja) => "項目のあとに証跡のリンクを書いてください。".into(),
        (Problem::BadUrl(u), Lang::En) => {
            format!(
                "`{}` is not a link: evidence is an http(s):// address.",
                q(u)
            )
        }
        (Problem::BadUrl(u), Lang::Ja) => {
            format!(
                "`{}` はリンクではありません。証跡は http(s):// のアドレスです。",
                q(u)
            )
        }
    }
}

fn form_name(form: Form) -> &'static str {
    match form {
        Form::New => "new",
        Form::Show => "show",
        Form::Assign => "assign",
        Form::Done => "done",
        Form::Undo => "undo",
        Form::Ticket => "ticket",
        Form::Tickets => "tickets",
        Form::Escalation => "escalation",
        Form::Remind => "remind",
        Form::Reminders => "reminders",
        Form::GoLive => "golive",
        Form::Customer => "customer",
        Form::Audit => "audit",
        Form::Report => "report",
        Form::Roles => "roles",
        Form::Team => "team",
        Form::Plan => "plan",
        Form::Evidence => "evidence",
        Form::Export => "export",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::command::parse;

    #[test]
    fn help_lists_categories_from_the_template_and_stays_within_limits() {
        let t = Template::builtin();
        for lang in [Lang::En, Lang::Ja] {
            let m = help(&t, &[], Listed::Workspace, lang);
            let v = serde_json::to_value(&m).unwrap();
            super::super::limits::check_message(&v).unwrap();
            for c in &t.categories {
                assert!(m.text.contains(c.label(lang)), "{}", c.en);
            }
        }
    }

    #[test]
    fn every_parse_error_has_an_answer_with_a_usage_line() {
        for text in [
            "bogus",
            "new",
            "new A tier=x",
            "assign 1.1.1",
            "assign 1.1.1 <@U1> due=x",
            "done",
            "show a b c",
            "show \"a",
            "new a slug=A",
            "new a channel=#x",
            "show a=b",
            "ticket P9 x",
            "ticket P1",
            "ticket acme P1 opened=x y",
            "tickets a b",
            "escalation P7",
            "escalation P0 nobody",
            "escalation P0 <@U1> <@U2> <@U3> <@U4> <@U5> <@U6>",
            "remind acme soon x",
            "remind in 2h",
            "reminders a b",
            "golive acme 2026-99-01",
            "customer acme tier=x",
            "customer acme qbr=maybe",
            "audit since=x",
            "report month=13",
            // Every refusal of a reminder's <when>, and of a date.
            "remind acme soon x",
            "remind acme in",
            "remind acme in soon x",
            "remind acme in 400d x",
            "remind today x",
            "remind tomorrow 25:00 x",
            "remind 2026-02-30 x",
            "remind 2026-13-01 x",
            "remind every",
            "remind every blursday x",
            "remind every 500 months x",
            "assign 1.1.1 <@U1> due=2026-02-30",
            "golive acme 2026-04-31",
            "audit since=2026-02-29",
            // What a person typed, quoted back, with what mrkdwn would read as markup.
            "assign 1.1.1 <@U1> due=<x|y>&",
            "remind acme in <!here> x",
            "new A tier=<b|c>",
            "<oops|x>",
        ] {
            let err = parse(text).unwrap_err();
            for lang in [Lang::En, Lang::Ja] {
                let m = parse_error(&err, lang);
                assert!(m.text.contains("/readiness"), "{text}: {}", m.text);
                no_stray_markup(&m);
                in_one_language(&m, lang);
            }
        }
    }

    /// Every other refusal rendered here, with hostile input, in both languages.
    #[test]
    fn every_other_refusal_reads_as_written_in_the_readers_language() {
        let t = Template::builtin();
        for lang in [Lang::En, Lang::Ja] {
            for m in [
                unknown_item("9.9.9", true, Form::Done, lang),
                unknown_item("<x|y>&", false, Form::Undo, lang),
                unknown_category("<!channel>", &t.categories, lang),
                name_the_customer_too("<x|y>", lang),
                error_with_usage(
                    texts::WHEN_IN_THE_PAST.get(lang),
                    Form::Remind.usage(),
                    lang,
                ),
            ] {
                no_stray_markup(&m);
                in_one_language(&m, lang);
            }
        }
        // The categories a Japanese reader is offered are the names help shows them.
        let m = unknown_category("x", &t.categories, Lang::Ja);
        assert!(m.text.contains("インフラ・運用"), "{}", m.text);
        assert!(!m.text.contains("infra"), "{}", m.text);
    }

    /// Japanese prose has no English sentence in it, English prose no Japanese.
    fn in_one_language(m: &Message, lang: Lang) {
        let json = serde_json::to_value(m).unwrap();
        let mut all = vec![m.text.clone()];
        collect_texts(&json["blocks"], &mut all);
        for text in all {
            match lang {
                Lang::Ja => assert_eq!(texts::english_run(&text, 3), None, "{text}"),
                Lang::En => assert!(!texts::has_japanese(&texts::prose(&text)), "{text}"),
            }
        }
    }

    /// Fails on any `<…>` in the message that Slack would read as markup but is not
    /// one of ours: a mention, a channel, a special mention, a date token or a URL.
    fn no_stray_markup(m: &Message) {
        let json = serde_json::to_value(m).unwrap();
        let mut texts = vec![m.text.clone()];
        collect_texts(&json["blocks"], &mut texts);
        for text in texts {
            let mut rest = text.as_str();
            while let Some(open) = rest.find('<') {
                let inner = &rest[open + 1..];
                let close = inner.find('>').unwrap_or(inner.len());
                let markup = &inner[..close];
                assert!(
                    ["@", "#", "!", "http://", "https://", "mailto:"]
                        .iter()
                        .any(|p| markup.starts_with(p)),
                    "<{markup}> would be read as a link in: {text}"
                );
                rest = &inner[close..];
            }
        }
    }

    fn collect_texts(value: &serde_json::Value, into: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v) {
                        ("text", serde_json::Value::String(s)) => into.push(s.clone()),
                        _ => collect_texts(v, into),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| collect_texts(v, into)),
            _ => {}
        }
    }

    #[test]
    fn help_and_every_usage_line_read_as_written_in_slack() {
        let t = Template::builtin();
        let forms = Form::ALL;
        for lang in [Lang::En, Lang::Ja] {
            no_stray_markup(&help(&t, &[], Listed::Workspace, lang));
            for form in forms {
                let m = error_with_usage("x", form.usage(), lang);
                no_stray_markup(&m);
                // What a person reads: the brackets, not entities.
                assert!(m.text.contains("&lt;") || !form.usage().contains('<'));
            }
        }
        let help = help(&t, &[], Listed::Workspace, Lang::En);
        assert!(help.text.contains("&lt;P0|P1|P2|P3&gt;"), "{}", help.text);
    }
}
