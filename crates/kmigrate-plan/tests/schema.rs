//! The plan's JSON Schema: the checked-in `schema/plan-v1.json` is what the plan types generate
//! (regenerate it with `KMIGRATE_BLESS=1`), every sample plan and the plans `kmigrate init` drafts
//! validate against it, and plans with schema-level mistakes (an unknown key, a value that is not
//! one of the choices, the wrong kind of value) do not.

use std::path::{Path, PathBuf};

use kmigrate_plan::{PLAN_SCHEMA_URL, plan_schema, plan_schema_text};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const SCHEMA_FILE: &str = "schema/plan-v1.json";

#[test]
fn the_checked_in_schema_is_what_the_plan_types_generate() {
    let path = workspace().join(SCHEMA_FILE);
    let generated = plan_schema_text();
    if std::env::var_os("KMIGRATE_BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{SCHEMA_FILE} is stale: the plan types changed. Regenerate it with\n\n    \
         KMIGRATE_BLESS=1 cargo test -p kmigrate-plan --test schema\n\nand commit it."
    );
}

#[test]
fn the_schema_is_a_valid_draft_2020_12_schema_published_at_its_url() {
    let schema = plan_schema();
    assert_eq!(schema["$id"], PLAN_SCHEMA_URL);
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    jsonschema::meta::validate(&schema).expect("a valid JSON Schema");
    assert!(PLAN_SCHEMA_URL.ends_with(SCHEMA_FILE));
}

fn validator() -> jsonschema::Validator {
    jsonschema::draft202012::new(&plan_schema()).expect("the schema compiles")
}

/// A YAML plan as the JSON an editor's YAML language server checks against the schema.
fn as_json(text: &str) -> serde_json::Value {
    serde_saphyr::from_str(text).expect("YAML")
}

/// The schema's complaints about a plan, one line each.
fn schema_errors(text: &str) -> Vec<String> {
    validator().iter_errors(&as_json(text)).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

#[test]
fn every_sample_plan_validates_against_the_schema() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(workspace().join("plans"))
        .expect("plans/")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.iter().any(|p| p.ends_with("quickstart.yaml")));
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            kmigrate_plan::parse("plan.yaml", &text).plan.is_some(),
            "{} is a valid plan",
            file.display()
        );
        let errors = schema_errors(&text);
        assert!(errors.is_empty(), "{} against the schema:\n{}", file.display(), errors.join("\n"));
    }
}

#[test]
fn schema_level_mistakes_are_rejected_by_the_schema() {
    // (file in tests/plans/invalid, what the schema says)
    let cases = [
        ("04-unknown-top-key.yaml", "Additional properties are not allowed"),
        ("19-data-invalid-value.yaml", "is not one of"),
        ("32-offsets-typo.yaml", "is not one of"),
        ("02-version-2.yaml", "1 was expected"),
        ("01-version-missing.yaml", "\"version\" is a required property"),
        // a topic entry is a name or a mapping: the error is the entry's
        ("44-partitions-not-number.yaml", "is not valid under any of the schemas listed in the 'oneOf'"),
        ("17-partitions-zero.yaml", "is not valid under any of the schemas listed in the 'oneOf'"),
        ("39-topics-not-a-list.yaml", "is not of type \"array\""),
        ("47-group-wrong-shape.yaml", "is not of type \"object\""),
        ("49-sync-compression-typo.yaml", "is not one of"),
        ("14-topic-name-and-pattern.yaml", "oneOf"),
        ("23-cutover-two-modes.yaml", "oneOf"),
        ("20-synced-without-sync.yaml", "\"sync\" is a required property"),
        ("21-sync-with-not-synced.yaml", "False schema does not allow"),
        ("33-dual-write-leftover-sync.yaml", "False schema does not allow"),
        ("50-sync-compression-external.yaml", "False schema does not allow"),
    ];
    for (file, expected) in cases {
        let text = std::fs::read_to_string(workspace().join("tests/plans/invalid").join(file)).unwrap();
        assert!(kmigrate_plan::parse(file, &text).has_errors(), "{file} is an invalid plan");
        let errors = schema_errors(&text);
        assert!(
            errors.iter().any(|e| e.contains(expected)),
            "{file}: expected an error containing {expected:?}, got:\n{}",
            errors.join("\n")
        );
    }
}

