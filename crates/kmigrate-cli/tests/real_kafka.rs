//! What only a real Kafka can answer, end to end through `kmigrate`: a target topic that must grow
//! (CreatePartitions) and take configs, a source and a target log trimmed by retention
//! (DeleteRecords), and topics whose broker rewrites timestamps (LogAppendTime). Each test asserts
//! what Kafka does and what kmigrate does with it; Kafka's own tools are the oracle where they
//! compute the same thing.

mod common;

use std::collections::BTreeMap;

use common::*;
use kmigrate_kafka::{TopicPartition, Watermarks};
use kmigrate_testkit::{BrokerPair, Engine, TestCluster, tools, unique};

fn plan_yaml(pair: &BrokerPair, topics: &str, rest: &str) -> String {
    format!(
        "version: 1\nname: e2e\nsource:\n  bootstrap_servers: \"{}\"\ntarget:\n  bootstrap_servers: \"{}\"\ntopics:\n{topics}{rest}",
        pair.source.bootstrap(),
        pair.target.bootstrap()
    )
}

/// Writes a plan of one topic and one strict group (`group_extra`: more keys of the group) with a
/// cutover in the past into `dir`, and applies it.
fn apply_one_topic(
    pair: &BrokerPair,
    dir: &std::path::Path,
    topic: &str,
    data: &str,
    group: &str,
    group_extra: &str,
) -> std::process::Output {
    let yaml = plan_yaml(
        pair,
        &format!("  - {topic}\n"),
        &format!(
            "{data}\ncutover:\n  at: \"2026-01-01T00:00:00Z\"\nconsumers:\n  groups:\n    - id: {group}\n      loss: strict\n{group_extra}"
        ),
    );
    std::fs::write(dir.join("plan.yaml"), yaml).unwrap();
    kmigrate(dir, &["apply", "plan.yaml"])
}

async fn watermarks(c: &TestCluster, topic: &str, partitions: i32) -> BTreeMap<i32, Watermarks> {
    let parts: Vec<TopicPartition> = (0..partitions).map(|p| TopicPartition::new(topic, p)).collect();
    c.connect().await.watermarks(&parts).await.unwrap().into_iter().map(|(tp, w)| (tp.partition, w)).collect()
}

/// Values of a partition from `start` to its end.
async fn values(c: &TestCluster, topic: &str, partition: i32, start: i64) -> Vec<String> {
    let end = watermarks(c, topic, partition + 1).await[&partition].latest;
    c.consume(topic, partition, start, end)
        .await
        .into_iter()
        .map(|r| String::from_utf8(r.value.unwrap_or_default()).unwrap())
        .collect()
}

