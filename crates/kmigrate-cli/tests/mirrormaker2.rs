//! `sync: { by: mirrormaker2 }` through a real Kafka Connect worker in distributed mode (one per
//! test binary, its internal topics on the target broker) running MirrorMaker 2 from the Apache
//! Kafka jars (issue 11, items 1, 2 and 5): data copied and verified, strict groups exact from the
//! aligned logs, a failed task reported with its trace, and a killed apply resumed without deleting
//! the connectors twice.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use kmigrate_connect::ConnectClient;
use kmigrate_kafka::TopicPartition;
use kmigrate_testkit::{ConnectWorker, SeedRecord, unique};

const OLD: usize = 20;

fn worker(s: &Scenario) -> Arc<Mutex<ConnectWorker>> {
    ConnectWorker::shared(s.target().seed_bootstrap())
}

fn connect_url(s: &Scenario) -> String {
    worker(s).lock().unwrap().url()
}

/// The plan: the scenario's topic (with `topic_extra` keys), MirrorMaker 2 on the shared worker
/// with the connectors named `prefix-*`, a cutover already past, and `groups` (YAML list items).
fn write_mm2_plan(s: &mut Scenario, prefix: &str, topic_extra: &str, cutover: &str, groups: &str) -> String {
    let yaml = format!(
        "version: 1\nname: e2e\nsource:\n  bootstrap_servers: \"{}\"\ntarget:\n  bootstrap_servers: \"{}\"\n\
         topics:\n  - name: {}\n{topic_extra}data: synced\nsync:\n  by: mirrormaker2\n  connect:\n    url: \"{}\"\n    name_prefix: {prefix}\n    tasks: 2\n    properties:\n      emit.checkpoints.interval.seconds: \"1\"\n\
         {cutover}\nconsumers:\n  groups:\n{groups}",
        s.source().bootstrap(),
        s.target().bootstrap(),
        s.topic,
        connect_url(s),
    );
    s.plan = s.dir.path().join("plan.yaml");
    std::fs::write(&s.plan, yaml).unwrap();
    s.plan.to_str().unwrap().to_string()
}

fn past_cutover() -> String {
    let t = chrono::Utc::now() - chrono::Duration::seconds(5);
    format!("cutover:\n  at: \"{}\"", t.to_rfc3339())
}

fn client(s: &Scenario) -> ConnectClient {
    ConnectClient::new(&connect_url(s), Duration::from_secs(10))
}

