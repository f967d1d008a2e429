//! A reader of the target that follows a running copy: it reads what the target holds from given
//! offsets on, as soon as the target makes it readable, and reports each record's digest, so that
//! verify's read of the target happens while the copy runs instead of after it.
//!
//! It is only a reader of the target, independent of the copy's producer (its own consumer, on its
//! own thread): what it reports is what a fetch of the target returned. It never fails the copy:
//! an error ends it (logged), and verify reads what it did not.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::mpsc;

use crate::client::Cluster;
use crate::error::{Error, Result};

/// A record the follower read on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub partition: i32,
    /// Its offset on the target.
    pub offset: i64,
    /// [`crate::content_digest`] of its key, value and headers.
    pub content: u64,
    /// Its timestamp; `None` when it has none.
    pub timestamp: Option<i64>,
}

/// Records per report at most.
const BATCH: usize = 4096;
/// How long a report waits to fill.
const BATCH_WAIT: Duration = Duration::from_millis(50);

/// A running follower of one topic on the target.
pub struct Follower {
    stop: Arc<AtomicBool>,
    rx: mpsc::Receiver<Vec<Seen>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Follower {
    /// Starts reading `topic` on `target`: each partition of `starts` from its offset.
    pub fn start(target: &Cluster, topic: &str, starts: &BTreeMap<i32, i64>) -> Result<Follower> {
        let consumer = target.reader(
            Some(format!("kmigrate-follow-{topic}")),
            false,
            &[
                // It reads behind the producer, as the target acknowledges records: fetches wait
                // for a megabyte (fewer, larger fetches for the brokers and this reader to serve
                // while the copy runs), or 20 ms, like the copy's consumer. The copy step waits for
                // this reader to reach the end of the copies, so the wait bounds its tail; and
                // tansu waits it out on every fetch, returning about a batch per partition: at
                // 100 ms the reader took 6 s for 1M records there, the copy itself 2 s
                // (BENCHMARKS.md, issue 15).
                ("fetch.min.bytes", (1 << 20).to_string()),
                ("fetch.wait.max.ms", "20".to_string()),
                // Answers of a few megabytes stay below glibc's mmap threshold (see the copy's
                // `clients::Sizes`): the memory is reused, not mapped and zeroed per fetch.
                ("max.partition.fetch.bytes", (1 << 20).to_string()),
                ("fetch.max.bytes", (4 << 20).to_string()),
                ("fetch.queue.backoff.ms", "10".to_string()),
                ("queued.max.messages.kbytes", (8 * 1024).to_string()),
                ("check.crcs", "false".to_string()),
            ],
        )?;
        let mut tpl = TopicPartitionList::new();
        for (p, start) in starts {
            tpl.add_partition_offset(topic, *p, Offset::Offset(*start))
                .map_err(|e| target.kafka_error("assigning partitions to follow", &e, Duration::ZERO))?;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel::<Vec<Seen>>(8);
        let (flag, label, topic_name) = (stop.clone(), target.label().to_string(), topic.to_string());
        let thread = std::thread::Builder::new()
            .name(format!("follow-{topic}"))
            .spawn(move || {
                if let Err(e) = consumer.assign(&tpl) {
                    tracing::debug!(cluster = %label, topic = %topic_name, error = %e, "following the copy: assign");
                    return;
                }
                let queue = crate::ffi::ConsumerQueue::of(&consumer);
                let mut batch = Vec::with_capacity(BATCH);
                let mut since = Instant::now();
                while !flag.load(Ordering::Relaxed) {
                    queue.batch(Duration::from_millis(20), 1024, |r| match r {
                        Ok(m) => batch.push(Seen {
                            partition: m.partition,
                            offset: m.offset,
                            content: crate::content_digest(m.key, m.payload, m.headers()),
                            timestamp: m.timestamp,
                        }),
                        // librdkafka retries by itself; a lasting error leaves the rest to verify.
                        Err(e) => {
                            tracing::debug!(cluster = %label, topic = %topic_name, error = %e, "following the copy")
                        }
                    });
                    if batch.len() >= BATCH || (!batch.is_empty() && since.elapsed() >= BATCH_WAIT) {
                        since = Instant::now();
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                        if tx.blocking_send(full).is_err() {
                            return;
                        }
                    } else if batch.is_empty() {
                        since = Instant::now();
                    }
                }
            })
            .map_err(|e| Error::Kafka {
                code: None,
                label: target.label().to_string(),
                operation: "starting the follower thread".into(),
                detail: e.to_string(),
            })?;
        Ok(Follower { stop, rx, thread: Some(thread) })
    }

    /// The next records read; `None` once the follower has ended.
    pub async fn next(&mut self) -> Option<Vec<Seen>> {
        self.rx.recv().await
    }

    /// Stops reading (its consumer closes on its own thread).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.rx.close();
        // Not joined: closing the consumer takes a while and nothing waits for it.
        drop(self.thread.take());
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
