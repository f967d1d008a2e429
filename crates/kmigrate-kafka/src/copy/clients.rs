//! The copy's two clients and their sizes: a `read_committed` consumer on the source, and an
//! idempotent, gap-less producer on the target whose buffers hold the largest record the topics
//! allow and whose batches the target topic takes.

use rdkafka::consumer::BaseConsumer;
use rdkafka::producer::BaseProducer;

use super::CopyOptions;
use super::delivery::DeliveryContext;
use crate::client::Cluster;
use crate::context::KContext;
use crate::error::Result;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
/// Room for the record batch and request framing around the largest record.
const FRAMING: u64 = 64 * KIB;
/// librdkafka's bounds.
const MAX_MESSAGE_MAX_BYTES: u64 = 1_000_000_000;
const MAX_QUEUE_KBYTES: u64 = 2_147_483_647;
const MAX_CONSUMER_QUEUE_KBYTES: u64 = 2_097_151;
const MAX_RECEIVE_BYTES: u64 = 2_147_483_647;

/// The sizes of the copy's clients, from the options (pure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sizes {
    /// Producer `message.max.bytes`: the largest record either topic allows, with framing.
    pub message_max_bytes: u64,
    /// Producer `batch.size`: never more than the target topic takes in one batch.
    pub batch_size: u64,
    /// Producer `queue.buffering.max.kbytes`: room for two of the largest records at least.
    pub producer_queue_kbytes: u64,
    /// Consumer `max.partition.fetch.bytes`, `fetch.max.bytes`, `receive.message.max.bytes`,
    /// `queued.max.messages.kbytes`.
    pub partition_fetch_bytes: u64,
    pub fetch_max_bytes: u64,
    pub receive_max_bytes: u64,
    pub consumer_queue_kbytes: u64,
}

impl Sizes {
    pub(crate) fn of(options: &CopyOptions) -> Sizes {
        let largest = options.source_max_bytes.max(options.target_max_bytes).unwrap_or(MIB);
        let message_max_bytes = (largest + FRAMING).clamp(1_000_000, MAX_MESSAGE_MAX_BYTES);
        let batch_size = options.target_max_bytes.unwrap_or(MIB).clamp(1, MIB);
        let buffer = u64::from(options.buffer_kbytes) * KIB;
        let producer_queue_kbytes = (buffer.max(2 * message_max_bytes) / KIB).min(MAX_QUEUE_KBYTES);
        let source_largest = options.source_max_bytes.unwrap_or(MIB) + FRAMING;
        // Fetches of 4 MiB per partition, 16 MiB in all: every record read keeps its whole fetch
        // answer alive until it is produced, and answers above glibc's largest mmap threshold
        // (32 MiB) are mapped and zeroed afresh each time. 16 and 64 MiB peaked at about 270 MiB
        // RSS at 3M records (a tenth of the process's CPU clearing pages); 1 and 4 MiB at 127 MiB
        // but cost the source broker more fetches; 4 and 16 MiB: 145 MiB, and the least CPU of the
        // three (BENCHMARKS.md, issue 15).
        let partition_fetch_bytes = (4 * MIB).max(source_largest).min(MAX_RECEIVE_BYTES / 2);
        let fetch_max_bytes = (16 * MIB).max(partition_fetch_bytes);
        let receive_max_bytes = (fetch_max_bytes + MIB).min(MAX_RECEIVE_BYTES);
        let consumer_queue_kbytes =
            (buffer.max(2 * source_largest) / KIB).clamp(1, MAX_CONSUMER_QUEUE_KBYTES);
        Sizes {
            message_max_bytes,
            batch_size,
            producer_queue_kbytes,
            partition_fetch_bytes,
            fetch_max_bytes,
            receive_max_bytes,
            consumer_queue_kbytes,
        }
    }
}

