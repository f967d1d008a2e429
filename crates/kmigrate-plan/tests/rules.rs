//! One test per validation rule: each mutates a valid plan and checks which diagnostics come
//! out, where (line:column) and how severe. Line numbers refer to `BASE` after the edit.

use kmigrate_plan::{
    Compression, CutoverMode, DataMode, Loss, OffsetStore, Parsed, Severity, SyncBy, TopicSelector, parse,
    render_plain,
};

const BASE: &str = r#"version: 1
name: orders-to-new
source:
  bootstrap_servers: "old-1:9092,old-2:9092"
target:
  bootstrap_servers: "new-1:9092"
topics:
  - orders
  - payments
data: synced
sync:
  by: kmigrate
cutover:
  manual: true
consumers:
  defaults: { offsets: broker-managed, loss: strict }
  groups:
    - id: billing
    - id: analytics
      offsets: self-stored
      export: offsets/analytics.csv
"#;

/// BASE with each `(old, new)` replaced once (every `old` must occur).
fn plan(edits: &[(&str, &str)]) -> String {
    let mut text = BASE.to_owned();
    for (old, new) in edits {
        assert!(text.contains(old), "BASE has no {old:?}");
        text = text.replacen(old, new, 1);
    }
    text
}

fn run(text: &str) -> Parsed {
    parse("plan.yaml", text)
}

/// `(line, column, code)` of every diagnostic.
fn found(text: &str) -> Vec<(u32, u32, &'static str)> {
    run(text).diagnostics.iter().map(|d| (d.line, d.column, d.code)).collect()
}

fn messages(text: &str) -> Vec<String> {
    run(text).diagnostics.iter().map(|d| d.message.clone()).collect()
}

#[track_caller]
fn assert_only_warnings(text: &str) -> Parsed {
    let p = run(text);
    assert!(!p.has_errors(), "{:#?}", p.diagnostics);
    assert!(p.plan.is_some());
    assert!(p.diagnostics.iter().all(|d| d.severity == Severity::Warning));
    assert!(!p.diagnostics.is_empty());
    p
}

// ------------------------------------------------------------------------- the valid base

#[test]
fn the_base_plan_is_valid_and_builds_the_model() {
    let p = run(BASE);
    assert!(p.diagnostics.is_empty(), "{:#?}", p.diagnostics);
    assert!(!p.has_errors());
    let plan = p.plan.unwrap();
    assert_eq!(plan.name, "orders-to-new");
    assert_eq!(plan.data, DataMode::Synced(SyncBy::Kmigrate));
    assert_eq!(plan.cutover.mode, CutoverMode::Manual);
    assert_eq!((plan.cutover.loc.line, plan.cutover.loc.column), (13, 1));
    assert_eq!((plan.source.loc.line, plan.target.loc.line), (3, 5));
    assert_eq!(plan.source.bootstrap_servers.raw, "old-1:9092,old-2:9092");
    assert_eq!((plan.source.bootstrap_servers.loc.line, plan.source.bootstrap_servers.loc.column), (4, 22));
    assert_eq!(plan.topics.len(), 2);
    assert_eq!((plan.topics[1].loc.line, plan.topics[1].loc.column), (9, 5));
    assert!(matches!(&plan.topics[0].selector, TopicSelector::Name(n) if n == "orders"));
    assert_eq!(plan.groups.len(), 2);
    let billing = &plan.groups[0];
    assert_eq!(
        (billing.offsets, billing.loss, billing.drain),
        (OffsetStore::BrokerManaged, Loss::Strict, true)
    );
    assert_eq!((billing.loc.line, billing.loc.column), (18, 11));
    let analytics = &plan.groups[1];
    assert_eq!(
        (analytics.offsets, analytics.drain, analytics.topics.clone()),
        (OffsetStore::SelfStored, false, None)
    );
}

#[test]
fn consumers_and_defaults_are_optional() {
    let text = plan(&[(
        "consumers:\n  defaults: { offsets: broker-managed, loss: strict }\n  groups:\n    - id: billing\n    - id: analytics\n      offsets: self-stored\n      export: offsets/analytics.csv\n",
        "",
    )]);
    assert!(run(&text).plan.unwrap().groups.is_empty());
    // Without defaults a group is broker-managed and strict (the safe choice).
    let text = plan(&[("  defaults: { offsets: broker-managed, loss: strict }\n", "")]);
    let g = &run(&text).plan.unwrap().groups[0];
    assert_eq!((g.offsets, g.loss), (OffsetStore::BrokerManaged, Loss::Strict));
}

// ------------------------------------------------------------------------- version and name

#[test]
fn version_must_be_present_and_1() {
    assert_eq!(found(&plan(&[("version: 1\n", "")])), [(1, 1, "plan::version")]);
    assert_eq!(found(&plan(&[("version: 1", "version: 2")])), [(1, 10, "plan::version")]);
    assert_eq!(found(&plan(&[("version: 1", "version: 1.0")])), [(1, 10, "plan::version")]);
    assert!(found(&plan(&[("version: 1", "version: \"1\"")])).is_empty());
}

