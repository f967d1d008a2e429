//! The sample plans in `plans/` (workspace root) are documentation: each must validate cleanly,
//! and the validated model must say what the plan's comments say.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kmigrate_plan::{
    Compression, CutoverMode, DataMode, Loss, OffsetStore, Plan, SyncBy, TopicSelector, load,
};

fn plans_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plans")
}

fn sample(name: &str) -> Plan {
    let parsed = load(&plans_dir().join(name)).expect("sample plan readable");
    let msgs: Vec<String> = parsed.diagnostics.iter().map(|d| d.short()).collect();
    assert!(msgs.is_empty(), "{name}: {msgs:#?}");
    parsed.plan.expect("valid plan")
}

#[test]
fn every_sample_plan_validates_without_errors_or_warnings() {
    let mut names: Vec<String> = std::fs::read_dir(plans_dir())
        .expect("plans/ exists")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    assert!(names.len() >= 9, "{names:?}");
    for name in &names {
        let p = sample(name);
        assert!(!p.groups.is_empty(), "{name}: samples show consumer groups");
    }
}

#[test]
fn the_samples_cover_every_row_of_the_strategy_table() {
    let mut rows = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(plans_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if !name.ends_with(".yaml") {
            continue;
        }
        let p = sample(&name);
        for g in &p.groups {
            let data = match p.data {
                DataMode::Synced(_) => "synced",
                DataMode::NotSynced => "not-synced",
                DataMode::DualWrite => "dual-write",
            };
            let loss = match g.offsets {
                OffsetStore::SelfStored => "either".to_owned(),
                OffsetStore::BrokerManaged => g.loss.to_string(),
            };
            rows.insert(format!("{data}/{}/{loss}", g.offsets));
        }
    }
    for row in [
        "synced/broker-managed/tolerant",
        "synced/broker-managed/strict",
        "synced/self-stored/either",
        "not-synced/broker-managed/tolerant",
        "not-synced/broker-managed/strict",
        "not-synced/self-stored/either",
        "dual-write/broker-managed/tolerant",
    ] {
        assert!(rows.contains(row), "no sample plan for {row}: {rows:?}");
    }
}

#[test]
fn quickstart_is_what_the_demo_expects() {
    let p = sample("quickstart.yaml");
    assert_eq!(p.name, "quickstart");
    assert_eq!(p.source.bootstrap_servers.raw, "127.0.0.1:19092");
    assert_eq!(p.target.bootstrap_servers.raw, "127.0.0.1:29092");
    assert_eq!(p.named_topics().collect::<Vec<_>>(), ["orders", "payments"]);
    assert!(p.copies_data());
    assert_eq!(p.cutover.mode, CutoverMode::Manual);
    assert_eq!(p.cutover.margin, Duration::ZERO);
    let billing = &p.groups[0];
    assert_eq!(
        (billing.id.as_str(), billing.offsets, billing.loss, billing.drain),
        ("billing", OffsetStore::BrokerManaged, Loss::Strict, true)
    );
    assert_eq!(billing.export, None);
    let analytics = &p.groups[1];
    assert_eq!(
        (analytics.id.as_str(), analytics.offsets, analytics.loss, analytics.drain),
        ("analytics", OffsetStore::SelfStored, Loss::Strict, false)
    );
    assert_eq!(analytics.export.as_deref(), Some(Path::new("offsets/analytics.csv")));
    // Locations point into the file.
    let line = p.source_file.text.lines().position(|l| l.contains("- id: billing")).unwrap() + 1;
    assert_eq!((billing.loc.line as usize, billing.loc.column), (line, 11));
    assert_eq!(p.source_file.name, plans_dir().join("quickstart.yaml").display().to_string());
}

