//! Shared scaffolding of the end-to-end tests: two real brokers (tansu, or the Kafka pair named
//! by KMIGRATE_TEST_SOURCE / KMIGRATE_TEST_TARGET), a plan written for them, and the `kmigrate`
//! binary run as a user would.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

use kmigrate_kafka::TopicPartition;
use kmigrate_testkit::{BrokerPair, Engine, SeedRecord, TestCluster, unique};

pub const PARTITIONS: i32 = 2;

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

pub struct Scenario {
    pub pair: BrokerPair,
    pub dir: tempfile::TempDir,
    pub topic: String,
    pub group: String,
    pub plan: PathBuf,
}

impl Scenario {
    /// Brokers on tansu's SQLite engine: its committed offsets, end offsets and by-time answers
    /// are right (its memory engine's are not), which every strategy row depends on.
    pub fn start() -> Scenario {
        Scenario {
            pair: BrokerPair::start(Engine::Sqlite),
            dir: tempfile::tempdir().unwrap(),
            topic: unique("orders"),
            group: unique("billing"),
            plan: PathBuf::new(),
        }
    }

    pub fn source(&self) -> &TestCluster {
        &self.pair.source
    }

    pub fn target(&self) -> &TestCluster {
        &self.pair.target
    }

    /// Writes the plan: `data_and_cutover` is the YAML of `data`, `sync` and `cutover`; `group`
    /// the group's extra keys.
    pub fn write_plan(&mut self, data_and_cutover: &str, group: &str) -> PathBuf {
        let yaml = format!(
            "version: 1\nname: e2e\nsource:\n  bootstrap_servers: \"{}\"\ntarget:\n  bootstrap_servers: \"{}\"\ntopics:\n  - {}\n{data_and_cutover}\nconsumers:\n  groups:\n    - id: {}\n{group}",
            self.source().bootstrap(),
            self.target().bootstrap(),
            self.topic,
            self.group
        );
        self.plan = self.dir.path().join("plan.yaml");
        std::fs::write(&self.plan, yaml).unwrap();
        self.plan.clone()
    }

    /// `n` records per partition with old timestamps (`base_ms + i`), values `old-<p>-<i>`.
    pub async fn seed_old(&self, n: usize, base_ms: i64) {
        self.source().create_topic(&self.topic, PARTITIONS).await;
        for p in 0..PARTITIONS {
            let records: Vec<SeedRecord> = (0..n)
                .map(|i| {
                    SeedRecord::new(p)
                        .key(format!("k{i}"))
                        .value(format!("old-{p}-{i}"))
                        .header("trace", format!("t{i}"))
                        .timestamp(base_ms + i as i64)
                })
                .collect();
            self.source().produce(&self.topic, &records).await;
        }
    }

    /// The group has consumed everything on the source (committed at the end).
    pub async fn drain_group_on_source(&self) {
        let ends = self.ends(self.source()).await;
        let offsets: Vec<(&str, i32, i64)> =
            ends.iter().map(|(p, o)| (self.topic.as_str(), p.partition, *o)).collect();
        self.source().commit_group_offsets(&self.group, &offsets).await;
    }

    /// Copies the source's records to the target as an external tool (MirrorMaker) would.
    pub async fn external_copy(&self) {
        self.target().create_topic(&self.topic, PARTITIONS).await;
        for p in 0..PARTITIONS {
            let end = self.ends(self.source()).await[&TopicPartition::new(self.topic.clone(), p)];
            let records: Vec<SeedRecord> = self
                .source()
                .consume(&self.topic, p, 0, end)
                .await
                .into_iter()
                .map(|r| {
                    let mut s = SeedRecord::new(p);
                    s.key = r.key;
                    s.value = r.value;
                    s.headers = r.headers;
                    s.timestamp = r.timestamp.to_millis();
                    s
                })
                .collect();
            self.target().produce(&self.topic, &records).await;
        }
    }

    /// Produces `n` records per partition to `cluster` as switched producers would (timestamp:
    /// now), values `<label>-<p>-<i>`.
    pub async fn produce_new(&self, cluster: &TestCluster, label: &str, n: usize) {
        for p in 0..PARTITIONS {
            let records: Vec<SeedRecord> = (0..n)
                .map(|i| SeedRecord::new(p).key(format!("n{i}")).value(format!("{label}-{p}-{i}")))
                .collect();
            cluster.produce(&self.topic, &records).await;
        }
    }

    pub async fn ends(&self, cluster: &TestCluster) -> std::collections::BTreeMap<TopicPartition, i64> {
        let parts: Vec<TopicPartition> =
            (0..PARTITIONS).map(|p| TopicPartition::new(self.topic.clone(), p)).collect();
        cluster.connect().await.latest_offsets(&parts).await.unwrap()
    }

    /// The group's committed offsets on the target.
    pub async fn committed_on_target(&self) -> Vec<(i32, i64)> {
        let parts: Vec<TopicPartition> =
            (0..PARTITIONS).map(|p| TopicPartition::new(self.topic.clone(), p)).collect();
        let c = self.target().connect().await.committed_offsets(&self.group, &parts).await.unwrap();
        c.into_iter()
            .map(|(p, o)| (p.partition, o.expect("an offset is committed for every partition")))
            .collect()
    }

    /// What a consumer starting at `starts` reads on the target: the values, per partition in order.
    pub async fn consume_from(&self, starts: &[(i32, i64)]) -> Vec<String> {
        let ends = self.ends(self.target()).await;
        let mut out = Vec::new();
        for (p, start) in starts {
            let end = ends[&TopicPartition::new(self.topic.clone(), *p)];
            for r in self.target().consume(&self.topic, *p, *start, end).await {
                out.push(String::from_utf8(r.value.unwrap_or_default()).unwrap());
            }
        }
        out
    }

    pub fn kmigrate(&self, args: &[&str]) -> Output {
        kmigrate(self.dir.path(), args)
    }
}

/// Runs the binary; prints its output (shown when a test fails).
pub fn kmigrate(cwd: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_kmigrate"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .output()
        .expect("running kmigrate");
    println!(
        "$ kmigrate {}\n--- exit {:?}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Values `<label>-<p>-<i>` for every partition, `i` in `range`.
pub fn expected(label: &str, range: std::ops::Range<usize>) -> Vec<String> {
    (0..PARTITIONS).flat_map(|p| range.clone().map(move |i| format!("{label}-{p}-{i}"))).collect()
}

pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}