#[test]
fn name_must_match_the_checkpoint_name_rule() {
    assert_eq!(found(&plan(&[("name: orders-to-new", "name: Orders")])), [(2, 7, "plan::name")]);
    assert_eq!(found(&plan(&[("name: orders-to-new", "name: \"..\"")])), [(2, 7, "plan::name")]);
    assert_eq!(found(&plan(&[("name: orders-to-new", "name: a/b")])), [(2, 7, "plan::name")]);
    assert_eq!(found(&plan(&[("name: orders-to-new\n", "")])), [(1, 1, "plan::name")]);
    assert!(found(&plan(&[("name: orders-to-new", "name: orders_v2.eu-1")])).is_empty());
    let p = run(&plan(&[("name: orders-to-new", "name: Orders To New")]));
    assert_eq!(p.diagnostics[0].help.as_deref().map(|h| h.contains("name: orders-to-new")), Some(true));
}

// ------------------------------------------------------------------------- clusters

#[test]
fn bootstrap_servers_must_be_present_and_well_formed() {
    let t = |v: &str| found(&plan(&[("\"new-1:9092\"", v)]));
    assert_eq!(t("\"\""), [(6, 22, "plan::cluster::bootstrap")]);
    assert_eq!(t("\"   \""), [(6, 22, "plan::cluster::bootstrap")]);
    assert_eq!(t("\"new-1\""), [(6, 22, "plan::cluster::bootstrap")]);
    assert_eq!(t("\"new-1:99999\""), [(6, 22, "plan::cluster::bootstrap")]);
    assert_eq!(t("\"new-1:9092,\""), [(6, 22, "plan::cluster::bootstrap")]);
    assert_eq!(t("\"new-1:9092 new-2:9092\""), [(6, 22, "plan::cluster::bootstrap")]);
    assert_eq!(t("\"::1:9092\""), [(6, 22, "plan::cluster::bootstrap")]);
    // Two bad entries, two errors.
    assert_eq!(t("\"a,b\"").len(), 2);
    assert!(t("\"[::1]:9092, SSL://new-2.example.com:9093\"").is_empty());
    assert!(t("\"${NEW_BOOTSTRAP}\"").is_empty());
    let missing =
        plan(&[("  bootstrap_servers: \"new-1:9092\"\n", "  properties: { security.protocol: SSL }\n")]);
    assert_eq!(found(&missing), [(5, 1, "plan::cluster::bootstrap")]);
    assert_eq!(
        found(&plan(&[("target:\n  bootstrap_servers: \"new-1:9092\"\n", "")])),
        [(1, 1, "plan::missing-key")]
    );
}

#[test]
fn source_and_target_must_differ() {
    let text = plan(&[("\"new-1:9092\"", "\"new-1:9092,OLD-2:9092\"")]);
    assert_eq!(found(&text), [(6, 22, "plan::cluster::same")]);
    let out = render_plain(&run(&text).diagnostics[0]);
    assert!(out.contains("source brokers") && out.contains("target brokers"), "{out}");
}

#[test]
fn properties_are_checked() {
    let props = |body: &str| {
        plan(&[(
            "  bootstrap_servers: \"new-1:9092\"\n",
            &format!("  bootstrap_servers: \"new-1:9092\"\n  properties:\n{body}"),
        )])
    };
    assert_eq!(found(&props("    bootstrap.servers: x:9092\n")), [(8, 5, "plan::property::key")]);
    assert_eq!(found(&props("    metadata.broker.list: x:9092\n")), [(8, 5, "plan::property::key")]);
    assert_eq!(found(&props("    \"\": x\n")), [(8, 5, "plan::property::key")]);
    assert_eq!(found(&props("    ssl.ca.location:\n")), [(8, 5, "plan::property::value")]);
    // Scalars of any kind keep their text; an empty string is a legitimate value.
    let p = run(&props(
        "    retries: 5\n    enable.idempotence: true\n    linger.ms: 0.5\n    ssl.endpoint.identification.algorithm: \"\"\n",
    ));
    let plan = p.plan.expect("valid");
    let values: Vec<_> =
        plan.target.properties.iter().map(|p| (p.key.as_str(), p.value.raw.as_str())).collect();
    assert_eq!(
        values,
        [
            ("retries", "5"),
            ("enable.idempotence", "true"),
            ("linger.ms", "0.5"),
            ("ssl.endpoint.identification.algorithm", "")
        ]
    );
    assert_eq!(
        (plan.target.properties[0].value.loc.line, plan.target.properties[0].value.loc.column),
        (8, 14)
    );
}

