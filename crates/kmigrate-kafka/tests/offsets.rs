//! Offsets of many partitions: earliest, latest, by time; batching (requests per broker).
//!
//! Engine: SQLite — tansu's memory engine answers ListOffsets "latest" and by-time lookups wrongly.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{partitions, records};
use kmigrate_kafka::{Cluster, ConnectOptions, Error, TimeOffset, TopicPartition, Watermarks};
use kmigrate_testkit::{Engine, TestCluster, unique};

#[tokio::test]
async fn earliest_and_latest_of_many_partitions() {
    let c = TestCluster::start("source", Engine::Sqlite);
    let k = c.connect().await;
    let a = unique("wm-a");
    let b = unique("wm-b");
    c.create_topic(&a, 3).await;
    c.create_topic(&b, 1).await;
    c.produce(&a, &records(0, 5, 1_000, 1)).await;
    c.produce(&a, &records(1, 2, 1_000, 1)).await;
    c.produce(&b, &records(0, 7, 1_000, 1)).await;
    let mut ps = partitions(&a, 3);
    ps.extend(partitions(&b, 1));

    let earliest = k.earliest_offsets(&ps).await.unwrap();
    let latest = k.latest_offsets(&ps).await.unwrap();
    assert!(earliest.values().all(|o| *o == 0), "{earliest:?}");
    let expected: BTreeMap<TopicPartition, i64> = [((&a, 0), 5), ((&a, 1), 2), ((&a, 2), 0), ((&b, 0), 7)]
        .into_iter()
        .map(|((t, p), o)| (TopicPartition::new(t.as_str(), p), o))
        .collect();
    assert_eq!(latest, expected);

    let wm = k.watermarks(&ps).await.unwrap();
    assert_eq!(wm[&TopicPartition::new(a.as_str(), 0)], Watermarks { earliest: 0, latest: 5 });
    assert!(wm[&TopicPartition::new(a.as_str(), 2)].is_empty());
}

/// By-time: the first offset whose timestamp is ≥ T; `End(latest)` when every record is older than T.
#[tokio::test]
async fn offsets_for_time() {
    let c = TestCluster::start("source", Engine::Sqlite);
    let k = c.connect().await;
    let t = unique("bytime");
    c.create_topic(&t, 3).await;
    // p0: timestamps 10_000, 11_000, ..., 14_000 (offsets 0..5); p1: 20_000, 21_000; p2: empty.
    c.produce(&t, &records(0, 5, 10_000, 1_000)).await;
    c.produce(&t, &records(1, 2, 20_000, 1_000)).await;
    let ps = partitions(&t, 3);
    let at = |m: &BTreeMap<TopicPartition, TimeOffset>, p: i32| m[&TopicPartition::new(t.as_str(), p)];

    // Before every record: the first offset.
    let r = k.offsets_for_time(&ps, 0).await.unwrap();
    assert_eq!(at(&r, 0), TimeOffset::At(0));
    assert_eq!(at(&r, 1), TimeOffset::At(0));
    assert_eq!(at(&r, 2), TimeOffset::End(0));

    // Exactly a record's timestamp, and between two records.
    let r = k.offsets_for_time(&ps, 12_000).await.unwrap();
    assert_eq!(at(&r, 0), TimeOffset::At(2));
    let r = k.offsets_for_time(&ps, 12_500).await.unwrap();
    assert_eq!(at(&r, 0), TimeOffset::At(3));
    assert_eq!(at(&r, 1), TimeOffset::At(0));

    // The first record itself is the answer (a genuine 0, which must not be mistaken for tansu's "none").
    let r = k.offsets_for_time(&ps, 20_000).await.unwrap();
    assert_eq!(at(&r, 1), TimeOffset::At(0));

    // After the last record of p0 but not of p1.
    let r = k.offsets_for_time(&ps, 14_001).await.unwrap();
    assert_eq!(at(&r, 0), TimeOffset::End(5));
    assert_eq!(at(&r, 1), TimeOffset::At(0));

    // After every record. Apache Kafka answers -1 ("none"); tansu 0.6 answers offset 0 with timestamp -1,
    // which kmigrate detects (the record at offset 0 is older than T) — both come back as End(latest).
    let r = k.offsets_for_time(&ps, 30_000).await.unwrap();
    assert_eq!(at(&r, 0), TimeOffset::End(5));
    assert_eq!(at(&r, 1), TimeOffset::End(2));
    assert_eq!(at(&r, 2), TimeOffset::End(0));
    assert_eq!(at(&r, 1).offset(), 2);

    assert!(k.offsets_for_time(&ps, -5).await.is_err());
}

