//! Seeding and inspecting a test cluster with plain rdkafka clients (independent of the code under test):
//! create topics, produce records, commit group offsets, run a live group member, consume records.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Message, Offset, Timestamp, TopicPartitionList};

use crate::cluster::TestCluster;

const TIMEOUT: Duration = Duration::from_secs(20);

/// A record to produce to a given partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedRecord {
    pub partition: i32,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Vec<u8>)>,
    /// `None`: the producer's current time. `Some(-1)`: ask for "no timestamp" (see
    /// [`SeedRecord::without_timestamp`]).
    pub timestamp: Option<i64>,
}

impl SeedRecord {
    pub fn new(partition: i32) -> Self {
        SeedRecord { partition, ..Default::default() }
    }

    pub fn key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.key = Some(key.into());
        self
    }

    pub fn value(mut self, value: impl Into<Vec<u8>>) -> Self {
        self.value = Some(value.into());
        self
    }

    pub fn header(mut self, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((key.into(), value.into()));
        self
    }

    /// An explicit CreateTime timestamp (ms since the epoch).
    pub fn timestamp(mut self, ms: i64) -> Self {
        self.timestamp = Some(ms);
        self
    }

    /// Asks librdkafka for timestamp -1, what clients before Kafka 0.10 produce. librdkafka passes a
    /// non-zero timestamp through as is (0 would mean "now"), so the record batch carries -1.
    pub fn without_timestamp(mut self) -> Self {
        self.timestamp = Some(-1);
        self
    }
}

/// The rebalance protocol of a live group member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupProtocol {
    /// The classic protocol (JoinGroup/SyncGroup), every client's default.
    Classic,
    /// Kafka 4's consumer protocol (KIP-848, `group.protocol=consumer`).
    Consumer,
}

/// A record read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedRecord {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub timestamp: Timestamp,
}

impl TestCluster {
    fn admin(&self) -> AdminClient<DefaultClientContext> {
        self.rd_config().create().expect("creating a testkit admin client")
    }

    /// Creates a topic with `partitions` partitions (broker-default replication).
    pub async fn create_topic(&self, name: &str, partitions: i32) {
        self.create_topic_with(name, partitions, &[]).await
    }

    /// Creates a topic with topic configs.
    pub async fn create_topic_with(&self, name: &str, partitions: i32, configs: &[(&str, &str)]) {
        self.create_topics(&[name.to_string()], partitions, configs).await
    }