#[test]
fn plain_text_secrets_are_a_warning() {
    let props = |body: &str| {
        plan(&[(
            "  bootstrap_servers: \"new-1:9092\"\n",
            &format!("  bootstrap_servers: \"new-1:9092\"\n  properties:\n{body}"),
        )])
    };
    let p = assert_only_warnings(&props("    sasl.password: hunter2\n"));
    assert_eq!(
        (p.diagnostics[0].line, p.diagnostics[0].column, p.diagnostics[0].code),
        (8, 20, "plan::property::secret")
    );
    assert!(p.diagnostics[0].help.as_deref().unwrap().contains("${TARGET_SASL_PASSWORD}"));
    assert_eq!(
        assert_only_warnings(&props(
            "    sasl.jaas.config: org.apache.kafka.common.security.plain.PlainLoginModule required;\n"
        ))
        .diagnostics
        .len(),
        1
    );
    assert_eq!(
        assert_only_warnings(&props("    sasl.oauthbearer.client.secret: abc\n")).diagnostics.len(),
        1
    );
    // A private key inline, and its password, are secrets; certificates are not.
    let key = "    ssl.key.pem: |\n      -----BEGIN PRIVATE KEY-----\n      MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n      -----END PRIVATE KEY-----\n";
    assert_eq!(assert_only_warnings(&props(key)).diagnostics.len(), 1);
    assert_eq!(assert_only_warnings(&props("    ssl.key.password: k3y\n")).diagnostics.len(), 1);
    let passphrase = "    sasl.oauthbearer.assertion.private.key.passphrase: k3y\n";
    assert_eq!(assert_only_warnings(&props(passphrase)).diagnostics.len(), 1);
    let cert = "    ssl.certificate.pem: |\n      -----BEGIN CERTIFICATE-----\n      MIIBszCCAVmgAwIBAgIUQ\n      -----END CERTIFICATE-----\n";
    let p = run(&props(cert));
    assert!(p.diagnostics.is_empty(), "{:?}", messages(&props(cert)));
    // A YAML block keeps the PEM's lines.
    assert_eq!(p.plan.unwrap().target.properties[0].value.raw.lines().count(), 3);
    assert!(found(&props("    sasl.password: \"${NEW_PASSWORD}\"\n")).is_empty());
    assert!(found(&props("    ssl.key.location: /etc/kafka/client.key\n")).is_empty());
}

#[test]
fn variable_references_must_be_well_formed() {
    let props = |body: &str| {
        plan(&[(
            "  bootstrap_servers: \"new-1:9092\"\n",
            &format!("  bootstrap_servers: \"new-1:9092\"\n  properties:\n{body}"),
        )])
    };
    assert_eq!(found(&props("    sasl.username: \"${NEW_USER\"\n")), [(8, 20, "plan::template")]);
    assert_eq!(found(&props("    sasl.username: \"${}\"\n")), [(8, 20, "plan::template")]);
    assert_eq!(found(&props("    sasl.username: \"${NEW-USER}\"\n")), [(8, 20, "plan::template")]);
    assert!(found(&props("    sasl.username: \"pre-$${LITERAL}-$x-${NEW_USER}\"\n")).is_empty());
    assert_eq!(found(&plan(&[("\"new-1:9092\"", "\"${NEW_BOOTSTRAP\"")])), [(6, 22, "plan::template")]);
    assert!(messages(&props("    sasl.username: \"${NEW_USER\"\n"))[0].contains("never closed"));
}

// ------------------------------------------------------------------------- topics

#[test]
fn topics_must_not_be_empty() {
    assert_eq!(
        found(&plan(&[("topics:\n  - orders\n  - payments\n", "topics: []\n")])),
        [(7, 1, "plan::topics::empty")]
    );
    assert_eq!(
        found(&plan(&[("topics:\n  - orders\n  - payments\n", "topics:\n")])),
        [(1, 1, "plan::topics::empty")]
    );
    assert_eq!(found(&plan(&[("topics:\n  - orders\n  - payments\n", "")])), [(1, 1, "plan::topics::empty")]);
}

#[test]
fn duplicate_topics_point_at_the_second_and_name_the_first() {
    let text = plan(&[("  - payments\n", "  - payments\n  - name: orders\n")]);
    assert_eq!(found(&text), [(10, 11, "plan::topic::duplicate")]);
    assert!(messages(&text)[0].contains("first on line 8"));
    let text = plan(&[("  - payments\n", "  - payments\n  - pattern: '^a'\n  - pattern: '^a'\n")]);
    assert_eq!(found(&text), [(11, 14, "plan::topic::duplicate")]);
}

#[test]
fn a_topic_entry_has_exactly_one_of_name_and_pattern() {
    let both = plan(&[("  - payments\n", "  - name: payments\n    pattern: '^pay'\n")]);
    assert_eq!(found(&both), [(10, 5, "plan::topic::selector")]);
    let neither = plan(&[("  - payments\n", "  - partitions: 3\n")]);
    assert_eq!(found(&neither), [(9, 5, "plan::topic::selector")]);
    let empty = plan(&[("  - payments\n", "  -\n")]);
    assert_eq!(found(&empty).iter().map(|f| f.2).collect::<Vec<_>>(), ["plan::topic::selector"]);
    // The rest of a broken entry is still checked.
    let both_bad = plan(&[("  - payments\n", "  - partitions: 0\n")]);
    assert_eq!(found(&both_bad), [(9, 5, "plan::topic::selector"), (9, 17, "plan::topic::partitions")]);
}

#[test]
fn patterns_must_compile_and_should_be_anchored() {
    let text = plan(&[("  - payments\n", "  - pattern: \"^audit\\\\.(\"\n")]);
    assert_eq!(found(&text), [(9, 14, "plan::topic::pattern")]);
    assert!(messages(&text)[0].ends_with("unclosed group"), "{:?}", messages(&text));
    let p = assert_only_warnings(&plan(&[("  - payments\n", "  - pattern: 'audit'\n")]));
    assert_eq!(p.diagnostics[0].code, "plan::topic::pattern-unanchored");
    let topics = &p.plan.unwrap().topics;
    assert!(matches!(&topics[1].selector, TopicSelector::Pattern(re) if re.as_str() == "audit"));
}

