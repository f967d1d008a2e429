//! The writer on hand-made facts: insta snapshots of the text, and every drafted plan validates,
//! also against the plan's JSON Schema its first line names.

use std::collections::{BTreeMap, BTreeSet};

use crate::facts::{Activity, Commits, GroupFacts, SourceFacts, TargetFacts, TopicFacts};
use crate::tooling::{Tooling, tooling_topic};
use crate::*;

fn topic(partitions: usize, records: i64) -> TopicFacts {
    TopicFacts { partitions, records }
}

fn group(id: &str, activity: Activity, commits: &[(&str, usize, i64)], other: &[&str]) -> GroupFacts {
    GroupFacts {
        id: id.into(),
        activity,
        commits: commits
            .iter()
            .map(|(t, p, lag)| (t.to_string(), Commits { partitions: *p, lag: *lag }))
            .collect(),
        other_topics: other.iter().map(|s| s.to_string()).collect(),
    }
}

fn facts() -> SourceFacts {
    let mut topics: BTreeMap<String, TopicFacts> = BTreeMap::new();
    for t in ["audit.billing", "audit.orders", "audit.shipping", "audit.users"] {
        topics.insert(t.into(), topic(3, 1200));
    }
    topics.insert("orders".into(), topic(6, 1_204_332));
    topics.insert("payments".into(), topic(6, 0));
    topics.insert("app-logs-eu".into(), topic(12, 10));
    topics.insert("app-logs-us".into(), topic(12, 10));
    let tooling = ["connect-offsets", "mm2-offset-syncs.old.internal", "_schemas"];
    let mut all: BTreeSet<String> = topics.keys().cloned().collect();
    all.extend(tooling.iter().map(|s| s.to_string()));
    // app-logs-ap exists but was not selected: `app-logs-` cannot collapse.
    all.insert("app-logs-ap".into());
    SourceFacts {
        all_topics: all,
        topics,
        tooling_topics: tooling.iter().map(|t| (t.to_string(), tooling_topic(t).unwrap())).collect(),
        unselected_topics: vec!["app-logs-ap".into()],
        groups: vec![
            group("billing", Activity::Members(3), &[("orders", 6, 0), ("payments", 6, 0)], &[]),
            group("shipping", Activity::Members(1), &[("orders", 6, 1520)], &[]),
            group("analytics", Activity::Members(2), &[], &[]),
            group("audit-sink", Activity::Active { state: "Stable".into() }, &[("audit.orders", 3, 0)], &[]),
            group("reports", Activity::Idle { state: "Empty".into() }, &[("orders", 6, 0)], &["app-logs-ap"]),
            group("replayer", Activity::Idle { state: "Empty".into() }, &[("orders", 4, 90_000)], &[]),
            group("old-app", Activity::Idle { state: "Empty".into() }, &[], &["app-logs-ap"]),
            group("true", Activity::Members(1), &[], &[]),
        ],
        tooling_groups: vec!["connect-cluster".into()],
        unselected_groups: vec![],
    }
}

fn input(data: DataChoice, target: Option<ClusterText>) -> InitInput {
    InitInput {
        name: "migration".into(),
        source: ClusterText {
            bootstrap_servers: "old-1:9092,old-2:9092".into(),
            properties: [
                ("security.protocol".to_string(), "SASL_SSL".to_string()),
                ("sasl.mechanism".to_string(), "SCRAM-SHA-512".to_string()),
                ("sasl.username".to_string(), "${OLD_USER}".to_string()),
                ("sasl.password".to_string(), "${OLD_PASSWORD}".to_string()),
            ]
            .into(),
        },
        target,
        data,
        topics_regex: Some("^(audit|orders|payments|app-logs-(eu|us))".into()),
        groups_regex: None,
    }
}

/// The drafted text, after checking that it is a valid plan with no warning, and valid against
/// the plan's JSON Schema (what an editor checks).
fn drafted(input: &InitInput, source: &SourceFacts, target: Option<&TargetFacts>) -> String {
    let (text, _) = write_plan(input, source, target).unwrap();
    let parsed = kmigrate_plan::parse("drafted.yaml", &text);
    let problems: Vec<String> = parsed.diagnostics.iter().map(kmigrate_plan::render_plain).collect();
    assert!(problems.is_empty(), "{text}\n{}", problems.join("\n"));
    assert!(parsed.plan.is_some());
    let schema = jsonschema::draft202012::new(&kmigrate_plan::plan_schema()).unwrap();
    let json: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let problems: Vec<String> =
        schema.iter_errors(&json).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(problems.is_empty(), "{text}\nagainst the schema:\n{}", problems.join("\n"));
    text
}

#[test]
fn synced_without_a_target() {
    let text = drafted(&input(DataChoice::Synced, None), &facts(), None);
    insta::assert_snapshot!(text);
}

#[test]
fn not_synced_with_a_target() {
    let target = TargetFacts {
        topics: [("orders".to_string(), 6), ("payments".to_string(), 3), ("audit.orders".to_string(), 3)]
            .into(),
        groups: [("billing".to_string(), "Empty".to_string())].into(),
    };
    let t = ClusterText { bootstrap_servers: "new-1:9092".into(), properties: BTreeMap::new() };
    let text = drafted(&input(DataChoice::NotSynced, Some(t)), &facts(), Some(&target));
    insta::assert_snapshot!(text);
}

#[test]
fn the_plan_keeps_templates_and_counts_what_it_proposes() {
    let (text, summary) = write_plan(&input(DataChoice::Synced, None), &facts(), None).unwrap();
    let first_line = format!("# yaml-language-server: $schema={}\n", kmigrate_plan::PLAN_SCHEMA_URL);
    assert!(text.starts_with(&first_line));
    assert!(text.contains("sasl.password: \"${OLD_PASSWORD}\""));
    assert_eq!(
        summary,
        DraftSummary { topics: 8, patterns: 1, groups: 7, self_stored: 2, groups_left_out: 1 }
    );
}

#[test]
fn awkward_names_are_quoted_and_comments_stay_comments() {
    let mut f = facts();
    f.groups.push(group("we\nird: #id", Activity::Members(1), &[("orders", 1, 0)], &[]));
    f.groups.push(group("123", Activity::Members(1), &[], &[]));
    f.groups.push(group("a/b", Activity::Members(1), &[], &[]));
    f.groups.push(group("a_b", Activity::Members(1), &[], &[]));
    let text = drafted(&input(DataChoice::Synced, None), &f, None);
    assert!(text.contains("- id: \"we\\nird: #id\""), "{text}");
    assert!(text.contains("- id: \"123\""), "{text}");
    assert!(text.contains("export: offsets/a_b.csv"), "{text}");
    assert!(text.contains("export: offsets/a_b-2.csv"), "{text}");
    let plan = kmigrate_plan::parse("drafted.yaml", &text).plan.unwrap();
    assert!(plan.groups.iter().any(|g| g.id == "we\nird: #id"));
}

#[test]
fn no_topic_no_plan() {
    let mut f = facts();
    f.topics.clear();
    let err = write_plan(&input(DataChoice::Synced, None), &f, None).unwrap_err();
    assert!(err.to_string().starts_with("no topic to migrate"), "{err}");
    assert_eq!(tooling_topic("heartbeats"), Some(Tooling::MirrorMaker));
}
