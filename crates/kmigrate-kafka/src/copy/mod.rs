//! The record pipe behind `copy:<t>`: consume a topic's partitions on the source and produce
//! every record to the same partition on the target, with the same key, value, headers and
//! timestamp, through an idempotent producer.
//!
//! The pipe runs on a thread of its own (librdkafka's calls block). It reports every record the
//! target *acknowledged*, with the offset the target gave it, so the caller can checkpoint only
//! what is safe and build the exact source → target offset map. Memory is bounded by the
//! consumer's prefetch queue and the producer's buffer, whatever the topic's size; both hold at
//! least two of the largest records the topics allow.
//!
//! Only committed records are read (`read_committed`): records of aborted transactions are not
//! copied, and the offsets of transaction markers and aborted records are gaps in the source
//! offsets the offset map crosses.
//!
//! A record the target refuses stops the copy (see `delivery`): nothing after it in its partition
//! is written or reported, and the error names the record and the broker's reason.
//!
//! When the cutover has passed, the caller gives the source's watermarks read *after* it
//! ([`CopyPipe::cutover_passed`]): every record written before the cutover is below them, so the
//! copy is finished as soon as every partition's position reaches them (positions move past
//! transaction markers). Without them (or on a broker whose ListOffsets answers cannot be trusted),
//! partition ends are learned from the fetches themselves (partition EOF, and the consumer's
//! position against the high watermark of the last fetch answer), and the copy only ends after
//! [`CopyOptions::settle`], which covers fetches already in flight at the cutover.

mod clients;
mod delivery;
mod follow;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedHeaders, BorrowedMessage, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, PurgeConfig};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::mpsc;

use crate::client::Cluster;
use crate::context::KContext;
use crate::error::{Error, Result};
use crate::offsets::Watermarks;
use clients::{copy_consumer, copy_producer};
pub use delivery::Delivery;
use delivery::{DeliveryContext, Refusal, record_bytes};
pub use follow::{Follower, Seen};

/// What the pipe reports, about every 200 ms.
#[derive(Debug, Clone, Default)]
pub struct CopyProgress {
    /// Acknowledged records since the previous report, in acknowledgement order (which is source
    /// order within a partition: the producer is idempotent).
    pub deliveries: Vec<Delivery>,
    /// Key + value bytes acknowledged since the previous report.
    pub bytes: u64,
    /// Partitions whose last fetch found nothing more to read.
    pub at_end: Vec<i32>,
    /// Records on the source not read yet, from the high watermarks of the last fetch answers;
    /// `None` until a fetch has answered.
    pub lag: Option<u64>,
    /// Records handed to the producer that the target has not acknowledged yet.
    pub awaiting: u64,
}

/// How the pipe ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyEnd {
    /// The cutover had passed and every partition was copied to its end.
    Finished,
    /// Asked to stop; everything the target acknowledged was reported (records it had not
    /// acknowledged within [`CopyOptions::stop_grace`] are found by the next run's reconciliation).
    Stopped,
}

/// Tuning of the pipe. The defaults aim at throughput with bounded memory.
#[derive(Debug, Clone)]
pub struct CopyOptions {
    /// Bound of the consumer's prefetch queue and of the producer's buffer, each (raised to hold
    /// two of the largest records the topics allow).
    pub buffer_kbytes: u32,
    pub linger: Duration,
    /// After the cutover is signalled without the source's watermarks, how long partitions must
    /// keep reporting "at end" before the copy finishes (covers fetches already in flight when the
    /// signal came). Not waited for when the watermarks are given.
    pub settle: Duration,
    /// The source topic's `max.message.bytes`: the largest record batch it can hold.
    pub source_max_bytes: Option<u64>,
    /// The target topic's `max.message.bytes`: the largest record batch it takes.
    pub target_max_bytes: Option<u64>,
    /// After a stop, how long to wait for the target to acknowledge what was sent.
    pub stop_grace: Duration,
    /// The producer's `compression.type`: `none`, `gzip`, `snappy`, `lz4` or `zstd`. Default
    /// `none`; kmigrate's migration decides it per topic (`kmigrate_migration::compression`).
    pub compression: String,
    /// How long the source may stay unreachable (connections lost, every broker down, requests
    /// timing out), and the target acknowledge nothing while records wait for it, before the copy
    /// fails: a restarting broker or a network blip within it is ridden out, the consumer
    /// reconnecting and going on from its position, the idempotent producer resending.
    pub outage_limit: Duration,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            // Payload bytes; librdkafka's per-record bookkeeping comes on top (8 MiB each: a copy
            // of 200-byte records peaks near 80 MiB RSS, 16 MiB near 130 MiB, no faster on
            // loopback; BENCHMARKS.md, "Copy throughput").
            buffer_kbytes: 8 * 1024,
            linger: Duration::from_millis(20),
            settle: Duration::from_millis(1500),
            source_max_bytes: None,
            target_max_bytes: None,
            stop_grace: Duration::from_secs(5),
            compression: "none".to_string(),
            outage_limit: Duration::from_secs(30),
        }
    }
}