#[test]
fn partitions_must_be_positive() {
    let t =
        |n: &str| found(&plan(&[("  - payments\n", &format!("  - name: payments\n    partitions: {n}\n"))]));
    assert_eq!(t("0"), [(10, 17, "plan::topic::partitions")]);
    assert_eq!(t("-1"), [(10, 17, "plan::topic::partitions")]);
    assert_eq!(t("99999999999"), [(10, 17, "plan::topic::partitions")]);
    assert!(t("12").is_empty());
    assert_eq!(t("twelve"), [(10, 17, "plan::type")]);
}

#[test]
fn topic_names_follow_kafkas_rules() {
    let t = |n: &str| found(&plan(&[("  - payments\n", &format!("  - {n}\n"))]));
    assert_eq!(t("\"pay ments\""), [(9, 5, "plan::topic::name")]);
    assert_eq!(t("orders.*"), [(9, 5, "plan::topic::name")]);
    assert_eq!(t("__consumer_offsets"), [(9, 5, "plan::topic::name")]);
    assert_eq!(t("\".\""), [(9, 5, "plan::topic::name")]);
    assert_eq!(t(&"x".repeat(250)), [(9, 5, "plan::topic::name")]);
    assert!(t(&"x".repeat(249)).is_empty());
    assert!(t("payments_v2.eu-1").is_empty());
    let glob = run(&plan(&[("  - payments\n", "  - orders.*\n")]));
    assert!(glob.diagnostics[0].help.as_deref().unwrap().contains("pattern"));
}

#[test]
fn topic_config_keys_and_values_are_required() {
    let cfg =
        |body: &str| found(&plan(&[("  - payments\n", &format!("  - name: payments\n    config:\n{body}"))]));
    assert_eq!(cfg("      retention.ms:\n"), [(11, 7, "plan::topic::config")]);
    assert_eq!(cfg("      \"\": 1\n"), [(11, 7, "plan::topic::config")]);
    assert!(cfg("      retention.ms: 604800000\n").is_empty());
}

#[test]
fn overlapping_and_colliding_topics_are_warnings() {
    let p = assert_only_warnings(&plan(&[("  - payments\n", "  - payments\n  - pattern: '^ord'\n")]));
    assert_eq!(
        p.diagnostics.iter().map(|d| (d.line, d.code)).collect::<Vec<_>>(),
        [(8, "plan::topic::overlap")]
    );
    let p = assert_only_warnings(&plan(&[("  - payments\n", "  - payments\n  - order_s\n  - order.s\n")]));
    assert_eq!(
        p.diagnostics.iter().map(|d| (d.line, d.code)).collect::<Vec<_>>(),
        [(11, "plan::topic::collision")]
    );
}

// ------------------------------------------------------------------------- data and sync

#[test]
fn sync_goes_with_data_synced_only() {
    assert_eq!(found(&plan(&[("sync:\n  by: kmigrate\n", "")])), [(10, 7, "plan::data::sync")]);
    assert_eq!(found(&plan(&[("data: synced", "data: not-synced")])), [(11, 1, "plan::data::sync")]);
    assert_eq!(
        found(&plan(&[("data: synced", "data: dual-write")])),
        [(11, 1, "plan::data::sync"), (16, 46, "plan::data::dual-write-strict")]
    );
    assert_eq!(found(&plan(&[("sync:\n  by: kmigrate\n", "sync: {}\n")])), [(11, 1, "plan::data::sync")]);
    let no_data = plan(&[("data: synced\n", "")]);
    assert_eq!(found(&no_data), [(1, 1, "plan::missing-key")]);
    assert!(run(&no_data).diagnostics[0].help.as_deref().unwrap().contains("probably `data: synced`"));
    let ext = run(&plan(&[("by: kmigrate", "by: external")])).plan.unwrap();
    assert_eq!(ext.data, DataMode::Synced(SyncBy::External));
    assert!(!ext.copies_data());
    let ns = run(&plan(&[("data: synced\nsync:\n  by: kmigrate\n", "data: not-synced\n")])).plan.unwrap();
    assert_eq!(ns.data, DataMode::NotSynced);
}

#[test]
fn sync_compression_names_a_codec_for_kmigrate_s_copy() {
    assert_eq!(run(BASE).plan.unwrap().compression, None, "optional");
    for codec in Compression::ALL {
        let text = plan(&[("  by: kmigrate\n", &format!("  by: kmigrate\n  compression: {codec}\n"))]);
        let p = run(&text).plan.unwrap_or_else(|| panic!("{codec}: {:?}", messages(&text)));
        let c = p.compression.unwrap();
        assert_eq!((c.codec, c.loc.line, c.loc.column), (codec, 13, 16));
    }
    let typo = plan(&[("  by: kmigrate\n", "  by: kmigrate\n  compression: LZ4\n")]);
    assert_eq!(found(&typo), [(13, 16, "plan::sync::compression")]);
    assert!(run(&typo).diagnostics[0].help.as_deref().unwrap().starts_with("did you mean `lz4`?"));
    let topic_word = plan(&[("  by: kmigrate\n", "  by: kmigrate\n  compression: producer\n")]);
    assert!(run(&topic_word).diagnostics[0].help.as_deref().unwrap().contains("leave `compression` out"));
    // Only kmigrate's copy compresses.
    let external = plan(&[("  by: kmigrate\n", "  by: external\n  compression: zstd\n")]);
    assert_eq!(found(&external), [(13, 3, "plan::sync::compression")]);
}

