//! The walker: runs the steps of a sealed DAG whose dependencies are done, a bounded number at a
//! time, checkpointing every transition.
//!
//! It knows nothing of Kafka: it calls a [`StepRunner`] for each ready step and records what it
//! returns. A failure or a pause stops new steps from starting and asks running ones to stop at
//! their next safe point (they keep their progress in the checkpoint); a transient error is
//! retried with a bounded backoff.
//!
//! Each transition is one journal record of the checkpoint (see `checkpoint.rs` for which are
//! synced before the walker goes on): a step's `done` and its outputs are on disk before its
//! dependents become ready, "running" is written without waiting for the disk.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::future::BoxFuture;
use kmigrate_dag::{Step, StepGraph, StepId, StepKind};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::checkpoint::{Checkpoint, Durability};
use crate::events::{Event, Facts, Outcome, Reporter};
use crate::state::{StateError, StepStatus};

/// What a step returns when it stops without error.
#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome<F: Facts> {
    /// Finished: its outputs are recorded and its dependents may start.
    Done { outputs: serde_json::Value, summary: F::Summary },
    /// Stopped at a gate or a wait timed out; the next apply continues it.
    Paused(F::Pause),
    /// Asked to stop (another step failed or paused, or the user interrupted); it saved its
    /// progress and continues on the next run.
    Interrupted,
}

/// A step's failure. `transient` errors (a broker briefly unavailable) are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError {
    pub message: String,
    pub transient: bool,
}

impl StepError {
    pub fn fatal(message: impl Into<String>) -> Self {
        StepError { message: message.into(), transient: false }
    }
    pub fn transient(message: impl Into<String>) -> Self {
        StepError { message: message.into(), transient: true }
    }
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

pub type StepResult<F> = Result<StepOutcome<F>, StepError>;

/// What a running step is given: its identity, the checkpoint (to read other steps' outputs and
/// to save its own progress), the reporter, and the stop signal.
pub struct StepHandle<F: Facts> {
    pub step: Step,
    pub checkpoint: Checkpoint<F>,
    pub reporter: Arc<dyn Reporter<F>>,
    stop: watch::Receiver<bool>,
}

impl<F: Facts> Clone for StepHandle<F> {
    fn clone(&self) -> Self {
        StepHandle {
            step: self.step.clone(),
            checkpoint: self.checkpoint.clone(),
            reporter: self.reporter.clone(),
            stop: self.stop.clone(),
        }
    }
}

impl<F: Facts> StepHandle<F> {
    pub fn id(&self) -> String {
        self.step.id.to_string()
    }

    /// Whether the step has been asked to stop at its next safe point.
    pub fn stop_requested(&self) -> bool {
        *self.stop.borrow()
    }

    /// Resolves once the step is asked to stop (never, if it is not).
    pub async fn stopped(&self) {
        let mut rx = self.stop.clone();
        let _ = rx.wait_for(|s| *s).await;
    }

    pub fn report(&self, event: Event<F>) {
        self.reporter.report(event);
    }

    pub fn progress(&self, done: u64, total: Option<u64>, unit: &str, detail: Option<F::Progress>) {
        self.reporter.report(Event::StepProgress {
            step: self.id(),
            done,
            total,
            unit: unit.to_string(),
            detail,
        });
    }

    pub fn waiting(&self, wait: F::Wait) {
        self.reporter.report(Event::StepWaiting { step: self.id(), wait });
    }

    pub fn warn(&self, warning: F::Warning) {
        self.reporter.report(Event::Warning { step: Some(self.id()), warning });
    }

    /// Saves progress outputs of this step (e.g. copy positions) without changing its status;
    /// on disk (synced) when it returns, so a decision saved here may then be applied.
    pub fn save_outputs(&self, outputs: serde_json::Value) -> Result<(), StepError> {
        self.checkpoint
            .update_step(&self.id(), Durability::Now, |st| st.outputs = outputs)
            .map(drop)
            .map_err(|e| StepError::fatal(e.to_string()))
    }
}

/// Runs one step. Implemented by the job's step dispatcher (`kmigrate_migration::KafkaSteps`);
/// tests may pass closures.
pub trait StepRunner<F: Facts>: Send + Sync + 'static {
    fn run(&self, handle: StepHandle<F>) -> BoxFuture<'static, StepResult<F>>;
}