/// A target topic with fewer partitions than the plan asks and other configs: `plan` shows the
/// change and the drift, `apply` adds the partitions (CreatePartitions), sets the configs
/// (IncrementalAlterConfigs) and leaves the target's own, and the copy is exact.
#[tokio::test(flavor = "multi_thread")]
async fn an_existing_target_topic_grows_and_takes_the_configs() {
    let pair = BrokerPair::start(Engine::Sqlite);
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("grow");
    pair.source.create_topic_with(&topic, 2, &[("retention.ms", "315360000000")]).await;
    seed_values(&pair.source, &topic, 2, 6, "old", now_ms() - 3_600_000, 1).await;
    pair.target.create_topic_with(&topic, 2, &[("max.message.bytes", "2000000")]).await;
    let yaml = plan_yaml(
        &pair,
        &format!("  - name: {topic}\n    partitions: 4\n    config:\n      segment.ms: \"3600000\"\n"),
        "data: synced\nsync: { by: kmigrate }\ncutover:\n  at: \"2026-01-01T00:00:00Z\"\n",
    );
    std::fs::write(dir.path().join("plan.yaml"), yaml).unwrap();

    let plan = kmigrate(dir.path(), &["plan", "plan.yaml"]);
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(text.contains(&format!("~ topic:{topic}")), "{text}");
    assert!(text.contains("partitions 2 → 4"), "{text}");
    assert!(text.contains("retention.ms") && text.contains("segment.ms"), "{text}");
    assert!(text.contains("max.message.bytes"), "the target's own config is shown: {text}");

    let out = kmigrate(dir.path(), &["apply", "plan.yaml"]);
    assert_eq!(out.status.code(), Some(0), "apply succeeds");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("max.message.bytes=2000000"), "the drift is reported: {stdout}");

    let k = pair.target.connect().await;
    assert_eq!(k.topics(&[&topic]).await.unwrap()[&topic].partition_count(), 4);
    let configs = k.describe_topic_configs(&[&topic]).await.unwrap();
    let overrides = configs[&topic].overrides();
    assert_eq!(overrides.get("retention.ms").map(String::as_str), Some("315360000000"), "{overrides:?}");
    assert_eq!(overrides.get("segment.ms").map(String::as_str), Some("3600000"), "{overrides:?}");
    assert_eq!(overrides.get("max.message.bytes").map(String::as_str), Some("2000000"), "left as it was");
    // The copied partitions hold exactly the source's records, the added ones nothing (records
    // keep their partition): Kafka's own GetOffsetShell agrees on the ends.
    assert_eq!(
        tools::get_offsets(&pair.target, &topic, "-1"),
        BTreeMap::from([(0, 6), (1, 6), (2, 0), (3, 0)])
    );
    for p in 0..2 {
        assert_eq!(
            values(&pair.target, &topic, p, 0).await,
            (0..6).map(|i| format!("old-{p}-{i}")).collect::<Vec<_>>()
        );
    }
}

/// Retention trimmed both logs (DeleteRecords moves the log start, as retention does). The copy
/// starts at the source's log start and verify passes; a strict group on a not-synced target
/// starts at the target's retained earliest (above 0), as `kafka-consumer-groups --to-earliest`
/// computes.
#[tokio::test(flavor = "multi_thread")]
async fn retention_trimmed_logs() {
    let pair = BrokerPair::start(Engine::Sqlite);
    // Synced by kmigrate from a trimmed source.
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("trimmed");
    let group = unique("trimmed-group");
    pair.source.create_topic(&topic, 2).await;
    seed_values(&pair.source, &topic, 2, 10, "old", now_ms() - 3_600_000, 1).await;
    pair.source.delete_records_before(&topic, 0, 4).await;
    pair.source.delete_records_before(&topic, 1, 7).await;
    let marks = watermarks(&pair.source, &topic, 2).await;
    assert_eq!((marks[&0].earliest, marks[&1].earliest), (4, 7), "Kafka moved the log start");
    assert_eq!(tools::get_offsets(&pair.source, &topic, "-2"), BTreeMap::from([(0, 4), (1, 7)]));
    pair.source.commit_group_offsets(&group, &[(topic.as_str(), 0, 10), (topic.as_str(), 1, 10)]).await;
    let out = apply_one_topic(&pair, dir.path(), &topic, "data: synced\nsync: { by: kmigrate }", &group, "");
    assert_eq!(out.status.code(), Some(0), "copy and verify pass on a trimmed source");
    assert_eq!(
        values(&pair.target, &topic, 0, 0).await,
        (4..10).map(|i| format!("old-0-{i}")).collect::<Vec<_>>()
    );
    assert_eq!(
        values(&pair.target, &topic, 1, 0).await,
        (7..10).map(|i| format!("old-1-{i}")).collect::<Vec<_>>()
    );
    let committed = pair
        .target
        .connect()
        .await
        .committed_offsets(&group, &[TopicPartition::new(&topic, 0), TopicPartition::new(&topic, 1)])
        .await
        .unwrap();
    assert_eq!(
        committed.values().copied().collect::<Vec<_>>(),
        vec![Some(6), Some(3)],
        "exactly after the copies"
    );

    // Not synced, strict: the target's own log, trimmed too.
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("trimmed-target");
    let group = unique("trimmed-strict");
    for c in [&pair.source, &pair.target] {
        c.create_topic(&topic, 2).await;
        seed_values(c, &topic, 2, 8, "old", now_ms() - 3_600_000, 1).await;
    }
    pair.target.delete_records_before(&topic, 0, 3).await;
    pair.target.delete_records_before(&topic, 1, 5).await;
    pair.source.commit_group_offsets(&group, &[(topic.as_str(), 0, 8), (topic.as_str(), 1, 8)]).await;
    let out = apply_one_topic(&pair, dir.path(), &topic, "data: not-synced", &group, "");
    assert_eq!(out.status.code(), Some(0));
    let committed: BTreeMap<i32, i64> = pair
        .target
        .connect()
        .await
        .committed_offsets(&group, &[TopicPartition::new(&topic, 0), TopicPartition::new(&topic, 1)])
        .await
        .unwrap()
        .into_iter()
        .map(|(tp, o)| (tp.partition, o.unwrap()))
        .collect();
    assert_eq!(committed, BTreeMap::from([(0, 3), (1, 5)]), "the retained earliest, not 0");
    assert_eq!(tools::reset_offsets_dry_run(&pair.target, &group, &topic, &["--to-earliest"]), committed);
}

