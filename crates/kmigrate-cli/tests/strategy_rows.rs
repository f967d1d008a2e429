//! One test per row of the strategy table, and one for dual write: seed the source (old records,
//! a group drained to the end), apply up to the cutover gate, produce "new" records to the target
//! as switched producers would, approve the cutover, produce more, then consume the group on the
//! target from its committed (or exported) offsets and check exactly which records it reads.
//!
//! Every row also asks Kafka's own tool, `kafka-consumer-groups --reset-offsets --dry-run` from the
//! same jars, what the operators' manual procedure would set (`--to-earliest`, `--to-latest`,
//! `--to-datetime T`, `--from-file`) and compares it with what kmigrate applied: equal where the
//! rule is the same. Where kmigrate is exact and the by-time rule is not (synced by kmigrate,
//! strict), both are shown, and the records read prove kmigrate loses none and repeats none.
//!
//! The target holds records that tell the rules apart: records older than T (copied by an external
//! tool, or already on the target) that a by-time start must skip and an earliest start must read.

mod common;

use std::collections::BTreeMap;

use common::*;
use kmigrate_kafka::TopicPartition;
use kmigrate_testkit::{SeedRecord, tools};

const OLD: usize = 5;
const DURING: usize = 3;
const AFTER: usize = 2;

/// A cutover time between the old records (an hour ago) and the new ones (now).
fn cutover_at() -> String {
    chrono::DateTime::from_timestamp_millis(now_ms() - 30 * 60 * 1000).unwrap().to_rfc3339()
}

/// What the operators' procedure computes with `kafka-consumer-groups --reset-offsets` for a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Oracle {
    Earliest,
    Latest,
    /// `--to-datetime T`, T the cutover time kmigrate recorded.
    ByTime,
    /// kmigrate is exact (the copy's offset map); the by-time answer is shown beside it.
    ExactAndByTime,
}

/// The cutover time T kmigrate recorded (ms), from `kmigrate status --output json`.
fn recorded_cutover_ms(s: &Scenario) -> i64 {
    let out = s.kmigrate(&["status", s.plan.to_str().unwrap(), "--output", "json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cutover = status["steps"].as_array().unwrap().iter().find(|st| st["step"] == "cutover").unwrap();
    cutover["outputs"]["time_ms"].as_i64().expect("cutover.outputs.time_ms")
}

/// Asks Kafka's tool for the row's rule on the target and compares it with `applied`.
fn check_against_kafka_tool(s: &Scenario, oracle: Oracle, applied: &[(i32, i64)]) {
    let t = tools::datetime(recorded_cutover_ms(s));
    let spec: Vec<&str> = match oracle {
        Oracle::Earliest => vec!["--to-earliest"],
        Oracle::Latest => vec!["--to-latest"],
        Oracle::ByTime | Oracle::ExactAndByTime => vec!["--to-datetime", &t],
    };
    let kafka = tools::reset_offsets_dry_run(s.target(), &s.group, &s.topic, &spec);
    let ours: BTreeMap<i32, i64> = applied.iter().copied().collect();
    println!("kafka-consumer-groups --reset-offsets {}: {kafka:?}\nkmigrate: {ours:?}", spec.join(" "));
    match oracle {
        Oracle::ExactAndByTime => {
            // T is 1 ms after the newest source record: here (no new record between copies) the
            // by-time answer and the offset map agree; with T at that record, by time re-read it.
            assert_eq!(kafka, ours, "by time, just after the last source record, as exact here");
        }
        _ => assert_eq!(kafka, ours, "kmigrate and kafka-consumer-groups {} disagree", spec.join(" ")),
    }
}

/// Runs the scenario and returns what the group reads on the target (sorted). `pre_target`:
/// records older than T already on the target (values `pre-<p>-<i>`) before apply.
async fn run_row(
    data: &str,
    group: &str,
    external_copy: bool,
    explicit_t: bool,
    pre_target: bool,
    oracle: Oracle,
) -> (Scenario, Vec<String>) {
    let mut s = Scenario::start();
    s.seed_old(OLD, now_ms() - 60 * 60 * 1000).await;
    s.drain_group_on_source().await;
    if external_copy {
        s.external_copy().await;
    }
    if pre_target {
        s.seed_target_before_t("pre", PRE, now_ms() - 45 * 60 * 1000).await;
    }
    let plan = s.write_plan(&format!("{data}\ncutover:\n  manual: true"), group);
    let plan = plan.to_str().unwrap().to_string();

    let first = s.kmigrate(&["apply", &plan]);
    assert_eq!(first.status.code(), Some(3), "apply pauses at the cutover gate");
    assert!(String::from_utf8_lossy(&first.stdout).contains("--approve cutover"));

    // Producers switch: new records go to the target.
    s.produce_new(s.target(), "during", DURING).await;

    let t = cutover_at();
    let mut args = vec!["apply", plan.as_str(), "--approve", "cutover"];
    if explicit_t {
        args.extend(["--cutover-at", t.as_str()]);
    }
    let second = s.kmigrate(&args);
    assert_eq!(second.status.code(), Some(0), "apply finishes after the approval");

    let starts: Vec<(i32, i64)> = if group.contains("self-stored") {
        let csv = std::fs::read_to_string(s.dir.path().join("out/offsets.csv")).unwrap();
        csv.lines()
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                assert_eq!(f[0], s.topic);
                (f[1].parse().unwrap(), f[2].parse().unwrap())
            })
            .collect()
    } else {
        s.committed_on_target().await
    };
    // Before producers write more: "latest" means the same to both.
    check_against_kafka_tool(&s, oracle, &starts);
    s.produce_new(s.target(), "after", AFTER).await;
    let read = sorted(s.consume_from(&starts).await);
    (s, read)
}