impl<F: Facts, R> StepRunner<F> for R
where
    R: Fn(StepHandle<F>) -> BoxFuture<'static, StepResult<F>> + Send + Sync + 'static,
{
    fn run(&self, handle: StepHandle<F>) -> BoxFuture<'static, StepResult<F>> {
        self(handle)
    }
}

#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// How many steps may run at once.
    pub concurrency: usize,
    /// Attempts per step within one run for transient errors (1 = no retry).
    pub max_attempts: u32,
    /// Backoff before the first retry; doubles each time, capped at 30 s.
    pub initial_backoff: Duration,
}

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions { concurrency: 8, max_attempts: 4, initial_backoff: Duration::from_secs(1) }
    }
}

/// The summary of a walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkSummary {
    pub outcome: Outcome,
    pub done: usize,
    pub failed: usize,
    pub pending: usize,
    /// A step that grows the graph (the DAG's `expand:` kind) finished: the job records what it
    /// found and the graph is walked again, larger ([`crate::Job::grow`]).
    pub replan: bool,
}

/// Lets something outside the walk (the CLI on Ctrl-C) ask running steps to stop.
#[derive(Clone)]
pub struct StopSignal(Arc<watch::Sender<bool>>);

impl StopSignal {
    pub fn new() -> Self {
        StopSignal(Arc::new(watch::channel(false).0))
    }
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
    fn subscribe(&self) -> watch::Receiver<bool> {
        self.0.subscribe()
    }
    fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }
}

impl Default for StopSignal {
    fn default() -> Self {
        Self::new()
    }
}

