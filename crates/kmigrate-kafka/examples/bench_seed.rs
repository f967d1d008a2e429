//! The helper of `scripts/bench-copy.sh` (the copy benchmark, BENCHMARKS.md "Copy throughput").
//!
//!     bench_seed create  BOOTSTRAP TOPIC PARTITIONS
//!     bench_seed produce BOOTSTRAP TOPIC RECORDS [PARTITIONS]
//!     bench_seed count   BOOTSTRAP TOPIC
//!     bench_seed reach   BOOTSTRAP TOPIC RECORDS
//!
//! `produce` writes the benchmark's records: record `i` goes to partition `i % PARTITIONS`, with key
//! `key-<i>`, a 200-byte printable value (no tab, no newline: kcat's line format can carry it), one
//! header `seq=<i>` and an explicit CreateTime. It produces the way kmigrate's copy pipe does
//! (idempotent, acks=all, the same batching), so run against the target it is the "limit": the
//! fastest a copy could write those records there. It compresses with `$BENCH_COMPRESSION`
//! (default none). It prints one JSON line with its own timing
//! (from creating the producer to the end of its flush) and the CPU seconds it used meanwhile.
//!
//! `count` reads a topic to its end (partition EOF, so it works on tansu's memory engine, whose
//! ListOffsets answers are wrong) and prints JSON: records, and how many carry headers and the
//! seeded timestamps (to show what a copy preserved).
//!
//! `reach` waits until the topic exists and its partitions' high watermarks add up to RECORDS
//! (polled every 50 ms) and prints the wall-clock time it saw it, in seconds since the epoch:
//! `scripts/bench-mm2.sh` times the first record (RECORDS = 1) and the last one on the target.

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Message, Offset, Timestamp, TopicPartitionList};

const VALUE_SIZE: usize = 200;
/// The seeded timestamps: 2024-01-01T00:00:00Z + i ms.
const BASE_TS: i64 = 1_704_067_200_000;

fn usage() -> ! {
    eprintln!(
        "usage: bench_seed create BOOTSTRAP TOPIC PARTITIONS\n       bench_seed produce BOOTSTRAP TOPIC RECORDS [PARTITIONS]\n       bench_seed count BOOTSTRAP TOPIC\n       bench_seed reach BOOTSTRAP TOPIC RECORDS"
    );
    std::process::exit(64)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_else(|| usage());
    match args.first().map(String::as_str) {
        Some("create") => create(&arg(1), &arg(2), arg(3).parse().unwrap_or_else(|_| usage())),
        Some("produce") => produce(
            &arg(1),
            &arg(2),
            arg(3).parse().unwrap_or_else(|_| usage()),
            args.get(4).map_or(4, |p| p.parse().unwrap_or_else(|_| usage())),
        ),
        Some("count") => count(&arg(1), &arg(2)),
        Some("reach") => reach(&arg(1), &arg(2), arg(3).parse().unwrap_or_else(|_| usage())),
        _ => usage(),
    }
}

fn reach(bootstrap: &str, topic: &str, records: i64) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "bench-seed-reach")
        .set("allow.auto.create.topics", "false")
        .create()
        .expect("consumer");
    let started = Instant::now();
    loop {
        assert!(started.elapsed() < Duration::from_secs(900), "{topic} never held {records} records");
        let partitions: Vec<i32> = match consumer.fetch_metadata(Some(topic), Duration::from_secs(5)) {
            Ok(md) if md.topics().first().is_some_and(|t| t.error().is_none()) => {
                md.topics()[0].partitions().iter().map(|p| p.id()).collect()
            }
            _ => Vec::new(),
        };
        let held: i64 = partitions
            .iter()
            .map(|p| consumer.fetch_watermarks(topic, *p, Duration::from_secs(5)).map_or(0, |(_, high)| high))
            .sum();
        if !partitions.is_empty() && held >= records {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock");
            println!("{:.3}", now.as_secs_f64());
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn create(bootstrap: &str, topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", bootstrap).create().expect("admin client");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(-1));
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(20)));
    let results = rt.block_on(admin.create_topics([&new], &opts)).expect("create_topics");
    for r in results {
        if let Err((name, code)) = r {
            panic!("creating {name}: {code}");
        }
    }
    // Wait until the metadata shows every partition with a leader.
    let started = Instant::now();
    loop {
        let md = admin.inner().fetch_metadata(Some(topic), Duration::from_secs(5)).expect("metadata");
        let ok = md.topics().iter().any(|t| {
            t.name() == topic
                && t.partitions().len() == partitions as usize
                && t.partitions().iter().all(|p| p.leader() >= 0)
        });
        if ok {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "topic {topic} did not appear");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The value of record `i`: 200 printable bytes (no tab, no newline), cheap to make so that the
/// producer, not the generator, is measured: a window into a fixed pattern, then the index.
fn value(i: u64, buf: &mut Vec<u8>) {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    static PATTERN: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let pattern = PATTERN.get_or_init(|| {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        (0..VALUE_SIZE + 256)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                ALPHABET[(x % ALPHABET.len() as u64) as usize]
            })
            .collect()
    });
    let start = (i % 256) as usize;
    buf.clear();
    buf.extend_from_slice(&pattern[start..start + VALUE_SIZE]);
    let digits = i.to_string();
    buf[..digits.len()].copy_from_slice(digits.as_bytes());
}

