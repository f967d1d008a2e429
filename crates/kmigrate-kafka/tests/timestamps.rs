//! Timestamp inspection: records with producer timestamps, without timestamps, with broker timestamps.

mod common;

use common::{partitions, records};
use kmigrate_kafka::{Error, TimestampKind, TopicPartition};
use kmigrate_testkit::{Engine, SeedRecord, TestCluster, unique};

/// SQLite engine: inspection reads the watermarks first, and the memory engine's "latest" is wrong.
#[tokio::test]
async fn create_time_timestamps_are_usable() {
    let c = TestCluster::start("source", Engine::Sqlite);
    let k = c.connect().await;
    let t = unique("ts-create");
    c.create_topic(&t, 2).await;
    c.produce(&t, &records(0, 10, 50_000, 100)).await;
    let ps = partitions(&t, 2);

    let found = k.inspect_timestamps(&ps, 3).await.unwrap();
    assert_eq!(found[0].kind, TimestampKind::CreateTime);
    // First 3 and last 3 records.
    assert_eq!(found[0].sampled, 6);
    assert_eq!(found[0].min_timestamp, Some(50_000));
    assert_eq!(found[0].max_timestamp, Some(50_900));
    assert_eq!(found[1].kind, TimestampKind::Empty);
    k.require_timestamps(&ps, 3).await.unwrap();
}

/// Records produced with timestamp -1 (what clients before Kafka 0.10 send) are detected, and a by-time
/// lookup is refused naming the partitions.
///
/// Memory engine: tansu's SQLite engine cannot serve such records (its ListOffsets and Fetch fail on the
/// -1 timestamp and drop the connection). The memory engine stores them, but its ListOffsets "latest" is
/// too low, so inspection samples fewer records there — enough to see that the first ones have no
/// timestamp.
#[tokio::test]
async fn records_without_timestamps_are_detected() {
    let c = TestCluster::start("source", Engine::Memory);
    let k = c.connect().await;
    let t = unique("ts-missing");
    c.create_topic(&t, 3).await;
    c.produce(&t, &records(0, 3, 50_000, 1)).await;
    let old: Vec<SeedRecord> =
        (0..3).map(|i| SeedRecord::new(1).value(format!("old-{i}")).without_timestamp()).collect();
    c.produce(&t, &old).await;
    // librdkafka really sent no timestamp (the broker returns -1 / not available).
    let back = c.consume(&t, 1, 0, 1).await;
    assert!(back[0].timestamp.to_millis().is_none(), "{back:?}");
    let ps = partitions(&t, 3);

    let found = k.inspect_timestamps(&ps, 2).await.unwrap();
    assert_eq!(found[0].kind, TimestampKind::CreateTime);
    assert_eq!(found[1].kind, TimestampKind::Missing);
    assert!(found[1].missing >= 1);
    assert!(!found[1].kind.usable_for_time_lookup());
    assert_eq!(found[2].kind, TimestampKind::Empty);

    match k.require_timestamps(&ps, 2).await {
        Err(e @ Error::TimestampsMissing { .. }) => {
            let Error::TimestampsMissing { partitions, .. } = &e else { unreachable!() };
            assert_eq!(partitions, &vec![TopicPartition::new(t.as_str(), 1)]);
            let text = e.to_string();
            assert!(text.contains(&format!("{t}/1")) && !text.contains(&format!("{t}/0")), "{text}");
            assert!(text.contains("topic,partition,offset"), "{text}");
        }
        other => panic!("expected TimestampsMissing, got {other:?}"),
    }
}

/// `message.timestamp.type=LogAppendTime`: tansu 0.6 accepts the config but keeps the producer's
/// timestamps (CreateTime), so against tansu this checks that; the LogAppendTime classification itself is
/// unit-tested (timestamps.rs), and a real Kafka pair (KMIGRATE_TEST_SOURCE/TARGET) checks it here.
#[tokio::test]
async fn log_append_time_topics() {
    let c = TestCluster::start("source", Engine::Sqlite);
    let k = c.connect().await;
    let t = unique("ts-logappend");
    c.create_topic_with(&t, 1, &[("message.timestamp.type", "LogAppendTime")]).await;
    c.produce(&t, &records(0, 3, 1_000, 1)).await;
    let found = k.inspect_timestamps(&partitions(&t, 1), 2).await.unwrap();
    if c.is_tansu() {
        assert_eq!(found[0].kind, TimestampKind::CreateTime);
        assert_eq!(found[0].min_timestamp, Some(1_000));
    } else {
        assert_eq!(found[0].kind, TimestampKind::LogAppendTime);
        // The broker's clock, not the producer's 1970 timestamps.
        assert!(found[0].min_timestamp.unwrap() > common::now_ms() - 3_600_000);
    }
    assert!(found[0].kind.usable_for_time_lookup());
}
