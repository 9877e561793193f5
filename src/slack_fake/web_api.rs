//! The Web API methods the app calls, answered as Slack's docs show; the strict mode's
//! rejections sit beside each method's work, each behind `w.strict()`.

use std::collections::HashMap;

use axum::{
    Json,
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::checks::{self, Bucket};
use super::{Call, Channel, Seen, SharedFile, SlackFake, Workspace, err, ok};

fn str_arg<'a>(args: &'a Value, key: &str) -> Option<&'a str> {
    args[key].as_str().filter(|s| !s.is_empty())
}

/// The answer to `method` from the workspace `caller`'s token acts for (`None`: no
/// valid token): injected failures first, then the method itself.
pub(super) fn answer(
    w: &mut Workspace,
    method: &str,
    args: &Value,
    caller: Option<&str>,
) -> (StatusCode, Value) {
    let Some(caller) = caller else {
        return (StatusCode::OK, err("invalid_auth"));
    };
    if (method == "apps.connections.open") != (caller == "app") {
        // The app-level token opens sockets and nothing else.
        return (StatusCode::OK, err("not_allowed_token_type"));
    }
    if let Some(code) = w
        .failures
        .get_mut(method)
        .and_then(|f| (!f.is_empty()).then(|| f.remove(0)))
    {
        return match code.as_str() {
            "ratelimited" => (StatusCode::TOO_MANY_REQUESTS, err("ratelimited")),
            "http500" => (StatusCode::INTERNAL_SERVER_ERROR, err("internal_error")),
            // Slack did the work, but the answer never arrived: the caller cannot know.
            "posted_then_http500" => {
                let _ = handle(w, method, args, caller);
                (StatusCode::INTERNAL_SERVER_ERROR, err("internal_error"))
            }
            _ => (StatusCode::OK, err(&code)),
        };
    }
    let (status, mut answer) = handle(w, method, args, caller);
    // An org-wide token acts for its enterprise (`E…`), not one team.
    let org_token = caller.starts_with('E');
    if method == "users.info" && answer["ok"] == true {
        // People belong to the workspace asking about them; an organisation's people
        // are homed in one of its workspaces.
        if org_token {
            answer["user"]["team_id"] = json!("T0ORGHOME");
            answer["user"]["enterprise_user"] = json!({
                "id": answer["user"]["id"], "enterprise_id": caller,
                "enterprise_name": "Org", "is_admin": false, "is_owner": false,
                "teams": ["T0ORGHOME"],
            });
        } else {
            answer["user"]["team_id"] = json!(caller);
        }
        let user = answer["user"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if let Some(fields) = w.people.get(&user).and_then(Value::as_object) {
            for (key, value) in fields {
                answer["user"][key] = value.clone();
            }
        }
    }
    if method == "auth.test" && answer["ok"] == true {
        if org_token {
            answer["team_id"] = Value::Null;
            answer["enterprise_id"] = json!(caller);
            answer["is_enterprise_install"] = json!(true);
        } else {
            answer["team_id"] = json!(caller);
        }
    }
    if !w.strict() {
        // A long shell session keeps only recent history.
        if w.calls.len() > 2000 {
            w.calls.drain(..1000);
        }
        if w.responses.len() > 2000 {
            w.responses.drain(..1000);
        }
    }
    (status, answer)
}

fn take_post_token(w: &mut Workspace, channel: &str) -> bool {
    w.unpaced
        || w.post_buckets
            .entry(channel.to_string())
            .or_insert_with(|| Bucket::new(3.0, 1.0))
            .take()
}

fn record_post(w: &mut Workspace, channel: &str, args: &Value) -> Value {
    if w.strict()
        && let Err(e) = checks::check_message(args)
    {
        return json!({"ok": false, "error": "invalid_blocks", "errors": [e]});
    }
    let ts = w.new_ts();
    let mut message =
        json!({"type": "message", "text": args["text"], "blocks": args["blocks"], "ts": ts});
    if let Some(thread) = str_arg(args, "thread_ts") {
        message["thread_ts"] = json!(thread);
    }
    if !args["metadata"].is_null() {
        let metadata = match &args["metadata"] {
            Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
            other => other.clone(),
        };
        message["metadata"] = metadata;
    }
    w.messages
        .insert((channel.to_string(), ts.clone()), message.clone());
    w.tell(Seen::Posted {
        channel,
        ts: &ts,
        message: &message,
    });
    ok(json!({"channel": channel, "ts": ts, "message": message}))
}

fn view_error(view: &Value) -> Option<Value> {
    checks::check_view(view)
        .err()
        .map(|e| json!({"ok": false, "error": "invalid_arguments", "errors": [e]}))
}

fn handle(w: &mut Workspace, method: &str, args: &Value, team: &str) -> (StatusCode, Value) {
    let strict = w.strict();
    let now_s = w.options.time.now_ms() / 1000;
    let answer = match method {
        "apps.connections.open" => ok(json!({"url": w.socket_url})),
        "usergroups.users.list" => match w.groups.get(str_arg(args, "usergroup").unwrap_or("")) {
            Some(users) => ok(json!({"users": users})),
            None => err("no_such_subteam"),
        },
        "conversations.create" => {
            let name = str_arg(args, "name").unwrap_or("").to_string();
            let invalid = checks::invalid_channel_name(&name).filter(|_| strict);
            if let Some(code) = invalid {
                err(code)
            } else if w.channel_named(&name).is_some() {
                err("name_taken")
            } else {
                let private = args["is_private"] == true || args["is_private"] == "true";
                let id = w.new_id(if private { 'G' } else { 'C' });
                w.channels.insert(
                    id.clone(),
                    Channel {
                        name: name.clone(),
                        private,
                        bot_is_member: true,
                        ..Channel::default()
                    },
                );
                w.tell(Seen::ChannelCreated {
                    name: &name,
                    private,
                });
                ok(json!({"channel": {
                    "id": id, "name": name, "is_private": private, "is_channel": !private,
                    "is_group": private, "created": now_s, "creator": w.options.bot_user,
                }}))
            }
        }
        "conversations.invite" => {
            let channel = str_arg(args, "channel").unwrap_or("").to_string();
            // Slack documents `users` as a comma-separated string.
            let Some(users) = args["users"].as_str() else {
                return (StatusCode::OK, err("invalid_arguments"));
            };
            let users: Vec<&str> = users.split(',').filter(|u| !u.is_empty()).collect();
            match w.channels.get_mut(&channel) {
                None if strict => err("channel_not_found"),
                Some(c) if strict && !c.bot_is_member => err("not_in_channel"),
                found => {
                    if let Some(c) = found {
                        c.members.extend(users.iter().map(|u| u.to_string()));
                    }
                    w.tell(Seen::Invited {
                        channel: &channel,
                        users,
                    });
                    ok(json!({"channel": {"id": channel, "created": now_s}}))
                }
            }
        }
        "chat.postMessage" => {
            if strict
                && let Some(bucket) = w.workspace_posts.as_mut()
                && !bucket.take()
            {
                return (StatusCode::TOO_MANY_REQUESTS, err("ratelimited"));
            }
            let channel = str_arg(args, "channel").unwrap_or("").to_string();
            let is_dm = channel.starts_with('U') || channel.starts_with('W');
            let bot_is_member = w.channels.get(&channel).map(|c| c.bot_is_member);
            if is_dm {
                // Slack files a DM posted to a user id in their D conversation with the
                // app, and answers with that conversation's id.
                let im = w.open_im(&channel);
                record_post(w, &im, args)
            } else if !strict {
                record_post(w, &channel, args)
            } else {
                match bot_is_member {
                    None => err("channel_not_found"),
                    Some(false) => err("not_in_channel"),
                    Some(true) => {
                        if !take_post_token(w, &channel) {
                            return (StatusCode::TOO_MANY_REQUESTS, err("ratelimited"));
                        }
                        record_post(w, &channel, args)
                    }
                }
            }
        }
        "chat.update" => {
            let key = (
                str_arg(args, "channel").unwrap_or("").to_string(),
                str_arg(args, "ts").unwrap_or("").to_string(),
            );
            if strict
                && !w
                    .update_buckets
                    .entry(team.to_string())
                    .or_insert_with(|| Bucket::new(50.0, 50.0 / 60.0))
                    .take()
            {
                return (StatusCode::TOO_MANY_REQUESTS, err("ratelimited"));
            }
            let refused = if !strict {
                None
            } else if !w.channels.contains_key(&key.0) {
                Some(err("channel_not_found"))
            } else if !w.messages.contains_key(&key) {
                Some(err("message_not_found"))
            } else if let Err(e) = checks::check_message(args) {
                Some(json!({"ok": false, "error": "invalid_blocks", "errors": [e]}))
            } else {
                None
            };
            match refused {
                Some(refused) => refused,
                None => {
                    // An update replaces text and blocks; thread and metadata stay.
                    let before = w.messages.get(&key).cloned();
                    let mut message = before.clone().unwrap_or_else(|| json!({"ts": key.1}));
                    message["text"] = args["text"].clone();
                    message["blocks"] = args["blocks"].clone();
                    w.messages.insert(key.clone(), message.clone());
                    w.tell(Seen::Updated {
                        channel: &key.0,
                        ts: &key.1,
                        before: before.as_ref(),
                        after: &message,
                    });
                    ok(
                        json!({"channel": key.0, "ts": key.1, "text": args["text"], "message": message}),
                    )
                }
            }
        }
        "pins.add" => {
            let key = (
                str_arg(args, "channel").unwrap_or("").to_string(),
                str_arg(args, "timestamp").unwrap_or("").to_string(),
            );
            let known = w.messages.contains_key(&key);
            let new = w.pins.insert(key);
            if strict && !known {
                err("message_not_found")
            } else if strict && !new {
                err("already_pinned")
            } else {
                ok(json!({}))
            }
        }
        "reactions.add" => {
            let key = (
                str_arg(args, "channel").unwrap_or("").to_string(),
                str_arg(args, "timestamp").unwrap_or("").to_string(),
            );
            let name = str_arg(args, "name").unwrap_or("").to_string();
            if name.is_empty() {
                err("invalid_name")
            } else if key.1.is_empty() {
                err("no_item_specified")
            } else if strict && !w.channels.contains_key(&key.0) {
                err("channel_not_found")
            } else {
                match w.messages.get_mut(&key) {
                    None => err("message_not_found"),
                    Some(message) => {
                        let bot = super::BOT_USER_ID;
                        let mut reactions =
                            message["reactions"].as_array().cloned().unwrap_or_default();
                        match reactions.iter_mut().find(|r| r["name"] == name.as_str()) {
                            Some(r)
                                if r["users"]
                                    .as_array()
                                    .is_some_and(|u| u.iter().any(|u| u == bot)) =>
                            {
                                return (StatusCode::OK, err("already_reacted"));
                            }
                            Some(r) => {
                                let mut users = r["users"].as_array().cloned().unwrap_or_default();
                                users.push(json!(bot));
                                r["count"] = json!(users.len());
                                r["users"] = json!(users);
                            }
                            None => {
                                reactions.push(json!({"name": name, "users": [bot], "count": 1}))
                            }
                        }
                        message["reactions"] = json!(reactions);
                        let author = message["user"].as_str().unwrap_or("").to_string();
                        w.tell(Seen::Reacted {
                            channel: &key.0,
                            author: &author,
                            name: &name,
                        });
                        ok(json!({}))
                    }
                }
            }
        }
        "auth.test" => ok(json!({
            // The team is the token's, filled in by `answer`.
            "url": format!("https://{}.slack.com/", w.options.domain),
            "team": w.options.team_name, "user": "readiness", "team_id": "",
            "user_id": "U0READINESS", "bot_id": "B0READINESS", "is_enterprise_install": false,
        })),
        "users.info" => {
            let user = str_arg(args, "user").unwrap_or("").to_string();
            let name = w.user_name(&user).unwrap_or_else(|| user.to_lowercase());
            let admin = w.options.everyone_admin;
            // The team is the token's, and what the fake was told of the person goes
            // over these defaults, both in `answer`.
            ok(json!({"user": {
                "id": user, "team_id": "", "name": name, "real_name": name,
                "locale": w.options.locale, "tz": w.options.tz,
                "is_admin": admin, "is_owner": admin,
            }}))
        }
        "conversations.history" | "conversations.replies" => {
            if strict
                && !w
                    .history_bucket
                    .get_or_insert_with(|| Bucket::new(50.0, 50.0 / 60.0))
                    .take()
            {
                return (StatusCode::TOO_MANY_REQUESTS, err("ratelimited"));
            }
            let channel = str_arg(args, "channel").unwrap_or("").to_string();
            if strict && !w.channels.contains_key(&channel) {
                return (StatusCode::OK, err("channel_not_found"));
            }
            let oldest: f64 = str_arg(args, "oldest")
                .and_then(|o| o.parse().ok())
                .unwrap_or(0.0);
            let metadata =
                args["include_all_metadata"] == "true" || args["include_all_metadata"] == true;
            let thread = str_arg(args, "ts").map(str::to_string);
            if strict && method == "conversations.replies" && thread.is_none() {
                return (StatusCode::OK, err("invalid_arguments"));
            }
            if strict
                && let Some(thread) = &thread
                && !w.messages.contains_key(&(channel.clone(), thread.clone()))
            {
                return (StatusCode::OK, err("thread_not_found"));
            }
            // `latest` (with `inclusive`) bounds the newest message; `limit` how many.
            let latest: Option<f64> = str_arg(args, "latest").and_then(|l| l.parse().ok());
            let inclusive = args["inclusive"] == "true"
                || args["inclusive"] == true
                || args["inclusive"] == "1";
            let limit: usize = str_arg(args, "limit")
                .and_then(|l| l.parse().ok())
                .filter(|l| *l > 0)
                .unwrap_or(100);
            let mut messages: Vec<Value> = w
                .messages
                .iter()
                .filter(|((c, ts), m)| {
                    let in_thread = !m["thread_ts"].is_null() && m["thread_ts"] != ts.as_str();
                    let at = super::ts_order(ts);
                    c == &channel
                        && at >= oldest
                        && latest.is_none_or(|l| at < l || (inclusive && at == l))
                        && match &thread {
                            Some(t) => ts == t || m["thread_ts"] == t.as_str(),
                            None => !in_thread,
                        }
                })
                .map(|(_, m)| {
                    let mut m = m.clone();
                    if !metadata {
                        m.as_object_mut().map(|o| o.remove("metadata"));
                    }
                    m
                })
                .collect();
            // History newest first; a thread oldest first, its parent leading.
            messages.sort_by(|a, b| {
                let ts = |m: &Value| super::ts_order(m["ts"].as_str().unwrap_or("0"));
                if thread.is_some() {
                    ts(a).total_cmp(&ts(b))
                } else {
                    ts(b).total_cmp(&ts(a))
                }
            });
            let has_more = messages.len() > limit;
            messages.truncate(limit);
            ok(json!({"messages": messages, "has_more": has_more}))
        }
        "conversations.open" => {
            // One user: their 1:1 conversation with the app (`users` is a comma-separated
            // string), or an existing conversation resumed by `channel`.
            match (str_arg(args, "users"), str_arg(args, "channel")) {
                (Some(users), _) if !users.contains(',') => {
                    let already = w.ims.contains_key(users);
                    let im = w.open_im(users);
                    ok(json!({"channel": {"id": im}, "already_open": already}))
                }
                (Some(_), _) => err("not_enough_users"),
                (None, Some(channel)) if w.ims.values().any(|im| im == channel) => {
                    ok(json!({"channel": {"id": channel}, "already_open": true}))
                }
                (None, Some(_)) => err("channel_not_found"),
                (None, None) => err("users_list_not_supplied"),
            }
        }
        "conversations.info" => {
            let channel = str_arg(args, "channel").unwrap_or("").to_string();
            match w.channels.get(&channel) {
                None => err("channel_not_found"),
                Some(c) => ok(json!({"channel": {
                    "id": channel, "name": c.name, "is_private": c.private,
                    "is_shared": c.shared, "is_ext_shared": c.shared, "created": now_s
                }})),
            }
        }
        "chat.getPermalink" => {
            let channel = str_arg(args, "channel").unwrap_or("").to_string();
            let ts = str_arg(args, "message_ts").unwrap_or("").to_string();
            if strict && !w.messages.contains_key(&(channel.clone(), ts.clone())) {
                err("message_not_found")
            } else {
                ok(json!({"channel": channel, "permalink": format!(
                    "https://{}/archives/{channel}/p{}",
                    w.options.permalink_host,
                    ts.replace('.', "")
                )}))
            }
        }
        "views.publish" => {
            let Some(user) = str_arg(args, "user_id") else {
                return (StatusCode::OK, err("invalid_arguments"));
            };
            let refused = if !strict {
                None
            } else if args["view"]["type"] != "home" {
                Some(err("invalid_arguments"))
            } else {
                view_error(&args["view"])
            };
            match refused {
                Some(refused) => refused,
                None => {
                    w.homes.insert(user.to_string(), args["view"].clone());
                    w.homes_published += 1;
                    ok(json!({"view": {"id": "VHOME"}}))
                }
            }
        }
        "views.open" | "views.push" => {
            let refused = if !strict {
                None
            } else if str_arg(args, "trigger_id").is_none() {
                Some(err("invalid_trigger_id"))
            } else {
                view_error(&args["view"])
            };
            match refused {
                Some(refused) => refused,
                None => {
                    if method == "views.open" {
                        w.modals.clear();
                    }
                    let view_id = w.new_id('V');
                    let view = args["view"].clone();
                    w.modals.push((view_id.clone(), view.clone()));
                    w.tell(Seen::ModalOpened {
                        view_id: &view_id,
                        view: &view,
                    });
                    ok(json!({"view": {"id": view_id}}))
                }
            }
        }
        "files.getUploadURLExternal" => {
            let filename = str_arg(args, "filename");
            let length = str_arg(args, "length").and_then(|l| l.parse::<usize>().ok());
            if strict && (filename.is_none() || length.is_none()) {
                return (StatusCode::OK, err("invalid_arguments"));
            }
            let (filename, length) = (filename.unwrap_or("").to_string(), length.unwrap_or(0));
            let id = w.new_id('F');
            w.upload_tickets.insert(id.clone(), (filename, length));
            ok(json!({"upload_url": format!("{}/upload/{id}", w.base), "file_id": id}))
        }
        "files.completeUploadExternal" => {
            // `files` is a JSON array, sent as JSON or as a JSON string in a form.
            let files = match &args["files"] {
                Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
                other => other.clone(),
            };
            let channel = str_arg(args, "channel_id").unwrap_or("").to_string();
            let thread_ts = str_arg(args, "thread_ts").map(str::to_string);
            let Some(list) = files.as_array() else {
                return (StatusCode::OK, err("invalid_arguments"));
            };
            if strict {
                // Shared into a channel the app is not in, Slack refuses as a post does.
                match w.channels.get(&channel) {
                    None => return (StatusCode::OK, err("channel_not_found")),
                    Some(c) if !c.bot_is_member => {
                        return (StatusCode::OK, err("not_in_channel"));
                    }
                    Some(_) => {}
                }
            }
            let mut shared = Vec::new();
            for f in list {
                let id = f["id"].as_str().unwrap_or("");
                let Some((filename, length)) = w.upload_tickets.get(id) else {
                    if strict {
                        return (StatusCode::OK, err("file_not_found"));
                    }
                    continue;
                };
                let content = w.uploaded.get(id);
                if strict && content.is_none_or(|c| c.len() != *length) {
                    let code = if content.is_none() {
                        "file_not_found"
                    } else {
                        "file_upload_size_mismatch"
                    };
                    return (StatusCode::OK, err(code));
                }
                shared.push((
                    SharedFile {
                        channel: channel.clone(),
                        thread_ts: thread_ts.clone(),
                        filename: filename.clone(),
                        title: f["title"].as_str().unwrap_or("").to_string(),
                        content: content.cloned().unwrap_or_default(),
                    },
                    *length,
                ));
            }
            for (file, length) in shared {
                w.tell(Seen::FileShared {
                    channel: &file.channel,
                    in_thread: file.thread_ts.is_some(),
                    filename: &file.filename,
                    length,
                    title: &file.title,
                });
                w.shared_files.push(file);
            }
            ok(json!({"files": files}))
        }
        other => {
            w.tell(Seen::UnknownMethod(other));
            err("unknown_method")
        }
    };
    (StatusCode::OK, answer)
}

/// Slack's authorize page, as if the installer approved what the test set up (or
/// cancelled, when nothing was): back to the redirect URI with a code and the state.
pub(super) async fn authorize(
    State(fake): State<SlackFake>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let redirect = query.get("redirect_uri").cloned().unwrap_or_default();
    let state = query.get("state").cloned().unwrap_or_default();
    let mut w = fake.workspace();
    if query.get("client_id") != Some(&w.options.client_id) || w.options.client_id.is_empty() {
        return (StatusCode::BAD_REQUEST, "invalid_client_id").into_response();
    }
    let Ok(mut url) = url::Url::parse(&redirect) else {
        return (StatusCode::BAD_REQUEST, "bad_redirect_uri").into_response();
    };
    match w.approving.take() {
        Some(approval) => {
            w.next_id += 1;
            let code = format!("code-{}", w.next_id);
            w.codes.insert(code.clone(), (approval, redirect.clone()));
            url.query_pairs_mut()
                .append_pair("code", &code)
                .append_pair("state", &state);
        }
        None => {
            url.query_pairs_mut()
                .append_pair("error", "access_denied")
                .append_pair("state", &state);
        }
    }
    (
        StatusCode::FOUND,
        [(axum::http::header::LOCATION, url.to_string())],
    )
        .into_response()
}

/// oauth.v2.access: the app's credentials in Basic auth, a code given once.
pub(super) fn oauth_access(fake: &SlackFake, headers: &HeaderMap, args: &Value) -> Response {
    use base64::Engine;
    let mut w = fake.workspace();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        w.options.client_id, w.options.client_secret
    ));
    let authorized = !w.options.client_id.is_empty()
        && headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == format!("Basic {basic}"));
    let answer = if !authorized {
        err("invalid_client")
    } else {
        match w.codes.remove(str_arg(args, "code").unwrap_or("")) {
            None => err("invalid_code"),
            Some((_, redirect)) if str_arg(args, "redirect_uri") != Some(redirect.as_str()) => {
                err("bad_redirect_uri")
            }
            Some((approval, _)) => {
                w.next_id += 1;
                let workspace = if approval.org_install {
                    approval.enterprise.clone().map(|e| e.0)
                } else {
                    approval.team.clone().map(|t| t.0)
                }
                .unwrap_or_default();
                let token = format!("xoxb-{workspace}-{}", w.next_id);
                w.tokens.insert(token.clone(), workspace);
                w.minted.push(token.clone());
                let named = |pair: &Option<(String, String)>| {
                    pair.as_ref()
                        .map_or(Value::Null, |(id, name)| json!({"id": id, "name": name}))
                };
                ok(json!({
                    "access_token": token,
                    "token_type": "bot",
                    "scope": "commands,chat:write",
                    "bot_user_id": w.options.bot_user,
                    "app_id": "A0001",
                    "team": named(&approval.team),
                    "enterprise": named(&approval.enterprise),
                    "is_enterprise_install": approval.org_install,
                    "authed_user": {"id": approval.user},
                }))
            }
        }
    };
    let outcome = if answer["ok"] == true {
        "ok".to_string()
    } else {
        answer["error"].as_str().unwrap_or("?").to_string()
    };
    w.calls.push(Call {
        method: "oauth.v2.access".into(),
        team: String::new(),
        args: args.clone(),
        outcome,
    });
    Json(answer).into_response()
}