/// Walks `graph` to completion, a pause, or a failure.
pub async fn walk<F: Facts>(
    graph: &StepGraph,
    checkpoint: &Checkpoint<F>,
    runner: Arc<dyn StepRunner<F>>,
    reporter: Arc<dyn Reporter<F>>,
    options: &WalkOptions,
    external_stop: &StopSignal,
) -> Result<WalkSummary, StateError> {
    // Steps listen to a signal of this walk's own, raised on a failure, a pause, a re-plan, or
    // when the caller raises `external_stop` (Ctrl-C).
    let stop = &StopSignal::new();
    let forward = {
        let (outer, inner) = (external_stop.clone(), stop.clone());
        tokio::spawn(async move {
            let mut rx = outer.subscribe();
            let _ = rx.wait_for(|s| *s).await;
            inner.stop();
        })
    };
    let mut replan = false;
    let mut inflight: JoinSet<(StepId, StepResult<F>)> = JoinSet::new();
    let mut attempts_this_run: HashMap<StepId, u32> = HashMap::new();
    let mut failed_now = false;

    // Readiness by counting: each step waits for its dependencies that are not done; a step
    // whose count reaches zero joins the ready queue, taken in DAG order.
    let is_done = |id: &StepId| checkpoint.status(&id.to_string()) == Some(StepStatus::Done);
    let mut waiting_on: HashMap<StepId, usize> = HashMap::new();
    let mut ready: BinaryHeap<Reverse<(usize, StepId)>> = BinaryHeap::new();
    for step in graph.steps() {
        if is_done(&step.id) {
            reporter.report(Event::StepSkipped { step: step.id.to_string() });
            continue;
        }
        let n = graph.dependencies(&step.id).iter().filter(|d| !is_done(&d.id)).count();
        if n == 0 {
            ready.push(Reverse((graph.rank(&step.id), step.id.clone())));
        }
        waiting_on.insert(step.id.clone(), n);
    }

    loop {
        while !stop.is_stopped() && inflight.len() < options.concurrency.max(1) {
            let Some(Reverse((_, id))) = ready.pop() else { break };
            let step = graph.get(&id).expect("step of this graph");
            let key = id.to_string();
            // Not synced: a step lost as "running" runs again, as one left running does.
            let attempt = checkpoint
                .update_step(&key, Durability::Deferred, |st| {
                    st.status = StepStatus::Running;
                    st.attempts += 1;
                    st.started_at = Some(Utc::now());
                    st.finished_at = None;
                    st.error = None;
                    st.attempts
                })?
                .expect("every graph step has a state entry");
            *attempts_this_run.entry(id.clone()).or_default() += 1;
            reporter.report(Event::StepStarted { step: key, attempt });
            spawn_step(&mut inflight, step, checkpoint, &runner, &reporter, stop, Duration::ZERO);
        }

        let Some(joined) = inflight.join_next().await else { break };
        let (id, result) = match joined {
            Ok(r) => r,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        let key = id.to_string();
        match result {
            Ok(StepOutcome::Done { outputs, summary }) => {
                // Synced before any dependent can start: nothing acts on outputs a kill could lose.
                checkpoint
                    .update_step(&key, Durability::Now, |st| {
                        st.status = StepStatus::Done;
                        st.finished_at = Some(Utc::now());
                        st.outputs = outputs;
                        st.summary = Some(summary.clone().into());
                    })?
                    .expect("state entry");
                reporter.report(Event::StepDone { step: key, result: summary });
                for dependent in graph.dependents(&id) {
                    if let Some(n) = waiting_on.get_mut(&dependent.id) {
                        *n -= 1;
                        if *n == 0 {
                            ready.push(Reverse((graph.rank(&dependent.id), dependent.id.clone())));
                        }
                    }
                }
                if id.kind == StepKind::Expand {
                    // The graph gains the steps of what it found: let the job grow it.
                    replan = true;
                    stop.stop();
                }
            }
            Ok(StepOutcome::Paused(pause)) => {
                checkpoint.update_step(&key, Durability::Now, |st| st.status = StepStatus::Waiting)?;
                reporter.report(Event::StepPaused { step: key, pause });
                stop.stop();
            }
            Ok(StepOutcome::Interrupted) => {
                checkpoint.update_step(&key, Durability::Now, |st| st.status = StepStatus::Pending)?;
            }
            Err(e) => {
                let tries = attempts_this_run.get(&id).copied().unwrap_or(1);
                if e.transient && tries < options.max_attempts && !stop.is_stopped() {
                    let backoff = backoff(options.initial_backoff, tries);
                    reporter.report(Event::StepRetrying {
                        step: key.clone(),
                        error: e.message.clone(),
                        retry_in_ms: backoff.as_millis() as u64,
                    });
                    *attempts_this_run.entry(id.clone()).or_default() += 1;
                    checkpoint.update_step(&key, Durability::Deferred, |st| st.attempts += 1)?;
                    let step = graph.get(&id).expect("step of this graph");
                    spawn_step(&mut inflight, step, checkpoint, &runner, &reporter, stop, backoff);
                    continue;
                }
                checkpoint.update_step(&key, Durability::Now, |st| {
                    st.status = StepStatus::Failed;
                    st.finished_at = Some(Utc::now());
                    st.error = Some(e.message.clone());
                })?;
                reporter.report(Event::StepFailed { step: key, error: e.message });
                failed_now = true;
                stop.stop();
            }
        }
    }

    forward.abort();
    let (mut done, mut failed, mut pending) = (0, 0, 0);
    for step in graph.steps() {
        match checkpoint.status(&step.id.to_string()) {
            Some(StepStatus::Done) => done += 1,
            Some(StepStatus::Failed) => failed += 1,
            _ => pending += 1,
        }
    }
    let outcome = if failed_now || failed > 0 {
        Outcome::Failed
    } else if pending == 0 {
        Outcome::Done
    } else {
        // Paused at a gate, or interrupted by the user: either way the next run continues.
        Outcome::Paused
    };
    Ok(WalkSummary {
        outcome,
        done,
        failed,
        pending,
        replan: replan && !failed_now && !external_stop.is_stopped(),
    })
}

fn backoff(initial: Duration, tries: u32) -> Duration {
    let factor = 1u32 << tries.saturating_sub(1).min(5);
    (initial * factor).min(Duration::from_secs(30))
}

fn spawn_step<F: Facts>(
    inflight: &mut JoinSet<(StepId, StepResult<F>)>,
    step: &Step,
    checkpoint: &Checkpoint<F>,
    runner: &Arc<dyn StepRunner<F>>,
    reporter: &Arc<dyn Reporter<F>>,
    stop: &StopSignal,
    delay: Duration,
) {
    let handle = StepHandle {
        step: step.clone(),
        checkpoint: checkpoint.clone(),
        reporter: reporter.clone(),
        stop: stop.subscribe(),
    };
    let runner = runner.clone();
    let id = step.id.clone();
    inflight.spawn(async move {
        if !delay.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = handle.stopped() => return (id, Ok(StepOutcome::Interrupted)),
            }
        }
        let result = runner.run(handle).await;
        (id, result)
    });
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use kmigrate_dag::{GraphBuilder, StepId};

    use super::*;
    use crate::events::Words;
    use crate::state::StateStore;

    type Checkpoint = super::Checkpoint<Words>;
    type Event = crate::events::Event<Words>;
    type RecordingReporter = crate::events::RecordingReporter<Words>;
    type State = crate::state::State<Words>;
    type StepHandle = super::StepHandle<Words>;
    type StepOutcome = super::StepOutcome<Words>;
    type StepResult = super::StepResult<Words>;
    type StepState = crate::state::StepState<Words>;

    fn graph() -> StepGraph {
        // preflight → topic:a, topic:b → cutover → verify
        let mut b = GraphBuilder::new();
        let ids = [
            StepId::preflight(),
            StepId::topic("a"),
            StepId::topic("b"),
            StepId::cutover(),
            StepId::verify(),
        ];
        for id in &ids {
            b.add(Step { id: id.clone(), definition: serde_json::json!({}) });
        }
        b.depend(&ids[1], &ids[0]);
        b.depend(&ids[2], &ids[0]);
        b.depend(&ids[3], &ids[1]);
        b.depend(&ids[3], &ids[2]);
        b.depend(&ids[4], &ids[3]);
        b.seal().unwrap()
    }

    fn checkpoint(dir: &std::path::Path, g: &StepGraph) -> Checkpoint {
        let mut state = State::new("p");
        for s in g.steps() {
            state.steps.insert(s.id.to_string(), StepState::new(s.fingerprint(), s.definition.clone()));
        }
        Checkpoint::new(StateStore::new(dir, "p"), state)
    }

    /// A runner that records the order steps ran in and behaves per step as `script` says.
    fn runner(
        log: Arc<Mutex<Vec<String>>>,
        script: impl Fn(&str, u32) -> StepResult + Send + Sync + 'static,
    ) -> Arc<dyn StepRunner<Words>> {
        let calls = Arc::new(Mutex::new(HashMap::<String, u32>::new()));
        let script = Arc::new(script);
        Arc::new(move |h: StepHandle| -> BoxFuture<'static, StepResult> {
            let id = h.id();
            let n = {
                let mut c = calls.lock().unwrap();
                let n = c.entry(id.clone()).or_default();
                *n += 1;
                *n
            };
            log.lock().unwrap().push(id.clone());
            let r = script(&id, n);
            Box::pin(async move { r })
        })
    }

    fn done() -> StepResult {
        Ok(StepOutcome::Done { outputs: serde_json::json!({"ok": true}), summary: "synced".into() })
    }

    fn fast() -> WalkOptions {
        WalkOptions { concurrency: 2, max_attempts: 3, initial_backoff: Duration::from_millis(1) }
    }

    #[tokio::test]
    async fn runs_in_dependency_order_and_a_rerun_skips_done_steps() {
        let dir = tempfile::tempdir().unwrap();
        let g = graph();
        let cp = checkpoint(dir.path(), &g);
        let log = Arc::new(Mutex::new(Vec::new()));
        let rep = Arc::new(RecordingReporter::default());
        let s =
            walk(&g, &cp, runner(log.clone(), |_, _| done()), rep.clone(), &fast(), &StopSignal::new()).await;
        assert_eq!(
            s.unwrap(),
            WalkSummary { outcome: Outcome::Done, done: 5, failed: 0, pending: 0, replan: false }
        );
        let order = log.lock().unwrap().clone();
        assert_eq!(order[0], "preflight");
        assert_eq!(&order[3..], ["cutover", "verify"]);
        // The state on disk says every step is done, with its outputs.
        let saved = StateStore::new(dir.path(), "p").load::<Words>().unwrap().unwrap();
        assert!(saved.steps.values().all(|s| s.status == StepStatus::Done && s.attempts == 1));

        // A second walk over the same checkpoint runs nothing.
        let log2 = Arc::new(Mutex::new(Vec::new()));
        let rep2 = Arc::new(RecordingReporter::default());
        walk(&g, &cp, runner(log2.clone(), |_, _| done()), rep2.clone(), &fast(), &StopSignal::new())
            .await
            .unwrap();
        assert!(log2.lock().unwrap().is_empty());
        assert_eq!(rep2.events().iter().filter(|e| matches!(e, Event::StepSkipped { .. })).count(), 5);
    }

    #[tokio::test]
    async fn a_failure_stops_dependents_and_transient_errors_are_retried() {
        let dir = tempfile::tempdir().unwrap();
        let g = graph();
        let cp = checkpoint(dir.path(), &g);
        let log = Arc::new(Mutex::new(Vec::new()));
        let script = |id: &str, n: u32| match (id, n) {
            ("topic:a", 1) => Err(StepError::transient("broker not available")),
            ("topic:b", _) => Err(StepError::fatal("fewer partitions than the source")),
            _ => done(),
        };
        let rep = Arc::new(RecordingReporter::default());
        let s = walk(&g, &cp, runner(log.clone(), script), rep.clone(), &fast(), &StopSignal::new())
            .await
            .unwrap();
        assert_eq!(s.outcome, Outcome::Failed);
        assert_eq!(cp.status("topic:b"), Some(StepStatus::Failed));
        assert_eq!(cp.status("cutover"), Some(StepStatus::Pending));
        assert!(!log.lock().unwrap().contains(&"cutover".to_string()));
        assert!(
            rep.events().iter().any(|e| matches!(e, Event::StepRetrying { step, .. } if step == "topic:a"))
        );
        let saved = cp.snapshot();
        assert_eq!(saved.steps["topic:b"].error.as_deref(), Some("fewer partitions than the source"));

        // The next run retries the failed step and finishes.
        let log2 = Arc::new(Mutex::new(Vec::new()));
        let s = walk(&g, &cp, runner(log2.clone(), |_, _| done()), rep, &fast(), &StopSignal::new())
            .await
            .unwrap();
        assert_eq!(s.outcome, Outcome::Done);
        assert!(!log2.lock().unwrap().contains(&"preflight".to_string()));
        assert_eq!(cp.snapshot().steps["topic:b"].attempts, 2);
    }

    #[tokio::test]
    async fn a_pause_leaves_the_step_waiting_and_the_walk_paused() {
        let dir = tempfile::tempdir().unwrap();
        let g = graph();
        let cp = checkpoint(dir.path(), &g);
        let log = Arc::new(Mutex::new(Vec::new()));
        let script = |id: &str, _| match id {
            "cutover" => Ok(StepOutcome::Paused("the cutover gate".into())),
            _ => done(),
        };
        let rep = Arc::new(RecordingReporter::default());
        let s = walk(&g, &cp, runner(log, script), rep.clone(), &fast(), &StopSignal::new()).await.unwrap();
        assert_eq!(
            s,
            WalkSummary { outcome: Outcome::Paused, done: 3, failed: 0, pending: 2, replan: false }
        );
        assert_eq!(cp.status("cutover"), Some(StepStatus::Waiting));
        assert!(
            rep.events().iter().any(|e| matches!(e, Event::StepPaused { step, .. } if step == "cutover"))
        );
    }

    /// A chain of `n` steps with a fan-out: preflight → topic:t0..t{n} → cutover → verify.
    fn wide(n: usize) -> StepGraph {
        let mut b = GraphBuilder::new();
        let topics: Vec<StepId> = (0..n).map(|i| StepId::topic(&format!("t{i}"))).collect();
        for id in [StepId::preflight(), StepId::cutover(), StepId::verify()].iter().chain(&topics) {
            b.add(Step { id: id.clone(), definition: serde_json::json!({}) });
        }
        for t in &topics {
            b.depend(t, &StepId::preflight());
            b.depend(&StepId::cutover(), t);
        }
        b.depend(&StepId::verify(), &StepId::cutover());
        b.seal().unwrap()
    }

    /// Copies the state directory as a kill at this moment would leave it (what was written is
    /// kept, in the page cache); under the checkpoint's lock, so that no save is half done.
    fn killed_here(cp: &Checkpoint, from: &std::path::Path, to: &std::path::Path) {
        cp.read(|_| {
            let _ = std::fs::remove_dir_all(to);
            std::fs::create_dir_all(to).unwrap();
            for e in std::fs::read_dir(from).unwrap() {
                let e = e.unwrap();
                if e.file_type().unwrap().is_file() {
                    std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
                }
            }
        });
    }

    /// A kill at any step boundary (when a step is about to run: every step it depends on was
    /// reported done; another may be between its end and its record) leaves a state from which
    /// the next run runs no step that was recorded done, and no step twice but those in flight
    /// at the kill. With journal records and snapshots (the journal is folded as soon as it
    /// outgrows the snapshot, so kills fall between both kinds of saves), and a record cut short.
    #[tokio::test]
    async fn a_kill_at_any_step_boundary_repeats_no_done_step() {
        let g = wide(12);
        let n = g.len();
        for concurrency in [1, 3] {
            for kill_at in 1..=n {
                let dir = tempfile::tempdir().unwrap();
                let live = dir.path().join("live");
                let left = dir.path().join("left");
                let cp = checkpoint(&live, &g).without_min_journal();
                // Run 1: at the `kill_at`-th start, the state directory is copied as the kill
                // leaves it; the walk then goes on (as if it had not happened) and is discarded.
                let started = Arc::new(Mutex::new(Vec::<String>::new()));
                let killed = Arc::new(Mutex::new(None::<Vec<String>>));
                let runner: Arc<dyn StepRunner<Words>> = {
                    let (started, killed, cp2, live, left) =
                        (started.clone(), killed.clone(), cp.clone(), live.clone(), left.clone());
                    Arc::new(move |h: StepHandle| -> BoxFuture<'static, StepResult> {
                        let mut st = started.lock().unwrap();
                        st.push(h.id());
                        if st.len() == kill_at {
                            killed_here(&cp2, &live, &left);
                            *killed.lock().unwrap() = Some(st.clone());
                        }
                        Box::pin(async move {
                            tokio::task::yield_now().await;
                            Ok(StepOutcome::Done {
                                outputs: serde_json::json!({"ran": h.id()}),
                                summary: "synced".into(),
                            })
                        })
                    })
                };
                let rep = Arc::new(RecordingReporter::default());
                let opts = WalkOptions { concurrency, ..fast() };
                walk(&g, &cp, runner, rep, &opts, &StopSignal::new()).await.unwrap();
                let before = killed.lock().unwrap().clone().expect("the kill point was reached");
                // A record cut short by the kill, too.
                let journal = left.join("p.state.journal");
                if journal.exists() {
                    let mut f = std::fs::OpenOptions::new().append(true).open(&journal).unwrap();
                    std::io::Write::write_all(&mut f, b"{\"step\":\"verify\",\"at\":\"20").unwrap();
                }

                // What the kill left.
                let left_state =
                    StateStore::new(&left, "p").load::<Words>().unwrap().expect("a state was saved");
                let done_left: Vec<String> = left_state
                    .steps
                    .iter()
                    .filter(|(_, s)| s.status == StepStatus::Done)
                    .map(|(id, _)| id.clone())
                    .collect();
                let about_to_run = before.last().unwrap();
                let id = StepId::parse(about_to_run).unwrap();
                for dep in g.dependencies(&id) {
                    assert!(
                        done_left.contains(&dep.id.to_string()),
                        "c={concurrency} kill at {kill_at}: {about_to_run} started while {} is not done on disk",
                        dep.id
                    );
                }
                for d in &done_left {
                    assert_eq!(
                        left_state.steps[d].outputs,
                        serde_json::json!({"ran": d}),
                        "outputs with done"
                    );
                }

                // Run 2, on what the kill left.
                let cp = Checkpoint::new(StateStore::new(&left, "p"), left_state);
                let log = Arc::new(Mutex::new(Vec::new()));
                let s = walk(
                    &g,
                    &cp,
                    runner_of(log.clone()),
                    Arc::new(RecordingReporter::default()),
                    &opts,
                    &StopSignal::new(),
                )
                .await
                .unwrap();
                assert_eq!(s.outcome, Outcome::Done);
                let again = log.lock().unwrap().clone();
                for id in &again {
                    assert!(
                        !done_left.contains(id),
                        "c={concurrency} kill at {kill_at}: {id} was done and ran again"
                    );
                }
                // Run twice: only steps started before the kill and not recorded done.
                let twice: Vec<&String> = again.iter().filter(|id| before.contains(id)).collect();
                assert!(twice.len() <= concurrency, "c={concurrency} kill at {kill_at}: {twice:?} ran twice");
                if concurrency == 1 {
                    assert_eq!(twice, [about_to_run], "only the step running at the kill runs again");
                }
                // Every step ran, and the final state on disk says so.
                let saved = StateStore::new(&left, "p").load::<Words>().unwrap().unwrap();
                assert!(saved.steps.values().all(|s| s.status == StepStatus::Done));
            }
        }
    }

    fn runner_of(log: Arc<Mutex<Vec<String>>>) -> Arc<dyn StepRunner<Words>> {
        Arc::new(move |h: StepHandle| -> BoxFuture<'static, StepResult> {
            log.lock().unwrap().push(h.id());
            Box::pin(async move {
                Ok(StepOutcome::Done {
                    outputs: serde_json::json!({"ran": h.id()}),
                    summary: "synced".into(),
                })
            })
        })
    }

    #[tokio::test]
    async fn saves_append_to_the_journal_and_fold_it_into_a_snapshot_once_it_outgrows_it() {
        let dir = tempfile::tempdir().unwrap();
        let g = wide(40);
        let cp = checkpoint(dir.path(), &g).without_min_journal();
        let store = StateStore::new(dir.path(), "p");
        cp.update(|_| ()).unwrap();
        let snapshot = std::fs::metadata(store.path()).unwrap().len();
        // One step's transition: one record, the snapshot untouched.
        let modified = std::fs::metadata(store.path()).unwrap().modified().unwrap();
        cp.update_step("topic:t0", Durability::Now, |st| st.status = StepStatus::Done).unwrap().unwrap();
        let journal = std::fs::metadata(store.journal_path()).unwrap().len();
        assert!(
            journal < snapshot / 10,
            "a record ({journal} B) is small beside the snapshot ({snapshot} B)"
        );
        assert_eq!(std::fs::metadata(store.path()).unwrap().modified().unwrap(), modified);
        // Records until the journal is larger than the snapshot: then it is folded in.
        let mut folded = false;
        for i in 0..200 {
            cp.update_step("topic:t1", Durability::Deferred, |st| st.attempts = i).unwrap().unwrap();
            if !store.journal_path().exists() {
                folded = true;
                break;
            }
            assert!(std::fs::metadata(store.journal_path()).unwrap().len() <= snapshot + journal);
        }
        assert!(folded, "the journal was folded into a snapshot");
        let loaded = store.load::<Words>().unwrap().unwrap();
        assert_eq!(loaded.steps, cp.snapshot().steps);
        assert_eq!(cp.update_step("no-such-step", Durability::Now, |_| ()).unwrap(), None);
        // A walk ends with the state file alone.
        walk(
            &g,
            &cp,
            runner_of(Arc::default()),
            Arc::new(RecordingReporter::default()),
            &fast(),
            &StopSignal::new(),
        )
        .await
        .unwrap();
        cp.compact().unwrap();
        assert!(!store.journal_path().exists());
        let on_disk: serde_json::Value =
            serde_json::from_slice(&std::fs::read(store.path()).unwrap()).unwrap();
        assert!(on_disk["steps"].as_object().unwrap().values().all(|s| s["status"] == "done"));
    }
}