/// Records the pipe moves between two rounds of housekeeping (see `Worker::run`).
const BATCH: usize = 512;

/// A running copy of one topic.
pub struct CopyPipe {
    control: Arc<Control>,
    rx: mpsc::Receiver<CopyProgress>,
    /// How the pipe ended, sent before the thread closes its clients.
    outcome: Option<tokio::sync::oneshot::Receiver<Result<CopyEnd>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Default)]
struct Control {
    stop: AtomicBool,
    cutover_passed: AtomicBool,
    /// When [`CopyPipe::cutover_passed`] was first called: the settle time counts from then.
    cutover_at: Mutex<Option<Instant>>,
    /// The source's watermarks read after the cutover, per partition, if given.
    ends: Mutex<Option<BTreeMap<i32, Watermarks>>>,
}

impl CopyPipe {
    /// Starts copying `topic`: each partition from its offset in `starts` (`None`: from the
    /// beginning of what the source retains).
    pub fn start(
        source: &Cluster,
        target: &Cluster,
        topic: &str,
        starts: &BTreeMap<i32, Option<i64>>,
        options: CopyOptions,
    ) -> Result<CopyPipe> {
        let consumer = copy_consumer(source, topic, &options)?;
        let producer = copy_producer(target, &options)?;
        let mut tpl = TopicPartitionList::new();
        for (p, start) in starts {
            let offset = start.map_or(Offset::Beginning, Offset::Offset);
            tpl.add_partition_offset(topic, *p, offset)
                .map_err(|e| source.kafka_error("assigning partitions to copy", &e, Duration::ZERO))?;
        }

        let control = Arc::new(Control::default());
        let (tx, rx) = mpsc::channel(16);
        let (outcome_tx, outcome_rx) = tokio::sync::oneshot::channel();
        let worker = Worker {
            topic: topic.to_string(),
            consumer,
            producer,
            control: control.clone(),
            tx,
            assignment: tpl,
            source: source.clone(),
            partitions: starts.keys().copied().collect(),
            starts: starts.iter().filter_map(|(p, s)| s.map(|s| (*p, s))).collect(),
            options,
            source_label: source.label().to_string(),
            target: target.clone(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("copy-{topic}"))
            .spawn(move || {
                let end = worker.run();
                // Report first, then close the clients: closing takes about 100 ms and nothing
                // needs to wait for it.
                let Worker { tx, consumer, producer, .. } = worker;
                let _ = outcome_tx.send(end);
                drop(tx);
                drop(consumer);
                drop(producer);
            })
            .map_err(|e| Error::Kafka {
                code: None,
                label: target.label().to_string(),
                operation: "starting the copy thread".into(),
                detail: e.to_string(),
            })?;
        Ok(CopyPipe { control, rx, outcome: Some(outcome_rx), thread: Some(thread) })
    }

    /// The producers have switched: the copy may finish once every partition is at its end.
    /// `ends`: the source's watermarks per partition, read after the cutover; the copy finishes
    /// as soon as it has read up to them. Without them it waits [`CopyOptions::settle`] first.
    pub fn cutover_passed(&self, ends: Option<BTreeMap<i32, Watermarks>>) {
        self.control.cutover_at.lock().expect("control lock").get_or_insert_with(Instant::now);
        if let Some(ends) = ends {
            self.control.ends.lock().expect("control lock").get_or_insert(ends);
        }
        self.control.cutover_passed.store(true, Ordering::SeqCst);
    }

    /// Asks the pipe to stop consuming; what the target acknowledges within
    /// [`CopyOptions::stop_grace`] is still reported. Every wait of the pipe honours it.
    pub fn stop(&self) {
        self.control.stop.store(true, Ordering::SeqCst);
    }

    /// The next report; `None` once the pipe has ended (then call [`CopyPipe::join`]).
    pub async fn next(&mut self) -> Option<CopyProgress> {
        self.rx.recv().await
    }

    /// Waits until the pipe has ended and returns how. Everything it copied has been reported
    /// by then; its thread may still be closing its clients, on its own.
    pub async fn join(mut self) -> Result<CopyEnd> {
        let thread = self.thread.take().expect("joined once");
        match self.outcome.take().expect("joined once").await {
            Ok(end) => end,
            // No outcome: the thread panicked (joining it returns at once).
            Err(_) => {
                let _ = tokio::task::spawn_blocking(move || thread.join()).await;
                Err(Error::Kafka {
                    label: "target".into(),
                    operation: "copying".into(),
                    code: None,
                    detail: "the copy thread panicked".into(),
                })
            }
        }
    }
}

impl Drop for CopyPipe {
    fn drop(&mut self) {
        self.control.stop.store(true, Ordering::SeqCst);
    }
}

struct Worker {
    topic: String,
    consumer: BaseConsumer<KContext>,
    producer: BaseProducer<DeliveryContext>,
    control: Arc<Control>,
    tx: mpsc::Sender<CopyProgress>,
    /// What to consume, assigned on the copy thread (see `Worker::assign`).
    assignment: TopicPartitionList,
    source: Cluster,
    partitions: Vec<i32>,
    /// Explicit start offsets (partitions absent start at the beginning).
    starts: BTreeMap<i32, i64>,
    options: CopyOptions,
    source_label: String,
    target: Cluster,
}

/// Whether every partition has been read up to the watermarks the source had after the cutover
/// (an empty partition has nothing to read).
fn read_up_to(ends: &BTreeMap<i32, Watermarks>, partitions: &[i32], position: &BTreeMap<i32, i64>) -> bool {
    partitions.iter().all(|p| match ends.get(p) {
        Some(w) => w.latest <= w.earliest || position.get(p).is_some_and(|pos| *pos >= w.latest),
        None => false,
    })
}

/// The source stopped answering at `since` (the copy fails once [`CopyOptions::outage_limit`]
/// has passed without an answer).
struct Outage {
    since: Instant,
    probed: Instant,
    /// The last error librdkafka reported.
    detail: String,
}

impl Outage {
    fn began() -> Outage {
        Outage { since: Instant::now(), probed: Instant::now(), detail: String::new() }
    }
}

/// Errors of the consumer that only say the source is (for now) out of reach; librdkafka goes on
/// trying by itself.
fn is_connection_error(e: &KafkaError) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        e.rdkafka_error_code(),
        Some(
            C::BrokerTransportFailure
                | C::AllBrokersDown
                | C::Resolve
                | C::OperationTimedOut
                | C::RequestTimedOut
                | C::NetworkException
                | C::BrokerNotAvailable
                | C::LeaderNotAvailable
                | C::NotLeaderForPartition
        )
    )
}

