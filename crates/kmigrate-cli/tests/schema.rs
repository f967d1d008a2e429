//! `kmigrate schema`: prints the plan's JSON Schema, exactly the checked-in `schema/plan-v1.json`
//! (which `kmigrate-plan`'s tests keep up to date with the plan types). No broker needed.

mod common;

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

#[test]
fn schema_prints_the_checked_in_json_schema() {
    let out = common::kmigrate(&root(), &["schema"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8(out.stdout).unwrap();
    let checked_in = std::fs::read_to_string(root().join("schema/plan-v1.json")).unwrap();
    assert_eq!(printed, checked_in);
    let schema: serde_json::Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(schema["$id"], kmigrate_plan::PLAN_SCHEMA_URL);

    // The same with `--output json`: it is JSON either way.
    let out = common::kmigrate(&root(), &["schema", "--output", "json"]);
    assert_eq!((out.status.code(), String::from_utf8(out.stdout).unwrap()), (Some(0), checked_in));
}

#[test]
fn schema_help_says_what_it_is_for() {
    let out = common::kmigrate(&root(), &["schema", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for expected in ["JSON Schema", "yaml-language-server", "kmigrate schema > plan-v1.json"] {
        assert!(help.contains(expected), "{help}");
    }
    let out = common::kmigrate(&root(), &["--help"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("schema"));
}
