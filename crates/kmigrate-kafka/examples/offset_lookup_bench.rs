//! Offset lookups at scale: requests per broker per lookup.
//!
//! Creates 200 topics × 10 partitions (2,000 partitions), produces 5 records to each partition, then
//! resolves earliest, latest and by-time offsets for all 2,000 partitions and prints, per lookup, the
//! requests librdkafka sent to each broker (from its statistics) and the wall time.
//!
//!     cargo run -p kmigrate-kafka --example offset_lookup_bench
//!
//! Runs against a tansu broker it starts (SQLite engine: the memory engine's offset answers are wrong), or
//! against the cluster in KMIGRATE_TEST_SOURCE (with KMIGRATE_TEST_SOURCE_PROPERTIES) if set. Arguments:
//! `[topics] [partitions per topic]` (default 200 10).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kmigrate_kafka::{Cluster, ConnectOptions, RequestStats, TopicPartition};
use kmigrate_testkit::{Engine, SeedRecord, TestCluster, produce_with, unique};

const RECORDS_PER_PARTITION: usize = 5;

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("a number")).collect();
    let topics_n = args.first().copied().unwrap_or(200);
    let partitions_n = args.get(1).copied().unwrap_or(10) as i32;

    let cluster = TestCluster::start("source", Engine::Sqlite);
    let where_ = if cluster.is_tansu() {
        format!("tansu {} (SQLite engine) at {}", kmigrate_testkit::TANSU_VERSION, cluster.bootstrap())
    } else {
        format!("cluster at {}", cluster.bootstrap())
    };
    println!("broker: {where_}");

    let prefix = unique("bench");
    let topics: Vec<String> = (0..topics_n).map(|i| format!("{prefix}-{i:03}")).collect();
    let started = Instant::now();
    for chunk in topics.chunks(50) {
        cluster.create_topics(chunk, partitions_n, &[]).await;
    }
    println!("created {topics_n} topics × {partitions_n} partitions in {:.1?}", started.elapsed());

    // Records at 1_000_000 + i*1000 ms, so that T = 1_002_500 falls in the middle of each partition.
    let started = Instant::now();
    let producer = cluster.producer();
    for t in &topics {
        let records: Vec<SeedRecord> = (0..partitions_n)
            .flat_map(|p| {
                (0..RECORDS_PER_PARTITION).map(move |i| {
                    SeedRecord::new(p).value(format!("v{i}")).timestamp(1_000_000 + i as i64 * 1_000)
                })
            })
            .collect();
        produce_with(&producer, t, &records).await;
    }
    println!(
        "produced {} records in {:.1?}",
        topics_n * partitions_n as usize * RECORDS_PER_PARTITION,
        started.elapsed()
    );

    let partitions: Vec<TopicPartition> = topics
        .iter()
        .flat_map(|t| (0..partitions_n).map(move |p| TopicPartition::new(t.as_str(), p)))
        .collect();
    let k = Cluster::connect_with(
        cluster.config(),
        ConnectOptions::new(Duration::from_secs(10)).statistics_interval(Duration::from_millis(100)),
    )
    .await
    .expect("connecting");
    let md = k.metadata().await.expect("metadata");
    let mut leaders: BTreeMap<i32, usize> = BTreeMap::new();
    for p in &partitions {
        let leader = md.topics[&p.topic].partitions[p.partition as usize].leader;
        *leaders.entry(leader).or_default() += 1;
    }
    println!("{} partitions; partitions led per broker: {leaders:?}", partitions.len());
    println!();
    println!("| lookup | wall time | ListOffsets requests per broker | Metadata requests per broker |");
    println!("|---|---|---|---|");

    let stats = || async { k.fresh_request_stats(Duration::from_secs(10)).await.expect("statistics") };
    let report = |name: &str, elapsed: Duration, before: &RequestStats, after: &RequestStats| {
        let d = after.since(before);
        let fmt = |api: &str| {
            d.per_node(api)
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(node, n)| format!("broker {node}: {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!("| {name} | {elapsed:.0?} | {} | {} |", fmt("ListOffsets"), fmt("Metadata"));
    };

    let before = stats().await;
    let t0 = Instant::now();
    let earliest = k.earliest_offsets(&partitions).await.expect("earliest");
    let e = t0.elapsed();
    report("earliest", e, &before, &stats().await);
    assert!(earliest.values().all(|o| *o == 0));

    let before = stats().await;
    let t0 = Instant::now();
    let latest = k.latest_offsets(&partitions).await.expect("latest");
    let e = t0.elapsed();
    report("latest", e, &before, &stats().await);
    assert!(latest.values().all(|o| *o == RECORDS_PER_PARTITION as i64));

    let before = stats().await;
    let t0 = Instant::now();
    let by_time = k.offsets_for_time(&partitions, 1_002_500).await.expect("by time");
    let e = t0.elapsed();
    report("by time (T inside the data)", e, &before, &stats().await);
    assert!(by_time.values().all(|o| *o == kmigrate_kafka::TimeOffset::At(3)), "{by_time:?}");

    let before = stats().await;
    let t0 = Instant::now();
    let before_all = k.offsets_for_time(&partitions, 0).await.expect("by time");
    let e = t0.elapsed();
    report("by time (T before every record)", e, &before, &stats().await);
    assert!(before_all.values().all(|o| *o == kmigrate_kafka::TimeOffset::At(0)));

    let before = stats().await;
    let t0 = Instant::now();
    let after_end = k.offsets_for_time(&partitions, 9_000_000).await.expect("by time");
    let e = t0.elapsed();
    report("by time (T after the last record)", e, &before, &stats().await);
    assert!(after_end.values().all(|o| matches!(o, kmigrate_kafka::TimeOffset::End(5))));
}
