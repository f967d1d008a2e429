//! Apply's bookkeeping at scale: the checkpoint, the walker and everything apply does around the
//! steps, with steps that do nothing (no cluster is ever reached).
//!
//!     cargo run --release -p kmigrate-migration --example apply_bookkeeping -- [TOPICS GROUPS] [--runs N] [--keep DIR] [--no-first]
//!
//! (scripts/bench-state.sh runs it and then times the `kmigrate apply` binary on the same plan.)
//!
//! The plan: TOPICS topics (default 5,000) with data synced by kmigrate (a `topic:` and a `copy:`
//! step each), a cutover time, and GROUPS strict broker-managed groups (default 1,000), each
//! naming 5 topics (a `drain:` and an `offsets:` step each): 12,003 steps by default.
//!
//! 1. **First apply**: from no state, every step runs and returns at once with outputs shaped
//!    like the real ones (a copy's offset map of 3 partitions, a group's 15 decided offsets), so
//!    what is timed is the walker and the checkpoint: every step transition saved.
//! 2. **No-op apply** (every step done), `--runs` times: what `kmigrate apply` does on a finished
//!    migration, parse and validation of the plan included. A step that runs here panics.
//!
//! Reported: wall time, and the bytes this process wrote (`wchar` of /proc/self/io).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use kmigrate_dag::StepKind;
use kmigrate_migration::{
    ApplyOptions, Checkpoint, Migration, NullReporter, RunnerFactory, StepHandle, StepOutcome, StepResult,
    StepRunner, StopSignal, WalkOptions,
};
use serde_json::json;

fn plan_yaml(topics: usize, groups: usize) -> String {
    // Port 9 (discard): nothing listens; a step that connected would fail.
    let mut y = String::from(
        "version: 1\nname: bench\nsource:\n  bootstrap_servers: \"127.0.0.1:9\"\ntarget:\n  bootstrap_servers: \"127.0.0.2:9\"\ntopics:\n",
    );
    for t in 0..topics {
        let _ = writeln!(y, "  - topic-{t:05}");
    }
    y.push_str("data: synced\nsync:\n  by: kmigrate\ncutover:\n  at: \"2026-11-25T02:00:00+08:00\"\nconsumers:\n  defaults: { offsets: broker-managed, loss: strict }\n  groups:\n");
    for g in 0..groups {
        let _ = writeln!(y, "    - id: group-{g:04}");
        let reads: Vec<String> = (0..5).map(|i| format!("topic-{:05}", (g * 5 + i) % topics)).collect();
        let _ = writeln!(y, "      topics: [{}]", reads.join(", "));
    }
    y
}

/// What each kind of step records, shaped like the real outputs.
fn outputs(h: &StepHandle) -> serde_json::Value {
    let subject = h.step.subject().unwrap_or_default().to_string();
    match h.step.kind() {
        StepKind::Copy => json!({
            "partitions": {
                "0": { "next": 100_000, "runs": [[0, 0, 100_000]] },
                "1": { "next": 99_873, "runs": [[0, 0, 50_000], [50_002, 50_000, 49_871]] },
                "2": { "next": 100_112, "runs": [[0, 0, 100_112]] },
            },
            "bytes": 73_400_320,
            "caught_up": true,
            "compression": "lz4",
        }),
        StepKind::Offsets => {
            let partitions: Vec<_> = (0..15)
                .map(|i| json!({ "topic": format!("{subject}-topic-{}", i / 3), "partition": i % 3, "offset": 1_000 + i }))
                .collect();
            json!({ "decided": {
                "rule": { "rule": "exact-from-map" },
                "cutover_time": "2026-11-25T02:00:00+08:00",
                "partitions": partitions,
            }})
        }
        StepKind::Cutover => json!({
            "time": "2026-11-25T02:00:00+08:00",
            "time_ms": 1_795_543_200_000_i64,
            "source": { "kind": "plan_at" },
            "newest_source_record_ms": null,
            "margin_ms": 0,
        }),
        StepKind::Topic => json!({
            "source_partitions": 3,
            "desired": { "partitions": 3, "configs": {} },
            "change": { "action": "create", "partitions": 3, "configs": {} },
        }),
        _ => serde_json::Value::Null,
    }
}

