//! The copy on real workloads (issue #10): transactional sources, compacted and trimmed logs,
//! records the target refuses, records larger than the default buffers, and a target that stops
//! answering. Each test checks the target record for record against the source.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use kmigrate_kafka::ConfigChange;
use kmigrate_testkit::{BrokerPair, Engine, KafkaOptions, SeedRecord, TestCluster, unique};

/// A plan copying `topics` (YAML list items, e.g. `  - orders\n`), with `rest` after them
/// (cutover, consumers); `source_properties` are YAML lines under `source.properties`.
fn write_plan(dir: &Path, source: &TestCluster, target: &TestCluster, topics: &[&str], rest: &str) -> String {
    write_plan_with(dir, source, target, topics, "", rest)
}

fn write_plan_with(
    dir: &Path,
    source: &TestCluster,
    target: &TestCluster,
    topics: &[&str],
    source_properties: &str,
    rest: &str,
) -> String {
    // Uncompressed: the tests size records against max.message.bytes.
    write_copy_plan(dir, source, target, topics, source_properties, "  compression: none\n", rest)
}

fn past() -> String {
    let at = chrono::DateTime::from_timestamp_millis(now_ms() - 60_000).unwrap().to_rfc3339();
    format!("cutover:\n  at: \"{at}\"\n")
}

const MANUAL: &str = "cutover:\n  manual: true\n";

/// A cutover `secs` from now: until then the copy keeps running.
fn at_in(secs: i64) -> String {
    let at = chrono::DateTime::from_timestamp_millis(now_ms() + secs * 1000).unwrap().to_rfc3339();
    format!("cutover:\n  at: \"{at}\"\n")
}

/// Runs `apply` with `args` in the background and waits at most `secs` for it to exit; fails
/// with its output when it does not.
fn apply_within(dir: &Path, args: &[&str], secs: u64) -> i32 {
    let mut bg = Background::start(dir, args);
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = bg.child.try_wait().unwrap() {
            dump_logs(dir);
            return status.code().expect("exited, not killed");
        }
        if Instant::now() >= deadline {
            dump_logs(dir);
            panic!("kmigrate {} did not finish within {secs} s", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What the background applies printed.
fn output(dir: &Path) -> String {
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "stdout" || x == "stderr"))
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect()
}

fn small(partition: i32, label: &str, range: std::ops::Range<usize>, ts: i64) -> Vec<SeedRecord> {
    range
        .map(|i| {
            SeedRecord::new(partition).key(format!("{label}{i}")).value(format!("{label}-{i}")).timestamp(ts)
        })
        .collect()
}

/// Records of the copy step of `topic` in the checkpoint, per partition.
fn checkpointed(dir: &Path, topic: &str, partition: i32) -> u64 {
    let state = read_state(dir).unwrap();
    state["steps"][format!("copy:{topic}")]["outputs"]["partitions"][partition.to_string()]["runs"]
        .as_array()
        .map_or(0, |runs| runs.iter().map(|r| r[2].as_u64().unwrap()).sum())
}

/// Item 2: a topic written by an exactly-once producer (a committed, an aborted and a committed
/// transaction) is copied to its end although its log ends with a transaction marker; the aborted
/// records are not copied, even when the plan asks for `read_uncommitted`; a strict group drained on
/// the source starts after the copies, and positions after the aborted transaction translate
/// exactly.
#[tokio::test(flavor = "multi_thread")]
async fn transactional_topics_finish_without_aborted_records_and_groups_start_exactly() {
    let pair = BrokerPair::start(Engine::Sqlite);
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("txn");
    let group = unique("txn-group");
    pair.source.create_topic(&topic, 1).await;
    let ts = now_ms() - 3_600_000;
    // a: offsets 0..5, commit marker 5; b: 6..11 aborted, abort marker 11; c: 12..17, marker 17.
    assert_eq!(
        pair.source.produce_transaction(&topic, &small(0, "a", 0..5, ts), true).await,
        vec![0, 1, 2, 3, 4]
    );
    assert_eq!(pair.source.produce_transaction(&topic, &small(0, "b", 0..5, ts), false).await[0], 6);
    assert_eq!(pair.source.produce_transaction(&topic, &small(0, "c", 0..5, ts), true).await[0], 12);
    pair.source.commit_group_offsets(&group, &[(topic.as_str(), 0, 18)]).await;

    let plan = write_plan_with(
        dir.path(),
        &pair.source,
        &pair.target,
        &[&topic],
        "    isolation.level: read_uncommitted\n",
        &format!("{}consumers:\n  groups:\n    - id: {group}\n      loss: strict\n", past()),
    );
    assert_eq!(apply_within(dir.path(), &["apply", &plan], 60), 0);
    let target = read_all(&pair.target, &topic, 0).await;
    let want: Vec<String> = ["a", "c"].iter().flat_map(|l| (0..5).map(move |i| format!("{l}-{i}"))).collect();
    assert_eq!(values_of(&target), want, "committed records only, each once");
    let parts = [kmigrate_kafka::TopicPartition::new(topic.clone(), 0)];
    let committed = pair.target.connect().await.committed_offsets(&group, &parts).await.unwrap();
    assert_eq!(committed[&parts[0]], Some(10), "the drained group starts after the copies");
    assert_eq!(step_status(dir.path(), "verify"), "done");

    // Positions inside the log translate across the marker and the aborted records: after `a`
    // (on the commit marker or past it) and after the aborted transaction, the group's first
    // unread record is c-0, at target offset 5.
    let stored = dir.path().join("stored.csv");
    for (position, want) in [(5, 5), (6, 5), (11, 5), (12, 5), (13, 6), (3, 3)] {
        std::fs::write(&stored, format!("{topic},0,{position}\n")).unwrap();
        let out = kmigrate(
            dir.path(),
            &[
                "offsets",
                "translate",
                &plan,
                "--group",
                &group,
                "--from-file",
                stored.to_str().unwrap(),
                "--output",
                "json",
            ],
        );
        assert_eq!(out.status.code(), Some(0));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["partitions"][0]["target_offset"], want, "source position {position}");
        assert_eq!(json["duplicates"], 0, "source position {position}");
    }
}

