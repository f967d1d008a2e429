//! Broker and network faults during an apply (issue 13, item 2), on Apache Kafka brokers of each
//! test's own: the target, then the source, killed and restarted on the same storage mid-copy and
//! at the offsets step; a broker that keeps its connections but never answers (its JVM stopped with
//! SIGSTOP); the network to a broker cut and blackholed through the testkit's TCP proxy. In each
//! case apply either rides the fault out within its timeouts, or stops with an error naming the
//! cluster; either way the (re-)run ends with the target holding exactly the source's records and
//! every strict group committed exactly where it was on the source.
//!
//! Faults at the offsets step are injected at the step's start: the test stops `kmigrate` itself
//! (SIGSTOP) as soon as it reports the step started, breaks the broker or the network, and lets it
//! go on (SIGCONT), so the step always meets the fault.

mod common;

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use kmigrate_kafka::TopicPartition;
use kmigrate_testkit::{Engine, KafkaOptions, SeedRecord, TestCluster, unique};

const PARTITIONS: i32 = 2;

/// Where the group stands on the source: the strict group's committed offsets.
const COMMITTED: [i64; 2] = [600, 700];

/// One migration's topic and strict group.
struct Case {
    topic: String,
    group: String,
}

impl Case {
    /// Creates the topic on `source` with 1,000 records per partition, and the group's commits.
    async fn seed(source: &TestCluster, label: &str) -> Case {
        let case = Case { topic: unique(label), group: unique(&format!("{label}-g")) };
        source.create_topic(&case.topic, PARTITIONS).await;
        case.produce(source, 0..1000).await;
        let commits: Vec<(&str, i32, i64)> =
            (0..PARTITIONS).map(|p| (case.topic.as_str(), p, COMMITTED[p as usize])).collect();
        source.commit_group_offsets(&case.group, &commits).await;
        case
    }

    /// Records `range` in every partition (the testkit's own client, on the broker's internal
    /// listener: not through a proxy).
    async fn produce(&self, source: &TestCluster, range: std::ops::Range<usize>) {
        let ts = now_ms() - 3_600_000;
        for p in 0..PARTITIONS {
            let records: Vec<SeedRecord> = range
                .clone()
                .map(|i| {
                    SeedRecord::new(p)
                        .key(format!("k{i}"))
                        .value(format!("{p}-{i}"))
                        .header("n", format!("{i}"))
                        .timestamp(ts + i as i64)
                })
                .collect();
            source.produce(&self.topic, &records).await;
        }
    }

    /// A plan copying the topic with a cutover `cutover_in` from now, the group strict.
    fn write_plan(&self, dir: &Path, source: &TestCluster, target: &TestCluster, cutover_in: i64) -> String {
        let at = chrono::DateTime::from_timestamp_millis(now_ms() + cutover_in * 1000).unwrap().to_rfc3339();
        let rest = format!(
            "cutover:\n  at: \"{at}\"\nconsumers:\n  defaults: {{ loss: strict }}\n  groups:\n    - id: {}\n      drain: false\n",
            self.group
        );
        write_copy_plan(dir, source, target, &[&self.topic], "", "", &rest)
    }

    /// The target holds exactly the source's records, and the group is committed on the target
    /// where it was on the source (the copy keeps offsets: the topic was new on both).
    async fn assert_migrated(&self, source: &TestCluster, target: &TestCluster, records: usize) {
        for p in 0..PARTITIONS {
            assert_eq!(assert_exact(source, target, &self.topic, p).await, records, "partition {p}");
        }
        let parts: Vec<TopicPartition> =
            (0..PARTITIONS).map(|p| TopicPartition::new(self.topic.clone(), p)).collect();
        let committed = target.connect().await.committed_offsets(&self.group, &parts).await.unwrap();
        let got: Vec<Option<i64>> = committed.into_values().collect();
        assert_eq!(got, COMMITTED.map(Some).to_vec(), "the strict group starts exactly where it stopped");
    }
}

/// A running `kmigrate ... --output json` whose step events a test reacts to.
struct Watched {
    dir: std::path::PathBuf,
    child: std::process::Child,
    events: std::sync::mpsc::Receiver<(String, String)>,
}

