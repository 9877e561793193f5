//! What a person types at the shell's prompt: a slash command, as in Slack, or one of
//! the few words that stand for a click (`tick`, `press`, `home`) or for moving about
//! (`in`, `as`, `wait`). Pure, so the grammar has its own tests.

use std::time::Duration;

/// Who a person typed `as` is, for Slack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// A member of the workspace (or whatever they were before).
    AsBefore,
    /// A person of the customer's own organisation, through Slack Connect.
    Customer,
    /// A guest of the workspace.
    Guest,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// `/readiness …`: the text after the command.
    Slash(String),
    /// `tick 1.1.2` / `untick 1.1.2`: the newest checkbox carrying that key.
    Tick {
        key: String,
        ticked: bool,
    },
    /// `press responded T-1`: the newest button so labelled, on something showing `T-1`.
    Press {
        label: String,
        near: Option<String>,
    },
    /// `choose P1 T-1`: the newest menu offering that option, near `T-1`.
    Choose {
        option: String,
        near: Option<String>,
    },
    /// `reply T-1 looking into it`: a reply in the ticket's thread (`reply 2 …`: in
    /// the thread of message 2, as `say` numbered it).
    Reply {
        ticket: String,
        text: String,
    },
    /// `say our SSO is down`: a message in the channel, as the current person.
    Say(String),
    /// `react :ticket: 2`: a reaction on person message 2 (numbered as shown).
    React {
        emoji: String,
        message: usize,
    },
    /// `submit summary="SSO broken" priority=P1`: fill in the open modal and submit it.
    Submit(Vec<(String, String)>),
    /// `home`: open the App Home tab.
    Home,
    /// `close` (or `cancel`): close the open modal without submitting it, as its Cancel
    /// button does in Slack.
    Close,
    /// `in #channel`: where the next commands are typed.
    In(String),
    /// `as @alice`: who types the next commands; `as @dana customer` (or a person
    /// named `@customer`) is a person of the customer's organisation, in through Slack
    /// Connect, and `as @gina guest` a guest of the workspace.
    As {
        name: String,
        side: Side,
    },
    /// `wait 30m`: let time pass (virtual time under `--clock virtual`).
    Wait(Duration),
    Help,
    Quit,
    /// A blank line or a `#` comment: echoed in a transcript, nothing else.
    Nothing,
}

/// Parses one line; the error is the short answer to show.
pub fn parse(line: &str) -> Result<Input, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(Input::Nothing);
    }
    if let Some(rest) = line.strip_prefix('/') {
        let (command, text) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        return if command == "readiness" {
            Ok(Input::Slash(text.trim().to_string()))
        } else {
            Err(format!(
                "/{command} is not a command here; the app's command is /readiness"
            ))
        };
    }
    let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    let one = |what: &str| -> Result<String, String> {
        let mut it = rest.split_whitespace();
        match (it.next(), it.next()) {
            (Some(a), None) => Ok(a.to_string()),
            _ => Err(format!("{word} takes {what}")),
        }
    };
    match word.to_lowercase().as_str() {
        "tick" | "untick" => Ok(Input::Tick {
            key: one("an item's key, like 1.1.2")?,
            ticked: word.eq_ignore_ascii_case("tick"),
        }),
        "press" | "choose" => {
            // A label of several words in quotes: `press "New ticket" acme`.
            let quoted = words(rest)?;
            let mut args = quoted.iter().map(String::as_str);
            let Some(first) = args.next() else {
                return Err(format!(
                    "{word} takes a {} and, optionally, what it is near (like T-1)",
                    if word == "press" {
                        "button's label"
                    } else {
                        "menu option"
                    }
                ));
            };
            let near = args.collect::<Vec<_>>().join(" ");
            let near = (!near.is_empty()).then_some(near);
            Ok(if word.eq_ignore_ascii_case("press") {
                Input::Press {
                    label: first.to_string(),
                    near,
                }
            } else {
                Input::Choose {
                    option: first.to_string(),
                    near,
                }
            })
        }
        "reply" => {
            let (ticket, text) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            if ticket.is_empty() || text.trim().is_empty() {
                return Err("reply takes a ticket and the text, like: reply T-1 on it".into());
            }
            Ok(Input::Reply {
                ticket: ticket.to_string(),
                text: text.trim().to_string(),
            })
        }
        "submit" => {
            let mut fields = Vec::new();
            for word in words(rest)? {
                let Some((key, value)) = word.split_once('=') else {
                    return Err(format!(
                        "submit takes field=value pairs, like summary=\"SSO broken\"; not {word:?}"
                    ));
                };
                fields.push((key.to_lowercase(), value.to_string()));
            }
            Ok(Input::Submit(fields))
        }
        "home" if rest.is_empty() => Ok(Input::Home),
        "in" => Ok(Input::In(
            one("a channel, like #general")?
                .trim_start_matches('#')
                .to_string(),
        )),
        "as" => {
            let mut it = rest.split_whitespace();
            let (Some(who), kind, None) = (it.next(), it.next(), it.next()) else {
                return Err(
                    "as takes a person, like @alice, and optionally customer or guest".into(),
                );
            };
            let name = who.trim_start_matches('@').to_string();
            let side = match kind.map(str::to_lowercase).as_deref() {
                None if name.eq_ignore_ascii_case("customer") => Side::Customer,
                None => Side::AsBefore,
                Some("customer") => Side::Customer,
                Some("guest") => Side::Guest,
                Some(other) => {
                    return Err(format!(
                        "as @{name} takes customer or guest after the name, not {other:?}"
                    ));
                }
            };
            Ok(Input::As { name, side })
        }
        "say" => {
            if rest.is_empty() {
                return Err("say takes the message, like: say our SSO is down".into());
            }
            Ok(Input::Say(rest.to_string()))
        }
        "react" => {
            let mut it = rest.split_whitespace();
            let bad = || {
                "react takes an emoji and a message's number as shown, like: react :ticket: 1"
                    .to_string()
            };
            let (Some(emoji), Some(number), None) = (it.next(), it.next(), it.next()) else {
                return Err(bad());
            };
            let emoji = emoji.trim_matches(':');
            let message = number.trim_start_matches('#').parse::<usize>().ok();
            match message {
                Some(message)
                    if message > 0
                        && !emoji.is_empty()
                        && emoji
                            .chars()
                            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '+')) =>
                {
                    Ok(Input::React {
                        emoji: emoji.to_string(),
                        message,
                    })
                }
                _ => Err(bad()),
            }
        }
        "wait" => {
            let text = one("a duration, like 30s, 10m or 4h")?;
            humantime::parse_duration(&text)
                .map(Input::Wait)
                .map_err(|_| format!("wait takes a duration, like 30s, 10m or 4h; not {text:?}"))
        }
        "close" | "cancel" if rest.is_empty() => Ok(Input::Close),
        "help" | "?" => Ok(Input::Help),
        "quit" | "exit" => Ok(Input::Quit),
        _ => Err(format!(
            "{word:?} is not something the shell knows; type help, or a /readiness command"
        )),
    }
}

