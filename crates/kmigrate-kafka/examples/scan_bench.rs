//! How fast kmigrate's generic scan (`Cluster::scan_partition`: verify's full comparison and its
//! read of what the copy did not fold, reconciliation, MirrorMaker 2's translation) and its
//! stream (`Cluster::stream_partition`: alignment) read a topic: every partition at once, to its
//! end, each record's digest taken as verify does.
//!
//!     scan_bench BOOTSTRAP TOPIC [scan|stream]
//!
//! Prints one JSON line: records, seconds, records/s and the process's CPU seconds.
//! (BENCHMARKS.md, "Scanning a topic"; seed the topic with `bench_seed produce`.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kmigrate_kafka::{Cluster, ClusterConfig, TopicPartition};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(bootstrap), Some(topic)) = (args.first(), args.get(1)) else {
        eprintln!("usage: scan_bench BOOTSTRAP TOPIC [scan|stream]");
        std::process::exit(64)
    };
    let mode: &'static str = if args.get(2).is_some_and(|m| m == "stream") { "stream" } else { "scan" };
    let cluster = Cluster::connect(ClusterConfig::new("bench", bootstrap.as_str()), Duration::from_secs(20))
        .await
        .expect("connecting");
    let md = cluster.metadata().await.expect("metadata");
    let partitions: Vec<TopicPartition> = md.topics[topic.as_str()]
        .partitions
        .iter()
        .map(|p| TopicPartition::new(topic.as_str(), p.id))
        .collect();
    let ends = cluster.watermarks(&partitions).await.expect("watermarks");
    let (cpu0, started) = (cpu_seconds(), Instant::now());
    let records = Arc::new(AtomicU64::new(0));
    let digests = Arc::new(AtomicU64::new(0));
    let mut reads = Vec::new();
    for p in partitions {
        let w = ends[&p];
        let (cluster, records, digests) = (cluster.clone(), records.clone(), digests.clone());
        reads.push(tokio::spawn(async move {
            match mode {
                "stream" => {
                    let mut stream = cluster.stream_partition(&p, w.earliest, 1024, Duration::from_secs(30));
                    while let Some(r) = stream.next().await.expect("streaming") {
                        if r.offset >= w.latest {
                            break;
                        }
                        records.fetch_add(1, Ordering::Relaxed);
                        digests.fetch_xor(r.digest(), Ordering::Relaxed);
                    }
                }
                _ => cluster
                    .scan_partition(&p, w.earliest, Some(w.latest), Duration::from_secs(30), move |r| {
                        records.fetch_add(1, Ordering::Relaxed);
                        digests.fetch_xor(r.digest(), Ordering::Relaxed);
                        true
                    })
                    .await
                    .expect("scanning"),
            }
        }));
    }
    for r in reads {
        r.await.expect("reader");
    }
    let secs = started.elapsed().as_secs_f64();
    let n = records.load(Ordering::Relaxed);
    println!(
        "{{\"mode\":\"{mode}\",\"records\":{n},\"seconds\":{secs:.3},\"records_per_s\":{:.0},\"cpu_seconds\":{:.2}}}",
        n as f64 / secs,
        cpu_seconds() - cpu0
    );
}

/// This process's CPU seconds (user + system), from /proc.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(") ").map_or("", |(_, rest)| rest).split(' ').collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of /proc/PID/stat; the clock tick is 100 Hz on Linux.
    (ticks(11) + ticks(12)) / 100.0
}
