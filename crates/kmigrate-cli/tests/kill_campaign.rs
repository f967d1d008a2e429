//! Random kills across the whole plan (issue 13, item 1): a plan with every step kind (topics by
//! name and by pattern, copies, a manual cutover approved as an operator would, a drain, offsets
//! of broker-managed and self-stored groups, verify) is applied with SIGKILLs at random moments,
//! re-running after each, until an apply finishes. Then: the target holds exactly the source's
//! records, every group's offsets and the export file equal those of an uninterrupted run of the
//! same plan, and no side effect happened twice (offset commits counted on the target's
//! `__consumer_offsets`, export writes by the file's identity).
//!
//! The suite runs a short campaign (`KMIGRATE_CAMPAIGN_KILLS`, default 4). `scripts/kill-campaign.sh`
//! runs the long one (20 kills) and prints the seed; `KMIGRATE_CAMPAIGN_SEED` replays one.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use kmigrate_kafka::TopicPartition;
use kmigrate_testkit::{BrokerPair, Engine, SeedRecord, TestCluster, unique};

/// The topics and groups of one migration (names unique per run).
struct Names {
    orders: String,
    audit: [String; 2],
    billing: String,
    reports: String,
    analytics: String,
}

impl Names {
    fn new() -> Names {
        let prefix = unique("audit").replace('-', "");
        Names {
            orders: unique("orders"),
            audit: [format!("{prefix}.a"), format!("{prefix}.b")],
            billing: unique("billing"),
            reports: unique("reports"),
            analytics: unique("analytics"),
        }
    }

    fn topics(&self) -> Vec<(&str, i32)> {
        vec![(&self.orders, 3), (&self.audit[0], 1), (&self.audit[1], 2)]
    }
}

/// What a migration left: per logical topic and partition, the group offsets on the target, the
/// export file, and the target's records (value, key, timestamp).
#[derive(Debug, PartialEq)]
struct Outcome {
    billing: BTreeMap<(usize, i32), Option<i64>>,
    reports: BTreeMap<(usize, i32), Option<i64>>,
    export: String,
}

/// Seeds the source: records in every partition, `billing` drained (committed at the end),
/// `reports` half way.
async fn seed_source(source: &TestCluster, n: &Names) {
    let base = now_ms() - 3_600_000;
    for (topic, partitions) in n.topics() {
        source.create_topic(topic, partitions).await;
        for p in 0..partitions {
            let records: Vec<SeedRecord> = (0..600)
                .map(|i| {
                    SeedRecord::new(p)
                        .key(format!("k{i}"))
                        .value(format!("{topic}-{p}-{i}"))
                        .header("trace", format!("{i}"))
                        .timestamp(base + i as i64)
                })
                .collect();
            source.produce(topic, &records).await;
        }
    }
    let drained: Vec<(&str, i32, i64)> = (0..3).map(|p| (n.orders.as_str(), p, 600)).collect();
    source.commit_group_offsets(&n.billing, &drained).await;
    let half: Vec<(&str, i32, i64)> = (0..3).map(|p| (n.orders.as_str(), p, 300 + p as i64)).collect();
    source.commit_group_offsets(&n.reports, &half).await;
}

fn write_plan(dir: &Path, pair: &BrokerPair, n: &Names) -> String {
    let pattern = format!("^{}\\\\.", n.audit[0].split('.').next().unwrap());
    let yaml = format!(
        r#"version: 1
name: e2e
source:
  bootstrap_servers: "{}"
target:
  bootstrap_servers: "{}"
topics:
  - {}
  - pattern: "{pattern}"
data: synced
sync: {{ by: kmigrate }}
cutover:
  manual: true
consumers:
  defaults: {{ loss: strict }}
  groups:
    - id: {}
    - id: {}
      drain: false
    - id: {}
      offsets: self-stored
      export: offsets/analytics.csv
      topics: [{}]
"#,
        pair.source.bootstrap(),
        pair.target.bootstrap(),
        n.orders,
        n.billing,
        n.reports,
        n.analytics,
        n.orders
    );
    let path = dir.join("plan.yaml");
    std::fs::write(&path, yaml).unwrap();
    path.to_str().unwrap().to_string()
}

/// When to kill an apply: `delay` after a step of kind `step` (`copy`, `offsets`, ...) started
/// (`at_end: false`) or finished (`at_end: true`), as its events say.
#[derive(Debug, Clone)]
struct Kill {
    step: String,
    at_end: bool,
    delay: Duration,
}

impl Kill {
    fn matches(&self, event: &str, step: &str) -> bool {
        let kind = step.split(':').next().unwrap_or(step);
        kind == self.step && event == if self.at_end { "step_done" } else { "step_started" }
    }
}

/// What [`apply_with_kills`] saw.
struct Applied {
    killed: usize,
    /// Kills whose moment came after apply had finished (the event was seen, apply exited before
    /// the delay ran out): there was nothing left to kill, so the campaign moves past them.
    late: usize,
    /// Each identity the export file had after an apply (see [`identity`]).
    export_identities: Vec<(u64, i64, i64)>,
    /// The kinds of the steps that ran.
    kinds: std::collections::BTreeSet<String>,
}