/// Item 3: SIGKILL of copies of a compacted topic (thousands of compacted offsets) and of a
/// transactional topic (a run of aborted records), at a point where the target holds copies the
/// checkpoint does not know beyond the gap; the re-run finds them and the target is exact.
#[tokio::test(flavor = "multi_thread")]
async fn resume_after_a_kill_matches_the_target_across_compacted_and_aborted_gaps() {
    let pair = BrokerPair::start(Engine::Sqlite);
    let dir = tempfile::tempdir().unwrap();
    let (compacted, txn) = (unique("compacted"), unique("aborted"));
    let base = now_ms() - 2 * 86_400_000;
    seed_compacted(&pair.source, &compacted, base, 2_500).await;
    // k0..k9, the surviving update of `hot`, a0..a9: 3 000 offsets compacted away after k9.
    assert_eq!(read_all(&pair.source, &compacted, 0).await.len(), 21);
    pair.source.create_topic(&txn, 1).await;
    pair.source.produce_transaction(&txn, &small(0, "t", 0..10, base), true).await;
    pair.source.produce_transaction(&txn, &small(0, "x", 0..2_500, base), false).await;
    pair.source.produce_transaction(&txn, &small(0, "u", 0..10, base), true).await;

    let plan = write_plan(dir.path(), &pair.source, &pair.target, &[&compacted, &txn], &at_in(20));
    let bg = Background::start(dir.path(), &["apply", &plan]);
    let caught_up = |t: &str| {
        read_state(dir.path())
            .is_some_and(|s| s["steps"][format!("copy:{t}")]["outputs"]["caught_up"] == true)
    };
    if !wait_until(60, || caught_up(&compacted) && caught_up(&txn)) {
        dump_logs(dir.path());
        panic!("the copies did not catch up");
    }
    bg.kill9();
    // The kill came before the last checkpoint: only the records before each gap are recorded,
    // the target holds the copies after it too.
    let path = dir.path().join(".kmigrate/e2e.state.json");
    let mut state = read_state(dir.path()).unwrap();
    for t in [&compacted, &txn] {
        let step = &mut state["steps"][format!("copy:{t}")];
        assert_eq!(step["status"], "running", "killed while copying");
        step["outputs"]["partitions"]["0"] = serde_json::json!({ "next": 10, "runs": [[0, 0, 10]] });
        step["outputs"]["caught_up"] = false.into();
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&state).unwrap()).unwrap();

    assert_eq!(apply_within(dir.path(), &["apply", &plan], 120), 0);
    assert!(
        output(dir.path()).contains("found 11 records copied by an interrupted run"),
        "compacted: hot, a0..a9"
    );
    assert!(
        output(dir.path()).contains("found 10 records copied by an interrupted run"),
        "transactional: u0..u9"
    );
    assert_eq!(assert_exact(&pair.source, &pair.target, &compacted, 0).await, 21);
    assert_eq!(assert_exact(&pair.source, &pair.target, &txn, 0).await, 20);
}