/// Words split at spaces, except inside double quotes (which are dropped).
fn words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if quoted {
        return Err("a quote is not closed".into());
    }
    if !word.is_empty() {
        words.push(word);
    }
    Ok(words)
}

/// Slack escapes what it sends a slash command (`should_escape` in the manifest):
/// `@alice` arrives as `<@UALICE|alice>` and `#general` as `<#C…|general>`, also
/// after `=` as in `csm=@alice`, and `<`, `>`, `&` as entities. This does the same
/// with the shell's names; `person` registers a name and gives its id, `channel`
/// finds a known channel's id. An `@` inside a word (`x@y.z`) is not a mention.
pub fn escape_like_slack(
    text: &str,
    mut person: impl FnMut(&str) -> String,
    channel: impl Fn(&str) -> Option<String>,
) -> String {
    let is_name = |c: char| c.is_alphanumeric() || "._-".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut after_word = false;
    while let Some(c) = rest.chars().next() {
        let tail = &rest[c.len_utf8()..];
        let name_len = tail.find(|c: char| !is_name(c)).unwrap_or(tail.len());
        let name = &tail[..name_len];
        if (c == '@' || c == '#') && !after_word && !name.is_empty() {
            let id = if c == '@' {
                Some(person(name))
            } else {
                channel(name)
            };
            if let Some(id) = id {
                out.push_str(&format!("<{c}{id}|{name}>"));
                rest = &tail[name_len..];
                after_word = true;
                continue;
            }
        }
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
        after_word = c.is_alphanumeric();
        rest = tail;
    }
    out
}

