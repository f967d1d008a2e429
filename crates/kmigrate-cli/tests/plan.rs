//! `kmigrate plan`: the dry run, against brokers seeded with a known state.
//!
//! Snapshots (insta) of the text, Markdown and JSON output; a proof that plan changes nothing on
//! either cluster; checkpoint marks; exit codes; offline mode.
//!
//! Brokers: tansu's SQLite engine (its end offsets, by-time answers and committed offsets are
//! right). tansu 0.6 differs from Apache Kafka in what shows in the output: DescribeConfigs
//! returns only the configs set at creation and flags them as defaults, so a config set on a
//! target topic at creation shows as `(…, default)` and the source's configs are not copied
//! (kmigrate copies topic overrides only). Snapshots are therefore compared only on tansu; against
//! a real Kafka pair (KMIGRATE_TEST_SOURCE / KMIGRATE_TEST_TARGET) the same tests check the
//! marks, the values and the exit codes.

mod common;
mod requests;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use common::{kmigrate, seed_values};
use kmigrate_kafka::TopicPartition;
use kmigrate_testkit::{BrokerPair, Engine, SeedRecord, TestCluster};
use requests::{Seeding, count_requests, seed_for_requests, table};

/// The cutover of the seeded plans: 2026-01-01T00:00:00Z, in ms.
const T_MS: i64 = 1_767_225_600_000;
const HOUR: i64 = 3_600_000;

/// A fixed-width id for this run's topic and group names: names differ between runs (tests
/// share real clusters and never reuse names) and the snapshots' alignment does not.
fn run_id() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    format!("{:010x}", (nanos ^ (N.fetch_add(1, Ordering::Relaxed) << 36)) & 0xff_ffff_ffff)
}

/// What a snapshot shows instead of the run id (same width: alignment stays).
const ID: &str = "XXXXXXXXXX";

struct Seeded {
    pair: BrokerPair,
    dir: tempfile::TempDir,
    id: String,
}

impl Seeded {
    fn start() -> Seeded {
        Seeded { pair: BrokerPair::start(Engine::Sqlite), dir: tempfile::tempdir().unwrap(), id: run_id() }
    }

    fn source(&self) -> &TestCluster {
        &self.pair.source
    }

    fn target(&self) -> &TestCluster {
        &self.pair.target
    }

    /// `orders` → `orders-<id>`.
    fn n(&self, name: &str) -> String {
        format!("{name}-{}", self.id)
    }

    /// Writes a plan: `body` is everything after the clusters, with `{id}` for the run id.
    fn plan(&self, file: &str, name: &str, body: &str) -> PathBuf {
        let yaml = format!(
            "version: 1\nname: {name}\nsource:\n  bootstrap_servers: \"{}\"\ntarget:\n  bootstrap_servers: \"{}\"\n{}",
            self.source().bootstrap(),
            self.target().bootstrap(),
            body.replace("{id}", &self.id)
        );
        let path = self.dir.path().join(file);
        std::fs::write(&path, yaml).unwrap();
        path
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        kmigrate(self.dir.path(), args)
    }

    /// Output with the run id and the brokers' addresses replaced, for snapshots.
    fn redact(&self, out: &[u8]) -> String {
        String::from_utf8_lossy(out)
            .replace(&self.id, ID)
            .replace(self.source().bootstrap(), "[source]")
            .replace(self.target().bootstrap(), "[target]")
    }

    /// Brokers the testkit started: one broker per cluster, output stable enough to snapshot. The
    /// snapshots are of Apache Kafka (the default broker); tansu's configs differ (it reports only
    /// the configs set at creation), so with KMIGRATE_TEST_BROKER=tansu they are not compared.
    fn snapshots_apply(&self) -> bool {
        self.source().kafka().is_some() && self.target().kafka().is_some()
    }

    /// One broker per cluster (the testkit's), so request counts per broker are comparable.
    fn single_brokers(&self) -> bool {
        !kmigrate_testkit::external_clusters()
    }
}

