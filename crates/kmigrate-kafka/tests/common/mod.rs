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

/// An in-memory writer for a tracing subscriber: what the tests' logs captured.
#[derive(Clone, Default)]
pub struct Buffer(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