/// CPU seconds (user + system) this process has used so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(") ").map_or("", |(_, rest)| rest).split(' ').collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of /proc/PID/stat; the clock tick is 100 Hz on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

fn produce(bootstrap: &str, topic: &str, records: u64, partitions: i32) {
    // Timed from the producer's creation to the end of its flush, like kmigrate's copy step.
    let started = Instant::now();
    let cpu_before = cpu_seconds();
    // The same settings as kmigrate's copy producer (crates/kmigrate-kafka/src/copy.rs).
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("enable.sparse.connections", "false")
        .set("linger.ms", "20")
        .set("batch.size", (1024 * 1024).to_string())
        .set("batch.num.messages", "100000")
        .set("queue.buffering.max.kbytes", (8 * 1024).to_string())
        .set("queue.buffering.max.messages", "1000000")
        // BENCH_COMPRESSION (scripts/bench-copy.sh's COMPRESSION): the seeded source's batches,
        // and what the limit writes.
        .set("compression.type", std::env::var("BENCH_COMPRESSION").unwrap_or_else(|_| "none".into()))
        .create()
        .expect("producer");
    // The idempotent producer asks for its id after each metadata answer, else every 500 ms: a
    // second answer, once the connection to the leader is up, gets it at once instead of after
    // a timer period, so that the limit is not slowed by a startup artefact.
    producer.client().fetch_metadata(Some(topic), Duration::from_secs(20)).expect("metadata");
    std::thread::sleep(Duration::from_millis(10));
    producer.client().fetch_metadata(Some(topic), Duration::from_secs(20)).expect("metadata");
    let mut v = Vec::with_capacity(VALUE_SIZE);
    for i in 0..records {
        value(i, &mut v);
        let key = format!("key-{i:09}");
        let seq = i.to_string();
        let headers =
            OwnedHeaders::new_with_capacity(1).insert(Header { key: "seq", value: Some(seq.as_bytes()) });
        let mut record = BaseRecord::to(topic)
            .partition((i % partitions as u64) as i32)
            .key(key.as_bytes())
            .payload(v.as_slice())
            .headers(headers)
            .timestamp(BASE_TS + i as i64);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    producer.poll(Duration::from_millis(5));
                }
                Err((e, _)) => panic!("producing: {e}"),
            }
        }
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(300)).expect("flush");
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    println!(
        "{{\"records\":{records},\"seconds\":{secs:.3},\"cpu_seconds\":{cpu:.2},\"records_per_s\":{:.0}}}",
        records as f64 / secs
    );
}

fn count(bootstrap: &str, topic: &str) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "bench-seed-count")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("fetch.wait.max.ms", "10")
        .create()
        .expect("consumer");
    let md = consumer.fetch_metadata(Some(topic), Duration::from_secs(20)).expect("metadata");
    let partitions: Vec<i32> = md.topics()[0].partitions().iter().map(|p| p.id()).collect();
    let mut tpl = TopicPartitionList::new();
    for p in &partitions {
        tpl.add_partition_offset(topic, *p, Offset::Beginning).expect("partition");
    }
    consumer.assign(&tpl).expect("assign");
    let mut at_end = vec![false; partitions.len()];
    let (mut records, mut with_headers, mut seeded_ts) = (0u64, 0u64, 0u64);
    let mut last_progress = Instant::now();
    while !at_end.iter().all(|e| *e) {
        assert!(last_progress.elapsed() < Duration::from_secs(30), "no progress reading {topic}");
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                last_progress = Instant::now();
                at_end[m.partition() as usize] = false;
                records += 1;
                if m.headers().is_some_and(|h| h.count() > 0) {
                    with_headers += 1;
                }
                if let Timestamp::CreateTime(t) = m.timestamp()
                    && (BASE_TS..BASE_TS + 1_000_000_000).contains(&t)
                {
                    seeded_ts += 1;
                }
            }
            Some(Err(KafkaError::PartitionEOF(p))) => {
                last_progress = Instant::now();
                at_end[p as usize] = true;
            }
            Some(Err(e)) => panic!("reading {topic}: {e}"),
            None => {}
        }
    }
    println!("{{\"records\":{records},\"with_headers\":{with_headers},\"seeded_timestamps\":{seeded_ts}}}");
}