/// Everything plan could change on a cluster: which of `topics` exist, their partitions,
/// configs and offsets, and every committed offset of `groups`.
async fn cluster_state(c: &TestCluster, topics: &[String], groups: &[String]) -> String {
    let k = c.connect().await;
    let md = k.metadata().await.unwrap();
    let existing: Vec<&str> =
        topics.iter().filter(|t| md.topics.contains_key(*t)).map(String::as_str).collect();
    let configs = k.describe_topic_configs(&existing).await.unwrap();
    let parts: Vec<TopicPartition> = existing
        .iter()
        .flat_map(|t| md.topics[*t].partitions.iter().map(|p| TopicPartition::new(*t, p.id)))
        .collect();
    let marks = k.watermarks(&parts).await.unwrap();
    let mut committed = Vec::new();
    for g in groups {
        committed.push((g.clone(), k.all_committed_offsets(g).await.unwrap()));
    }
    format!(
        "topics: {existing:?}\npartitions: {parts:?}\nconfigs: {configs:?}\nwatermarks: {marks:?}\ncommitted: {committed:?}"
    )
}

/// The showcase: every kind of topic change, by-time, latest, from-file and self-stored groups,
/// a drain with lag, with data synced by an external tool and a cutover that has passed.
struct Showcase {
    s: Seeded,
    plan: PathBuf,
    topics: Vec<String>,
    groups: Vec<String>,
}

const SHOWCASE: &str = r#"topics:
  - name: orders-{id}
    config:
      retention.ms: "604800000"
  - name: payments-{id}
    partitions: 4
    config:
      retention.ms: "86400000"
  - refunds-{id}
  - chargebacks-{id}
  - name: audit-{id}
    config:
      retention.ms: "7d"
data: synced
sync: { by: external }
cutover:
  at: "2026-01-01T00:00:00Z"
consumers:
  defaults: { offsets: broker-managed, loss: strict }
  groups:
    - id: billing-{id}
      topics: [payments-{id}, refunds-{id}]
    - id: metrics-{id}
      loss: tolerant
      topics: [orders-{id}]
    - id: analytics-{id}
      offsets: self-stored
      export: out/analytics.csv
      topics: [refunds-{id}]
    - id: ledger-{id}
      from_file: offsets.csv
      topics: [refunds-{id}]
"#;

async fn showcase() -> Showcase {
    let s = Seeded::start();
    let [orders, payments, refunds, chargebacks, audit] =
        ["orders", "payments", "refunds", "chargebacks", "audit"].map(|t| s.n(t));
    let [billing, metrics, analytics, ledger] = ["billing", "metrics", "analytics", "ledger"].map(|g| s.n(g));
    let old = T_MS - HOUR;
    let new = T_MS + HOUR / 6;
    // The source: old records, produced before the cutover.
    for (topic, partitions, n) in
        [(&orders, 3, 4), (&payments, 2, 3), (&refunds, 2, 3), (&chargebacks, 3, 1), (&audit, 1, 2)]
    {
        s.source().create_topic(topic, partitions).await;
        seed_values(s.source(), topic, partitions, n, "old", old, 1000).await;
    }
    for (group, topic, offsets) in [
        (&billing, &payments, &[3, 3][..]),
        (&billing, &refunds, &[1, 3]), // 2 records left to consume on refunds/0
        (&metrics, &orders, &[4, 4, 4]),
        (&ledger, &refunds, &[3, 3]),
    ] {
        let offsets: Vec<(&str, i32, i64)> =
            offsets.iter().enumerate().map(|(p, o)| (topic.as_str(), p as i32, *o)).collect();
        s.source().commit_group_offsets(group, &offsets).await;
    }
    // The target: the external tool copied payments and refunds; producers then wrote there.
    // A retention long enough that Kafka keeps the records of January 2026 (a week would delete them).
    s.target().create_topic_with(&payments, 2, &[("retention.ms", "315360000000")]).await;
    s.target().create_topic(&refunds, 2).await;
    s.target().create_topic(&chargebacks, 2).await;
    for topic in [&payments, &refunds] {
        seed_values(s.target(), topic, 2, 3, "old", old, 1000).await;
        seed_values(s.target(), topic, 2, 2, "new", new, 1000).await;
    }
    s.target().commit_group_offsets(&billing, &[(payments.as_str(), 0, 1)]).await;
    std::fs::write(s.dir.path().join("offsets.csv"), format!("{refunds},0,2\n{refunds},1,99\n")).unwrap();
    let plan = s.plan("plan.yaml", "showcase", SHOWCASE);
    Showcase {
        topics: vec![orders, payments, refunds, chargebacks, audit],
        groups: vec![billing, metrics, analytics, ledger],
        s,
        plan,
    }
}