fn stdout(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Every record of a partition from `start` on.
async fn read_from(
    cluster: &kmigrate_testkit::TestCluster,
    topic: &str,
    partition: i32,
    start: i64,
) -> Vec<kmigrate_kafka::RecordData> {
    let (tx, rx) = std::sync::mpsc::channel();
    let p = TopicPartition::new(topic, partition);
    cluster
        .connect()
        .await
        .scan_partition(&p, start, None, Duration::from_secs(30), move |r| tx.send(r).is_ok())
        .await
        .unwrap();
    rx.into_iter().collect()
}

async fn committed(s: &Scenario, group: &str) -> Vec<(i32, Option<i64>)> {
    let parts: Vec<TopicPartition> =
        (0..PARTITIONS).map(|p| TopicPartition::new(s.topic.clone(), p)).collect();
    let c = s.target().connect().await.committed_offsets(group, &parts).await.unwrap();
    c.into_iter().map(|(p, o)| (p.partition, o)).collect()
}

/// End to end: MirrorMaker copies the topic; the strict group starts exactly at its first unread
/// record (the source's partition 0 was trimmed, so source and target offsets differ), the
/// tolerant one at the end, the self-stored ones (strict and tolerant) are exported after the last
/// copy; MirrorMaker's own translation is shown beside; verify passes and the connectors are gone.
#[tokio::test(flavor = "multi_thread")]
async fn mirrormaker2_migrates_topics_and_groups_with_every_strict_group_exact() {
    let mut s = Scenario::start();
    s.seed_old(OLD, now_ms() - 60 * 60 * 1000).await;
    s.source().delete_records_before(&s.topic, 0, 4).await;
    let topic = s.topic.clone();
    s.source().commit_group_offsets(&s.group, &[(&topic, 0, 7), (&topic, 1, 13)]).await;
    let (tolerant, ledger, archive) = (unique("metrics"), unique("ledger"), unique("archive"));
    s.source().commit_group_offsets(&tolerant, &[(&topic, 0, 9), (&topic, 1, 9)]).await;
    let prefix = unique("mm2");
    let groups = format!(
        "    - id: {}\n      loss: strict\n      drain: false\n    - id: {tolerant}\n      loss: tolerant\n      drain: false\n    - id: {ledger}\n      offsets: self-stored\n      export: ledger.csv\n    - id: {archive}\n      offsets: self-stored\n      loss: tolerant\n      export: archive.csv\n",
        s.group
    );
    let plan = write_mm2_plan(&mut s, &prefix, "", &past_cutover(), &groups);

    let shown = s.kmigrate(&["plan", &plan]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains(&format!("{prefix}-source:")), "plan shows the connectors");
    assert!(
        text.contains("replication.policy.class = org.apache.kafka.connect.mirror.IdentityReplicationPolicy")
    );
    assert!(text.contains(&format!("topics = {}", topic.replace('-', "\\-"))), "{text}");
    assert!(text.contains(&format!("Kafka Connect 4.3.1 answers at {}", connect_url(&s))), "{text}");

    let out = s.kmigrate(&["apply", &plan]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("exact from the aligned logs"), "{text}");
    assert!(text.contains("MirrorMaker 2 copied"), "{text}");
    // MirrorMaker's own translation, beside: from its only offset syncs (the first record of each
    // partition), a group past them lands on sync + 1 and would read records again.
    let line = text.lines().find(|l| l.contains(&format!("offsets:{}:", s.group))).unwrap_or_default();
    assert!(
        line.contains(&format!(
            "MirrorMaker 2's checkpoints would start {topic}/0 at 1 (2 records read again), {topic}/1 at 1 (12 records read again)"
        )),
        "{line}"
    );
    let status = stdout(&s.kmigrate(&["status", &plan]));
    assert!(status.contains("MirrorMaker 2's checkpoints would start"), "status shows it too: {status}");
    let planned = stdout(&s.kmigrate(&["plan", &plan]));
    assert!(planned.contains(&format!("{topic}/1 at 1 (12 records read again)")), "and plan: {planned}");

    // Every record the source holds once, as on the source (key, value, headers, timestamp).
    for (p, from) in [(0, 4), (1, 0)] {
        let (a, b) = (read_from(s.source(), &topic, p, from).await, read_all(s.target(), &topic, p).await);
        assert_eq!(values_of(&b), values_of(&a), "{topic}/{p}");
        assert!(a.iter().zip(&b).all(|(x, y)| x.same_content(y, kmigrate_kafka::Fields::All)));
        assert_eq!(a.len(), OLD - from as usize);
    }
    // Source offset 7 of partition 0 is target offset 3 (offsets 0..4 were trimmed).
    assert_eq!(s.committed_on_target().await, vec![(0, 3), (1, 13)]);
    let read = sorted(s.consume_from(&[(0, 3), (1, 13)]).await);
    let mut want: Vec<String> = (7..OLD).map(|i| format!("old-0-{i}")).collect();
    want.extend((13..OLD).map(|i| format!("old-1-{i}")));
    assert_eq!(read, sorted(want), "nothing lost, nothing read twice");
    assert_eq!(committed(&s, &tolerant).await, vec![(0, Some(16)), (1, Some(OLD as i64))], "latest");
    let csv = std::fs::read_to_string(s.dir.path().join("ledger.csv")).unwrap();
    // Self-stored: its position is the application's, not on the broker: after the last copy.
    assert_eq!(csv, format!("{topic},0,16\n{topic},1,20\n"), "self-stored: after the copies");
    let csv = std::fs::read_to_string(s.dir.path().join("archive.csv")).unwrap();
    assert_eq!(csv, format!("{topic},0,16\n{topic},1,20\n"), "self-stored and tolerant: the same");

    // The connectors were deleted by the last step; a re-run repeats nothing.
    let names = client(&s).list().unwrap();
    assert!(!names.iter().any(|n| n.starts_with(&prefix)), "{names:?}");
    assert_eq!(step_status(s.dir.path(), "stop-mirror"), "done");
    let again = s.kmigrate(&["apply", &plan]);
    assert_eq!(again.status.code(), Some(0));
}

/// A MirrorMaker task that fails (the target topic refuses a record larger than its
/// `max.message.bytes`) stops apply with the task's trace from the REST API.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_mirrormaker_task_is_reported_with_its_trace() {
    let mut s = Scenario::start();
    s.source().create_topic(&s.topic, PARTITIONS).await;
    let big = "x".repeat(5_000);
    s.source().produce(&s.topic, &[SeedRecord::new(0).key("k").value(big)]).await;
    let topic = s.topic.clone();
    s.source().commit_group_offsets(&s.group, &[(&topic, 0, 0)]).await;
    let prefix = unique("mm2-fail");
    let groups = format!("    - id: {}\n      drain: false\n", s.group);
    let plan = write_mm2_plan(
        &mut s,
        &prefix,
        "    config:\n      max.message.bytes: \"1000\"\n",
        &past_cutover(),
        &groups,
    );
    let out = s.kmigrate(&["apply", &plan]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains(&format!("connector {prefix}-source task")), "{text}");
    assert!(text.contains("FAILED"), "{text}");
    assert!(text.contains("RecordTooLargeException"), "the trace says why: {text}");
    let c = client(&s);
    for n in [format!("{prefix}-source"), format!("{prefix}-checkpoint")] {
        c.delete(&n).unwrap();
    }
}