/// `message.timestamp.type=LogAppendTime`: Kafka replaces the producer's timestamp with its own
/// clock. On the source, kmigrate reads those timestamps as LogAppendTime (usable for a by-time
/// start); a copy keeps them where the target keeps what producers send.
#[tokio::test(flavor = "multi_thread")]
async fn log_append_time_topics() {
    let pair = BrokerPair::start(Engine::Sqlite);
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("append-time");
    let group = unique("append-group");
    pair.source.create_topic_with(&topic, 2, &[("message.timestamp.type", "LogAppendTime")]).await;
    let before = now_ms();
    seed_values(&pair.source, &topic, 2, 5, "old", 1_000, 1).await;
    // What Kafka does: the 1970 timestamps the producer sent are replaced by the broker's clock.
    let parts = [TopicPartition::new(&topic, 0), TopicPartition::new(&topic, 1)];
    let found = pair.source.connect().await.inspect_timestamps(&parts, 2).await.unwrap();
    for f in &found {
        assert_eq!(f.kind, kmigrate_kafka::TimestampKind::LogAppendTime, "{f:?}");
        assert!(f.min_timestamp.unwrap() >= before - 1_000, "the broker's clock: {f:?}");
    }
    pair.source.commit_group_offsets(&group, &[(topic.as_str(), 0, 5), (topic.as_str(), 1, 5)]).await;
    let out = apply_one_topic(&pair, dir.path(), &topic, "data: synced\nsync: { by: kmigrate }", &group, "");
    assert_eq!(out.status.code(), Some(0), "copy and verify pass");
    // The target topic took the source's LogAppendTime, so the target stamps the copies itself:
    // verify compares what the target can keep, and says so.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("not timestamps on") && stdout.contains("LogAppendTime"), "{stdout}");
    let committed = pair.target.connect().await.committed_offsets(&group, &parts).await.unwrap();
    assert_eq!(committed.values().copied().collect::<Vec<_>>(), vec![Some(5), Some(5)]);
    for p in 0..2 {
        assert_eq!(
            values(&pair.target, &topic, p, 0).await,
            (0..5).map(|i| format!("old-{p}-{i}")).collect::<Vec<_>>()
        );
    }
}