/// Applies as an operator does: until the cutover gate, then with `--approve cutover`. Each apply
/// is killed as the next of `kills` says, until they are used up; an apply that ends first is not
/// killed (its kill is kept for the next).
fn apply_with_kills(dir: &Path, plan: &str, kills: &[Kill]) -> Applied {
    use std::io::BufRead;
    let export = dir.join("offsets/analytics.csv");
    let mut identities = Vec::new();
    let mut approved = false;
    let mut killed = 0;
    let mut kinds = std::collections::BTreeSet::new();
    let started = Instant::now();
    for run in 0.. {
        assert!(started.elapsed() < Duration::from_secs(600), "the campaign did not finish in 10 minutes");
        let mut args = vec!["apply", plan, "--output", "json"];
        if approved {
            args.extend(["--approve", "cutover"]);
        }
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kmigrate"))
            .args(&args)
            .current_dir(dir)
            .env_remove("RUST_LOG")
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(dir.join(format!("apply-{run}.stderr"))).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let kill = kills.get(killed).cloned();
        // Work events, as they come (a thread reads them; the pipe closes when apply exits).
        let (tx, rx) = std::sync::mpsc::channel::<(String, String)>();
        let log = dir.join(format!("apply-{run}.stdout"));
        let reader = std::thread::spawn(move || {
            let mut text = String::new();
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                let work = ["step_started", "step_progress", "step_waiting", "step_done"]
                    .iter()
                    .any(|e| line.starts_with(&format!("{{\"event\":\"{e}\"")));
                if work {
                    let e: serde_json::Value = serde_json::from_str(&line).unwrap();
                    let _ =
                        tx.send((e["event"].as_str().unwrap().into(), e["step"].as_str().unwrap().into()));
                }
                text.push_str(&line);
                text.push('\n');
            }
            std::fs::write(log, text).unwrap();
        });
        let mut last = String::from("start-up");
        let mut kill_at: Option<Instant> = None;
        let code = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status.code();
            }
            while let Ok((event, step)) = rx.try_recv() {
                kinds.insert(step.split(':').next().unwrap_or(&step).to_string());
                if let Some(k) = kill.as_ref().filter(|k| kill_at.is_none() && k.matches(&event, &step)) {
                    kill_at = Some(Instant::now() + k.delay);
                    last = format!("{event} {step} + {:?}", k.delay);
                }
            }
            if kill_at.is_some_and(|t| Instant::now() >= t) {
                child.kill().unwrap();
                child.wait().unwrap();
                killed += 1;
                println!("kill campaign: SIGKILL {killed} after {last}");
                break None;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        reader.join().unwrap();
        if let Some(id) = identity(&export)
            && identities.last() != Some(&id)
        {
            identities.push(id);
        }
        match code {
            None => {}
            Some(0) => {
                let late = usize::from(kill_at.is_some());
                if late == 1 {
                    println!("kill campaign: apply finished before the kill after {last}");
                }
                return Applied { killed, late, export_identities: identities, kinds };
            }
            Some(3) => approved = true,
            Some(other) => {
                dump_logs(dir);
                panic!("apply exited with {other}");
            }
        }
    }
    unreachable!()
}

/// A file's identity: inode and modification time. Every write of the export (a new file renamed
/// over the old one) changes it.
fn identity(path: &Path) -> Option<(u64, i64, i64)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((m.ino(), m.mtime(), m.mtime_nsec()))
}

async fn outcome(pair: &BrokerPair, n: &Names, dir: &Path) -> Outcome {
    let target = pair.target.connect().await;
    let parts: Vec<TopicPartition> = (0..3).map(|p| TopicPartition::new(&n.orders, p)).collect();
    let logical = |c: BTreeMap<TopicPartition, Option<i64>>| -> BTreeMap<(usize, i32), Option<i64>> {
        c.into_iter().map(|(p, o)| ((0, p.partition), o)).collect()
    };
    let billing = logical(target.committed_offsets(&n.billing, &parts).await.unwrap());
    let reports = logical(target.committed_offsets(&n.reports, &parts).await.unwrap());
    let export =
        std::fs::read_to_string(dir.join("offsets/analytics.csv")).unwrap().replace(&n.orders, "ORDERS");
    Outcome { billing, reports, export }
}

/// The target holds exactly the source's records, in order, each once.
async fn assert_exact_copies(pair: &BrokerPair, n: &Names) {
    for (topic, partitions) in n.topics() {
        for p in 0..partitions {
            assert_exact(&pair.source, &pair.target, topic, p).await;
        }
    }
}

/// Offset commits of `group` recorded in the target's `__consumer_offsets` (one record per
/// partition per commit; the testkit's brokers give that topic one partition).
async fn commits(target: &TestCluster, group: &str) -> usize {
    read_all(target, "__consumer_offsets", 0)
        .await
        .iter()
        .filter(|r| r.value.is_some())
        .filter_map(|r| r.key.as_deref())
        // OffsetCommitKey: version (0 or 1), then the group id as a length-prefixed string.
        .filter(|k| k.len() > 4 && i16::from_be_bytes([k[0], k[1]]) <= 1)
        .filter(|k| {
            let len = i16::from_be_bytes([k[2], k[3]]) as usize;
            k.get(4..4 + len) == Some(group.as_bytes())
        })
        .count()
}

