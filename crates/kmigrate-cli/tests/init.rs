//! `kmigrate init` against Apache Kafka: a source seeded with 50 application topics, tooling
//! topics and 10 consumer groups of every kind (members and lag 0, members and lag, a Kafka 4
//! consumer-protocol group, idle groups, a group that commits nothing, tooling groups); the drafted
//! plan must validate, preview, explain each group's strategy, leave tooling out, collapse exactly
//! the prefixes it may, and keep `${VAR}`s as written.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use common::*;
use kmigrate_plan::{OffsetStore, Plan, TopicSelector};
use kmigrate_testkit::{Engine, GroupProtocol, KafkaOptions, LiveMember, SeedRecord, TestCluster, unique};

/// The 50 application topics of the acceptance test.
fn app_topics() -> Vec<String> {
    let mut t: Vec<String> = Vec::new();
    // 12 under `audit.`: one pattern.
    for s in [
        "billing", "orders", "shipping", "users", "auth", "search", "cart", "tax", "fx", "kyc", "ads", "mail",
    ] {
        t.push(format!("audit.{s}"));
    }
    // 3 under `clicks-` and 4 under `logs_`: a pattern each.
    t.extend(["clicks-eu", "clicks-us", "clicks-ap"].map(String::from));
    t.extend((1..=4).map(|i| format!("logs_app{i}")));
    // 3 under `metrics.`, but MirrorMaker's `metrics.checkpoints.internal` shares the prefix: names.
    t.extend(["metrics.cpu", "metrics.mem", "metrics.disk"].map(String::from));
    // 2 under `billing.`: too few for a pattern.
    t.extend(["billing.invoices", "billing.refunds"].map(String::from));
    for w in [
        "orders",
        "payments",
        "inventory",
        "alpha",
        "bravo",
        "charlie",
        "delta",
        "echo",
        "foxtrot",
        "golf",
        "hotel",
        "india",
        "juliett",
        "kilo",
        "lima",
        "mike",
        "november",
        "oscar",
        "papa",
        "quebec",
        "romeo",
        "sierra",
        "tango",
        "uniform",
        "victor",
        "whiskey",
    ] {
        t.push(w.to_string());
    }
    t
}

/// Tooling state that must never be proposed.
const TOOLING: [&str; 7] = [
    "mm2-offset-syncs.old.internal",
    "old.checkpoints.internal",
    "metrics.checkpoints.internal",
    "heartbeats",
    "connect-configs",
    "connect-offsets",
    "connect-status",
];

/// The plan text drafted into `dir`, its parsed plan, and the run's output.
fn init(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kmigrate"));
    cmd.arg("init").args(args).current_dir(dir).env("NO_COLOR", "1").env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("running kmigrate init");
    println!(
        "$ kmigrate init {}\n--- exit {:?}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn parse_valid(name: &str, text: &str) -> Plan {
    let parsed = kmigrate_plan::parse(name, text);
    let problems: Vec<String> = parsed.diagnostics.iter().map(kmigrate_plan::render_plain).collect();
    assert!(problems.is_empty(), "the drafted plan has diagnostics:\n{}\n{text}", problems.join("\n"));
    parsed.plan.expect("a valid plan")
}

/// The comment block right above `- id: <group>`.
fn comment_of<'a>(text: &'a str, group: &str) -> Vec<&'a str> {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.trim() == format!("- id: {group}"))
        .unwrap_or_else(|| panic!("group {group} is not in the plan:\n{text}"));
    let mut start = at;
    while start > 0 && lines[start - 1].trim_start().starts_with('#') {
        start -= 1;
    }
    lines[start..at].to_vec()
}