#[test]
fn dual_write_with_strict_groups_is_a_warning() {
    let text = plan(&[("data: synced\nsync:\n  by: kmigrate\n", "data: dual-write\n")]);
    let p = assert_only_warnings(&text);
    // Both groups inherit strict from `defaults`: one warning there, naming both.
    assert_eq!(p.diagnostics.len(), 1);
    assert_eq!((p.diagnostics[0].line, p.diagnostics[0].code), (14, "plan::data::dual-write-strict"));
    assert!(p.diagnostics[0].message.contains("`billing`, `analytics`"));
    // An explicit per-group `loss: strict` is warned at that group.
    let text = plan(&[
        ("data: synced\nsync:\n  by: kmigrate\n", "data: dual-write\n"),
        ("loss: strict }", "loss: tolerant }"),
        ("    - id: billing\n", "    - id: billing\n      loss: strict\n"),
    ]);
    let p = assert_only_warnings(&text);
    assert_eq!(p.diagnostics.iter().map(|d| (d.line, d.column)).collect::<Vec<_>>(), [(17, 13)]);
    // Tolerant groups: nothing to say.
    let text = plan(&[
        ("data: synced\nsync:\n  by: kmigrate\n", "data: dual-write\n"),
        ("loss: strict }", "loss: tolerant }"),
    ]);
    assert!(found(&text).is_empty());
}

// ------------------------------------------------------------------------- cutover

#[test]
fn cutover_needs_exactly_one_mode() {
    assert_eq!(found(&plan(&[("  manual: true", "  manual: false")])), [(13, 1, "plan::cutover::mode")]);
    assert!(messages(&plan(&[("  manual: true", "  manual: false")]))[0].contains("manual: false"));
    assert_eq!(found(&plan(&[("  manual: true", "  margin: 5s")])), [(13, 1, "plan::cutover::mode")]);
    assert_eq!(found(&plan(&[("cutover:\n  manual: true\n", "")])), [(1, 1, "plan::cutover::mode")]);
    let two = plan(&[("  manual: true", "  manual: true\n  detect: { idle: 60s }")]);
    assert_eq!(found(&two), [(15, 3, "plan::cutover::mode")]);
    assert!(messages(&two)[0].contains("both `manual` (line 14) and `detect`"));
    let three = plan(&[(
        "  manual: true",
        "  at: \"2026-11-25T02:00:00Z\"\n  manual: true\n  detect: { idle: 60s }",
    )]);
    assert_eq!(found(&three), [(15, 3, "plan::cutover::mode"), (16, 3, "plan::cutover::mode")]);
    // `manual: false` next to another mode is fine.
    let ok = run(&plan(&[("  manual: true", "  manual: false\n  detect: { idle: 90s }")]));
    assert_eq!(
        ok.plan.unwrap().cutover.mode,
        CutoverMode::Detect { idle: std::time::Duration::from_secs(90) }
    );
}

#[test]
fn cutover_at_needs_rfc3339_with_an_offset() {
    let at = |v: &str| plan(&[("  manual: true", &format!("  at: {v}"))]);
    let p = run(&at("\"2026-11-25T02:00:00+08:00\"")).plan.unwrap();
    let CutoverMode::At(t) = p.cutover.mode else { panic!() };
    assert_eq!(t.to_rfc3339(), "2026-11-25T02:00:00+08:00");
    assert!(run(&at("2026-11-24T18:00:00Z")).plan.is_some());
    assert!(run(&at("\"2026-11-24T18:00:00.250Z\"")).plan.is_some());
    for naive in ["\"2026-11-25T02:00:00\"", "\"2026-11-25 02:00\"", "2026-11-25"] {
        let text = at(naive);
        assert_eq!(found(&text), [(14, 7, "plan::cutover::timezone")], "{naive}");
        let d = &run(&text).diagnostics[0];
        assert!(d.message.contains("silently assume UTC"), "{}", d.message);
        let help = d.help.as_deref().unwrap();
        assert!(help.contains("Z`") && help.contains("+08:00"), "{help}");
    }
    assert_eq!(found(&at("\"tomorrow at 2\"")), [(14, 7, "plan::cutover::at")]);
    assert_eq!(found(&at("\"2026-13-45T02:00:00Z\"")), [(14, 7, "plan::cutover::at")]);
}