#[tokio::test]
async fn missing_topic_and_partition_are_named() {
    let c = TestCluster::start("source", Engine::Sqlite);
    let k = c.connect().await;
    let t = unique("missing");
    c.create_topic(&t, 2).await;
    let nope = unique("nope");

    match k.latest_offsets(&[TopicPartition::new(nope.as_str(), 0)]).await {
        Err(Error::TopicNotFound { label, topic }) => {
            assert_eq!((label.as_str(), topic.as_str()), ("source", nope.as_str()));
        }
        other => panic!("expected TopicNotFound, got {other:?}"),
    }
    let p5 = TopicPartition::new(t.as_str(), 5);
    match k.offsets_for_time(&[TopicPartition::new(t.as_str(), 0), p5.clone()], 0).await {
        Err(e @ Error::PartitionNotFound { .. }) => {
            assert_eq!(e.to_string(), format!("partition {t}/5 does not exist on the source cluster"));
        }
        other => panic!("expected PartitionNotFound, got {other:?}"),
    }
}

/// One ListOffsets request per broker per lookup, whatever the number of partitions (counted from
/// librdkafka's statistics). The full-size figure (2,000 partitions) is in BENCHMARKS.md, from
/// `examples/offset_lookup_bench.rs`.
#[tokio::test]
async fn lookups_send_one_request_per_broker() {
    let c = TestCluster::start("source", Engine::Sqlite);
    let topics: Vec<String> = (0..6).map(|_| unique("batch")).collect();
    c.create_topics(&topics, 5, &[]).await;
    for t in &topics {
        c.produce(t, &records(0, 2, 1_000, 1)).await;
    }
    let ps: Vec<TopicPartition> = topics.iter().flat_map(|t| partitions(t, 5)).collect();
    let k = Cluster::connect_with(
        c.config(),
        ConnectOptions::new(Duration::from_secs(10)).statistics_interval(Duration::from_millis(50)),
    )
    .await
    .unwrap();
    let leaders: std::collections::BTreeSet<i32> = k
        .metadata()
        .await
        .unwrap()
        .topics
        .values()
        .flat_map(|t| t.partitions.iter().map(|p| p.leader))
        .collect();
    let stats = || async { k.fresh_request_stats(Duration::from_secs(5)).await.expect("statistics") };

    let before = stats().await;
    k.latest_offsets(&ps).await.unwrap();
    let after = stats().await;
    let sent = after.since(&before).per_node("ListOffsets");
    let sent: BTreeMap<i32, u64> = sent.into_iter().filter(|(_, n)| *n > 0).collect();
    assert_eq!(sent.keys().copied().collect::<std::collections::BTreeSet<_>>(), leaders, "{sent:?}");
    assert!(sent.values().all(|n| *n == 1), "30 partitions, one lookup: {sent:?}");

    // By time: three lookups (by time, earliest, latest), so three requests per broker.
    let before = stats().await;
    k.offsets_for_time(&ps, 500).await.unwrap();
    let after = stats().await;
    let sent = after.since(&before).per_node("ListOffsets");
    assert!(sent.values().all(|n| *n <= 3), "{sent:?}");
    assert_eq!(sent.values().sum::<u64>(), 3 * leaders.len() as u64, "{sent:?}");
}
