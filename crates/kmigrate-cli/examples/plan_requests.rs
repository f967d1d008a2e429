//! The measurement of BENCHMARKS.md ("kmigrate plan: requests per broker"): the requests `kmigrate
//! plan`'s two clients send to each broker for TOPICS topics of 1 partition and of PARTITIONS
//! partitions, with GROUPS strict groups reading every topic (default 200, 10 and 50). On brokers
//! the testkit starts (one per cluster) the counts must be the same for both shapes; the example
//! fails otherwise. Slow to seed, so not part of `cargo test` (whose
//! `plan_requests_per_broker_do_not_grow_with_partitions` checks 8 topics of 1 and 6 partitions):
//!
//!     cargo run -p kmigrate-cli --example plan_requests [TOPICS PARTITIONS GROUPS]
//!
//! Brokers as for the tests: Apache Kafka (`KMIGRATE_KAFKA_HOME`), tansu with
//! `KMIGRATE_TEST_BROKER=tansu`, or the pair named by `KMIGRATE_TEST_SOURCE` / `KMIGRATE_TEST_TARGET`.

#[path = "../tests/requests/mod.rs"]
mod requests;

use std::path::{Path, PathBuf};

use kmigrate_testkit::{BrokerPair, Engine, TestCluster};
use requests::{Seeding, count_requests, seed_for_requests, table};

struct Run {
    pair: BrokerPair,
    dir: tempfile::TempDir,
    id: String,
}

impl Seeding for Run {
    fn source(&self) -> &TestCluster {
        &self.pair.source
    }
    fn target(&self) -> &TestCluster {
        &self.pair.target
    }
    fn name(&self, name: &str) -> String {
        format!("{name}-{}", self.id)
    }
    fn dir(&self) -> &Path {
        self.dir.path()
    }
    fn write_plan(&self, file: &str, name: &str, body: &str) -> PathBuf {
        let yaml = format!(
            "version: 1\nname: {name}\nsource:\n  bootstrap_servers: \"{}\"\ntarget:\n  bootstrap_servers: \"{}\"\n{body}",
            self.pair.source.bootstrap(),
            self.pair.target.bootstrap(),
        );
        let path = self.dir.path().join(file);
        std::fs::write(&path, yaml).expect("the plan is written");
        path
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> std::process::ExitCode {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("a number")).collect();
    let arg = |i: usize, default: usize| args.get(i).copied().unwrap_or(default);
    let (topics, partitions, groups) = (arg(0, 200), arg(1, 10), arg(2, 50));
    let run = Run {
        pair: BrokerPair::start(Engine::Sqlite),
        dir: tempfile::tempdir().expect("a temporary directory"),
        id: kmigrate_testkit::unique("req"),
    };
    let started = std::time::Instant::now();
    let one = seed_for_requests(&run, "one", topics, 1, groups).await;
    let many = seed_for_requests(&run, "many", topics, partitions as i32, groups).await;
    println!("seeded in {:?}", started.elapsed());
    let (small, t1) = count_requests(&run, &one).await;
    let (large, tn) = count_requests(&run, &many).await;
    println!("{topics} topics x 1 partition, {groups} groups ({t1:?}):\n{}", table(&small));
    println!("{topics} topics x {partitions} partitions, {groups} groups ({tn:?}):\n{}", table(&large));
    if !kmigrate_testkit::external_clusters() && small != large {
        eprintln!("requests per broker changed with the partition count");
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}