#[test]
fn durations_are_checked() {
    let c = |body: &str| found(&plan(&[("  manual: true", body)]));
    assert_eq!(c("  detect: { idle: 60 }"), [(14, 19, "plan::cutover::idle")]);
    assert_eq!(c("  detect: { idle: 0s }"), [(14, 19, "plan::cutover::idle")]);
    assert_eq!(c("  detect: {}"), [(14, 3, "plan::cutover::idle")]);
    assert_eq!(c("  manual: true\n  margin: later"), [(15, 11, "plan::cutover::margin")]);
    assert_eq!(c("  manual: true\n  margin: -5s"), [(15, 11, "plan::cutover::margin")]);
    let p = run(&plan(&[("  manual: true", "  detect:\n    idle: 1m 30s\n  margin: 500ms")])).plan.unwrap();
    assert_eq!(p.cutover.mode, CutoverMode::Detect { idle: std::time::Duration::from_secs(90) });
    assert_eq!(p.cutover.margin, std::time::Duration::from_millis(500));
}

// ------------------------------------------------------------------------- consumer groups

#[test]
fn group_ids_are_required_and_unique() {
    let dup = plan(&[("    - id: analytics\n", "    - id: billing\n    - id: analytics\n")]);
    assert_eq!(found(&dup), [(19, 11, "plan::group::duplicate")]);
    assert!(messages(&dup)[0].contains("first on line 18"));
    assert_eq!(
        found(&plan(&[("    - id: billing\n", "    - loss: tolerant\n")])),
        [(18, 7, "plan::group::id")]
    );
    assert_eq!(found(&plan(&[("    - id: billing\n", "    - id: \" \"\n")])), [(18, 11, "plan::group::id")]);
}

#[test]
fn self_stored_groups_need_an_export_path() {
    assert_eq!(
        found(&plan(&[("      export: offsets/analytics.csv\n", "")])),
        [(19, 11, "plan::group::export")]
    );
    assert_eq!(
        found(&plan(&[("export: offsets/analytics.csv", "export: \"\"")])),
        [(21, 15, "plan::group::export")]
    );
}

#[test]
fn export_paths_are_unique() {
    let text = plan(&[(
        "    - id: billing\n",
        "    - id: billing\n      offsets: self-stored\n      export: offsets/./analytics.csv\n",
    )]);
    assert_eq!(found(&text), [(23, 15, "plan::group::export-duplicate")]);
    assert!(messages(&text)[0].contains("`billing` (line 20)"));
}

#[test]
fn export_on_a_broker_managed_group_is_a_warning() {
    let p = assert_only_warnings(&plan(&[(
        "    - id: billing\n",
        "    - id: billing\n      export: offsets/billing.csv\n",
    )]));
    assert_eq!(
        p.diagnostics.iter().map(|d| (d.line, d.column, d.code)).collect::<Vec<_>>(),
        [(19, 15, "plan::group::export-unused")]
    );
    // The warning is kept, and the path too.
    assert!(p.plan.unwrap().groups[0].export.is_some());
}

#[test]
fn from_file_is_allowed_on_any_group_but_not_as_an_export() {
    let ok = run(&plan(&[(
        "    - id: billing\n",
        "    - id: billing\n      from_file: offsets/billing-start.csv\n",
    )]));
    let g = &ok.plan.unwrap().groups[0];
    assert_eq!(g.from_file.as_deref(), Some(std::path::Path::new("offsets/billing-start.csv")));
    let clash =
        plan(&[("    - id: billing\n", "    - id: billing\n      from_file: offsets/analytics.csv\n")]);
    assert_eq!(found(&clash), [(19, 18, "plan::group::from-file")]);
    let empty = plan(&[("    - id: billing\n", "    - id: billing\n      from_file: \"\"\n")]);
    assert_eq!(found(&empty), [(19, 18, "plan::group::from-file")]);
}

#[test]
fn group_topics_must_be_plan_topics() {
    let t =
        |list: &str| plan(&[("    - id: billing\n", &format!("    - id: billing\n      topics: {list}\n"))]);
    let p = run(&t("[orders]")).plan.unwrap();
    assert_eq!(p.groups[0].topics.as_deref(), Some(&["orders".to_owned()][..]));
    assert_eq!(found(&t("[order]")), [(19, 16, "plan::group::topics")]);
    assert!(run(&t("[order]")).diagnostics[0].help.as_deref().unwrap().contains("did you mean `orders`"));
    assert_eq!(found(&t("[orders, orders]")), [(19, 24, "plan::group::topics")]);
    assert_eq!(found(&t("[]")), [(19, 7, "plan::group::topics")]);
    // A name matched by a plan pattern counts as a plan topic.
    let with_pattern = plan(&[
        ("  - payments\n", "  - payments\n  - pattern: '^audit\\.'\n"),
        ("    - id: billing\n", "    - id: billing\n      topics: [audit.billing]\n"),
    ]);
    assert!(found(&with_pattern).is_empty());
}