    /// Creates several topics in one request (same partitions and configs), and waits until the metadata
    /// shows them with leaders.
    pub async fn create_topics(&self, names: &[String], partitions: i32, configs: &[(&str, &str)]) {
        let admin = self.admin();
        let topics: Vec<NewTopic<'_>> = names
            .iter()
            .map(|n| NewTopic {
                name: n,
                num_partitions: partitions,
                // -1: the broker's default replication factor (tansu accepts it; Kafka 2.4+).
                replication: TopicReplication::Fixed(-1),
                config: configs.to_vec(),
            })
            .collect();
        let opts = AdminOptions::new().request_timeout(Some(TIMEOUT)).operation_timeout(Some(TIMEOUT));
        let results = admin
            .create_topics(topics.iter(), &opts)
            .await
            .unwrap_or_else(|e| panic!("creating topics on {}: {e}\n{}", self.label(), self.log_tail(30)));
        for r in results {
            if let Err((name, code)) = r {
                panic!("creating topic {name} on {}: {code}\n{}", self.label(), self.log_tail(30));
            }
        }
        // Wait until every topic is visible with leaders (immediate on tansu; Kafka propagates metadata).
        let started = Instant::now();
        loop {
            let md = admin.inner().fetch_metadata(None, TIMEOUT).expect("fetching metadata");
            let ready = names.iter().all(|n| {
                md.topics().iter().any(|t| {
                    t.name() == n
                        && t.partitions().len() == partitions as usize
                        && t.partitions().iter().all(|p| p.leader() >= 0)
                })
            });
            if ready {
                return;
            }
            assert!(started.elapsed() < TIMEOUT, "topics {names:?} did not appear in the metadata");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Every topic the broker's metadata lists, internal topics included: a plain client's view,
    /// unfiltered (what kmigrate's own metadata is compared with).
    pub async fn all_topic_names(&self) -> std::collections::BTreeSet<String> {
        let admin = self.admin();
        tokio::task::spawn_blocking(move || {
            let md = admin.inner().fetch_metadata(None, TIMEOUT).expect("fetching metadata");
            md.topics().iter().map(|t| t.name().to_string()).collect()
        })
        .await
        .expect("metadata task")
    }

    /// A producer of this cluster (acks=all, small linger).
    pub fn producer(&self) -> FutureProducer {
        self.rd_config()
            .set("linger.ms", "5")
            .set("acks", "all")
            .set("message.timeout.ms", "20000")
            // Records up to 64 MiB (a topic's max.message.bytes decides what the broker takes).
            .set("message.max.bytes", "67108864")
            .create()
            .expect("creating a testkit producer")
    }

    /// Produces `records` in one transaction of a transactional producer of its own, then commits
    /// it, or aborts it (the records stay in the log, followed by an abort marker; `read_committed`
    /// consumers skip them). Returns the offsets of the records.
    pub async fn produce_transaction(&self, topic: &str, records: &[SeedRecord], commit: bool) -> Vec<i64> {
        let producer: FutureProducer = self
            .rd_config()
            .set("transactional.id", crate::cluster::unique("kmigrate-testkit-txn"))
            .set("linger.ms", "5")
            .set("message.timeout.ms", "20000")
            .create()
            .expect("creating a testkit transactional producer");
        tokio::task::block_in_place(|| producer.init_transactions(TIMEOUT))
            .unwrap_or_else(|e| panic!("init_transactions on {}: {e}\n{}", self.label(), self.log_tail(30)));
        producer.begin_transaction().expect("begin_transaction");
        let offsets = produce_with(&producer, topic, records).await;
        tokio::task::block_in_place(|| {
            if commit { producer.commit_transaction(TIMEOUT) } else { producer.abort_transaction(TIMEOUT) }
        })
        .unwrap_or_else(|e| panic!("ending a transaction on {topic}: {e}"));
        offsets
    }

    /// Produces `records` to `topic` and waits for every delivery. Returns the offsets, in order.
    /// Deletes the records of `topic`/`partition` before `offset` (DeleteRecords), as retention does:
    /// the log start moves to `offset`.
    pub async fn delete_records_before(&self, topic: &str, partition: i32, offset: i64) {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition, Offset::Offset(offset)).expect("offset");
        let result = self
            .admin()
            .delete_records(&tpl, &AdminOptions::new().operation_timeout(Some(TIMEOUT)))
            .await
            .unwrap_or_else(|e| panic!("DeleteRecords on {topic}/{partition}: {e}"));
        for e in result.elements() {
            if let Err(err) = e.error() {
                panic!("DeleteRecords on {topic}/{partition}: {err}");
            }
        }
    }

    pub async fn produce(&self, topic: &str, records: &[SeedRecord]) -> Vec<i64> {
        let producer = self.producer();
        produce_with(&producer, topic, records).await
    }

    /// Commits offsets for `group` the way a consumer does (OffsetCommit from a consumer with the group id,
    /// without joining the group).
    pub async fn commit_group_offsets(&self, group: &str, offsets: &[(&str, i32, i64)]) {
        let consumer: BaseConsumer = self
            .rd_config()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .expect("creating a testkit consumer");
        let mut tpl = TopicPartitionList::new();
        for (t, p, o) in offsets {
            tpl.add_partition_offset(t, *p, Offset::Offset(*o)).expect("adding a partition");
        }
        let label = self.label().to_string();
        tokio::task::spawn_blocking(move || {
            consumer
                .commit(&tpl, CommitMode::Sync)
                .unwrap_or_else(|e| panic!("committing offsets on {label}: {e}"))
        })
        .await
        .expect("commit task");
    }

    /// Reads the records of `[start, end)` of one partition (assign, no group).
    pub async fn consume(&self, topic: &str, partition: i32, start: i64, end: i64) -> Vec<ConsumedRecord> {
        if start >= end {
            return Vec::new();
        }
        let consumer: BaseConsumer = self
            .rd_config()
            // librdkafka's assign() needs a group id; nothing is committed and the group is never joined.
            .set("group.id", "kmigrate-testkit-reader")
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "error")
            // tansu waits the full fetch.wait.max.ms on every fetch.
            .set("fetch.wait.max.ms", "10")
            .create()
            .expect("creating a testkit consumer");
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition, Offset::Offset(start)).expect("adding a partition");
        consumer.assign(&tpl).expect("assigning");
        let what = format!("{topic}/{partition} [{start}, {end}) on {}", self.label());
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let mut out = Vec::new();
            while out.last().is_none_or(|r: &ConsumedRecord| r.offset + 1 < end) {
                assert!(started.elapsed() < TIMEOUT, "timed out reading {what}; got {} records", out.len());
                match consumer.poll(Duration::from_millis(100)) {
                    Some(Ok(m)) if m.offset() < end => out.push(ConsumedRecord {
                        partition: m.partition(),
                        offset: m.offset(),
                        key: m.key().map(<[u8]>::to_vec),
                        value: m.payload().map(<[u8]>::to_vec),
                        headers: m
                            .headers()
                            .map(|hs| {
                                hs.iter()
                                    .map(|h| {
                                        (h.key.to_string(), h.value.map(<[u8]>::to_vec).unwrap_or_default())
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                        timestamp: m.timestamp(),
                    }),
                    Some(Ok(_)) => break,
                    Some(Err(e)) => panic!("reading {what}: {e}"),
                    None => {}
                }
            }
            out
        })
        .await
        .expect("consume task")
    }

    /// Starts a consumer that subscribes to `topics` as a member of `group` and keeps polling on a thread
    /// of its own until the returned handle is dropped. Returns once the member has been assigned
    /// partitions.
    pub async fn start_member(&self, group: &str, topics: &[&str]) -> LiveMember {
        self.start_member_with(group, topics, GroupProtocol::Classic).await
    }

    /// [`TestCluster::start_member`] with the group protocol of the member: the classic rebalance
    /// protocol, or Kafka 4's consumer protocol (KIP-848), whose groups the classic DescribeGroups
    /// API does not describe.
    pub async fn start_member_with(
        &self,
        group: &str,
        topics: &[&str],
        protocol: GroupProtocol,
    ) -> LiveMember {
        self.start_member_inner(group, topics, protocol, true).await
    }

    /// A live member (classic protocol) that never commits an offset: how an application that
    /// keeps its offsets in its own store looks to the broker. Returns once it has been assigned
    /// partitions.
    pub async fn start_member_without_commits(&self, group: &str, topics: &[&str]) -> LiveMember {
        self.start_member_inner(group, topics, GroupProtocol::Classic, false).await
    }

    async fn start_member_inner(
        &self,
        group: &str,
        topics: &[&str],
        protocol: GroupProtocol,
        commit: bool,
    ) -> LiveMember {
        let client_id = format!("{group}-live-member");
        let mut config = self.rd_config();
        if protocol == GroupProtocol::Consumer {
            config.set("group.protocol", "consumer");
        } else {
            config.set("session.timeout.ms", "30000");
        }
        let consumer: BaseConsumer = config
            .set("group.id", group)
            .set("client.id", &client_id)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("fetch.wait.max.ms", "10")
            .create()
            .expect("creating the live member");
        consumer.subscribe(topics).expect("subscribing");
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let stop_thread = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut ready_tx = Some(ready_tx);
            let started = Instant::now();
            while !stop_thread.load(Ordering::Relaxed) {
                if let Some(Err(e)) = consumer.poll(Duration::from_millis(50)) {
                    tracing::debug!("live member: {e}");
                }
                if ready_tx.is_some() {
                    let assigned = consumer.assignment().map(|a| a.count() > 0).unwrap_or(false);
                    if assigned && !commit {
                        let _ = ready_tx.take().expect("once").send(Ok(()));
                    } else if assigned {
                        // Commit the current positions once, like a real consumer does: some brokers (tansu's
                        // memory engine) only list groups that have committed offsets.
                        let mut tpl = consumer.assignment().expect("assignment");
                        tpl.set_all_offsets(Offset::Offset(0)).expect("offsets");
                        let committed = consumer.commit(&tpl, CommitMode::Sync);
                        let _ = ready_tx.take().expect("once").send(committed.map_err(|e| e.to_string()));
                    } else if started.elapsed() > TIMEOUT {
                        let _ = ready_tx.take().expect("once").send(Err("no partitions assigned".into()));
                    }
                }
            }
            consumer.unsubscribe();
            drop(consumer);
        });
        let ready = ready_rx.await.unwrap_or_else(|_| Err("member thread ended".into()));
        if let Err(e) = ready {
            stop.store(true, Ordering::Relaxed);
            let _ = handle.join();
            panic!(
                "the live member of group {group} on {} did not start: {e}\n{}",
                self.label(),
                self.log_tail(30)
            );
        }
        LiveMember { client_id, stop, handle: Some(handle) }
    }
}