struct Steps {
    /// In the no-op apply every step is done: a step that runs is a bug in the benchmark.
    must_not_run: bool,
}

impl RunnerFactory<Migration> for Steps {
    fn runner(&self, _: &Checkpoint) -> Arc<dyn StepRunner<Migration>> {
        let must_not_run = self.must_not_run;
        Arc::new(move |h: StepHandle| -> BoxFuture<'static, StepResult> {
            assert!(!must_not_run, "step {} ran in the no-op apply", h.id());
            let outputs = outputs(&h);
            Box::pin(async move {
                Ok(StepOutcome::Done { outputs, summary: kmigrate_migration::StepSummary::Synced })
            })
        })
    }
}

/// Bytes this process has passed to write(2) so far.
fn written() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|t| t.lines().find_map(|l| l.strip_prefix("wchar: ").and_then(|n| n.trim().parse().ok())))
        .unwrap_or(0)
}

fn apply_once(yaml: &str, dir: &Path, must_not_run: bool) -> (Duration, u64, usize) {
    let (t0, w0) = (Instant::now(), written());
    let parsed = kmigrate_plan::parse("plan.yaml", yaml);
    let plan = parsed.plan.unwrap_or_else(|| panic!("generated plan is invalid: {:?}", parsed.diagnostics));
    let options = ApplyOptions {
        state_dir: dir.join(".kmigrate"),
        replan: false,
        walk: WalkOptions { concurrency: 8, ..WalkOptions::default() },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let summary = runtime
        .block_on(kmigrate_migration::apply(
            &plan,
            &options,
            &Steps { must_not_run },
            Arc::new(NullReporter),
            &StopSignal::new(),
        ))
        .expect("apply");
    assert_eq!(summary.pending + summary.failed, 0, "every step done: {summary:?}");
    (t0.elapsed(), written() - w0, summary.done)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let numbers: Vec<usize> = args
        .iter()
        .enumerate()
        .filter(|(i, _)| *i == 0 || !args[i - 1].starts_with("--"))
        .filter_map(|(_, a)| a.parse().ok())
        .collect();
    let topics = numbers.first().copied().unwrap_or(5_000);
    let groups = numbers.get(1).copied().unwrap_or(1_000);
    let runs: usize = flag("--runs").and_then(|r| r.parse().ok()).unwrap_or(5);
    let kept = flag("--keep").map(PathBuf::from);
    let temp = tempfile::tempdir().unwrap();
    let dir = kept.clone().unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir).unwrap();
    let yaml = plan_yaml(topics, groups);
    std::fs::write(dir.join("plan.yaml"), &yaml).unwrap();
    let state_file = dir.join(".kmigrate/bench.state.json");
    println!("plan: {topics} topics, {groups} groups, in {}", dir.display());

    if args.iter().any(|a| a == "--no-first") {
        assert!(state_file.exists(), "--no-first needs a finished state in --keep DIR");
    } else {
        let _ = std::fs::remove_dir_all(dir.join(".kmigrate"));
        let (took, wrote, steps) = apply_once(&yaml, &dir, false);
        println!(
            "first apply:  {steps} steps run  {took:>10.1?}  wrote {}  (state file {})",
            mib(wrote),
            mib(std::fs::metadata(&state_file).map(|m| m.len()).unwrap_or(0))
        );
    }
    let mut times = Vec::new();
    let mut wrote = 0;
    let mut steps = 0;
    for _ in 0..runs.max(1) {
        let (took, w, s) = apply_once(&yaml, &dir, true);
        times.push(took);
        (wrote, steps) = (w, s);
    }
    times.sort();
    println!(
        "no-op apply:  {steps} steps done  median {:>8.1?}  (min {:.1?}, max {:.1?}, {} runs)  wrote {}",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1],
        times.len(),
        mib(wrote)
    );
    if kept.is_some() {
        println!("kept: {}/plan.yaml and its state", dir.display());
    }
}
