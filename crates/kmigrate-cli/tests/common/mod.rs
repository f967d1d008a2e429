//! Shared scaffolding of the end-to-end tests: two real brokers (the test binary's Apache Kafka
//! pair; tansu with KMIGRATE_TEST_BROKER=tansu; the Kafka pair named by KMIGRATE_TEST_SOURCE /
//! KMIGRATE_TEST_TARGET), a plan written for them, and the `kmigrate` binary run as a user would.
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
    /// The selected brokers (see the module documentation); on tansu, its SQLite engine: its
    /// committed offsets, end offsets and by-time answers are right (its memory engine's are not),
    /// which every strategy row depends on.
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

    /// `n` records per partition on the target with timestamps `ts_ms + i` (values
    /// `<label>-<p>-<i>`), creating the topic if it is not there yet: records already on the target
    /// before the switch, older than the cutover time.
    pub async fn seed_target_before_t(&self, label: &str, n: usize, ts_ms: i64) {
        self.seed_before_t(self.target(), label, n, ts_ms).await
    }

    /// [`Scenario::seed_target_before_t`] on either cluster.
    pub async fn seed_before_t(&self, cluster: &TestCluster, label: &str, n: usize, ts_ms: i64) {
        let exists = cluster.connect().await.topics(&[&self.topic]).await.is_ok();
        if !exists {
            cluster.create_topic(&self.topic, PARTITIONS).await;
        }
        for p in 0..PARTITIONS {
            let records: Vec<SeedRecord> = (0..n)
                .map(|i| {
                    SeedRecord::new(p)
                        .key(format!("e{i}"))
                        .value(format!("{label}-{p}-{i}"))
                        .timestamp(ts_ms + i as i64)
                })
                .collect();
            cluster.produce(&self.topic, &records).await;
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

/// An apply running in the background (for kills and concurrency).
pub struct Background {
    pub child: std::process::Child,
}

impl Background {
    pub fn start(cwd: &Path, args: &[&str]) -> Background {
        let child = Command::new(env!("CARGO_BIN_EXE_kmigrate"))
            .args(args)
            .current_dir(cwd)
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .stdout(log_file(cwd, "stdout"))
            .stderr(log_file(cwd, "stderr"))
            .spawn()
            .expect("starting kmigrate");
        Background { child }
    }

    /// SIGKILL: no chance to clean up, as with a crash or an OOM kill.
    pub fn kill9(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaping");
    }
}

/// Background applies write their output beside the plan (`apply-<n>.stdout`), for post-mortems.
fn log_file(cwd: &Path, stream: &str) -> std::fs::File {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::fs::File::create(cwd.join(format!("apply-{n}.{stream}"))).expect("log file")
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The state of the plan `e2e`, if written yet: the state file with its journal replayed, as
/// apply reads it (while an apply runs, or after a kill, the journal holds the latest step
/// transitions). Written back to the state file, it replaces both (it names no journal).
pub fn read_state(dir: &Path) -> Option<serde_json::Value> {
    let state = kmigrate_migration::StateStore::new(dir.join(".kmigrate"), "e2e")
        .load::<kmigrate_migration::Migration>()
        .ok()??;
    serde_json::to_value(state).ok()
}

/// A step's status in the state file ("pending" when absent).
pub fn step_status(dir: &Path, step: &str) -> String {
    read_state(dir)
        .and_then(|s| s["steps"][step]["status"].as_str().map(str::to_string))
        .unwrap_or_else(|| "pending".into())
}

/// Polls `cond` every 20 ms for at most `secs` seconds.
pub fn wait_until(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
}

/// Every record of a partition, read until the end the fetch reports (works on tansu's memory
/// engine, whose ListOffsets answers are wrong).
pub async fn read_all(cluster: &TestCluster, topic: &str, partition: i32) -> Vec<kmigrate_kafka::RecordData> {
    let (tx, rx) = std::sync::mpsc::channel();
    cluster
        .connect()
        .await
        .scan_partition(
            &TopicPartition::new(topic, partition),
            0,
            None,
            std::time::Duration::from_secs(30),
            move |r| tx.send(r).is_ok(),
        )
        .await
        .unwrap();
    rx.into_iter().collect()
}

impl Background {
    /// SIGINT, as Ctrl-C: apply stops its steps at a safe point and exits paused.
    pub fn interrupt(mut self) -> Option<i32> {
        // SAFETY: sending a signal to our own child process.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        self.child.wait().expect("reaping").code()
    }

    /// Waits for the process to exit by itself.
    pub fn wait(mut self) -> Option<i32> {
        self.child.wait().expect("reaping").code()
    }
}

/// Prints the output files of background applies (for a failing test's log).
pub fn dump_logs(dir: &Path) {
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for p in files.iter().filter(|p| p.extension().is_some_and(|x| x == "stdout" || x == "stderr")) {
        println!("== {}:\n{}", p.display(), std::fs::read_to_string(p).unwrap_or_default());
    }
}

/// How many records the copy step `step` has checkpointed (0 before it saved anything).
pub fn copied(dir: &Path, step: &str) -> u64 {
    read_state(dir)
        .and_then(|st| {
            let parts = st["steps"][step]["outputs"]["partitions"].as_object()?.clone();
            Some(
                parts
                    .values()
                    .map(|p| {
                        p["runs"].as_array().unwrap().iter().map(|r| r[2].as_u64().unwrap()).sum::<u64>()
                    })
                    .sum(),
            )
        })
        .unwrap_or(0)
}

/// Every file under `dir` but the plan, concatenated (state, lock leftovers, exports): what a
/// secret must never appear in.
pub fn all_files(dir: &Path) -> String {
    let mut text = String::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else if p.file_name().is_some_and(|n| n != "plan.yaml") {
                text.push_str(&String::from_utf8_lossy(&std::fs::read(&p).unwrap()));
            }
        }
    }
    text
}

/// `n` records on each partition `0..partitions`: keys `k<i>`, values `<label>-<p>-<i>`, timestamps
/// `ts + i * step_ms`.
pub async fn seed_values(
    c: &TestCluster,
    topic: &str,
    partitions: i32,
    n: usize,
    label: &str,
    ts: i64,
    step_ms: i64,
) {
    for p in 0..partitions {
        let records: Vec<SeedRecord> = (0..n)
            .map(|i| {
                SeedRecord::new(p)
                    .key(format!("k{i}"))
                    .value(format!("{label}-{p}-{i}"))
                    .timestamp(ts + step_ms * i as i64)
            })
            .collect();
        c.produce(topic, &records).await;
    }
}

/// Writes `plan.yaml` into `dir`: `topics` copied by kmigrate from `source` (with the property lines
/// `source_properties`, if any) to `target`; `sync_extra` more keys of `sync:`, `rest` the YAML after
/// it (cutover, consumers). Returns its path.
pub fn write_copy_plan(
    dir: &Path,
    source: &TestCluster,
    target: &TestCluster,
    topics: &[&str],
    source_properties: &str,
    sync_extra: &str,
    rest: &str,
) -> String {
    let list: String = topics.iter().map(|t| format!("  - {t}\n")).collect();
    let props = if source_properties.is_empty() {
        String::new()
    } else {
        format!("  properties:\n{source_properties}")
    };
    let yaml = format!(
        "version: 1\nname: e2e\nsource:\n  bootstrap_servers: \"{}\"\n{props}target:\n  bootstrap_servers: \"{}\"\ntopics:\n{list}data: synced\nsync:\n  by: kmigrate\n{sync_extra}{rest}",
        source.bootstrap(),
        target.bootstrap()
    );
    let path = dir.join("plan.yaml");
    std::fs::write(&path, yaml).unwrap();
    path.to_str().unwrap().to_string()
}

/// The values of `records`, as text.
pub fn values_of(records: &[kmigrate_kafka::RecordData]) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned())
        .collect()
}

/// The target holds exactly the source's committed records of `partition`, in order, each once
/// (key, value, headers and timestamp). Returns how many.
pub async fn assert_exact(source: &TestCluster, target: &TestCluster, topic: &str, partition: i32) -> usize {
    let (a, b) = (read_all(source, topic, partition).await, read_all(target, topic, partition).await);
    assert_eq!(
        values_of(&b),
        values_of(&a),
        "{topic}/{partition}: the target holds the source's records, once each"
    );
    for (x, y) in a.iter().zip(&b) {
        assert!(
            x.same_content(y, kmigrate_kafka::Fields::All),
            "{topic}/{partition}: source {} vs target {}",
            x.offset,
            y.offset
        );
    }
    a.len()
}