pub const HELP: &str = "\
Type what you would type in Slack, and a few words for what you would click:
  /readiness …           a slash command (/readiness help lists them)
  tick KEY, untick KEY   tick the newest checkbox for that item (e.g. tick 1.1.2)
  press LABEL [NEAR]     press the newest button so labelled, on something showing NEAR
                         (e.g. press responded T-1, press \"new ticket\" acme)
  choose OPTION [NEAR]   pick from the newest menu offering it (e.g. choose P1 T-1)
  reply T-1 TEXT         reply in a ticket's thread (reply 2 TEXT: in message 2's)
  say TEXT               write a message in the channel (shown as message N)
  react :EMOJI: N        add a reaction to message N (e.g. react :ticket: 1)
  submit FIELD=VALUE …   fill in the open modal and submit it (e.g. submit summary=\"SSO down\")
  close                  close the open modal without submitting it (also: cancel)
  home                   open the App Home tab
  in #channel            type the next commands in that channel
  as @name [customer|guest]  type the next commands as someone else; customer: a
                         person of the customer's organisation (Slack Connect)
  wait 10m               let time pass; under --clock virtual it passes at once
  help, quit";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shell_words_parse() {
        assert_eq!(
            parse("/readiness new Acme tier=enterprise"),
            Ok(Input::Slash("new Acme tier=enterprise".into()))
        );
        assert_eq!(parse("/readiness"), Ok(Input::Slash(String::new())));
        assert_eq!(
            parse("tick 1.1.2"),
            Ok(Input::Tick {
                key: "1.1.2".into(),
                ticked: true
            })
        );
        assert_eq!(
            parse("press responded T-1"),
            Ok(Input::Press {
                label: "responded".into(),
                near: Some("T-1".into())
            })
        );
        assert_eq!(
            parse("reply T-1 on it now"),
            Ok(Input::Reply {
                ticket: "T-1".into(),
                text: "on it now".into()
            })
        );
        assert_eq!(
            parse("wait 4h"),
            Ok(Input::Wait(Duration::from_secs(4 * 3600)))
        );
        assert_eq!(parse("in #cust-acme"), Ok(Input::In("cust-acme".into())));
        let as_ = |name: &str, side| {
            Ok(Input::As {
                name: name.into(),
                side,
            })
        };
        assert_eq!(parse("as @alice"), as_("alice", Side::AsBefore));
        assert_eq!(parse("as @dana customer"), as_("dana", Side::Customer));
        assert_eq!(parse("as @customer"), as_("customer", Side::Customer));
        assert_eq!(parse("as @gina Guest"), as_("gina", Side::Guest));
        assert_eq!(
            parse("say our SSO is down!"),
            Ok(Input::Say("our SSO is down!".into()))
        );
        assert_eq!(
            parse("react :ticket: 2"),
            Ok(Input::React {
                emoji: "ticket".into(),
                message: 2
            })
        );
        assert_eq!(parse("  # a comment"), Ok(Input::Nothing));
        assert_eq!(parse("home"), Ok(Input::Home));
        assert_eq!(
            parse("press \"New ticket\" acme"),
            Ok(Input::Press {
                label: "New ticket".into(),
                near: Some("acme".into())
            })
        );
        assert_eq!(parse("close"), Ok(Input::Close));
        assert_eq!(parse("cancel"), Ok(Input::Close));
        assert_eq!(
            parse("submit summary=\"SSO is down\" priority=P1"),
            Ok(Input::Submit(vec![
                ("summary".into(), "SSO is down".into()),
                ("priority".into(), "P1".into())
            ]))
        );
    }

    #[test]
    fn wrong_input_gets_a_short_answer() {
        for bad in [
            "/remind me",
            "tick",
            "tick 1 2",
            "wait soon",
            "press",
            "frobnicate",
            "reply T-1",
            "submit x",
            "say",
            "react",
            "react :ticket:",
            "react :ticket: 0",
            "react :ticket: two",
            "react :: 1",
            "react :a b: 1 2",
            "as @dana partner",
            "as",
            "submit a=\"b",
        ] {
            let err = parse(bad).unwrap_err();
            assert!(!err.is_empty() && err.len() < 120, "{bad}: {err}");
        }
    }

    proptest::proptest! {
        /// What the shell escapes, the terminal renders back as typed.
        #[test]
        fn escaping_then_rendering_gives_back_the_text(text in "[a-z@#&<>| .=_-]{0,40}") {
            let escaped = escape_like_slack(
                &text,
                |name| format!("U{}", name.to_uppercase()),
                |name| (name == "general").then(|| "C0GENERAL".to_string()),
            );
            struct NoNames;
            impl crate::shell::render::Names for NoNames {
                fn user(&self, _: &str) -> Option<String> { None }
                fn channel(&self, _: &str) -> Option<String> { None }
            }
            proptest::prop_assert_eq!(crate::shell::render::mrkdwn(&escaped, &NoNames), text);
        }
    }

    #[test]
    fn mentions_are_escaped_as_slack_escapes_them() {
        let escaped = escape_like_slack(
            "assign acme 1.1.2 @alice #general a<b @ x@y.z csm=@bob #nowhere",
            |name| format!("U{}", name.to_uppercase()),
            |name| (name == "general").then(|| "C0GENERAL".to_string()),
        );
        assert_eq!(
            escaped,
            "assign acme 1.1.2 <@UALICE|alice> <#C0GENERAL|general> a&lt;b @ x@y.z csm=<@UBOB|bob> #nowhere"
        );
    }
}
