//! Helpers shared by the integration tests.
#![allow(dead_code)]

use kmigrate_kafka::TopicPartition;
use kmigrate_testkit::SeedRecord;

/// Partitions `0..n` of `topic`.
pub fn partitions(topic: &str, n: i32) -> Vec<TopicPartition> {
    (0..n).map(|p| TopicPartition::new(topic, p)).collect()
}

/// `count` records for `partition` with timestamps `first_ts`, `first_ts + step`, ...
pub fn records(partition: i32, count: usize, first_ts: i64, step: i64) -> Vec<SeedRecord> {
    (0..count)
        .map(|i| {
            SeedRecord::new(partition)
                .key(format!("k{i}"))
                .value(format!("v{i}"))
                .timestamp(first_ts + step * i as i64)
        })
        .collect()
}

/// Milliseconds since the epoch now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}