/// Xorshift64*: the kill moments, reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn random_kills_anywhere_in_the_plan_lose_nothing_and_repeat_nothing() {
    let pair = BrokerPair::start(Engine::Sqlite);
    let kills: usize =
        std::env::var("KMIGRATE_CAMPAIGN_KILLS").map_or(4, |v| v.parse().expect("a number of kills"));
    let seed: u64 =
        std::env::var("KMIGRATE_CAMPAIGN_SEED").map(|v| v.parse().expect("a seed")).unwrap_or_else(|_| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
        });
    println!(
        "kill campaign: {kills} kills, seed {seed} (replay: KMIGRATE_CAMPAIGN_SEED={seed} KMIGRATE_CAMPAIGN_KILLS={kills})"
    );

    // The uninterrupted run: what every interrupted one must end with.
    let (reference_dir, reference_names) = (tempfile::tempdir().unwrap(), Names::new());
    seed_source(&pair.source, &reference_names).await;
    let plan = write_plan(reference_dir.path(), &pair, &reference_names);
    let uninterrupted = apply_with_kills(reference_dir.path(), &plan, &[]);
    assert_eq!(uninterrupted.killed, 0);
    let kinds: Vec<String> = uninterrupted.kinds.into_iter().collect();
    println!("kill campaign: the plan's step kinds: {kinds:?}");
    let reference = outcome(&pair, &reference_names, reference_dir.path()).await;

    // The same migration, killed at random moments: a few events into each apply, then a random
    // delay, so that kills land in every step (and some between a side effect and its record).
    let mut rng = Rng(seed);
    let moments: Vec<Kill> = (0..kills)
        .map(|_| Kill {
            step: kinds[(rng.next() % kinds.len() as u64) as usize].clone(),
            at_end: rng.next().is_multiple_of(2),
            // Just after the event, or well into the step's work.
            delay: Duration::from_millis(if rng.next().is_multiple_of(2) {
                rng.next() % 20
            } else {
                rng.next() % 400
            }),
        })
        .collect();
    println!("kill campaign: kills {moments:?}");
    // Migrations run one after another, each killed as often as it lasts, until every kill was
    // used; each must end as the uninterrupted one did.
    let (mut used, mut landed) = (0, 0);
    for migration in 1.. {
        assert!(migration <= 2 * kills + 3, "kills keep missing their applies");
        let (dir, names) = (tempfile::tempdir().unwrap(), Names::new());
        seed_source(&pair.source, &names).await;
        let plan = write_plan(dir.path(), &pair, &names);
        let Applied { killed, late, export_identities, .. } =
            apply_with_kills(dir.path(), &plan, &moments[used..]);
        used += killed + late;
        landed += killed;
        println!("kill campaign: migration {migration}: {killed} applies killed, then one finished");

        assert_exact_copies(&pair, &names).await;
        assert_eq!(
            outcome(&pair, &names, dir.path()).await,
            reference,
            "the same end as an uninterrupted run"
        );
        for group in [&names.billing, &names.reports] {
            assert_eq!(commits(&pair.target, group).await, 3, "group {group} committed once (3 partitions)");
        }
        // The export was written once: a second write would replace the file (a new inode and time).
        assert_eq!(
            export_identities.len(),
            1,
            "the export file was written {} times",
            export_identities.len()
        );
        if used == kills {
            break;
        }
    }
    assert!(landed > 0 || kills == 0, "no kill landed: the campaign tested nothing");
    println!(
        "kill campaign: {landed} kills landed, {} after apply had finished; every migration exact, no commit or export repeated",
        used - landed
    );
}

/// Found by the campaign: a kill after an expand step was recorded done but before its expansion
/// was, left the pattern's topics out of every later run, which then finished "done" without
/// them. The next run takes the topics from the step's outputs.
#[tokio::test(flavor = "multi_thread")]
async fn a_kill_between_an_expand_step_and_its_recorded_expansion_loses_no_topic() {
    let pair = BrokerPair::start(Engine::Sqlite);
    let (dir, names) = (tempfile::tempdir().unwrap(), Names::new());
    seed_source(&pair.source, &names).await;
    let plan = write_plan(dir.path(), &pair, &names);
    assert_eq!(kmigrate(dir.path(), &["apply", &plan]).status.code(), Some(3), "paused at the gate");

    // As if killed just after the expand step's end was saved.
    let path = dir.path().join(".kmigrate/e2e.state.json");
    let mut state = read_state(dir.path()).unwrap();
    state["expansion"] = serde_json::json!({});
    std::fs::write(&path, serde_json::to_string_pretty(&state).unwrap()).unwrap();

    let out = kmigrate(dir.path(), &["apply", &plan, "--approve", "cutover"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let state = read_state(dir.path()).unwrap();
    for audit in &names.audit {
        assert_eq!(state["steps"][format!("copy:{audit}")]["status"], "done", "{audit}");
    }
    assert_exact_copies(&pair, &names).await;
}
