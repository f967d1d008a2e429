//! One `kmigrate apply`, as far as it is generic: take the lock, load the checkpoint, let the
//! [`Job`] prepare the state and the graph (a migration refuses a plan that changed under done
//! steps unless re-planning is accepted), then walk the graph, and again whenever a step grew it
//! (a migration's pattern expansion adds topics).

use std::path::PathBuf;
use std::sync::Arc;

use kmigrate_dag::StepGraph;

use crate::checkpoint::Checkpoint;
use crate::events::{Event, Facts, Reporter};
use crate::lock::{LockError, PlanLock};
use crate::state::{State, StateError, StateStore, StepStatus};
use crate::walker::{StepRunner, StopSignal, WalkOptions, WalkSummary, walk};

#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Where the state file and the lock live.
    pub state_dir: PathBuf,
    /// Accept a plan that changed under done steps: those steps run again.
    pub replan: bool,
    pub walk: WalkOptions,
}

/// A done step whose definition in the plan is no longer what it ran with.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangedStep {
    pub step: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("the plan changed under {} done step(s): {}", .0.len(), .0.iter().map(|c| c.step.as_str()).collect::<Vec<_>>().join(", "))]
    PlanChanged(Vec<ChangedStep>),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Builds the step runner once the checkpoint exists (steps read and write it).
pub trait RunnerFactory<F: Facts> {
    fn runner(&self, checkpoint: &Checkpoint<F>) -> Arc<dyn StepRunner<F>>;
}

/// What the executor asks of the job it runs (`kmigrate_migration`'s plan): its name, its saved
/// state read and checked, and the graph to walk for a state.
pub trait Job<F: Facts> {
    /// Names the state file and the lock.
    fn name(&self) -> &str;

    /// The saved state, checked (an unreadable recorded output is an error), or `None` if the
    /// job never ran.
    fn load(&self, store: &StateStore) -> Result<Option<State<F>>, StateError>;

    /// Before the walk: brings `state` up to date with the job (an entry for every step of the
    /// graph, what re-planning resets, facts that held only for an earlier run), reporting what
    /// the operator should know, and returns the graph to walk and whether `state` changed. May
    /// refuse ([`ApplyError::PlanChanged`] when `replan` is false).
    fn prepare(
        &self,
        state: &mut State<F>,
        replan: bool,
        reporter: &dyn Reporter<F>,
    ) -> Result<(StepGraph, bool), ApplyError>;

    /// A walk of `graph` ended because a step grew it ([`WalkSummary::replan`]): records what it
    /// learned in `state` and returns the larger graph, every step of it with a state entry.
    fn grow(&self, graph: &StepGraph, state: &mut State<F>) -> Result<StepGraph, ApplyError>;
}

/// Runs `job` until every step is done, one pauses, one fails or `stop` is raised.
pub async fn apply<F: Facts>(
    job: &dyn Job<F>,
    options: &ApplyOptions,
    factory: &dyn RunnerFactory<F>,
    reporter: Arc<dyn Reporter<F>>,
    stop: &StopSignal,
) -> Result<WalkSummary, ApplyError> {
    let store = StateStore::new(&options.state_dir, job.name());
    let lock = PlanLock::acquire(&store.lock_path())?;
    if let Some(holder) = &lock.took_over {
        reporter.report(Event::LockTakenOver { holder: holder.to_string() });
    }
    let loaded = job.load(&store)?;
    let fresh = loaded.is_none();
    let mut state = loaded.unwrap_or_else(|| State::new(job.name()));
    let (mut graph, prepared) = job.prepare(&mut state, options.replan, reporter.as_ref())?;
    let done =
        graph.steps().filter(|s| state.step(&s.id.to_string()).is_some_and(|s| s.status == StepStatus::Done));
    reporter.report(Event::ApplyStarted {
        plan: job.name().to_string(),
        steps: graph.len(),
        already_done: done.count(),
    });
    // A new snapshot holds what was prepared and folds in a journal a kill left. None when
    // neither changed anything (a finished migration applied again): the first change writes it.
    let save = fresh || prepared || store.journal_path().exists();
    let checkpoint = Checkpoint::new(store, state);
    if save {
        checkpoint.update(|_| ())?;
    }
    let runner = factory.runner(&checkpoint);

    loop {
        let summary =
            walk(&graph, &checkpoint, runner.clone(), reporter.clone(), &options.walk, stop).await?;
        if !summary.replan {
            // The state file alone is the whole state again (one snapshot; none when nothing ran).
            checkpoint.compact()?;
            reporter.report(Event::ApplyFinished {
                outcome: summary.outcome,
                done: summary.done,
                failed: summary.failed,
                pending: summary.pending,
            });
            drop(lock);
            return Ok(summary);
        }
        // A step grew the graph (an expansion): record what it learned and walk the larger graph.
        graph = checkpoint.update(|s| job.grow(&graph, s))??;
    }
}