/// Records older than T on the target, per partition.
const PRE: usize = 4;

fn during_and_after() -> Vec<String> {
    sorted([expected("during", 0..DURING), expected("after", 0..AFTER)].concat())
}

fn pre_during_and_after() -> Vec<String> {
    sorted([expected("pre", 0..PRE), expected("during", 0..DURING), expected("after", 0..AFTER)].concat())
}

fn after_only() -> Vec<String> {
    sorted(expected("after", 0..AFTER))
}

const SELF_STORED: &str = "      offsets: self-stored\n      export: out/offsets.csv\n";
const STRICT: &str = "      loss: strict\n";
const TOLERANT: &str = "      loss: tolerant\n";

#[tokio::test(flavor = "multi_thread")]
async fn synced_broker_tolerant_starts_at_latest() {
    let (_, read) =
        run_row("data: synced\nsync: { by: external }", TOLERANT, true, true, false, Oracle::Latest).await;
    assert_eq!(read, after_only());
}

/// The externally copied records are older than T: the aligned logs start the drained group after
/// them, as a by-time start would here (an earliest one would read all 5 old records per
/// partition again). `align.rs` has the cases where the two differ.
#[tokio::test(flavor = "multi_thread")]
async fn synced_broker_strict_starts_at_the_first_record_after_the_cutover() {
    let (_, read) =
        run_row("data: synced\nsync: { by: external }", STRICT, true, true, false, Oracle::ExactAndByTime)
            .await;
    assert_eq!(read, during_and_after(), "no new record lost, no copied record read again");
}

#[tokio::test(flavor = "multi_thread")]
async fn synced_self_stored_exports_the_offsets_at_the_cutover() {
    let (s, read) = run_row(
        "data: synced\nsync: { by: external }",
        SELF_STORED,
        true,
        true,
        false,
        Oracle::ExactAndByTime,
    )
    .await;
    assert_eq!(read, during_and_after());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.dir.path().join("out/offsets.json")).unwrap())
            .unwrap();
    assert_eq!(json["rule"]["rule"], "exact-from-alignment");
}

#[tokio::test(flavor = "multi_thread")]
async fn not_synced_broker_tolerant_starts_at_latest() {
    let (_, read) = run_row("data: not-synced", TOLERANT, false, true, true, Oracle::Latest).await;
    assert_eq!(read, after_only());
}

/// The target's own records older than T are read: earliest, not by time (which would skip them).
#[tokio::test(flavor = "multi_thread")]
async fn not_synced_broker_strict_starts_at_earliest() {
    let (_, read) = run_row("data: not-synced", STRICT, false, true, true, Oracle::Earliest).await;
    assert_eq!(read, pre_during_and_after());
}

#[tokio::test(flavor = "multi_thread")]
async fn not_synced_self_stored_starts_at_the_retained_earliest() {
    let (_, read) = run_row("data: not-synced", SELF_STORED, false, true, true, Oracle::Earliest).await;
    assert_eq!(read, pre_during_and_after());
}