pub(crate) fn copy_consumer(
    source: &Cluster,
    topic: &str,
    options: &CopyOptions,
) -> Result<BaseConsumer<KContext>> {
    let sizes = Sizes::of(options);
    // Committed records only, and an error for a resume offset the source no longer holds (see
    // `Cluster::reader`).
    let tuning = [
        // Apache Kafka answers a fetch as soon as it has data (fetch.min.bytes = 1), so this only
        // paces the polling of caught-up partitions (50 fetches a second per broker at most).
        // tansu 0.6 waits the full fetch.wait.max.ms on every fetch and returns about one stored
        // batch per partition: there it bounds the copy (50 ms: ~300k records/s; 20 ms: as fast
        // as the target takes them; BENCHMARKS.md, "Copy throughput").
        ("fetch.wait.max.ms", "20".to_string()),
        // When the prefetch queue is full (the target is slower than the source), fetch again
        // as soon as it has room: librdkafka's default waits a whole second, stalling the pipe.
        ("fetch.queue.backoff.ms", "10".to_string()),
        ("fetch.max.bytes", sizes.fetch_max_bytes.to_string()),
        ("max.partition.fetch.bytes", sizes.partition_fetch_bytes.to_string()),
        ("receive.message.max.bytes", sizes.receive_max_bytes.to_string()),
        ("queued.max.messages.kbytes", sizes.consumer_queue_kbytes.to_string()),
        ("check.crcs", "false".to_string()),
    ];
    source.reader(Some(format!("kmigrate-copy-{topic}")), true, &tuning)
}

pub(crate) fn copy_producer(
    target: &Cluster,
    options: &CopyOptions,
) -> Result<BaseProducer<DeliveryContext>> {
    let config = &target.inner.config;
    let sizes = Sizes::of(options);
    let extra = [
        ("enable.idempotence", "true".to_string()),
        // A batch the target refuses for good stops the producer: later batches of the partition
        // are never written after the gap (see `delivery`).
        ("enable.gapless.guarantee", "true".to_string()),
        // No delivery timeout: a record that times out is not covered by the gap-less guarantee
        // (librdkafka bumps the epoch and sends later records). The copy waits for the target
        // instead, showing what awaits acknowledgement; stop and Ctrl-C end the wait.
        ("message.timeout.ms", "0".to_string()),
        ("acks", "all".to_string()),
        // The idempotent producer sends nothing before it has a producer id, which it asks a
        // connected broker for after each metadata answer, else every 500 ms. With sparse
        // connections (the default) the brokers learned from the bootstrap answer stay
        // unconnected until something needs them, and the id came about a second after the
        // start; connected at once, one is up when the next answer comes.
        ("enable.sparse.connections", "false".to_string()),
        ("linger.ms", options.linger.as_millis().to_string()),
        ("message.max.bytes", sizes.message_max_bytes.to_string()),
        ("batch.size", sizes.batch_size.to_string()),
        ("batch.num.messages", "100000".to_string()),
        ("queue.buffering.max.kbytes", sizes.producer_queue_kbytes.to_string()),
        ("queue.buffering.max.messages", "1000000".to_string()),
        ("compression.type", options.compression.clone()),
    ];
    let context = DeliveryContext::new(KContext::new(&config.label, config.redactor()));
    config.client_config(&extra).create_with_context(context).map_err(|e| config.creation_error(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_keep_the_tuned_sizes() {
        let s = Sizes::of(&CopyOptions::default());
        assert_eq!(s.batch_size, MIB);
        assert_eq!(s.producer_queue_kbytes, 8 * 1024);
        assert_eq!(s.consumer_queue_kbytes, 8 * 1024);
        assert_eq!((s.partition_fetch_bytes, s.fetch_max_bytes), (4 * MIB, 16 * MIB));
    }

    #[test]
    fn buffers_hold_the_largest_record_and_batches_fit_the_target() {
        let options = CopyOptions {
            source_max_bytes: Some(40 * MIB),
            target_max_bytes: Some(1000),
            ..CopyOptions::default()
        };
        let s = Sizes::of(&options);
        assert!(s.message_max_bytes > 40 * MIB);
        assert!(s.producer_queue_kbytes * KIB >= 2 * 40 * MIB);
        assert!(s.consumer_queue_kbytes * KIB >= 2 * 40 * MIB);
        assert!(s.partition_fetch_bytes > 40 * MIB && s.fetch_max_bytes >= s.partition_fetch_bytes);
        assert!(s.receive_max_bytes >= s.fetch_max_bytes + 512);
        assert_eq!(s.batch_size, 1000);
    }
}
