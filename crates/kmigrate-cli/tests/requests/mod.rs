//! Counting the requests `kmigrate plan` sends to each broker: shared by the plan test that
//! asserts they do not grow with the partition count (`tests/plan.rs`) and the measurement at
//! scale of BENCHMARKS.md (`examples/plan_requests.rs`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use kmigrate_testkit::{SeedRecord, TestCluster};

/// The cutover of the seeded plans: 2026-01-01T00:00:00Z, in ms.
const T_MS: i64 = 1_767_225_600_000;
const HOUR: i64 = 3_600_000;

/// Two seeded clusters, a directory for plans, and this run's names.
pub trait Seeding {
    fn source(&self) -> &TestCluster;
    fn target(&self) -> &TestCluster;
    /// `orders` → this run's name for it.
    fn name(&self, name: &str) -> String;
    fn dir(&self) -> &Path;
    /// Writes a plan for these clusters: `body` is everything after them.
    fn write_plan(&self, file: &str, name: &str, body: &str) -> PathBuf;
}

/// Requests sent by `plan`'s two clients, by cluster, protocol API and broker node id.
pub type Requests = std::collections::BTreeMap<(String, String, i32), u64>;

/// Seeds `topics` topics of `partitions` partitions on both clusters (one old record per
/// partition, as an external tool would have copied it) and `groups` strict groups reading every
/// topic; writes the plan (data synced externally, cutover passed: by-time lookups happen).
pub async fn seed_for_requests(
    s: &impl Seeding,
    label: &str,
    topics: usize,
    partitions: i32,
    groups: usize,
) -> PathBuf {
    let names: Vec<String> = (0..topics).map(|i| s.name(&format!("{label}{i:03}"))).collect();
    for c in [s.source(), s.target()] {
        for chunk in names.chunks(50) {
            c.create_topics(chunk, partitions, &[]).await;
        }
        let producer = c.producer();
        for t in &names {
            let records: Vec<SeedRecord> = (0..partitions)
                .map(|p| SeedRecord::new(p).key("k").value("old").timestamp(T_MS - HOUR))
                .collect();
            kmigrate_testkit::produce_with(&producer, t, &records).await;
        }
    }
    let mut yaml = String::from("topics:\n");
    for t in &names {
        yaml.push_str(&format!("  - {t}\n"));
    }
    yaml.push_str("data: synced\nsync: { by: external }\ncutover:\n  at: \"2026-01-01T00:00:00Z\"\nconsumers:\n  defaults: { offsets: broker-managed, loss: strict }\n  groups:\n");
    for g in 0..groups {
        let group = s.name(&format!("{label}-group{g:02}"));
        // One committed partition per topic: the group reads every topic.
        let offsets: Vec<(&str, i32, i64)> = names.iter().map(|t| (t.as_str(), 0, 1)).collect();
        s.source().commit_group_offsets(&group, &offsets).await;
        yaml.push_str(&format!("    - id: {group}\n"));
    }
    s.write_plan(&format!("{label}.yaml"), label, &yaml)
}

/// Runs the preview once, with clients that count their requests (librdkafka statistics).
pub async fn count_requests(s: &impl Seeding, plan_path: &Path) -> (Requests, std::time::Duration) {
    use kmigrate_kafka::{Cluster, ConnectOptions};
    use kmigrate_migration::preview::{PreviewInput, preview};
    let plan = kmigrate_plan::load(plan_path).unwrap().plan.unwrap();
    let options = ConnectOptions::new(std::time::Duration::from_secs(10))
        .statistics_interval(std::time::Duration::from_millis(50));
    // No KIP-714 telemetry requests: they come on librdkafka's schedule, not plan's.
    let config = |c: &TestCluster| c.config().with_property("enable.metrics.push", "false");
    let source = Cluster::connect_with(config(s.source()), options.clone()).await.unwrap();
    let target = Cluster::connect_with(config(s.target()), options).await.unwrap();
    // Open the connections to the brokers (not only the bootstrap one) before counting.
    for c in [&source, &target] {
        c.metadata().await.unwrap();
    }
    let stats = |c: &Cluster| {
        let c = c.clone();
        async move { c.fresh_request_stats(std::time::Duration::from_secs(5)).await.expect("statistics") }
    };
    let before = (stats(&source).await, stats(&target).await);
    let input = PreviewInput { plan: &plan, plan_dir: s.dir(), state: None, now: chrono::Utc::now() };
    let started = std::time::Instant::now();
    let preview = preview(&input, Some((&source, &target))).await.unwrap();
    let took = started.elapsed();
    assert_eq!(preview.summary.impossible, 0, "{:#?}", preview.steps.iter().find(|s| !s.problems.is_empty()));
    let after = (stats(&source).await, stats(&target).await);
    let mut out = Requests::new();
    for (label, a, b) in [("source", &after.0, &before.0), ("target", &after.1, &before.1)] {
        let sent = a.since(b);
        let apis: std::collections::BTreeSet<&String> =
            sent.brokers.values().flat_map(|br| br.requests.keys()).collect();
        // Connection housekeeping (a broker connection opened or re-opened) is not plan's doing.
        for api in apis.into_iter().filter(|a| !HOUSEKEEPING.contains(&a.as_str())) {
            for (node, n) in sent.per_node(api) {
                if n > 0 {
                    out.insert((label.to_string(), api.clone(), node), n);
                }
            }
        }
    }
    (out, took)
}

const HOUSEKEEPING: [&str; 5] =
    ["ApiVersion", "SaslHandshake", "SaslAuthenticate", "GetTelemetrySubscriptions", "PushTelemetry"];

pub fn table(r: &Requests) -> String {
    r.iter().map(|((c, api, node), n)| format!("{c:<7} broker {node:>2}  {api:<22} {n}\n")).collect()
}