/// A compacted topic: k0..k9, then `hot_updates` records of one key, then a0..a9 an hour later
/// (which rolls the segment: the cleaner compacts closed segments only); waits until the cleaner
/// has left one `hot` record.
async fn seed_compacted(source: &TestCluster, topic: &str, base: i64, hot_updates: usize) {
    source
        .create_topic_with(
            topic,
            1,
            &[("cleanup.policy", "compact"), ("segment.ms", "60000"), ("min.cleanable.dirty.ratio", "0.01")],
        )
        .await;
    source.produce(topic, &small(0, "k", 0..10, base)).await;
    let hot: Vec<SeedRecord> = (0..hot_updates)
        .map(|i| SeedRecord::new(0).key("hot").value(format!("hot-{i}")).timestamp(base + 10))
        .collect();
    source.produce(topic, &hot).await;
    compact(source, topic, base, 10 + 1 + 10).await;
}

/// Appends a0..a9 an hour after `base` and waits until the source holds `left` records.
async fn compact(source: &TestCluster, topic: &str, base: i64, left: usize) {
    source.produce(topic, &small(0, "a", 0..10, base + 3_600_000)).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while read_all(source, topic, 0).await.len() != left {
        assert!(Instant::now() < deadline, "the cleaner did not compact {topic}\n{}", source.log_tail(30));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Item 1: the target topic takes batches of at most 100 000 bytes; partition 0 holds a
/// 150 000-byte record between small ones. The copy stops at it: the target and the checkpoint
/// hold exactly the records before it, the error names the record, its size, the limit and the
/// broker's reason; once the limit is raised, a re-run copies exactly the rest.
#[tokio::test(flavor = "multi_thread")]
async fn a_record_the_target_refuses_stops_the_copy_before_it_and_a_rerun_copies_the_rest() {
    let pair = BrokerPair::start(Engine::Sqlite);
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("refused");
    let ts = now_ms() - 3_600_000;
    pair.source.create_topic(&topic, 2).await;
    let mut p0 = small(0, "s", 0..300, ts);
    p0.push(SeedRecord::new(0).key("big").value("B".repeat(150_000)).timestamp(ts));
    p0.extend(small(0, "s", 300..600, ts));
    pair.source.produce(&topic, &p0).await;
    pair.source.produce(&topic, &small(1, "s", 0..600, ts)).await;
    pair.target.create_topic_with(&topic, 2, &[("max.message.bytes", "100000")]).await;

    let plan = write_plan(dir.path(), &pair.source, &pair.target, &[&topic], &past());
    assert_eq!(apply_within(dir.path(), &["apply", &plan], 60), 1);
    let text = output(dir.path());
    assert!(text.contains(&format!("the target refused record {topic}/0 at source offset 300")), "{text}");
    assert!(
        text.contains("(150003 bytes; the target topic takes record batches of at most 100000 bytes (max.message.bytes))"),
        "{text}"
    );
    assert!(text.contains("Broker: Message size too large"), "the broker's reason: {text}");
    // Nothing after the gap, on the target or in the checkpoint.
    for p in 0..2 {
        let (src, tgt) = (read_all(&pair.source, &topic, p).await, read_all(&pair.target, &topic, p).await);
        assert_eq!(values_of(&tgt), values_of(&src[..tgt.len()]), "{topic}/{p}: a prefix of the source");
        assert_eq!(checkpointed(dir.path(), &topic, p), tgt.len() as u64, "{topic}/{p}: checkpoint = target");
    }
    assert_eq!(read_all(&pair.target, &topic, 0).await.len(), 300, "every record before the refused one");

    let change = ConfigChange::set("max.message.bytes", "1000000");
    let target = pair.target.connect().await;
    target.alter_topic_configs(&BTreeMap::from([(topic.clone(), vec![change])])).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let configs = target.describe_topic_configs(&[topic.as_str()]).await.unwrap();
        if configs[&topic].entries["max.message.bytes"].value.as_deref() == Some("1000000") {
            break;
        }
        assert!(Instant::now() < deadline, "the target did not take the new limit");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(apply_within(dir.path(), &["apply", &plan], 60), 0);
    assert_eq!(assert_exact(&pair.source, &pair.target, &topic, 0).await, 601);
    assert_eq!(assert_exact(&pair.source, &pair.target, &topic, 1).await, 600);
}

/// Item 5: a 9 MiB record (the source topic allows 12 MiB) is copied: the copy's buffers hold
/// the largest record the topics allow, where a fixed 8 MiB buffer never had room for it.
#[tokio::test(flavor = "multi_thread")]
async fn records_larger_than_the_default_buffer_are_copied() {
    let pair = BrokerPair::start(Engine::Sqlite);
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("large");
    let ts = now_ms() - 3_600_000;
    pair.source.create_topic_with(&topic, 1, &[("max.message.bytes", "12582912")]).await;
    let mut records = small(0, "s", 0..5, ts);
    records.push(SeedRecord::new(0).key("large").value(vec![b'L'; 9 << 20]).timestamp(ts));
    records.extend(small(0, "s", 5..10, ts));
    pair.source.produce(&topic, &records).await;

    let plan = write_plan(dir.path(), &pair.source, &pair.target, &[&topic], &past());
    assert_eq!(apply_within(dir.path(), &["apply", &plan], 60), 0);
    assert_eq!(assert_exact(&pair.source, &pair.target, &topic, 0).await, 11);
}

/// Item 5: the target stops answering (its JVM is stopped) while the copy has records in flight;
/// the progress shows what awaits acknowledgement, and Ctrl-C ends the wait: apply exits paused
/// (3) within seconds, keeping its progress; once the target is back, a re-run is exact.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_while_the_target_does_not_answer_pauses_and_keeps_progress() {
    let source = TestCluster::start("source", Engine::Sqlite);
    let target = TestCluster::start_kafka("target", KafkaOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("stuck");
    let ts = now_ms() - 3_600_000;
    source.create_topic(&topic, 1).await;
    source.produce(&topic, &small(0, "s", 0..200, ts)).await;
    let plan = write_plan(dir.path(), &source, &target, &[&topic], &at_in(25));
    let mut bg = Background::start(dir.path(), &["apply", &plan]);
    if !wait_until(60, || copied(dir.path(), &format!("copy:{topic}")) == 200) {
        dump_logs(dir.path());
        panic!("the copy did not copy the first records");
    }

    target.kafka().unwrap().signal(libc::SIGSTOP);
    source.produce(&topic, &small(0, "s", 200..400, ts)).await;
    let awaiting = wait_until(30, || output(dir.path()).contains("awaiting the target's acknowledgement"));
    let interrupted = Instant::now();
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(bg.child.id() as i32, libc::SIGINT) };
    let code = loop {
        if let Some(status) = bg.child.try_wait().unwrap() {
            break status.code();
        }
        if interrupted.elapsed() > Duration::from_secs(30) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    target.kafka().unwrap().signal(libc::SIGCONT);
    dump_logs(dir.path());
    assert!(awaiting, "the progress shows records awaiting the target");
    assert_eq!(code, Some(3), "Ctrl-C pauses apply within seconds ({:?})", interrupted.elapsed());
    assert!(interrupted.elapsed() < Duration::from_secs(15), "{:?}", interrupted.elapsed());
    assert_eq!(copied(dir.path(), &format!("copy:{topic}")), 200, "the progress is kept");

    assert_eq!(apply_within(dir.path(), &["apply", &plan], 120), 0);
    assert_eq!(assert_exact(&source, &target, &topic, 0).await, 400);
}

/// Item 7: after the copy, the source compacts records away and retention trims another topic's
/// log start. verify passes on the correct copies and says how many records it could not compare,
/// and why.
#[tokio::test(flavor = "multi_thread")]
async fn verify_passes_on_compacted_and_trimmed_sources_and_counts_what_it_could_not_compare() {
    let pair = BrokerPair::start(Engine::Sqlite);
    let dir = tempfile::tempdir().unwrap();
    let (compacted, trimmed) = (unique("vcompacted"), unique("vtrimmed"));
    let base = now_ms() - 2 * 86_400_000;
    pair.source
        .create_topic_with(
            &compacted,
            1,
            &[("cleanup.policy", "compact"), ("segment.ms", "60000"), ("min.cleanable.dirty.ratio", "0.01")],
        )
        .await;
    pair.source.produce(&compacted, &small(0, "k", 0..10, base)).await;
    let hot: Vec<SeedRecord> = (0..50)
        .map(|i| SeedRecord::new(0).key("hot").value(format!("hot-{i}")).timestamp(base + 10))
        .collect();
    pair.source.produce(&compacted, &hot).await;
    pair.source.create_topic(&trimmed, 1).await;
    pair.source.produce(&trimmed, &small(0, "r", 0..100, base)).await;

    // The copies catch up, then the sources lose records they had. The target's copy of the
    // compacted topic rolls no segment during the test, so it compacts nothing: what verify reads
    // there is what the copy wrote, however slow the machine.
    let on_target = format!("{{ name: {compacted}, config: {{ segment.ms: \"604800000\" }} }}");
    let plan = write_plan(dir.path(), &pair.source, &pair.target, &[&on_target, &trimmed], MANUAL);
    assert_eq!(apply_within(dir.path(), &["apply", &plan], 60), 3);
    assert_eq!(copied(dir.path(), &format!("copy:{compacted}")), 60);
    compact(&pair.source, &compacted, base, 21).await;
    pair.source.delete_records_before(&trimmed, 0, 40).await;

    assert_eq!(apply_within(dir.path(), &["apply", &plan, "--approve", "cutover"], 60), 0);
    // The copy recorded the digests of what it wrote: verify reads only the target, whatever the
    // source lost since.
    let text = output(dir.path());
    assert!(
        text.contains(
            "✓ verify: 170 copied records in 2 partitions match the source; the target was read against the digests the copy recorded"
        ),
        "{text}"
    );

    // Without digests (a copy resumed after a kill, an older checkpoint), verify compares with the
    // source: it says what it could not compare, and why.
    let path = dir.path().join(".kmigrate/e2e.state.json");
    let mut state = read_state(dir.path()).unwrap();
    for topic in [&compacted, &trimmed] {
        state["steps"][format!("copy:{topic}")]["outputs"]
            .as_object_mut()
            .unwrap()
            .remove("digests")
            .unwrap();
    }
    state["steps"]["verify"]["status"] = serde_json::json!("pending");
    std::fs::write(&path, serde_json::to_string_pretty(&state).unwrap()).unwrap();
    assert_eq!(apply_within(dir.path(), &["apply", &plan], 60), 0);
    let text = output(dir.path());
    assert!(
        text.contains(
            "✓ verify: 81 copied records in 2 partitions match the source; 89 copied records could not be compared: 89 the source no longer holds (compacted away, or deleted by retention, after they were copied)"
        ),
        "{text}"
    );
}

/// verify still finds differences: a copy the target does not hold as recorded.
#[tokio::test(flavor = "multi_thread")]
async fn verify_names_a_source_record_the_copy_skipped() {
    let pair = BrokerPair::start(Engine::Sqlite);
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("skipped");
    pair.source.create_topic(&topic, 1).await;
    pair.source.produce(&topic, &small(0, "s", 0..20, now_ms() - 3_600_000)).await;
    let plan = write_plan(dir.path(), &pair.source, &pair.target, &[&topic], &past());
    assert_eq!(apply_within(dir.path(), &["apply", &plan], 60), 0);

    // The map is made to say that source offset 5 was never copied (and 6.. went to 5..).
    let path = dir.path().join(".kmigrate/e2e.state.json");
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    state["steps"][format!("copy:{topic}")]["outputs"]["partitions"]["0"]["runs"] =
        serde_json::json!([[0, 0, 5], [6, 5, 14]]);
    state["steps"]["verify"]["status"] = "pending".into();
    std::fs::write(&path, serde_json::to_vec_pretty(&state).unwrap()).unwrap();
    assert_eq!(apply_within(dir.path(), &["apply", &plan], 60), 1);
    let text = output(dir.path());
    assert!(text.contains(&format!("{topic}/0: the source record at offset 5 was not copied")), "{text}");
    assert!(
        text.contains(&format!("{topic}/0: records differ first at source offset 6 (target offset 5)")),
        "{text}"
    );
}