#[test]
fn typed_values_are_described_precisely() {
    let schema = plan_schema();
    let defs = &schema["$defs"];
    assert_eq!(schema["properties"]["version"]["const"], 1);
    assert_eq!(
        schema["properties"]["data"]["enum"],
        serde_json::json!(["synced", "not-synced", "dual-write"])
    );
    assert_eq!(
        defs["sync"]["properties"]["by"]["enum"],
        serde_json::json!(["kmigrate", "mirrormaker2", "external"])
    );
    assert_eq!(
        defs["sync"]["properties"]["compression"]["enum"],
        serde_json::json!(["none", "gzip", "snappy", "lz4", "zstd"])
    );
    for key in ["offsets", "loss"] {
        assert_eq!(defs["defaults"]["properties"][key]["enum"], defs["group"]["properties"][key]["enum"]);
    }
    assert_eq!(defs["group"]["properties"]["loss"]["enum"], serde_json::json!(["tolerant", "strict"]));
    assert_eq!(defs["cutover"]["properties"]["manual"]["type"], "boolean");
    assert_eq!(defs["group"]["properties"]["drain"]["type"], "boolean");
    let partitions = &defs["topic_mapping"]["properties"]["partitions"];
    assert_eq!((partitions["type"].as_str(), partitions["minimum"].as_u64()), (Some("integer"), Some(1)));
    let required: Vec<&str> =
        schema["required"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
    assert_eq!(required, ["version", "name", "source", "target", "topics", "data", "cutover"]);
    for def in ["cluster", "topic_mapping", "sync", "cutover", "detect", "consumers", "defaults", "group"] {
        assert_eq!(defs[def]["additionalProperties"], false, "{def} denies unknown keys");
    }
    assert_eq!(schema["additionalProperties"], false);
}

#[test]
fn a_few_more_plans_the_schema_accepts_and_refuses() {
    let base = "version: 1\nname: t\nsource: { bootstrap_servers: \"a:9092\" }\ntarget: { bootstrap_servers: \"b:9092\" }\n\
                topics: [orders]\ndata: not-synced\ncutover: { manual: true }\n";
    assert_eq!(schema_errors(base), Vec::<String>::new());
    let accepted = [
        // numbers and booleans are property values as written
        "source: { bootstrap_servers: \"a:9092\", properties: { retries: 5, enable.idempotence: true } }",
        // `manual: false` is no mode: `at` is the one
        "cutover: { at: \"2026-11-25T02:00:00+08:00\", manual: false }",
        "cutover: { detect: { idle: 60s }, margin: 5s }",
        "topics: [orders, { pattern: '^audit\\.', partitions: 12, config: { retention.ms: 1000 } }]",
        "consumers: { groups: [ { id: billing, drain: false, topics: [orders] } ] }",
        "data: synced\nsync: { by: mirrormaker2, connect: { url: \"http://c:8083\", name_prefix: m, tasks: 2, properties: { producer.override.acks: all } } }",
    ];
    // kmigrate agrees each time.
    for replace in accepted {
        let text = with(base, replace);
        assert_eq!(schema_errors(&text), Vec::<String>::new(), "{text}");
        assert!(kmigrate_plan::parse("plan.yaml", &text).plan.is_some(), "{text}");
    }
    let refused = [
        "cutover: { manual: sure }",
        "cutover: { manual: false }",
        "cutover: {}",
        "topics: []",
        "topics: [{ partitions: 3 }]",
        "name: Orders",
        "source: { bootstrap_servers: \"a:9092\", properties: { ssl.ca.location: } }",
        "consumers: { groups: [ { offsets: self-stored } ] }",
        "consumers: { groups: [ { id: g, drain: \"no\" } ] }",
        "data:",
        "data: dual-write\nsync: { by: kmigrate }",
        "data: synced\nsync: { by: external, compression: zstd }",
        "data: synced\nsync: { by: mirrormaker2 }",
        "data: synced\nsync: { by: kmigrate, connect: { url: \"http://c:8083\" } }",
        "data: synced\nsync: { by: mirrormaker2, connect: { url: \"http://c:8083\", tasks: 0 } }",
        "data: synced\nsync: { by: mirrormaker2, connect: { url: \"http://c:8083\", name_prefix: \"a b\" } }",
        "data: synced\nsync: { by: mirrormaker2, compression: lz4, connect: { url: \"http://c:8083\" } }",
    ];
    for replace in refused {
        let text = with(base, replace);
        assert_ne!(schema_errors(&text), Vec::<String>::new(), "{text}");
        assert!(kmigrate_plan::parse("plan.yaml", &text).has_errors(), "{text}");
    }
}

/// `base` with the top-level key of `line` replaced by it (or added).
fn with(base: &str, line: &str) -> String {
    let key = line.split(':').next().unwrap();
    let mut out: Vec<&str> = base.lines().filter(|l| !l.starts_with(&format!("{key}:"))).collect();
    out.push(line);
    out.join("\n") + "\n"
}
