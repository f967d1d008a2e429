//! The walker: runs the steps of a sealed DAG whose dependencies are done, a bounded number at a
//! time, checkpointing every transition.
//!
//! It knows nothing of Kafka: it calls a [`StepRunner`] for each ready step and records what it
//! returns. A failure or a pause stops new steps from starting and asks running ones to stop at
//! their next safe point (they keep their progress in the checkpoint); a transient error is
//! retried with a bounded backoff.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::future::BoxFuture;
use kmigrate_dag::{Step, StepGraph, StepId, StepKind};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::checkpoint::Checkpoint;
use crate::events::{Event, Outcome, Reporter};
use crate::state::{StateError, StepStatus};

/// What a step returns when it stops without error.
#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome {
    /// Finished: its outputs are recorded and its dependents may start.
    Done { outputs: serde_json::Value, summary: String },
    /// Stopped at a gate or a wait timed out; the next apply continues it.
    Paused { reason: String, resume: String },
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

impl From<crate::outputs::OutputsError> for StepError {
    fn from(e: crate::outputs::OutputsError) -> Self {
        StepError::fatal(format!("internal error: {e}"))
    }
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

pub type StepResult = Result<StepOutcome, StepError>;

/// What a running step is given: its identity, the checkpoint (to read other steps' outputs and
/// to save its own progress), the reporter, and the stop signal.
#[derive(Clone)]
pub struct StepHandle {
    pub step: Step,
    pub checkpoint: Checkpoint,
    pub reporter: Arc<dyn Reporter>,
    stop: watch::Receiver<bool>,
}

impl StepHandle {
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

    pub fn report(&self, event: Event) {
        self.reporter.report(event);
    }

    pub fn progress(&self, done: u64, total: Option<u64>, unit: &str, message: Option<String>) {
        self.reporter.report(Event::StepProgress {
            step: self.id(),
            done,
            total,
            unit: unit.to_string(),
            message,
        });
    }

    pub fn warn(&self, message: impl Into<String>) {
        self.reporter.report(Event::Warning { step: Some(self.id()), message: message.into() });
    }

    /// Saves progress outputs of this step (e.g. copy positions) without changing its status.
    pub fn save_outputs(&self, outputs: serde_json::Value) -> Result<(), StepError> {
        let id = self.id();
        self.checkpoint
            .update(|s| {
                if let Some(st) = s.steps.get_mut(&id) {
                    st.outputs = outputs;
                }
            })
            .map_err(|e| StepError::fatal(e.to_string()))
    }
}

/// Runs one step. Implemented by the engine's step dispatcher; tests may pass closures.
pub trait StepRunner: Send + Sync + 'static {
    fn run(&self, handle: StepHandle) -> BoxFuture<'static, StepResult>;
}

impl<F> StepRunner for F
where
    F: Fn(StepHandle) -> BoxFuture<'static, StepResult> + Send + Sync + 'static,
{
    fn run(&self, handle: StepHandle) -> BoxFuture<'static, StepResult> {
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
    /// An `expand:` step finished: compile the plan again with the expansion and walk on.
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
pub async fn walk(
    graph: &StepGraph,
    checkpoint: &Checkpoint,
    runner: Arc<dyn StepRunner>,
    reporter: Arc<dyn Reporter>,
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
    let mut inflight: JoinSet<(StepId, StepResult)> = JoinSet::new();
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
            let attempt = checkpoint.update(|s| {
                let st = s.steps.get_mut(&key).expect("every graph step has a state entry");
                st.status = StepStatus::Running;
                st.attempts += 1;
                st.started_at = Some(Utc::now());
                st.finished_at = None;
                st.error = None;
                st.attempts
            })?;
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
                checkpoint.update(|s| {
                    let st = s.steps.get_mut(&key).expect("state entry");
                    st.status = StepStatus::Done;
                    st.finished_at = Some(Utc::now());
                    st.outputs = outputs;
                    st.summary = Some(summary.clone());
                })?;
                reporter.report(Event::StepDone { step: key, summary });
                for dependent in graph.dependents(&id) {
                    if let Some(n) = waiting_on.get_mut(&dependent.id) {
                        *n -= 1;
                        if *n == 0 {
                            ready.push(Reverse((graph.rank(&dependent.id), dependent.id.clone())));
                        }
                    }
                }
                if id.kind == StepKind::Expand {
                    // The graph gains the matched topics' steps: let the caller recompile.
                    replan = true;
                    stop.stop();
                }
            }
            Ok(StepOutcome::Paused { reason, resume }) => {
                checkpoint.update(|s| {
                    s.steps.get_mut(&key).expect("state entry").status = StepStatus::Waiting;
                })?;
                reporter.report(Event::StepPaused { step: key, reason, resume });
                stop.stop();
            }
            Ok(StepOutcome::Interrupted) => {
                checkpoint.update(|s| {
                    s.steps.get_mut(&key).expect("state entry").status = StepStatus::Pending;
                })?;
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
                    checkpoint.update(|s| s.steps.get_mut(&key).expect("state entry").attempts += 1)?;
                    let step = graph.get(&id).expect("step of this graph");
                    spawn_step(&mut inflight, step, checkpoint, &runner, &reporter, stop, backoff);
                    continue;
                }
                checkpoint.update(|s| {
                    let st = s.steps.get_mut(&key).expect("state entry");
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

fn spawn_step(
    inflight: &mut JoinSet<(StepId, StepResult)>,
    step: &Step,
    checkpoint: &Checkpoint,
    runner: &Arc<dyn StepRunner>,
    reporter: &Arc<dyn Reporter>,
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
    use crate::events::RecordingReporter;
    use crate::state::{State, StateStore, StepState};

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
    ) -> Arc<dyn StepRunner> {
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
        Ok(StepOutcome::Done { outputs: serde_json::json!({"ok": true}), summary: "ok".into() })
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
        let saved = StateStore::new(dir.path(), "p").load().unwrap().unwrap();
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
            "cutover" => {
                Ok(StepOutcome::Paused { reason: "gate".into(), resume: "--approve cutover".into() })
            }
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
}
