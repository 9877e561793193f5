//! manifest.yml is a valid Slack app manifest whose URLs match the app's routes.

use serde_json::Value;

fn manifest() -> Value {
    let yaml: serde_yaml::Value = serde_yaml::from_str(include_str!("../../manifest.yml")).unwrap();
    serde_json::to_value(yaml).unwrap()
}

#[test]
fn the_manifest_validates_against_slacks_schema() {
    let schema: Value = serde_json::from_str(include_str!(
        "../fixtures/manifest-schema/manifest.schema.2.0.0.json"
    ))
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let manifest = manifest();
    let errors: Vec<String> = validator
        .iter_errors(&manifest)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    // The schema really rejects things: an unknown top-level key fails.
    let mut broken = manifest.clone();
    broken["unknown_key"] = Value::Bool(true);
    assert!(!validator.is_valid(&broken));
    let invalid: Value = serde_json::from_str(include_str!(
        "../fixtures/manifest-schema/manifest.invalid.json"
    ))
    .unwrap();
    assert!(!validator.is_valid(&invalid));
}

#[test]
fn the_manifests_urls_and_scopes_match_the_app() {
    let m = manifest();
    let base = "https://readiness.example.com";
    assert_eq!(m["features"]["slash_commands"][0]["command"], "/readiness");
    assert_eq!(
        m["features"]["slash_commands"][0]["url"],
        format!("{base}/slack/commands")
    );
    assert_eq!(m["features"]["slash_commands"][0]["should_escape"], true);
    assert_eq!(
        m["settings"]["interactivity"]["request_url"],
        format!("{base}/slack/interactions")
    );
    assert_eq!(
        m["settings"]["event_subscriptions"]["request_url"],
        format!("{base}/slack/events")
    );
    assert_eq!(m["features"]["app_home"]["home_tab_enabled"], true);
    let scopes: Vec<&str> = m["oauth_config"]["scopes"]["bot"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for needed in [
        "commands",
        "chat:write",
        "chat:write.public",
        "channels:manage",
        "groups:write",
        "channels:read",
        "groups:read",
        "users:read",
        "im:write",
        "im:history",
        "pins:write",
        "channels:history",
        "groups:history",
        "usergroups:read",
        "reactions:read",
        "reactions:write",
        "app_mentions:read",
        // The item modal's file field (`file_input`).
        "files:read",
    ] {
        assert!(scopes.contains(&needed), "missing scope {needed}");
    }
    // Intake: messages, the intake emoji and mentions of the app reach it.
    let events: Vec<&str> = m["settings"]["event_subscriptions"]["bot_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    for needed in [
        "message.channels",
        "message.groups",
        "reaction_added",
        "app_mention",
    ] {
        assert!(events.contains(&needed), "missing bot event {needed}");
    }
    // The install flow asks for exactly the manifest's scopes, and comes back to the
    // callback route.
    assert_eq!(scopes, readiness::http::oauth::BOT_SCOPES);
    assert_eq!(
        m["oauth_config"]["redirect_urls"][0],
        format!("{base}/slack/oauth/callback")
    );
}