/// The JSON steps as `step id → change`, ids redacted.
fn changes(s: &Seeded, json: &serde_json::Value) -> Vec<(String, String)> {
    json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|st| {
            (st["step"].as_str().unwrap().replace(&s.id, ID), st["change"].as_str().unwrap().to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_shows_what_apply_would_do_as_text_markdown_and_json() {
    let Showcase { s, plan, .. } = showcase().await;
    let plan = plan.to_str().unwrap();

    let text = s.run(&["plan", plan]);
    // Two impossible topics: plan fails, and says why.
    assert_eq!(text.status.code(), Some(1));
    let markdown = s.run(&["plan", plan, "--output", "markdown"]);
    assert_eq!(markdown.status.code(), Some(1));
    let json = s.run(&["plan", plan, "--output", "json"]);
    assert_eq!(json.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["format_version"], 1);

    let x = |step: &str, change: &str| (step.replace("{id}", ID), change.to_string());
    assert_eq!(
        changes(&s, &value),
        vec![
            x("preflight", "check"),
            x("topic:orders-{id}", "create"),
            x("topic:payments-{id}", "change"),
            x("topic:refunds-{id}", "unchanged"),
            x("topic:chargebacks-{id}", "impossible"),
            x("topic:audit-{id}", "impossible"),
            x("cutover", "wait"),
            x("drain:billing-{id}", "wait"),
            x("drain:metrics-{id}", "wait"),
            x("drain:ledger-{id}", "wait"),
            x("offsets:billing-{id}", "change"),
            x("offsets:metrics-{id}", "change"),
            x("offsets:analytics-{id}", "change"),
            x("offsets:ledger-{id}", "change"),
            x("verify", "check"),
        ]
    );
    // Data another tool copied: strict groups start exactly, from the aligned logs, which apply
    // reads after the cutover; the dry run says so instead of guessing.
    let billing_step = format!("offsets:{}", s.n("billing"));
    let billing =
        value["steps"].as_array().unwrap().iter().find(|st| st["step"] == billing_step.as_str()).unwrap();
    assert_eq!(billing["rule"], "exact-from-alignment");
    let rows: Vec<(String, Option<i64>, Option<i64>, bool)> = billing["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                format!("{}/{}", r["topic"].as_str().unwrap().replace(&s.id, ID), r["partition"]),
                r["current"].as_i64(),
                r["offset"].as_i64(),
                r["rule"].as_str().unwrap().contains("aligned logs"),
            )
        })
        .collect();
    let p = |t: &str, n: i32| format!("{t}-{ID}/{n}");
    assert_eq!(
        rows,
        vec![
            (p("payments", 0), Some(1), None, true),
            (p("payments", 1), None, None, true),
            (p("payments", 2), None, None, true),
            (p("payments", 3), None, None, true),
            (p("refunds", 0), None, None, true),
            (p("refunds", 1), None, None, true),
        ]
    );
    assert_eq!(value["summary"]["impossible"], 2);

    if s.snapshots_apply() {
        insta::assert_snapshot!("showcase_text", s.redact(&text.stdout));
        insta::assert_snapshot!("showcase_markdown", s.redact(&markdown.stdout));
        insta::assert_snapshot!("showcase_json", s.redact(&json.stdout));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_changes_nothing_on_either_cluster() {
    let Showcase { s, plan, topics, groups } = showcase().await;
    let plan = plan.to_str().unwrap();
    let before = (
        cluster_state(s.source(), &topics, &groups).await,
        cluster_state(s.target(), &topics, &groups).await,
    );
    for format in ["text", "markdown", "json"] {
        let out = s.run(&["plan", plan, "--output", format, "--detailed-exitcode"]);
        assert_eq!(out.status.code(), Some(1), "the showcase has impossible changes");
    }
    let after = (
        cluster_state(s.source(), &topics, &groups).await,
        cluster_state(s.target(), &topics, &groups).await,
    );
    assert_eq!(before.0, after.0, "the source changed");
    assert_eq!(before.1, after.1, "the target changed");
    // Nor anything beside the plan: no checkpoint, no export file.
    assert!(!s.dir.path().join(".kmigrate").exists(), "plan wrote a state directory");
    assert!(!s.dir.path().join("out").exists(), "plan wrote an export file");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_already_in_effect_exits_0_with_detailed_exitcode() {
    let s = Seeded::start();
    let refunds = s.n("refunds");
    for c in [s.source(), s.target()] {
        c.create_topic(&refunds, 2).await;
    }
    seed_values(s.target(), &refunds, 2, 3, "new", T_MS, 1000).await;
    // Not synced, self-stored: the group starts at the earliest retained offset, which the
    // export file already holds.
    std::fs::create_dir_all(s.dir.path().join("out")).unwrap();
    std::fs::write(s.dir.path().join("out/archive.csv"), format!("{refunds},0,0\n{refunds},1,0\n")).unwrap();
    let plan = s.plan(
        "plan.yaml",
        "in-effect",
        "topics:\n  - refunds-{id}\ndata: not-synced\ncutover:\n  at: \"2026-01-01T00:00:00Z\"\nconsumers:\n  groups:\n    - id: archive-{id}\n      offsets: self-stored\n      export: out/archive.csv\n",
    );
    let out = s.run(&["plan", plan.to_str().unwrap(), "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0));
    let text = s.redact(&out.stdout);
    assert!(text.contains(&format!("refunds-{ID}/0  0 → 0  earliest")), "{text}");
    assert!(text.ends_with("Plan: no changes.\n"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn steps_done_by_an_earlier_apply_are_marked_and_the_copy_counts_what_is_left() {
    use kmigrate_migration::offset_map::PartitionMap;
    use kmigrate_migration::outputs::CopyState;
    use kmigrate_migration::{State, StateStore, StepState, StepStatus};

    let s = Seeded::start();
    let orders = s.n("orders");
    let [billing, metrics] = ["billing", "metrics"].map(|g| s.n(g));
    s.source().create_topic(&orders, 2).await;
    // 9 bytes of key + value each: k<i> + old-<p>-<i>.
    seed_values(s.source(), &orders, 2, 5, "old", T_MS - HOUR, 1000).await;
    s.source().commit_group_offsets(&billing, &[(orders.as_str(), 0, 5), (orders.as_str(), 1, 5)]).await;
    s.source().commit_group_offsets(&metrics, &[(orders.as_str(), 0, 2), (orders.as_str(), 1, 5)]).await;
    // An earlier apply created the topic and copied 3 records of partition 0, then was stopped.
    s.target().create_topic(&orders, 2).await;
    let copies: Vec<SeedRecord> = (0..3)
        .map(|i| {
            SeedRecord::new(0)
                .key(format!("k{i}"))
                .value(format!("old-0-{i}"))
                .timestamp(T_MS - HOUR + 1000 * i)
        })
        .collect();
    s.target().produce(&orders, &copies).await;
    let plan_path = s.plan(
        "plan.yaml",
        "resume",
        "topics:\n  - orders-{id}\ndata: synced\nsync: { by: kmigrate }\ncutover:\n  manual: true\nconsumers:\n  defaults: { offsets: broker-managed, loss: strict }\n  groups:\n    - id: billing-{id}\n    - id: metrics-{id}\n      loss: tolerant\n",
    );
    let plan = kmigrate_plan::load(&plan_path).unwrap().plan.unwrap();
    let graph = kmigrate_dag::compile(&plan, &Default::default()).unwrap();
    let mut state = State::new(&plan.name);
    for step in graph.steps() {
        state.steps.insert(step.id.to_string(), StepState::new(step.fingerprint(), step.definition.clone()));
    }
    // Summaries as an older kmigrate recorded them (text) and as steps report them now (typed).
    use kmigrate_migration::{RecordedSummary, StepSummary, TopicDone};
    let mut set =
        |id: &str, status: StepStatus, summary: Option<RecordedSummary>, outputs: serde_json::Value| {
            let st = state.steps.get_mut(id).unwrap();
            st.status = status;
            st.attempts = 1;
            st.summary = summary;
            st.outputs = outputs;
        };
    set(
        "preflight",
        StepStatus::Done,
        Some(RecordedSummary::Text("source and target reachable".into())),
        serde_json::Value::Null,
    );
    set(
        &format!("topic:{orders}"),
        StepStatus::Done,
        Some(StepSummary::Topic { change: TopicDone::Created { partitions: 2, configs: 0 } }.into()),
        serde_json::Value::Null,
    );
    let mut copied = PartitionMap::default();
    for i in 0..3 {
        copied.record(i, i);
    }
    let copy = CopyState { partitions: [(0, copied)].into(), bytes: 27, ..CopyState::default() };
    set(&format!("copy:{orders}"), StepStatus::Running, None, serde_json::to_value(copy).unwrap());
    StateStore::new(s.dir.path().join(".kmigrate"), &plan.name).save(&state).unwrap();
    let state_file = std::fs::read(s.dir.path().join(".kmigrate/resume.state.json")).unwrap();

    let out = s.run(&["plan", "plan.yaml", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(2), "changes present");
    let text = s.redact(&out.stdout);
    assert!(text.contains(&format!("✓ topic:orders-{ID}")), "{text}");
    assert!(text.contains("copy 7 records (63 B) in 2 partitions"), "{text}");
    assert!(text.ends_with("Plan: 1 copy, 2 groups to reset; 2 steps already done.\n"), "{text}");
    assert_eq!(std::fs::read(s.dir.path().join(".kmigrate/resume.state.json")).unwrap(), state_file);
    if s.snapshots_apply() {
        insta::assert_snapshot!("resume_text", text);
    }
}

#[test]
fn offline_shows_the_dag_and_the_intended_actions_without_any_cluster() {
    let plans = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plans");
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap();
    // The plan's ${VAR}s are not even resolved: nothing connects.
    let out = kmigrate(
        &plans,
        &[
            "plan",
            "payments-synced-strict.yaml",
            "--offline",
            "--state-dir",
            state_dir,
            "--detailed-exitcode",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = kmigrate(&plans, &["plan", "audit-patterns.yaml", "--offline", "--state-dir", state_dir]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!("offline_text", String::from_utf8_lossy(&out.stdout));
    let json = kmigrate(
        &plans,
        &["plan", "audit-patterns.yaml", "--offline", "--state-dir", state_dir, "-o", "json"],
    );
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["format_version"], 1);
    assert_eq!(value["offline"], true);
    assert_eq!(value["steps"][1]["step"], "expand:^audit\\.[a-z-]+$");
    assert_eq!(value["steps"][1]["topics"], serde_json::Value::Null);
}

/// The source answers, the target does not: plan fails saying so and that nothing was changed,
/// and indeed the source is as it was (topics, configs, offsets, the group's commits; no
/// consumer group of kmigrate's own), and no state was written.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_cluster_fails_with_a_clear_message_and_changes_nothing() {
    let s = Seeded::start();
    let (orders, billing) = (s.n("orders"), s.n("billing"));
    s.source().create_topic(&orders, 2).await;
    seed_values(s.source(), &orders, 2, 5, "old", T_MS - HOUR, 1000).await;
    s.source().commit_group_offsets(&billing, &[(orders.as_str(), 0, 2), (&orders, 1, 5)]).await;
    let unreachable = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let yaml = format!(
        "version: 1\nname: nowhere\nsource:\n  bootstrap_servers: \"{}\"\ntarget:\n  bootstrap_servers: \"{unreachable}\"\ntopics:\n  - {orders}\ndata: synced\nsync: {{ by: kmigrate }}\ncutover:\n  at: \"2026-01-01T00:00:00Z\"\nconsumers:\n  groups:\n    - id: {billing}\n",
        s.source().bootstrap()
    );
    std::fs::write(s.dir.path().join("plan.yaml"), yaml).unwrap();
    let topics = [orders.clone()];
    let groups = [billing.clone()];
    let groups_of_run = || async {
        let listed = s.source().connect().await.list_groups().await.unwrap();
        listed.into_iter().map(|g| g.group_id).filter(|g| g.contains(&s.id)).collect::<Vec<_>>()
    };
    let before = cluster_state(s.source(), &topics, &groups).await;
    let groups_before = groups_of_run().await;

    let out = s.run(&["plan", "plan.yaml", "--connect-timeout", "2s", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("target cluster is unreachable"), "{stderr}");
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(cluster_state(s.source(), &topics, &groups).await, before, "the source changed");
    assert_eq!(groups_of_run().await, groups_before, "a consumer group appeared on the source");
    assert!(!s.dir.path().join(".kmigrate").exists(), "plan wrote state");
}

/// A mistyped address (nothing listens there): apply fails within about `--connect-timeout`, not
/// after retries of a refused connection, and at the default verbosity prints kmigrate's own few
/// lines, not librdkafka's "brokers are down" warnings; `-v` shows those.
#[test]
fn a_refused_address_fails_fast_and_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let free = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let yaml = format!(
        "version: 1\nname: typo\nsource:\n  bootstrap_servers: \"127.0.0.1:{}\"\ntarget:\n  bootstrap_servers: \"127.0.0.1:{}\"\ntopics:\n  - orders\ndata: synced\nsync: {{ by: kmigrate }}\ncutover: {{ manual: true }}\nconsumers:\n  groups:\n    - id: billing\n",
        free(),
        free()
    );
    std::fs::write(dir.path().join("plan.yaml"), yaml).unwrap();
    let started = std::time::Instant::now();
    let out = kmigrate(dir.path(), &["apply", "plan.yaml", "--connect-timeout", "2s"]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1));
    assert!(took < std::time::Duration::from_secs(4), "took {took:?}, more than 2x --connect-timeout");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("cluster is unreachable") && stdout.contains("Connection refused"), "{stdout}");
    let lines = stdout.lines().count() + stderr.lines().count();
    assert!(lines <= 5, "{lines} lines at the default verbosity:\n{stdout}{stderr}");
    assert!(!stderr.contains("brokers are down"), "{stderr}");
    // The state records the failure once: no retry.
    let state = std::fs::read_to_string(dir.path().join(".kmigrate/typo.state.json")).unwrap();
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert_eq!(state["steps"]["preflight"]["status"], "failed", "{state}");
    assert_eq!(state["steps"]["preflight"]["attempts"].as_u64().unwrap_or(1), 1, "{state}");

    let verbose = kmigrate(dir.path(), &["apply", "plan.yaml", "--connect-timeout", "1s", "-v"]);
    assert!(
        String::from_utf8_lossy(&verbose.stderr).contains("Connection refused"),
        "-v shows librdkafka's lines"
    );
}

#[test]
fn a_missing_variable_stops_plan_before_connecting_but_not_offline() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "version: 1\nname: secret\nsource:\n  bootstrap_servers: \"${KMIGRATE_PLAN_TEST_UNSET}\"\ntarget:\n  bootstrap_servers: \"127.0.0.1:7\"\ntopics:\n  - orders\ndata: not-synced\ncutover:\n  at: \"2026-01-01T00:00:00Z\"\nconsumers:\n  groups:\n    - id: billing\n";
    std::fs::write(dir.path().join("plan.yaml"), yaml).unwrap();
    let out = kmigrate(dir.path(), &["plan", "plan.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("KMIGRATE_PLAN_TEST_UNSET"));
    assert_eq!(kmigrate(dir.path(), &["plan", "plan.yaml", "--offline"]).status.code(), Some(0));
}

// --- requests per broker ----------------------------------------------------------------------

/// The number of requests per broker does not depend on the number of partitions.
#[tokio::test(flavor = "multi_thread")]
async fn plan_requests_per_broker_do_not_grow_with_partitions() {
    let s = Seeded::start();
    let one = seed_for_requests(&s, "one", 8, 1, 3).await;
    let many = seed_for_requests(&s, "many", 8, 6, 3).await;
    let (small, _) = count_requests(&s, &one).await;
    let (large, _) = count_requests(&s, &many).await;
    println!("8 topics x 1 partition, 3 groups:\n{}", table(&small));
    println!("8 topics x 6 partitions, 3 groups:\n{}", table(&large));
    if s.single_brokers() {
        // One broker per cluster: the counts are exactly the same.
        assert_eq!(small, large, "requests per broker changed with the partition count");
    }
    // On any cluster, no broker gets more than plan's fixed share (BENCHMARKS.md): ListOffsets once
    // per lookup (leaders only), FindCoordinator/OffsetFetch once per group.
    for counts in [&small, &large] {
        for ((cluster, api, node), n) in counts.iter() {
            let bound = match (cluster.as_str(), api.as_str()) {
                ("source", "Metadata") => 3,
                ("target", "Metadata") => 5,
                (_, "DescribeConfigs") => 1,
                ("source", "ListOffsets") => 2,
                ("target", "ListOffsets") => 7,
                (_, "FindCoordinator" | "OffsetFetch") => 3,
                _ => 0,
            };
            assert!(*n <= bound, "{cluster} broker {node}: {n} {api} requests, expected at most {bound}");
        }
    }
}

impl Seeding for Seeded {
    fn source(&self) -> &TestCluster {
        &self.pair.source
    }
    fn target(&self) -> &TestCluster {
        &self.pair.target
    }
    fn name(&self, name: &str) -> String {
        self.n(name)
    }
    fn dir(&self) -> &Path {
        self.dir.path()
    }
    fn write_plan(&self, file: &str, name: &str, body: &str) -> PathBuf {
        self.plan(file, name, body)
    }
}