#[tokio::test(flavor = "multi_thread")]
async fn synced_by_kmigrate_strict_is_exact_from_the_offset_map() {
    // The cutover time is left to kmigrate (the newest record on the source): the exact
    // translation does not depend on it.
    let (s, read) =
        run_row("data: synced\nsync: { by: kmigrate }", STRICT, false, false, false, Oracle::ExactAndByTime)
            .await;
    // The cutover gate waits for the copy to catch up, so the switched producers' records land
    // after every copied record: the group reads no copied record again.
    let status = s.kmigrate(&["status", s.plan.to_str().unwrap(), "--output", "json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let offsets = status["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["step"].as_str().unwrap().starts_with("offsets:"))
        .unwrap();
    assert_eq!(offsets["outputs"]["decided"]["rule"]["rule"], "exact-from-map");
    assert_eq!(offsets["outputs"]["decided"]["duplicates"], 0);
    assert_eq!(read, during_and_after(), "no new record lost, no copied record read again");
    // The copy itself is exact: every old record is on the target once.
    let ends = s.ends(s.target()).await;
    for p in 0..PARTITIONS {
        let end = ends[&TopicPartition::new(s.topic.clone(), p)];
        let values: Vec<String> = s
            .target()
            .consume(&s.topic, p, 0, end)
            .await
            .into_iter()
            .map(|r| String::from_utf8(r.value.unwrap()).unwrap())
            .filter(|v| v.starts_with("old-"))
            .collect();
        assert_eq!(values, (0..OLD).map(|i| format!("old-{p}-{i}")).collect::<Vec<_>>());
    }
}

/// Dual write: producers write to both clusters from some time on; the group keeps reading the
/// source until the switch. Records dual-written before T (the group consumed them on the source)
/// are on the target too, older than T: strict starts by time and skips them (earliest would read
/// them again), tolerant starts at latest.
async fn dual_write_row(group: &str, oracle: Oracle) -> Vec<String> {
    let mut s = Scenario::start();
    s.seed_old(OLD, now_ms() - 60 * 60 * 1000).await;
    // Written to both clusters 45 minutes ago, before T (30 minutes ago).
    let early = now_ms() - 45 * 60 * 1000;
    s.seed_before_t(s.source(), "early", PRE, early).await;
    s.seed_target_before_t("early", PRE, early).await;
    s.drain_group_on_source().await;
    let plan = s.write_plan("data: dual-write\ncutover:\n  manual: true", group);
    let plan = plan.to_str().unwrap().to_string();
    assert_eq!(s.kmigrate(&["apply", &plan]).status.code(), Some(3));
    // Producers write to both clusters from here on; the group keeps reading the source.
    let t = cutover_at();
    s.produce_new(s.source(), "dual", DURING).await;
    s.produce_new(s.target(), "dual", DURING).await;
    s.drain_group_on_source().await;
    assert_eq!(
        s.kmigrate(&["apply", &plan, "--approve", "cutover", "--cutover-at", &t]).status.code(),
        Some(0)
    );
    let committed = s.committed_on_target().await;
    check_against_kafka_tool(&s, oracle, &committed);
    s.produce_new(s.target(), "after", AFTER).await;
    sorted(s.consume_from(&committed).await)
}

#[tokio::test(flavor = "multi_thread")]
async fn dual_write_strict_starts_at_the_first_dual_written_record_after_t() {
    let read = dual_write_row(STRICT, Oracle::ByTime).await;
    // The records dual-written after T are read again on the target (duplicates, as validate
    // warns), nothing is lost, and those before T are not read again.
    assert_eq!(read, sorted([expected("dual", 0..DURING), expected("after", 0..AFTER)].concat()));
}

#[tokio::test(flavor = "multi_thread")]
async fn dual_write_tolerant_starts_at_latest() {
    let read = dual_write_row(TOLERANT, Oracle::Latest).await;
    assert_eq!(read, after_only());
}

/// `from_file`: the offsets given, as `kafka-consumer-groups --reset-offsets --from-file` sets them
/// from the same file.
#[tokio::test(flavor = "multi_thread")]
async fn from_file_sets_the_given_offsets_like_kafka_consumer_groups() {
    let mut s = Scenario::start();
    s.seed_old(OLD, now_ms() - 60 * 60 * 1000).await;
    s.drain_group_on_source().await;
    s.external_copy().await;
    let csv = s.dir.path().join("in.csv");
    std::fs::write(&csv, format!("{t},0,2\n{t},1,4\n", t = s.topic)).unwrap();
    let plan = s.write_plan(
        "data: synced\nsync: { by: external }\ncutover:\n  at: \"2026-01-01T00:00:00Z\"",
        "      from_file: in.csv\n",
    );
    let out = s.kmigrate(&["apply", plan.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let committed = s.committed_on_target().await;
    assert_eq!(committed, vec![(0, 2), (1, 4)]);
    let kafka =
        tools::reset_offsets_dry_run(s.target(), &s.group, &s.topic, &["--from-file", csv.to_str().unwrap()]);
    assert_eq!(kafka, committed.into_iter().collect::<BTreeMap<_, _>>());
    let read = sorted(s.consume_from(&[(0, 2), (1, 4)]).await);
    assert_eq!(read, sorted(vec!["old-0-2".into(), "old-0-3".into(), "old-0-4".into(), "old-1-4".into()]));
}

/// Records written by clients older than Kafka 0.10 carry no timestamp: a by-time start is then
/// meaningless, and apply refuses it naming the partitions and the `from_file` fallback.
///
/// tansu's memory engine: its SQLite engine cannot serve records whose timestamp is -1. No group
/// here drains (a self-stored group), since the memory engine's end offsets are wrong.
#[tokio::test(flavor = "multi_thread")]
async fn records_without_timestamps_refuse_a_by_time_start() {
    let pair = kmigrate_testkit::BrokerPair::start(kmigrate_testkit::Engine::Memory);
    let dir = tempfile::tempdir().unwrap();
    let topic = kmigrate_testkit::unique("legacy");
    for cluster in [&pair.source, &pair.target] {
        cluster.create_topic(&topic, 2).await;
        for p in 0..2 {
            let records: Vec<_> =
                (0..5).map(|i| SeedRecord::new(p).value(format!("v{i}")).without_timestamp()).collect();
            cluster.produce(&topic, &records).await;
        }
    }
    let yaml = format!(
        "version: 1\nname: e2e\nsource:\n  bootstrap_servers: \"{}\"\ntarget:\n  bootstrap_servers: \"{}\"\ntopics:\n  - {topic}\ndata: dual-write\ncutover:\n  at: \"2026-01-01T00:00:00Z\"\nconsumers:\n  groups:\n    - id: legacy-app\n      offsets: self-stored\n      export: out.csv\n",
        pair.source.bootstrap(),
        pair.target.bootstrap()
    );
    std::fs::write(dir.path().join("plan.yaml"), yaml).unwrap();
    let out = kmigrate(dir.path(), &["apply", "plan.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("✗ offsets:legacy-app"), "{text}");
    assert!(
        text.contains(&format!("{topic}/0")) && text.contains(&format!("{topic}/1")),
        "names the partitions: {text}"
    );
    assert!(text.contains("from_file"), "suggests the fallback: {text}");
    assert!(!dir.path().join("out.csv").exists(), "nothing exported");
}

/// One future-dated record (an event-time producer, a clock running ahead) at the end of a source
/// partition must not move T past the switched producers' records: T comes from the other
/// partitions' last records and the outlier is reported. A strict by-time group then loses no new
/// record; it reads the misdated copy again (by time, it is "after" T), and nothing else.
#[tokio::test(flavor = "multi_thread")]
async fn a_future_dated_record_does_not_move_the_cutover_past_new_records() {
    let mut s = Scenario::start();
    s.seed_old(OLD, now_ms() - 60 * 60 * 1000).await;
    // Kafka 4 refuses timestamps more than an hour ahead (log.message.timestamp.after.max.ms):
    // 50 minutes is accepted, and far beyond any clock skew.
    let tomorrow = now_ms() + 50 * 60 * 1000;
    s.source()
        .produce(&s.topic, &[SeedRecord::new(1).key("late").value("misdated-1").timestamp(tomorrow)])
        .await;
    s.drain_group_on_source().await;
    s.external_copy().await;
    // Dual write: the strict group starts by time (an external copy would be aligned instead).
    let plan = s.write_plan("data: dual-write\ncutover:\n  manual: true", STRICT);
    let plan = plan.to_str().unwrap().to_string();
    assert_eq!(s.kmigrate(&["apply", &plan]).status.code(), Some(3));
    s.produce_new(s.target(), "during", DURING).await;
    let second = s.kmigrate(&["apply", &plan, "--approve", "cutover"]);
    assert_eq!(second.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(stdout.contains(&format!("the last record of {}/1 is dated", s.topic)), "{stdout}");
    let t = recorded_cutover_ms(&s);
    assert!(t < now_ms(), "T is not in the future: {t}");
    s.produce_new(s.target(), "after", AFTER).await;
    let read = sorted(s.consume_from(&s.committed_on_target().await).await);
    let mut want = during_and_after();
    want.push("misdated-1".into());
    assert_eq!(read, sorted(want), "no new record lost; only the misdated copy is read again");
}