#[test]
fn drain_defaults_and_the_strict_drain_warning() {
    let d = |extra: &str, data: &str| {
        plan(&[
            ("data: synced\nsync:\n  by: kmigrate\n", data),
            ("    - id: billing\n", &format!("    - id: billing\n{extra}")),
        ])
    };
    let synced_by_kmigrate = "data: synced\nsync:\n  by: kmigrate\n";
    // kmigrate's exact offset translation makes draining unnecessary: no warning.
    let p = run(&d("      drain: false\n", synced_by_kmigrate)).plan.unwrap();
    assert!(!p.groups[0].drain);
    let p = assert_only_warnings(&d("      drain: false\n", "data: not-synced\n"));
    assert_eq!(
        p.diagnostics.iter().map(|d| (d.line, d.column, d.code)).collect::<Vec<_>>(),
        [(17, 14, "plan::group::drain")]
    );
    assert!(found(&d("      drain: false\n      loss: tolerant\n", "data: not-synced\n")).is_empty());
    // Self-stored groups can opt in.
    let text = plan(&[("      offsets: self-stored\n", "      offsets: self-stored\n      drain: true\n")]);
    assert!(run(&text).plan.unwrap().groups[1].drain);
}

// ------------------------------------------------------------------------- YAML-level errors

#[test]
fn yaml_errors_are_located_and_explained() {
    let unknown = plan(&[("  manual: true", "  manaul: true")]);
    let p = run(&unknown);
    assert_eq!(found(&unknown), [(14, 3, "plan::unknown-key")]);
    assert_eq!(p.diagnostics[0].message, "unknown key `manaul` in `cutover`");
    assert!(p.diagnostics[0].help.as_deref().unwrap().starts_with("did you mean `manual`?"));

    let dup = plan(&[("name: orders-to-new", "name: orders-to-new\nname: other")]);
    assert_eq!(found(&dup), [(3, 1, "plan::duplicate-key")]);
    assert!(messages(&dup)[0].contains("first on line 2"));

    let value = plan(&[("loss: strict }", "loss: strikt }")]);
    assert_eq!(found(&value), [(16, 46, "plan::invalid-value")]);
    assert_eq!(messages(&value)[0], "`strikt` is not a valid `loss`");

    let ty = plan(&[("  manual: true", "  manual: [yes]")]);
    assert_eq!(found(&ty).iter().map(|f| (f.0, f.2)).collect::<Vec<_>>(), [(14, "plan::type")]);

    let syntax = plan(&[("  manual: true", "  manual: \"true")]);
    assert_eq!(found(&syntax).iter().map(|f| f.2).collect::<Vec<_>>(), ["plan::syntax"]);

    let dup_in_topic = plan(&[("  - payments\n", "  - name: payments\n    name: refunds\n")]);
    assert_eq!(found(&dup_in_topic), [(10, 5, "plan::duplicate-key")]);
    assert!(messages(&dup_in_topic)[0].contains("first on line 9"));
    let dup_in_props = plan(&[(
        "  bootstrap_servers: \"new-1:9092\"\n",
        "  bootstrap_servers: \"new-1:9092\"\n  properties:\n    acks: all\n    acks: 1\n",
    )]);
    assert_eq!(found(&dup_in_props), [(9, 5, "plan::duplicate-key")]);
    let nested_property = plan(&[(
        "  bootstrap_servers: \"new-1:9092\"\n",
        "  bootstrap_servers: \"new-1:9092\"\n  properties:\n    sasl: { mechanism: PLAIN }\n",
    )]);
    assert_eq!(found(&nested_property).iter().map(|f| (f.0, f.2)).collect::<Vec<_>>(), [(8, "plan::type")]);

    let unknown_topic_key = plan(&[("  - payments\n", "  - name: payments\n    replication: 3\n")]);
    assert_eq!(found(&unknown_topic_key), [(10, 5, "plan::unknown-key")]);
    assert_eq!(messages(&unknown_topic_key)[0], "unknown key `replication` in a `topics` entry");
}

#[test]
fn an_empty_file_is_one_error() {
    for text in ["", "\n\n", "# only a comment\n", "---\n"] {
        assert_eq!(found(text), [(1, 1, "plan::empty")], "{text:?}");
    }
}

// ------------------------------------------------------------------------- the API around it

#[test]
fn every_semantic_problem_is_reported_in_file_order() {
    let text = plan(&[
        ("version: 1", "version: 9"),
        ("name: orders-to-new", "name: Orders"),
        ("  manual: true", "  at: \"2026-11-25T02:00\""),
        ("      export: offsets/analytics.csv\n", ""),
    ]);
    let lines: Vec<u32> = run(&text).diagnostics.iter().map(|d| d.line).collect();
    assert_eq!(lines, [1, 2, 14, 19]);
}

#[test]
fn diagnostics_render_with_file_line_column_and_serialise_to_json() {
    let p = run(&plan(&[("  manual: true", "  at: \"2026-11-25T02:00:00\"")]));
    let d = &p.diagnostics[0];
    let out = render_plain(d);
    assert!(out.contains("plan.yaml:14:7"), "{out}");
    assert!(out.contains("plan::cutover::timezone"), "{out}");
    assert!(out.contains("help:"), "{out}");
    let json = d.to_json();
    assert_eq!(json["severity"], "error");
    assert_eq!(json["file"], "plan.yaml");
    assert_eq!(json["line"], 14);
    assert_eq!(json["column"], 7);
    assert_eq!(json["code"], "plan::cutover::timezone");
    assert!(json["help"].as_str().unwrap().contains("+08:00"));
    assert_eq!(d.to_string(), d.message);
    let as_error: &dyn std::error::Error = d;
    assert_eq!(as_error.to_string(), d.message);
    let warn = run(&plan(&[("    - id: billing\n", "    - id: billing\n      export: x.csv\n")]));
    assert_eq!(warn.diagnostics[0].to_json()["severity"], "warning");
    assert!(render_plain(&warn.diagnostics[0]).contains('⚠'));
}