/// librdkafka-style partial commits on a trimmed source: the group committed on the partitions it
/// consumed only. Those start exactly after the copies; the one with no commit is left uncommitted
/// on the target (its consumers' auto.offset.reset decides, as on the source), and both `plan` and
/// `apply` say so. (The translation used to take "no commit" as i64::MIN and overflow on any log
/// that does not start at 0.)
#[tokio::test(flavor = "multi_thread")]
async fn partial_commits_on_a_trimmed_source() {
    let pair = BrokerPair::start(Engine::Sqlite);
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("partial");
    let group = unique("partial-group");
    pair.source.create_topic(&topic, 3).await;
    seed_values(&pair.source, &topic, 3, 10, "old", now_ms() - 3_600_000, 1).await;
    for p in 0..3 {
        pair.source.delete_records_before(&topic, p, 3).await;
    }
    pair.source.commit_group_offsets(&group, &[(topic.as_str(), 0, 10), (topic.as_str(), 1, 6)]).await;
    let out = apply_one_topic(
        &pair,
        dir.path(),
        &topic,
        "data: synced\nsync: { by: kmigrate }",
        &group,
        "      drain: false\n",
    );
    assert_eq!(out.status.code(), Some(0), "apply succeeds");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("left uncommitted ({topic}/2)")), "{stdout}");
    let parts: Vec<TopicPartition> = (0..3).map(|p| TopicPartition::new(&topic, p)).collect();
    let committed = pair.target.connect().await.committed_offsets(&group, &parts).await.unwrap();
    // Copies of source 3..10 sit at target 0..7: source 10 → 7, source 6 → 3.
    assert_eq!(committed.values().copied().collect::<Vec<_>>(), vec![Some(7), Some(3), None]);
    let plan = kmigrate(dir.path(), &["plan", "plan.yaml", "--output", "json"]);
    assert!(String::from_utf8_lossy(&plan.stdout).contains("auto.offset.reset"), "plan shows it too");
}

/// Records stamped 0 (epoch): Kafka's Java producer writes them so; a copy cannot (librdkafka
/// takes 0 to mean "now"). Verify compares them without their timestamp and says how many, and
/// resume matching finds their copies, so a re-run after a lost checkpoint duplicates nothing.
#[tokio::test(flavor = "multi_thread")]
async fn records_stamped_zero_are_copied_verified_and_matched_on_resume() {
    let pair = BrokerPair::start(Engine::Sqlite);
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("epoch");
    let group = unique("epoch-group");
    pair.source.create_topic(&topic, 1).await;
    let hour_ago = now_ms() - 3_600_000;
    let records: Vec<(i32, Option<i64>, String, String)> = (0..6)
        .map(|i| (0, Some(if i % 2 == 0 { 0 } else { hour_ago + i }), format!("k{i}"), format!("v{i}")))
        .collect();
    let borrowed: Vec<(i32, Option<i64>, &str, &str)> =
        records.iter().map(|(p, t, k, v)| (*p, *t, k.as_str(), v.as_str())).collect();
    tools::produce_at(&pair.source, &topic, &borrowed);
    let source = read_all(&pair.source, &topic, 0).await;
    assert_eq!(
        source.iter().map(|r| r.timestamp).collect::<Vec<_>>(),
        records.iter().map(|r| r.1).collect::<Vec<_>>()
    );
    pair.source.commit_group_offsets(&group, &[(topic.as_str(), 0, 6)]).await;

    let out = apply_one_topic(&pair, dir.path(), &topic, "data: synced\nsync: { by: kmigrate }", &group, "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "copy and verify pass: {stdout}");
    assert!(
        stdout
            .contains("6 copied records in 1 partitions match the source; 3 of them without their timestamp"),
        "{stdout}"
    );
    let target = read_all(&pair.target, &topic, 0).await;
    assert_eq!(target.len(), 6);
    assert!(
        target.iter().step_by(2).all(|r| r.timestamp.is_some_and(|t| t > 0)),
        "the copies carry the copy's time"
    );

    // The checkpoint lost every acknowledgement (as after a kill before the first save): the
    // re-run finds the six copies on the target instead of writing them again.
    let path = dir.path().join(".kmigrate/e2e.state.json");
    let mut state = read_state(dir.path()).unwrap();
    let step = format!("copy:{topic}");
    state["steps"][&step]["status"] = serde_json::json!("running");
    state["steps"][&step]["outputs"]["partitions"]["0"] = serde_json::json!({});
    std::fs::write(&path, serde_json::to_string_pretty(&state).unwrap()).unwrap();
    let out = kmigrate(dir.path(), &["apply", "plan.yaml"]);
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("found 6 records copied by an interrupted run"), "{all}");
    assert_eq!(read_all(&pair.target, &topic, 0).await.len(), 6, "nothing copied twice");
}