/// apply SIGKILLed while MirrorMaker copies: the next apply watches the same connectors (their
/// submission is done; submitting again would be idempotent anyway), finishes exactly, and
/// deletes them; once that step is done, a later apply never deletes again (a connector created
/// since under the same name stays).
#[tokio::test(flavor = "multi_thread")]
async fn a_killed_apply_resumes_and_never_deletes_the_connectors_twice() {
    let mut s = Scenario::start();
    s.source().create_topic(&s.topic, PARTITIONS).await;
    // Enough records that MirrorMaker is still copying when apply is killed.
    seed_values(s.source(), &s.topic, PARTITIONS, 20_000, "old", now_ms() - 3_600_000, 1).await;
    let topic = s.topic.clone();
    s.source().commit_group_offsets(&s.group, &[(&topic, 0, 12_345), (&topic, 1, 7)]).await;
    let prefix = unique("mm2-kill");
    let groups = format!("    - id: {}\n      drain: false\n", s.group);
    let plan = write_mm2_plan(&mut s, &prefix, "", &past_cutover(), &groups);

    let bg = Background::start(s.dir.path(), &["apply", &plan]);
    let mirroring = wait_until(120, || step_status(s.dir.path(), &format!("mirror:{topic}")) == "running");
    assert!(mirroring, "the mirror step started");
    bg.kill9();
    assert_ne!(step_status(s.dir.path(), &format!("mirror:{topic}")), "done", "killed mid-replication");

    let out = s.kmigrate(&["apply", &plan]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    for p in 0..PARTITIONS {
        assert_eq!(assert_exact(s.source(), s.target(), &topic, p).await, 20_000);
    }
    assert_eq!(s.committed_on_target().await, vec![(0, 12_345), (1, 7)]);
    let c = client(&s);
    assert!(c.status(&format!("{prefix}-source")).unwrap().is_none(), "deleted");

    // Someone runs MirrorMaker again under the same name: a re-run of the finished migration
    // leaves it alone (stop-mirror is done and never repeated).
    let mut config = std::collections::BTreeMap::new();
    config.insert(
        "connector.class".to_string(),
        "org.apache.kafka.connect.mirror.MirrorHeartbeatConnector".to_string(),
    );
    config.insert("source.cluster.alias".to_string(), "source".to_string());
    config.insert("target.cluster.alias".to_string(), "target".to_string());
    config.insert("source.cluster.bootstrap.servers".to_string(), s.source().seed_bootstrap().to_string());
    config.insert("target.cluster.bootstrap.servers".to_string(), s.target().seed_bootstrap().to_string());
    config.insert("heartbeats.topic.replication.factor".to_string(), "1".to_string());
    let name = format!("{prefix}-source");
    assert!(c.put_config(&name, &config).unwrap(), "created");
    let again = s.kmigrate(&["apply", &plan]);
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
    assert!(c.list().unwrap().contains(&name), "the done stop-mirror step did not run again");
    c.delete(&name).unwrap();
}

/// Groups with no offsets on the source (a self-stored application's): MirrorMaker's checkpoint
/// connector runs without tasks, which apply does not wait for; the group is exported after the
/// last copy.
#[tokio::test(flavor = "multi_thread")]
async fn groups_without_offsets_on_the_source_do_not_hold_up_the_connectors() {
    let mut s = Scenario::start();
    s.seed_old(3, now_ms() - 60 * 60 * 1000).await;
    let prefix = unique("mm2-self");
    let groups = format!("    - id: {}\n      offsets: self-stored\n      export: g.csv\n", s.group);
    let plan = write_mm2_plan(&mut s, &prefix, "", &past_cutover(), &groups);
    let out = s.kmigrate(&["apply", &plan, "--wait-timeout", "60s"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let topic = &s.topic;
    let csv = std::fs::read_to_string(s.dir.path().join("g.csv")).unwrap();
    assert_eq!(csv, format!("{topic},0,3\n{topic},1,3\n"));
    for p in 0..PARTITIONS {
        assert_eq!(assert_exact(s.source(), s.target(), topic, p).await, 3);
    }
}

/// A plan without consumer groups: only the source connector, without offset syncs (MirrorMaker
/// refuses an offset-syncs location when it emits none); the records are copied exactly.
#[tokio::test(flavor = "multi_thread")]
async fn a_plan_without_groups_runs_the_source_connector_alone() {
    let mut s = Scenario::start();
    s.seed_old(4, now_ms() - 60 * 60 * 1000).await;
    let prefix = unique("mm2-nogroups");
    let plan = write_mm2_plan(&mut s, &prefix, "", &past_cutover(), "");
    let plan_text = std::fs::read_to_string(&plan).unwrap().replace("consumers:\n  groups:\n", "");
    std::fs::write(&plan, plan_text).unwrap();
    let out = s.kmigrate(&["apply", &plan]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains(&format!("{prefix}-source (created)")));
    assert!(!stdout(&out).contains(&format!("{prefix}-checkpoint")));
    for p in 0..PARTITIONS {
        assert_eq!(assert_exact(s.source(), s.target(), &s.topic, p).await, 4);
    }
    assert!(!client(&s).list().unwrap().iter().any(|n| n.starts_with(&prefix)));
}

/// The manual cutover gate waits until MirrorMaker has copied the source to its end; producers
/// then switch and write to the target; after the approval the strict group starts exactly at its
/// first unread copy and reads the producers' new records after the copies, each once.
#[tokio::test(flavor = "multi_thread")]
async fn the_manual_gate_waits_for_mirrormaker_to_catch_up() {
    let mut s = Scenario::start();
    s.seed_old(10, now_ms() - 60 * 60 * 1000).await;
    let topic = s.topic.clone();
    s.source().commit_group_offsets(&s.group, &[(&topic, 0, 4), (&topic, 1, 6)]).await;
    let prefix = unique("mm2-gate");
    let groups = format!("    - id: {}\n      drain: false\n", s.group);
    let plan = write_mm2_plan(&mut s, &prefix, "", "cutover:\n  manual: true", &groups);
    let out = s.kmigrate(&["apply", &plan]);
    assert_eq!(out.status.code(), Some(3), "paused at the gate: {}", stdout(&out));
    assert!(stdout(&out).contains("MirrorMaker 2 has caught up with the source"), "{}", stdout(&out));
    for p in 0..PARTITIONS {
        assert_eq!(assert_exact(s.source(), s.target(), &topic, p).await, 10, "copied before the gate");
    }
    s.produce_new(s.target(), "during", 2).await;
    let out = s.kmigrate(&["apply", &plan, "--approve", "cutover"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(s.committed_on_target().await, vec![(0, 4), (1, 6)]);
    let read = sorted(s.consume_from(&[(0, 4), (1, 6)]).await);
    let mut want: Vec<String> = (4..10).map(|i| format!("old-0-{i}")).collect();
    want.extend((6..10).map(|i| format!("old-1-{i}")));
    want.extend(expected("during", 0..2));
    assert_eq!(read, sorted(want), "nothing lost, nothing read twice");
}

/// `kmigrate plan` asks the Connect cluster: one that does not answer makes the connectors step
/// impossible, named with its URL; nothing is submitted.
#[tokio::test(flavor = "multi_thread")]
async fn plan_names_a_connect_cluster_that_does_not_answer() {
    let mut s = Scenario::start();
    s.seed_old(1, now_ms()).await;
    let groups = format!("    - id: {}\n      offsets: self-stored\n      export: g.csv\n", s.group);
    let plan = write_mm2_plan(&mut s, &unique("mm2-dead"), "", &past_cutover(), &groups);
    let text = std::fs::read_to_string(&plan).unwrap().replace(&connect_url(&s), "http://127.0.0.1:1");
    std::fs::write(&plan, text).unwrap();
    let out = s.kmigrate(&["plan", &plan]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("impossible: submit 2 MirrorMaker 2 connectors"), "{text}");
    assert!(text.contains("Kafka Connect at http://127.0.0.1:1 did not answer"), "{text}");
}