/// Produces with an existing producer (for seeding many topics at once).
pub async fn produce_with(producer: &FutureProducer, topic: &str, records: &[SeedRecord]) -> Vec<i64> {
    let mut futures = Vec::with_capacity(records.len());
    for r in records {
        let mut headers = OwnedHeaders::new();
        for (k, v) in &r.headers {
            headers = headers.insert(Header { key: k, value: Some(v.as_slice()) });
        }
        loop {
            let mut rec: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic).partition(r.partition);
            if let Some(k) = &r.key {
                rec = rec.key(k.as_slice());
            }
            if let Some(v) = &r.value {
                rec = rec.payload(v.as_slice());
            }
            if !r.headers.is_empty() {
                rec = rec.headers(headers.clone());
            }
            if let Some(ts) = r.timestamp {
                rec = rec.timestamp(ts);
            }
            match producer.send_result(rec) {
                Ok(f) => {
                    futures.push(f);
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((e, _)) => panic!("producing to {topic}: {e}"),
            }
        }
    }
    let mut offsets = Vec::with_capacity(futures.len());
    for f in futures {
        match f.await {
            Ok(Ok(d)) => offsets.push(d.offset),
            Ok(Err((e, _))) => panic!("producing to {topic}: {e}"),
            Err(_) => panic!("producing to {topic}: delivery cancelled"),
        }
    }
    producer.flush(TIMEOUT).expect("flushing");
    offsets
}

/// A subscribed consumer polling in the background; leaves the group when dropped.
pub struct LiveMember {
    client_id: String,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl LiveMember {
    /// The member's `client.id`: `<group>-live-member`.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
}

impl Drop for LiveMember {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