/// Every source topic the plan's entries stand for today.
fn expanded(plan: &Plan, source_topics: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for t in &plan.topics {
        match &t.selector {
            TopicSelector::Name(n) => {
                out.insert(n.clone());
            }
            TopicSelector::Pattern(re) => {
                out.extend(source_topics.iter().filter(|s| re.is_match(s)).cloned());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn init_drafts_a_plan_that_validates_previews_and_explains_each_group() {
    // A source of its own: init reads the whole cluster, so no other test's topics may be on it.
    let source = TestCluster::start_kafka("source", KafkaOptions::default());
    let target = TestCluster::start("target", Engine::Sqlite);
    let topics = app_topics();
    assert_eq!(topics.len(), 50);
    source.create_topics(&topics, PARTITIONS, &[]).await;
    let tooling: Vec<String> = TOOLING.iter().map(|s| s.to_string()).collect();
    source.create_topics(&tooling, 1, &[]).await;
    // Records: 20 per partition in orders and in the clicks topics.
    let records = |p: i32| -> Vec<SeedRecord> {
        (0..20).map(|i| SeedRecord::new(p).key(format!("k{i}")).value(format!("v{p}-{i}"))).collect()
    };
    for t in ["orders", "clicks-eu", "clicks-us", "clicks-ap", "audit.billing", "audit.orders"] {
        for p in 0..PARTITIONS {
            source.produce(t, &records(p)).await;
        }
    }
    let all_partitions = |t: &'static str, offset: i64| -> Vec<(&'static str, i32, i64)> {
        (0..PARTITIONS).map(|p| (t, p, offset)).collect()
    };

    // The 10 groups.
    let _members: Vec<LiveMember> = vec![
        // Members, lag 0 (it commits 0 on an empty topic).
        source.start_member("billing-svc", &["payments"]).await,
        // Members, lag 40 (it commits 0 on 40 records).
        source.start_member("fraud-svc", &["orders"]).await,
        // A Kafka 4 consumer-protocol group: listed Stable, not described by DescribeGroups.
        source.start_member_with("kip848-svc", &["inventory"], GroupProtocol::Consumer).await,
        // Members, no commits: self-stored.
        source.start_member_without_commits("analytics", &["alpha"]).await,
    ];
    source.commit_group_offsets("reports", &all_partitions("orders", 20)).await; // idle, lag 0
    source.commit_group_offsets("replayer", &all_partitions("orders", 5)).await; // idle, lag 30
    let mut audit = all_partitions("audit.billing", 20);
    audit.extend(all_partitions("audit.orders", 20));
    source.commit_group_offsets("audit-sink", &audit).await; // idle, lag 0, pattern topics
    let mut clicks = all_partitions("clicks-eu", 0);
    clicks.extend(all_partitions("clicks-us", 10));
    source.commit_group_offsets("clicks-agg", &clicks).await; // idle, lag 40 + 20
    source.commit_group_offsets("connect-worker-offsets", &[("connect-offsets", 0, 0)]).await; // tooling only
    source.commit_group_offsets("mm2-old-source", &[("heartbeats", 0, 0)]).await; // tooling by id

    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let out = init(
        dir.path(),
        &["--source", source.bootstrap(), "--target", target.bootstrap(), "--to", "plan.yaml"],
        &[],
    );
    println!("init took {:?}", started.elapsed());
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty(), "with --to, nothing goes to stdout");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("wrote plan.yaml: 50 topic(s) (3 as patterns), 8 group(s) (1 self-stored"),
        "{stderr}"
    );
    let text = std::fs::read_to_string(dir.path().join("plan.yaml")).unwrap();
    assert!(text.starts_with("# yaml-language-server: $schema=https://"), "{text}");
    let plan = parse_valid("plan.yaml", &text);
    assert_eq!(plan.name, "plan");

    // Topics: exactly the 50, three patterns, no tooling.
    let mut on_source: BTreeSet<String> = topics.iter().cloned().collect();
    on_source.extend(tooling.iter().cloned());
    let patterns: BTreeSet<String> = plan
        .topics
        .iter()
        .filter_map(|t| match &t.selector {
            TopicSelector::Pattern(re) => Some(re.as_str().to_string()),
            TopicSelector::Name(_) => None,
        })
        .collect();
    assert_eq!(patterns, [r"^audit\..+$", r"^clicks-.+$", r"^logs_.+$"].map(String::from).into(), "{text}");
    assert_eq!(expanded(&plan, &on_source), topics.iter().cloned().collect::<BTreeSet<_>>());
    for t in TOOLING {
        assert!(!plan.named_topics().any(|n| n == t), "{t} is tooling:\n{text}");
        assert!(text.contains(t), "the plan says that {t} was left out:\n{text}");
    }
    assert!(plan.named_topics().any(|n| n == "metrics.cpu"), "metrics.* may not collapse:\n{text}");

    // Groups: the 8 applications, strategies and reasons.
    let ids: BTreeSet<&str> = plan.groups.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "analytics",
            "audit-sink",
            "billing-svc",
            "clicks-agg",
            "fraud-svc",
            "kip848-svc",
            "replayer",
            "reports"
        ]
        .into()
    );
    let group = |id: &str| plan.groups.iter().find(|g| g.id == id).unwrap();
    for g in &plan.groups {
        let comment = comment_of(&text, &g.id).join("\n");
        let why = match g.offsets {
            OffsetStore::BrokerManaged => "broker-managed: it commits its offsets to Kafka",
            OffsetStore::SelfStored => "self-stored: it has consumers but no committed offsets",
        };
        assert!(comment.contains(why), "{}:\n{comment}", g.id);
        assert!(comment.contains("strict:") || g.offsets == OffsetStore::SelfStored, "{}:\n{comment}", g.id);
    }
    let facts = |id: &str, expect: &[&str]| {
        let comment = comment_of(&text, id).join("\n");
        for e in expect {
            assert!(comment.contains(e), "{id}: expected `{e}` in\n{comment}");
        }
    };
    facts("billing-svc", &["billing-svc: 1 member; commits on payments (2 partitions); lag 0.", "keeps up"]);
    facts("fraud-svc", &["1 member; commits on orders (2 partitions); lag 40.", "Lag 40 now: apply waits"]);
    facts("kip848-svc", &["active (Stable; a consumer-protocol group)", "lag 0"]);
    facts("analytics", &["analytics: 1 member; no committed offsets on the source.", "export"]);
    facts("reports", &["no members (Empty); commits on orders (2 partitions); lag 0.", "stopped"]);
    facts("replayer", &["lag 30.", "`drain: false`"]);
    facts("clicks-agg", &["commits on clicks-eu, clicks-us (4 partitions); lag 60."]);
    assert_eq!(group("analytics").offsets, OffsetStore::SelfStored);
    assert_eq!(group("analytics").export.as_deref(), Some(Path::new("offsets/analytics.csv")));
    assert!(!group("replayer").drain && !group("clicks-agg").drain);
    assert!(group("fraud-svc").drain && group("billing-svc").drain);
    assert_eq!(
        group("audit-sink").topics.as_deref(),
        Some(&["audit.billing".into(), "audit.orders".into()][..])
    );
    assert!(
        text.contains("connect-worker-offsets") && text.contains("mm2-old-source"),
        "tooling groups are named:\n{text}"
    );

    // It validates and previews as written.
    let out = kmigrate(dir.path(), &["validate", "plan.yaml"]);
    assert_eq!(out.status.code(), Some(0));
    let started = std::time::Instant::now();
    let out = kmigrate(dir.path(), &["plan", "plan.yaml"]);
    println!("plan took {:?}", started.elapsed());
    assert_eq!(out.status.code(), Some(0));
    let preview = String::from_utf8_lossy(&out.stdout);
    assert!(preview.contains("audit.kyc") && preview.contains("clicks-ap"), "patterns expand:\n{preview}");
}