impl Watched {
    fn start(dir: &Path, args: &[&str]) -> Watched {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut child = Command::new(env!("CARGO_BIN_EXE_kmigrate"))
            .args(args)
            .args(["--output", "json"])
            .current_dir(dir)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join(format!("faults-{n}.stderr"))).unwrap())
            .spawn()
            .expect("starting kmigrate");
        let stdout = child.stdout.take().unwrap();
        let (tx, events) = std::sync::mpsc::channel();
        let log = dir.join(format!("faults-{n}.stdout"));
        std::thread::spawn(move || {
            let mut text = String::new();
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(e) = serde_json::from_str::<serde_json::Value>(&line)
                    && let (Some(event), Some(step)) = (e["event"].as_str(), e["step"].as_str())
                {
                    let _ = tx.send((event.to_string(), step.to_string()));
                }
                text.push_str(&line);
                text.push('\n');
                // Written as it comes, so that a test that fails mid-way shows it.
                let _ = std::fs::write(&log, &text);
            }
        });
        Watched { dir: dir.to_path_buf(), child, events }
    }

    /// Waits for `event` of a step of kind `kind` (`offsets`, `copy`, ...), at most `secs`; fails
    /// with apply's output if apply exited first or the time ran out.
    fn wait_for(&mut self, event: &str, kind: &str, secs: u64) {
        if self.next(event, kind, secs).is_none() {
            dump_logs(&self.dir);
            panic!("apply did not report {event} of a {kind} step within {secs} s");
        }
    }

    fn next(&mut self, event: &str, kind: &str, secs: u64) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            match self.events.recv_timeout(Duration::from_millis(100)) {
                Ok((e, step)) if e == event && step.split(':').next() == Some(kind) => return Some(step),
                Ok(_) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    if self.child.try_wait().unwrap().is_some() {
                        return None;
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return None,
            }
        }
        None
    }

    /// Runs `fault` with apply frozen (SIGSTOP), so that the step it is in meets the fault.
    fn frozen(&self, fault: impl FnOnce()) {
        let pid = self.child.id() as i32;
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(pid, libc::SIGSTOP) };
        fault();
        // SAFETY: as above.
        unsafe { libc::kill(pid, libc::SIGCONT) };
    }

    /// Waits at most `secs` for apply to exit; its exit code.
    fn exit_code(mut self, dir: &Path, secs: u64) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().expect("exited, not killed");
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                dump_logs(dir);
                panic!("apply did not finish within {secs} s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The errors of the steps that failed, as apply's JSON events reported them (every run in `dir`).
fn step_failures(dir: &Path) -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "stdout"))
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|p| {
            std::fs::read_to_string(p).unwrap_or_default().lines().map(str::to_string).collect::<Vec<_>>()
        })
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(&line).ok())
        .filter(|e| e["event"] == "step_failed")
        .map(|e| format!("{}: {}", e["step"].as_str().unwrap_or(""), e["error"].as_str().unwrap_or("")))
        .collect()
}

/// Waits until the copy step has checkpointed `n` records; fails with the logs otherwise.
fn wait_copied(dir: &Path, case: &Case, n: u64) {
    if !wait_until(90, || copied(dir, &format!("copy:{}", case.topic)) >= n) {
        dump_logs(dir);
        panic!("the copy did not reach {n} records");
    }
}

