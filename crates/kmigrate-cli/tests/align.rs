//! Data copied by another tool (`sync: { by: external }`): kmigrate aligns the source and target
//! logs record by record and starts strict groups exactly at their first unconsumed record (issue
//! 11, item 3); where the copy dropped or altered a record it says which and falls back to the
//! time of the cutover; where the copy is behind, apply stops.

mod common;

use common::*;
use kmigrate_testkit::{SeedRecord, tools};

const OLD: usize = 5;

/// Copies the source to the target as an external tool would, record by record through `edit`
/// (partition, index, record → what the tool writes; `None`: it drops it).
async fn external_copy_with(s: &Scenario, edit: impl Fn(i32, usize, SeedRecord) -> Option<SeedRecord>) {
    s.target().create_topic(&s.topic, PARTITIONS).await;
    for p in 0..PARTITIONS {
        let records: Vec<SeedRecord> = s
            .source()
            .consume(&s.topic, p, 0, OLD as i64)
            .await
            .into_iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let mut rec = SeedRecord::new(p);
                rec.key = r.key;
                rec.value = r.value;
                rec.headers = r.headers;
                rec.timestamp = r.timestamp.to_millis();
                edit(p, i, rec)
            })
            .collect();
        s.target().produce(&s.topic, &records).await;
    }
}

/// The group consumed 2 of the 5 old records of each partition on the source.
async fn scenario(edit: impl Fn(i32, usize, SeedRecord) -> Option<SeedRecord>) -> (Scenario, String) {
    let mut s = Scenario::start();
    s.seed_old(OLD, now_ms() - 60 * 60 * 1000).await;
    s.source().commit_group_offsets(&s.group, &[(s.topic.as_str(), 0, 2), (s.topic.as_str(), 1, 2)]).await;
    external_copy_with(&s, edit).await;
    let plan = s.write_plan(
        "data: synced\nsync: { by: external }\ncutover:\n  manual: true",
        "      loss: strict\n      drain: false\n",
    );
    let plan = plan.to_str().unwrap().to_string();
    assert_eq!(s.kmigrate(&["apply", &plan]).status.code(), Some(3), "paused at the cutover gate");
    s.produce_new(s.target(), "during", 2).await;
    (s, plan)
}

/// Exact where a by-time start would lose records: the group had not consumed the last 3 old
/// records of each partition; the aligned logs start it at the first of them, a start by the time
/// of the cutover (what `kafka-consumer-groups --to-datetime` gives) would skip them.
#[tokio::test(flavor = "multi_thread")]
async fn a_group_behind_on_the_source_starts_at_its_first_unconsumed_copy() {
    let (s, plan) = scenario(|_, _, r| Some(r)).await;
    let out = s.kmigrate(&["apply", &plan, "--approve", "cutover"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("exact from the aligned logs"));
    let committed = s.committed_on_target().await;
    assert_eq!(committed, vec![(0, 2), (1, 2)], "the copies of source offset 2");

    let t = read_state(s.dir.path()).unwrap()["steps"]["cutover"]["outputs"]["time_ms"].as_i64().unwrap();
    let by_time =
        tools::reset_offsets_dry_run(s.target(), &s.group, &s.topic, &["--to-datetime", &tools::datetime(t)]);
    assert_eq!(
        by_time.values().copied().collect::<Vec<_>>(),
        vec![5, 5],
        "by time skips the 3 unread copies"
    );

    let read = sorted(s.consume_from(&committed).await);
    let mut want = expected("during", 0..2);
    want.extend(expected("old", 2..OLD));
    assert_eq!(read, sorted(want), "nothing lost, nothing read twice");
}

/// A record the external copy altered: kmigrate names it and falls back to the time of the
/// cutover, with a warning.
#[tokio::test(flavor = "multi_thread")]
async fn an_altered_record_is_named_and_the_start_falls_back_to_the_cutover_time() {
    let (s, plan) = scenario(|p, i, mut r| {
        if (p, i) == (1, 3) {
            r.value = Some(b"tampered".to_vec());
        }
        Some(r)
    })
    .await;
    let out = s.kmigrate(&["apply", &plan, "--approve", "cutover"]);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains(&format!("{}/1: the source record at offset 3 is not on the target", s.topic))
            && text.contains("falls back to the time of the cutover"),
        "{text}"
    );
    let decided =
        &read_state(s.dir.path()).unwrap()["steps"][format!("offsets:{}", s.group)]["outputs"]["decided"];
    assert_eq!(decided["rule"]["rule"], "by-time");
}

/// The external copy has not caught up (the last source record of a partition is missing on the
/// target): no start can be right, so apply stops and says so.
#[tokio::test(flavor = "multi_thread")]
async fn a_copy_that_is_behind_stops_apply() {
    let (s, plan) = scenario(|p, i, r| ((p, i) != (0, OLD - 1)).then_some(r)).await;
    let out = s.kmigrate(&["apply", &plan, "--approve", "cutover"]);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "{}/0: the target holds no copy of the source's records from offset 4 on",
            s.topic
        )),
        "{text}"
    );
    let parts: Vec<kmigrate_kafka::TopicPartition> =
        (0..PARTITIONS).map(|p| kmigrate_kafka::TopicPartition::new(s.topic.clone(), p)).collect();
    let committed = s.target().connect().await.committed_offsets(&s.group, &parts).await.unwrap();
    assert!(committed.values().all(Option::is_none), "nothing committed: {committed:?}");
}