#[test]
fn diagnostic_at_serves_errors_found_later() {
    let p = run(BASE).plan.unwrap();
    let topic = &p.topics[1];
    let d = kmigrate_plan::diagnostic_at(
        &p.source_file,
        topic.loc,
        Severity::Error,
        "preflight::topic-missing",
        "topic `payments` does not exist on the source cluster",
        Some("check the name, or create the topic on the source first".into()),
    );
    assert_eq!((d.line, d.column, d.file.as_str()), (9, 5, "plan.yaml"));
    assert!(render_plain(&d).contains("9 │   - payments"));
}

#[test]
fn load_names_the_file_as_given() {
    let dir = std::env::temp_dir().join(format!("kmigrate-plan-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("p.yaml");
    std::fs::write(&path, plan(&[("version: 1", "version: 2")])).unwrap();
    let parsed = kmigrate_plan::load(&path).unwrap();
    assert_eq!(parsed.diagnostics[0].file, path.display().to_string());
    assert!(kmigrate_plan::load(&dir.join("missing.yaml")).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

// ------------------------------------------------------------------------- sync.by: mirrormaker2

const MM2: &str = "  by: mirrormaker2\n  connect:\n    url: \"http://connect-1:8083/\"\n";

#[test]
fn mirrormaker2_names_its_connect_cluster() {
    let p = run(&plan(&[("  by: kmigrate\n", MM2)])).plan.unwrap();
    assert_eq!(p.data, DataMode::Synced(SyncBy::MirrorMaker2));
    assert!(p.mirrors_data() && p.aligns_copies() && !p.copies_data());
    let c = p.connect.unwrap();
    assert_eq!(c.url.raw, "http://connect-1:8083", "the trailing / is dropped");
    assert_eq!((c.name_prefix.as_str(), c.tasks), ("kmigrate-orders-to-new", None));
    assert_eq!((c.loc.line, c.loc.column), (13, 3));
    let full = format!(
        "{MM2}    name_prefix: orders-mm2\n    tasks: 4\n    properties:\n      producer.override.acks: all\n      consumer.override.sasl.jaas.config: \"${{JAAS}}\"\n"
    );
    let c = run(&plan(&[("  by: kmigrate\n", &full)])).plan.unwrap().connect.unwrap();
    assert_eq!((c.name_prefix.as_str(), c.tasks), ("orders-mm2", Some(4)));
    let props: Vec<_> = c.properties.iter().map(|p| (p.key.as_str(), p.value.raw.as_str())).collect();
    assert_eq!(props, [("producer.override.acks", "all"), ("consumer.override.sasl.jaas.config", "${JAAS}")]);
    // Kafka's own sync settings are refused at their line; other sync modes have no connect.
    assert!(run(&plan(&[("by: kmigrate", "by: external")])).plan.unwrap().connect.is_none());
}

#[test]
fn mirrormaker2_mistakes_are_located() {
    // No connect section.
    assert_eq!(
        found(&plan(&[("  by: kmigrate\n", "  by: mirrormaker2\n")])),
        [(11, 1, "plan::sync::connect")]
    );
    // connect without mirrormaker2.
    let extra = plan(&[("  by: kmigrate\n", "  by: external\n  connect:\n    url: http://c:8083\n")]);
    assert_eq!(found(&extra), [(13, 3, "plan::sync::connect")]);
    // No url; not a URL; a bad prefix; tasks 0; a key kmigrate sets; a plain-text secret.
    assert_eq!(
        found(&plan(&[("  by: kmigrate\n", "  by: mirrormaker2\n  connect:\n    tasks: 2\n")])),
        [(13, 3, "plan::sync::connect")]
    );
    let bad = plan(&[(
        "  by: kmigrate\n",
        "  by: mirrormaker2\n  connect:\n    url: connect-1:8083\n    name_prefix: \"a b\"\n    tasks: 0\n    properties:\n      topics: other\n      source.cluster.sasl.jaas.config: plain\n",
    )]);
    assert_eq!(
        found(&bad),
        [
            (14, 10, "plan::sync::connect"),
            (15, 18, "plan::sync::connect"),
            (16, 12, "plan::sync::connect"),
            (18, 7, "plan::sync::connect"),
            (19, 40, "plan::property::secret"),
        ]
    );
    let msgs = messages(&bad);
    assert!(msgs[0].contains("`connect-1:8083` is not a Kafka Connect REST URL"), "{msgs:?}");
    assert!(msgs[3].contains("`topics` is set by kmigrate"), "{msgs:?}");
    // compression is MirrorMaker's own setting.
    let comp = plan(&[("  by: kmigrate\n", &format!("{MM2}  compression: zstd\n"))]);
    assert_eq!(found(&comp), [(15, 3, "plan::sync::compression")]);
    assert!(
        run(&comp).diagnostics[0].help.as_deref().unwrap().contains("producer.override.compression.type")
    );
}
