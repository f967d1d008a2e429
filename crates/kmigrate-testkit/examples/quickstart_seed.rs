//! Seeds the quickstart's local brokers (used by examples/quickstart.sh):
//!
//!     quickstart_seed old BOOTSTRAP     # topics orders (3 partitions) and payments (2) with 1,000
//!                                       # records each, and group `billing` drained to the end
//!     quickstart_seed new BOOTSTRAP N   # N new records per partition, as switched producers write
//!     quickstart_seed show BOOTSTRAP GROUP   # the group's committed offsets and end offsets

use std::time::{SystemTime, UNIX_EPOCH};

use kmigrate_kafka::{Cluster, ClusterConfig, TopicPartition};
use kmigrate_testkit::SeedRecord;
use rdkafka::config::ClientConfig;
use rdkafka::producer::FutureProducer;

const TOPICS: [(&str, i32); 2] = [("orders", 3), ("payments", 2)];

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

fn records(partition: i32, prefix: &str, n: usize, base_ms: i64) -> Vec<SeedRecord> {
    (0..n)
        .map(|i| {
            SeedRecord::new(partition)
                .key(format!("customer-{}", i % 97))
                .value(format!("{{\"{prefix}\": {i}, \"amount\": {}}}", (i * 37) % 1000))
                .header("source", "quickstart")
                .timestamp(base_ms + i as i64 * 10)
        })
        .collect()
}

fn partitions() -> Vec<TopicPartition> {
    TOPICS.iter().flat_map(|(t, n)| (0..*n).map(move |p| TopicPartition::new(*t, p))).collect()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, bootstrap) = match args.as_slice() {
        [mode, bootstrap, ..] => (mode.as_str(), bootstrap.as_str()),
        _ => {
            eprintln!("usage: quickstart_seed old|new|show BOOTSTRAP [N|GROUP]");
            std::process::exit(64);
        }
    };
    let cluster =
        Cluster::connect(ClusterConfig::new("quickstart", bootstrap), std::time::Duration::from_secs(20))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "5")
        .create()
        .expect("producer");
    match mode {
        "old" => {
            let specs: Vec<_> =
                TOPICS.iter().map(|(t, n)| kmigrate_kafka::NewTopicSpec::new(*t, *n)).collect();
            cluster.create_topics(&specs).await.unwrap_or_else(|e| panic!("{e}"));
            let base = now_ms() - 3_600_000;
            for (topic, n) in TOPICS {
                for p in 0..n {
                    kmigrate_testkit::produce_with(&producer, topic, &records(p, "old", 1_000, base)).await;
                }
            }
            // billing has consumed everything (drained); analytics keeps its offsets itself.
            let ends = cluster.latest_offsets(&partitions()).await.unwrap_or_else(|e| panic!("{e}"));
            cluster.commit_offsets("billing", &ends).await.unwrap_or_else(|e| panic!("{e}"));
            println!(
                "seeded orders (3 partitions) and payments (2) with 1,000 records each; group billing drained"
            );
        }
        "new" => {
            let n: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(5);
            for (topic, parts) in TOPICS {
                for p in 0..parts {
                    kmigrate_testkit::produce_with(&producer, topic, &records(p, "new", n, now_ms())).await;
                }
            }
            println!("produced {n} new records per partition to {bootstrap}");
        }
        "show" => {
            let group = args.get(2).map(String::as_str).unwrap_or("billing");
            let parts = partitions();
            let committed = cluster.committed_offsets(group, &parts).await.unwrap_or_else(|e| panic!("{e}"));
            let ends = cluster.latest_offsets(&parts).await.unwrap_or_else(|e| panic!("{e}"));
            println!("group {group} on {bootstrap}:");
            for p in &parts {
                let c = committed[p].map_or("none".to_string(), |o| o.to_string());
                println!(
                    "  {:<12} committed {c:>6}   end {:>6}   to read {}",
                    p.to_string(),
                    ends[p],
                    committed[p].map_or(0, |o| ends[p] - o)
                );
            }
        }
        other => {
            eprintln!("unknown mode {other}");
            std::process::exit(64);
        }
    }
}