#[test]
fn pattern_topics_and_overrides_are_kept() {
    let p = sample("audit-patterns.yaml");
    assert!(p.copies_data());
    assert_eq!(p.cutover.mode, CutoverMode::Detect { idle: Duration::from_secs(300) });
    assert_eq!(p.cutover.margin, Duration::from_secs(2));
    let audit = &p.topics[0];
    let TopicSelector::Pattern(re) = &audit.selector else { panic!("pattern expected") };
    assert!(re.is_match("audit.billing"));
    assert!(!re.is_match("audit-billing"));
    assert_eq!(audit.config["retention.ms"], "31536000000");
    assert_eq!(audit.config["min.insync.replicas"], "2");
    assert_eq!(p.topics[1].partitions, Some(24));
    let access = &p.topics[2];
    assert!(matches!(&access.selector, TopicSelector::Name(n) if n == "access-log"));
    assert_eq!(access.partitions, Some(48));
    // An unquoted number keeps its text as written.
    assert_eq!(access.config["retention.bytes"], "107374182400");
    assert_eq!(access.config["cleanup.policy"], "delete");
    let archiver = &p.groups[1];
    assert_eq!(archiver.loss, Loss::Tolerant);
    assert_eq!(
        archiver.topics.as_deref(),
        Some(&["access-log".to_owned(), "app-logs-eu".to_owned(), "app-logs-us".to_owned()][..])
    );
}

#[test]
fn sasl_properties_keep_their_variable_references() {
    let p = sample("payments-synced-strict.yaml");
    assert_eq!(p.data, DataMode::Synced(SyncBy::External));
    let CutoverMode::At(t) = p.cutover.mode else { panic!("at expected") };
    assert_eq!(t.to_rfc3339(), "2026-11-25T02:00:00+08:00");
    assert_eq!(t.timestamp(), 1_795_543_200);
    assert_eq!(p.cutover.margin, Duration::from_secs(5));
    let props: Vec<(&str, &str)> =
        p.source.properties.iter().map(|p| (p.key.as_str(), p.value.raw.as_str())).collect();
    assert_eq!(
        props,
        [
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.username", "${OLD_KAFKA_USER}"),
            ("sasl.password", "${OLD_KAFKA_PASSWORD}"),
            ("ssl.ca.location", "/etc/pki/kafka/corp-root-ca.pem"),
        ]
    );
    let password = &p.source.properties[3].value;
    assert_eq!(password.references(), ["OLD_KAFKA_PASSWORD"]);
    let src = &p.source_file;
    let at = &src.text[password.loc.offset..password.loc.offset + password.loc.len];
    assert_eq!(at, "\"${OLD_KAFKA_PASSWORD}\"");
    // A missing variable is reported at the property's value.
    let missing = password.resolve(&|_| None).unwrap_err();
    let d = kmigrate_plan::missing_var_diagnostic(src, &missing[0]);
    assert_eq!((d.line, d.code), (password.loc.line, "plan::env::missing"));
    assert_eq!(d.message, "environment variable OLD_KAFKA_PASSWORD is not set");
}

#[test]
fn the_msk_sample_uses_mutual_tls_and_zstd() {
    let p = sample("orders-synced-tolerant.yaml");
    assert_eq!(p.compression.map(|c| c.codec), Some(Compression::Zstd));
    let keys: Vec<&str> = p.target.properties.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        ["security.protocol", "ssl.certificate.location", "ssl.key.location", "ssl.key.password"]
    );
    assert_eq!(p.target.properties[3].value.references(), ["MSK_KEY_PASSWORD"]);
}

#[test]
fn self_stored_sample_documents_the_group_extensions() {
    let p = sample("ledger-synced-self-stored.yaml");
    let auditor = &p.groups[1];
    assert_eq!(auditor.offsets, OffsetStore::SelfStored);
    assert!(auditor.drain);
    assert_eq!(auditor.topics.as_deref(), Some(&["ledger-corrections".to_owned()][..]));
    let text = &p.source_file.text;
    for key in ["export:", "from_file:", "topics:", "drain:"] {
        assert!(text.contains(&format!("#   {key}")), "documents {key}");
    }
    let w = sample("warehouse-not-synced-self-stored.yaml");
    assert_eq!(w.groups[1].from_file.as_deref(), Some(Path::new("offsets/scanner-bridge-start.csv")));
}

#[test]
fn the_mirrormaker2_sample_names_its_connect_cluster() {
    let p = sample("shipments-mirrormaker2.yaml");
    assert_eq!(p.data, DataMode::Synced(SyncBy::MirrorMaker2));
    let c = p.connect.expect("connect");
    assert_eq!(c.url.raw, "http://connect.logistics.corp:8083");
    assert_eq!((c.name_prefix.as_str(), c.tasks), ("shipments-mm2", Some(8)));
    assert_eq!(c.properties[0].value.raw, "zstd");
    assert_eq!(p.cutover.mode, CutoverMode::Manual);
}