/// The target crashes mid-copy (SIGKILL) and comes back on the same storage; later its JVM stops
/// answering (SIGSTOP) for 8 s just as the offsets step starts. apply rides both out.
#[tokio::test(flavor = "multi_thread")]
async fn the_target_killed_mid_copy_and_frozen_at_the_offsets_step_is_ridden_out() {
    let source = TestCluster::start("source", Engine::Sqlite);
    let target = TestCluster::start_kafka("target", KafkaOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let case = Case::seed(&source, "tkill").await;
    let plan = case.write_plan(dir.path(), &source, &target, 25);

    let mut apply = Watched::start(dir.path(), &["apply", &plan]);
    wait_copied(dir.path(), &case, 2000);
    target.kafka().unwrap().kill();
    case.produce(&source, 1000..2500).await;
    std::thread::sleep(Duration::from_secs(3));
    target.kafka().unwrap().restart();

    apply.wait_for("step_started", "offsets", 120);
    apply.frozen(|| target.kafka().unwrap().signal(libc::SIGSTOP));
    std::thread::sleep(Duration::from_secs(8));
    target.kafka().unwrap().signal(libc::SIGCONT);

    let code = apply.exit_code(dir.path(), 180);
    dump_logs(dir.path());
    assert_eq!(code, 0, "apply rides out a target restart and a frozen target");
    case.assert_migrated(&source, &target, 2500).await;
}

/// The source crashes mid-copy and comes back on the same storage, then stops answering for 8 s
/// (SIGSTOP) while the copy still runs; then it crashes again as the offsets step starts (which
/// reads the group's commits there) and comes back 3 s later. apply rides all three out and copies
/// what was written meanwhile.
#[tokio::test(flavor = "multi_thread")]
async fn the_source_killed_and_frozen_mid_copy_and_killed_at_the_offsets_step_is_ridden_out() {
    let source = TestCluster::start_kafka("source", KafkaOptions::default());
    let target = TestCluster::start("target", Engine::Sqlite);
    let dir = tempfile::tempdir().unwrap();
    let case = Case::seed(&source, "skill").await;
    let cutover = now_ms() + 45_000;
    let plan = case.write_plan(dir.path(), &source, &target, 45);

    let mut apply = Watched::start(dir.path(), &["apply", &plan]);
    wait_copied(dir.path(), &case, 2000);
    case.produce(&source, 1000..2000).await;
    source.kafka().unwrap().kill();
    std::thread::sleep(Duration::from_secs(3));
    source.kafka().unwrap().restart();
    wait_copied(dir.path(), &case, 4000);

    case.produce(&source, 2000..2500).await;
    assert!(now_ms() < cutover - 5_000, "the test wrote its last records well before the cutover");
    source.kafka().unwrap().signal(libc::SIGSTOP);
    std::thread::sleep(Duration::from_secs(8));
    source.kafka().unwrap().signal(libc::SIGCONT);

    apply.wait_for("step_started", "offsets", 120);
    apply.frozen(|| source.kafka().unwrap().kill());
    std::thread::sleep(Duration::from_secs(3));
    source.kafka().unwrap().restart();

    let code = apply.exit_code(dir.path(), 180);
    dump_logs(dir.path());
    assert_eq!(code, 0, "apply rides out source restarts and a frozen source");
    case.assert_migrated(&source, &target, 2500).await;
}

/// The network to the target is cut mid-copy for 5 s, then blackholed for 8 s as the offsets step
/// starts. apply rides both out.
#[tokio::test(flavor = "multi_thread")]
async fn the_network_to_the_target_cut_and_blackholed_is_ridden_out() {
    let source = TestCluster::start("source", Engine::Sqlite);
    let target = TestCluster::start_kafka("target", KafkaOptions { proxied: true, ..Default::default() });
    let proxy = target.proxy();
    let dir = tempfile::tempdir().unwrap();
    let case = Case::seed(&source, "tnet").await;
    let plan = case.write_plan(dir.path(), &source, &target, 25);

    let mut apply = Watched::start(dir.path(), &["apply", &plan]);
    wait_copied(dir.path(), &case, 2000);
    proxy.cut();
    case.produce(&source, 1000..2000).await;
    std::thread::sleep(Duration::from_secs(5));
    proxy.restore();
    wait_copied(dir.path(), &case, 4000);

    apply.wait_for("step_started", "offsets", 120);
    apply.frozen(|| proxy.blackhole());
    std::thread::sleep(Duration::from_secs(8));
    proxy.restore();

    let code = apply.exit_code(dir.path(), 180);
    dump_logs(dir.path());
    assert_eq!(code, 0, "apply rides out a cut and a blackholed network to the target");
    case.assert_migrated(&source, &target, 2000).await;
}

/// The network to the source is blackholed for 8 s mid-copy, then cut for 3 s. apply rides both
/// out and copies what was written meanwhile.
#[tokio::test(flavor = "multi_thread")]
async fn the_network_to_the_source_blackholed_and_cut_is_ridden_out() {
    let source = TestCluster::start_kafka("source", KafkaOptions { proxied: true, ..Default::default() });
    let proxy = source.proxy();
    let target = TestCluster::start("target", Engine::Sqlite);
    let dir = tempfile::tempdir().unwrap();
    let case = Case::seed(&source, "snet").await;
    let cutover = now_ms() + 40_000;
    let plan = case.write_plan(dir.path(), &source, &target, 40);

    let apply = Watched::start(dir.path(), &["apply", &plan]);
    wait_copied(dir.path(), &case, 2000);
    proxy.blackhole();
    case.produce(&source, 1000..2000).await;
    std::thread::sleep(Duration::from_secs(8));
    proxy.restore();
    wait_copied(dir.path(), &case, 4000);
    case.produce(&source, 2000..2500).await;
    assert!(now_ms() < cutover - 5_000, "the test wrote its last records well before the cutover");
    proxy.cut();
    std::thread::sleep(Duration::from_secs(3));
    proxy.restore();

    let code = apply.exit_code(dir.path(), 180);
    dump_logs(dir.path());
    assert_eq!(code, 0, "apply rides out a blackholed and a cut network to the source");
    case.assert_migrated(&source, &target, 2500).await;
}

/// The target goes away for good, first mid-copy, then (back, and gone again) as the offsets step
/// starts: each time apply retries, then stops with an error naming the target cluster, within its
/// timeouts (`--connect-timeout 5s` bounds each wait). Once the target is back, a re-run finishes
/// exactly.
#[tokio::test(flavor = "multi_thread")]
async fn a_target_gone_mid_copy_or_at_the_offsets_step_stops_apply_naming_it_and_a_rerun_is_exact() {
    let source = TestCluster::start("source", Engine::Sqlite);
    let target = TestCluster::start_kafka("target", KafkaOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let case = Case::seed(&source, "tgone").await;
    let plan = case.write_plan(dir.path(), &source, &target, 40);
    let args = ["apply", plan.as_str(), "--connect-timeout", "5s"];

    // Mid-copy: records wait for a target that never acknowledges them.
    let apply = Watched::start(dir.path(), &args);
    wait_copied(dir.path(), &case, 2000);
    let gone = Instant::now();
    target.kafka().unwrap().kill();
    case.produce(&source, 1000..1500).await;
    let code = apply.exit_code(dir.path(), 300);
    assert_gave_up(dir.path(), code, "copy:", gone.elapsed());
    target.kafka().unwrap().restart();

    // At the offsets step.
    let mut apply = Watched::start(dir.path(), &args);
    apply.wait_for("step_started", "offsets", 120);
    let gone = Instant::now();
    apply.frozen(|| target.kafka().unwrap().kill());
    let code = apply.exit_code(dir.path(), 300);
    assert_gave_up(dir.path(), code, "offsets:", gone.elapsed());
    target.kafka().unwrap().restart();

    let code = Watched::start(dir.path(), &["apply", &plan]).exit_code(dir.path(), 180);
    if code != 0 {
        dump_logs(dir.path());
    }
    assert_eq!(code, 0, "a re-run finishes");
    case.assert_migrated(&source, &target, 1500).await;
}

/// apply failed (exit 1) `waited` after the target went away, the last step failure reported
/// being of the step `step` (a prefix) and naming the target cluster.
fn assert_gave_up(dir: &Path, code: i32, step: &str, waited: Duration) {
    let failures = step_failures(dir);
    if code != 1 || failures.is_empty() {
        dump_logs(dir);
    }
    assert_eq!(code, 1, "apply fails");
    let last = failures.last().expect("a step failed");
    assert!(
        last.starts_with(step) && last.contains("target cluster"),
        "the {step} step fails naming the target cluster: {failures:?}"
    );
    // 4 attempts of a few 5 s timeouts each, 7 s of backoff between them.
    assert!(waited < Duration::from_secs(120), "apply stopped {waited:?} after the target went away");
    println!("apply stopped {waited:?} after the target went away: {last}");
}