/// `${VAR}`s reach the connection and never the plan or the output; --force decides overwrites;
/// a secret given in plain text is refused before anything is contacted; --topics and --groups
/// narrow the draft; without --target the plan names `${TARGET_BOOTSTRAP}`.
#[tokio::test(flavor = "multi_thread")]
async fn init_keeps_templates_filters_and_never_overwrites_without_force() {
    let source = TestCluster::start("source", Engine::Sqlite);
    let target = TestCluster::start("target", Engine::Sqlite);
    let run = unique("tmpl");
    let names: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| format!("{run}.{s}")).collect();
    source.create_topics(&names, 1, &[]).await;
    let group = format!("{run}-g");
    source.commit_group_offsets(&group, &[(names[0].as_str(), 0, 0)]).await;
    source.commit_group_offsets(&format!("{run}-other"), &[(names[1].as_str(), 0, 0)]).await;

    let dir = tempfile::tempdir().unwrap();
    let topics_re = format!("^{}\\.(a|b|c)$", regex_escape(&run));
    let groups_re = format!("^{}-g$", regex_escape(&run));
    let secret = "s3cr3t-never-shown";
    let env =
        [("SRC_BOOT", source.bootstrap()), ("TGT_BOOT", target.bootstrap()), ("KAFKA_PASSWORD", secret)];
    let args = [
        "--source",
        "${SRC_BOOT}",
        "--target",
        "${TGT_BOOT}",
        "-X",
        "sasl.password=${KAFKA_PASSWORD}",
        "--topics",
        &topics_re,
        "--groups",
        &groups_re,
        "--name",
        "tmpl",
        "--to",
        "plan.yaml",
    ];
    let out = init(dir.path(), &args, &env);
    assert_eq!(out.status.code(), Some(0));
    let text = std::fs::read_to_string(dir.path().join("plan.yaml")).unwrap();
    let plan = parse_valid("plan.yaml", &text);
    assert_eq!(plan.source.bootstrap_servers.raw, "${SRC_BOOT}");
    assert_eq!(plan.target.bootstrap_servers.raw, "${TGT_BOOT}");
    assert!(
        plan.source.properties.iter().any(|p| p.key == "sasl.password" && p.value.raw == "${KAFKA_PASSWORD}")
    );
    let all_output =
        format!("{text}{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    for resolved in [secret, source.bootstrap(), target.bootstrap()] {
        assert!(!all_output.contains(resolved), "`{resolved}` was resolved into the output:\n{all_output}");
    }
    // --topics: a, b, c (d left out, so `<run>.` cannot be a pattern); --groups: one group.
    let named: BTreeSet<&str> = plan.named_topics().collect();
    assert_eq!(named, names[..3].iter().map(String::as_str).collect());
    assert!(text.contains("1 topic not matching --topics:") && text.contains(&names[3]), "{text}");
    assert_eq!(plan.groups.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(), [group.as_str()]);

    // No overwrite without --force: usage error, the file untouched.
    let before = std::fs::read(dir.path().join("plan.yaml")).unwrap();
    let out = init(dir.path(), &args, &env);
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("plan.yaml exists; pass --force"));
    assert_eq!(std::fs::read(dir.path().join("plan.yaml")).unwrap(), before);
    // With --force it is replaced.
    let mut forced = args.to_vec();
    forced.extend(["--force", "--data", "not-synced"]);
    let out = init(dir.path(), &forced, &env);
    assert_eq!(out.status.code(), Some(0));
    let text = std::fs::read_to_string(dir.path().join("plan.yaml")).unwrap();
    assert!(text.contains("\ndata: not-synced\n"), "{text}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file is left");

    // A plain-text secret is refused (and nothing written); so is a variable that is not set.
    let out = init(
        dir.path(),
        &["--source", source.bootstrap(), "-X", "sasl.password=hunter2", "--to", "x.yaml"],
        &[],
    );
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("-X 'sasl.password=${SASL_PASSWORD}'") && !stderr.contains("hunter2"),
        "{stderr}"
    );
    let out = init(dir.path(), &["--source", "${NOT_SET_ANYWHERE}", "--to", "x.yaml"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NOT_SET_ANYWHERE"));
    assert!(!dir.path().join("x.yaml").exists());

    // Without --target, to stdout: the target is `${TARGET_BOOTSTRAP}`, and the plan validates.
    let out = init(
        dir.path(),
        &["--source", source.bootstrap(), "--topics", &topics_re, "--groups", &groups_re],
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let plan = parse_valid("stdout.yaml", &text);
    assert_eq!(plan.target.bootstrap_servers.raw, "${TARGET_BOOTSTRAP}");
    assert_eq!(plan.name, "migration");
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| if c.is_ascii_alphanumeric() || c == '-' { vec![c] } else { vec!['\\', c] })
        .collect()
}