/// How long a copy that is not stopping waits for the target's last acknowledgements.
const FINAL_FLUSH: Duration = Duration::from_secs(120);

impl Worker {
    /// Assigns the partitions, after learning their leaders: librdkafka resolves a logical start
    /// offset (the beginning) only once it knows the leader, and when it does not yet, it retries
    /// after a fixed 500 ms. Done here, not in `CopyPipe::start`, to keep that request off the
    /// caller's (async) thread.
    fn assign(&self) -> Result<()> {
        // Only a warm-up: on failure, librdkafka finds the leaders itself, a little later.
        let _ = self.consumer.fetch_metadata(Some(&self.topic), Duration::from_secs(10));
        self.consumer
            .assign(&self.assignment)
            .map_err(|e| self.source.kafka_error("assigning partitions to copy", &e, Duration::ZERO))
    }

    fn stopping(&self) -> bool {
        self.control.stop.load(Ordering::SeqCst)
    }

    fn run(&self) -> Result<CopyEnd> {
        self.assign()?;
        let mut at_end: BTreeMap<i32, bool> = self.partitions.iter().map(|p| (*p, false)).collect();
        // Per partition: the next offset to read (known once a record was read, or from the start;
        // past transaction markers once the consumer's position is read).
        let mut position: BTreeMap<i32, i64> = self.starts.clone();
        let mut last_probe = Instant::now();
        let mut cutover_seen: Option<Instant> = None;
        let mut ends: Option<BTreeMap<i32, Watermarks>> = None;
        let mut last_report = Instant::now();
        let mut end = CopyEnd::Stopped;
        let mut failure: Option<Error> = None;
        let mut outage: Option<Outage> = None;
        let mut last_ack = Instant::now();
        let mut giving_up = false;
        'pipe: loop {
            // Housekeeping once per batch of records, not per record: at a few hundred thousand
            // records a second, clock reads, locks and empty polls of the producer add up.
            if self.stopping() || self.producer.context().refused() {
                break;
            }
            // Up to BATCH records, fewer when the source has nothing ready. Backpressure: when
            // the producer's buffer is full, `produce` serves acknowledgements until it has room.
            for _ in 0..BATCH {
                match self.consumer.poll(Duration::from_millis(20)) {
                    Some(Ok(m)) => {
                        outage = None;
                        at_end.insert(m.partition(), false);
                        position.insert(m.partition(), m.offset() + 1);
                        match self.produce(&m) {
                            Ok(true) => {}
                            Ok(false) => break 'pipe,
                            Err(e) => {
                                failure = Some(e);
                                break 'pipe;
                            }
                        }
                    }
                    Some(Err(KafkaError::PartitionEOF(p))) => {
                        outage = None;
                        at_end.insert(p, true);
                        break;
                    }
                    Some(Err(e)) if is_connection_error(&e) => {
                        // librdkafka reconnects by itself: wait for the source, within a bound.
                        let o = outage.get_or_insert_with(Outage::began);
                        if o.detail.is_empty() {
                            tracing::warn!(cluster = %self.source_label, topic = %self.topic, error = %e, "the source stopped answering; the copy waits for it");
                        }
                        o.detail = e.to_string();
                        break;
                    }
                    Some(Err(e)) => {
                        failure = Some(self.read_error(&e));
                        break 'pipe;
                    }
                    None => break,
                }
            }
            self.producer.poll(Duration::ZERO);
            if let Some(o) = outage.as_mut() {
                if o.since.elapsed() >= self.options.outage_limit {
                    failure = Some(Error::Unreachable {
                        label: self.source_label.clone(),
                        bootstrap: self.source.bootstrap_servers().to_string(),
                        waited: o.since.elapsed(),
                        detail: std::mem::take(&mut o.detail),
                        refused: false,
                    });
                    break 'pipe;
                }
                // A fetch may answer with nothing new (no record, no end-of-partition event
                // again): ask for metadata to learn that the source is back.
                if o.probed.elapsed() >= Duration::from_secs(1) {
                    o.probed = Instant::now();
                    if self.consumer.fetch_metadata(Some(&self.topic), Duration::from_millis(500)).is_ok() {
                        tracing::info!(cluster = %self.source_label, topic = %self.topic, after = ?o.since.elapsed(), "the source answers again");
                        outage = None;
                    }
                }
            }
            if self.control.cutover_passed.load(Ordering::SeqCst) && cutover_seen.is_none() {
                cutover_seen =
                    Some(self.control.cutover_at.lock().expect("control lock").unwrap_or_else(Instant::now));
                ends = self.control.ends.lock().expect("control lock").clone();
            }
            let settled = cutover_seen.is_some_and(|t| t.elapsed() >= self.options.settle);
            // Every 200 ms, compare each position with the high watermark of the last fetch answer:
            // a partition may be at its end without an EOF event (librdkafka signals EOF once per
            // offset), and one that was at its end is no longer once the watermark moves on. The
            // consumer's position counts transaction markers, which are never delivered as records.
            if last_probe.elapsed() >= Duration::from_millis(200) {
                last_probe = Instant::now();
                self.read_positions(&mut position);
                for (p, end) in at_end.iter_mut() {
                    if let (Some((_, high)), Some(pos)) = (
                        crate::ffi::cached_watermarks(self.consumer.client(), &self.topic, *p),
                        position.get(p),
                    ) {
                        *end = *pos >= high;
                    }
                }
            }
            let read_to_ends =
                ends.as_ref().is_some_and(|ends| read_up_to(ends, &self.partitions, &position));
            if (read_to_ends || (settled && at_end.values().all(|e| *e)))
                && self.producer.in_flight_count() == 0
            {
                end = CopyEnd::Finished;
                break;
            }
            if last_report.elapsed() >= Duration::from_millis(200) {
                last_report = Instant::now();
                match self.report(&at_end, &position) {
                    None => break,
                    Some(acknowledged) if acknowledged > 0 => last_ack = Instant::now(),
                    Some(_) => {}
                }
                // Records wait for the target, and it has acknowledged none for the whole outage
                // limit: it is down, frozen or cut off. (Idle time, nothing in flight, is no outage.)
                let awaiting = self.producer.in_flight_count().max(0);
                if awaiting == 0 {
                    last_ack = Instant::now();
                } else if last_ack.elapsed() >= self.options.outage_limit {
                    failure = Some(Error::Timeout {
                        label: self.target.label().to_string(),
                        operation: format!(
                            "waiting for the target to acknowledge {awaiting} copied records of topic {}",
                            self.topic
                        ),
                        waited: last_ack.elapsed(),
                    });
                    giving_up = true;
                    break;
                }
            }
        }
        // Everything handed to the producer is acknowledged and reported, or refused, or (when
        // stopping or giving up) left to the next run's reconciliation.
        let (unacknowledged, purged) = self.drain(giving_up);
        self.report(&at_end, &position);
        let refusal = self.producer.context().acks.lock().expect("delivery lock").failure().cloned();
        if let Some(r) = refusal {
            return Err(self.refused(&r));
        }
        if let Some(e) = failure {
            return Err(e);
        }
        // (A purge on stop makes the gap-less producer raise a fatal error of its own.)
        if let Some((code, reason)) = self.producer.client().fatal_error().filter(|_| !purged) {
            return Err(Error::Kafka {
                code: Some(code),
                label: self.target.label().to_string(),
                operation: format!("copying topic {}", self.topic),
                detail: reason,
            });
        }
        if unacknowledged > 0 && !self.stopping() {
            // (Only without a refusal, which is reported above.)
            return Err(Error::Timeout {
                label: self.target.label().to_string(),
                operation: format!("waiting for the target to acknowledge {unacknowledged} copied records"),
                waited: FINAL_FLUSH,
            });
        }
        Ok(end)
    }

    /// Waits for the target to acknowledge what the producer holds: at most [`FINAL_FLUSH`], or
    /// [`CopyOptions::stop_grace`] once asked to stop, once a record was refused (the producer
    /// then sends nothing more; records it holds for a retry would wait for ever) or when
    /// `giving_up` on a target that acknowledged nothing for [`CopyOptions::outage_limit`]. What is left
    /// is purged; records of it the target may still write are found by the next run's
    /// reconciliation. Returns how many records were left, and whether they were purged on a
    /// stop (their purge is no refusal by the target).
    fn drain(&self, giving_up: bool) -> (u64, bool) {
        let started = Instant::now();
        loop {
            if self.producer.flush(Duration::from_millis(100)).is_ok() {
                self.producer.poll(Duration::ZERO);
                return (0, false);
            }
            let limit = if giving_up || self.stopping() || self.producer.context().refused() {
                self.options.stop_grace
            } else {
                FINAL_FLUSH
            };
            if started.elapsed() >= limit {
                let left = self.producer.in_flight_count().max(0) as u64;
                let refused = self.producer.context().refused();
                self.producer.purge(PurgeConfig::default().queue().inflight());
                self.producer.poll(Duration::ZERO);
                if !refused {
                    // Reports of the purged records are not refusals (nothing after them is
                    // reported either: the partitions stay marked).
                    self.producer.context().acks.lock().expect("delivery lock").forget_failures();
                }
                return (left, !refused);
            }
        }
    }

    /// Moves each position on to the consumer's, which counts the transaction markers read.
    fn read_positions(&self, position: &mut BTreeMap<i32, i64>) {
        let Ok(tpl) = self.consumer.position() else { return };
        for el in tpl.elements() {
            if let Offset::Offset(o) = el.offset() {
                let p = position.entry(el.partition()).or_insert(o);
                *p = (*p).max(o);
            }
        }
    }

    /// Produces one record. `Ok(false)`: asked to stop while waiting for room in the buffer.
    fn produce(&self, m: &BorrowedMessage<'_>) -> Result<bool> {
        let headers = m.headers().map(BorrowedHeaders::detach);
        let timestamp = match m.timestamp() {
            rdkafka::Timestamp::CreateTime(t) | rdkafka::Timestamp::LogAppendTime(t) if t >= 0 => Some(t),
            _ => None,
        };
        if !crate::timestamp_kept(timestamp) {
            // The client stamps it with the time of the copy: its delivery must not pass that
            // off as the source's timestamp.
            let context = self.producer.context();
            context.unstamped.lock().expect("delivery lock").insert((m.partition(), m.offset()));
            context.any_unstamped.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let mut record: BaseRecord<'_, [u8], [u8], usize> =
            BaseRecord::with_opaque_to(&self.topic, m.offset() as usize).partition(m.partition());
        record.key = m.key();
        record.payload = m.payload();
        record.timestamp = timestamp;
        record.headers = headers;
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(true),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    if self.stopping() {
                        return Ok(false);
                    }
                    self.producer.poll(Duration::from_millis(5));
                    if self.producer.context().refused() {
                        return Ok(false);
                    }
                }
                Err((e, _)) => {
                    return Err(self.refused(&Refusal {
                        partition: m.partition(),
                        source_offset: m.offset(),
                        code: e.rdkafka_error_code(),
                        reason: e.to_string(),
                        bytes: record_bytes(m),
                    }));
                }
            }
        }
    }

    /// The copy's error for a record the target (or the producer) did not take.
    fn refused(&self, r: &Refusal) -> Error {
        let size = match (r.code, self.options.target_max_bytes) {
            (Some(RDKafkaErrorCode::MessageSizeTooLarge), Some(limit)) => format!(
                "{} bytes; the target topic takes record batches of at most {limit} bytes (max.message.bytes)",
                r.bytes
            ),
            _ => format!("{} bytes", r.bytes),
        };
        Error::Kafka {
            code: r.code,
            label: self.target.label().to_string(),
            operation: format!("copying topic {}", self.topic),
            detail: format!(
                "the target refused record {}/{} at source offset {} ({size}): {}; nothing from it on in partition {} was copied: fix the cause and run apply again, the copy continues with this record",
                self.topic, r.partition, r.source_offset, r.reason, r.partition
            ),
        }
    }

    fn read_error(&self, e: &KafkaError) -> Error {
        let detail = if e.rdkafka_error_code() == Some(RDKafkaErrorCode::OffsetOutOfRange) {
            format!(
                "{e}: the source no longer holds the offset the copy continues from (retention deleted records before they were copied)"
            )
        } else {
            e.to_string()
        };
        Error::Kafka {
            code: e.rdkafka_error_code(),
            label: self.source_label.clone(),
            operation: format!("reading topic {}", self.topic),
            detail,
        }
    }

    /// Records not read yet over every partition whose watermarks a fetch has reported.
    fn lag(&self, position: &BTreeMap<i32, i64>) -> Option<u64> {
        let mut known = false;
        let mut lag = 0u64;
        for p in &self.partitions {
            if let Some((low, high)) = crate::ffi::cached_watermarks(self.consumer.client(), &self.topic, *p)
            {
                known = true;
                lag += (high - position.get(p).copied().unwrap_or(low)).max(0) as u64;
            }
        }
        known.then_some(lag)
    }

    /// Sends the acknowledgements gathered so far; false if nobody listens any more.
    /// Sends what was acknowledged since the last report; how many records that was (`None`: the
    /// step is gone).
    fn report(&self, at_end: &BTreeMap<i32, bool>, position: &BTreeMap<i32, i64>) -> Option<usize> {
        let deliveries =
            std::mem::take(&mut self.producer.context().acks.lock().expect("delivery lock").delivered);
        let acknowledged = deliveries.len();
        let bytes = self.producer.context().bytes.swap(0, Ordering::Relaxed);
        let progress = CopyProgress {
            deliveries,
            bytes,
            at_end: at_end.iter().filter(|(_, e)| **e).map(|(p, _)| *p).collect(),
            lag: self.lag(position),
            awaiting: self.producer.in_flight_count().max(0) as u64,
        };
        self.tx.blocking_send(progress).ok().map(|()| acknowledged)
    }
}
