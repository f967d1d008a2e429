//! One `kmigrate apply`: take the lock, load the checkpoint, refuse a plan that changed under
//! done steps (unless re-planning is accepted), then walk the DAG, recompiling it whenever a
//! pattern expansion adds topics.

use std::path::PathBuf;
use std::sync::Arc;

use kmigrate_dag::{Expansion, StepGraph, StepKind};
use kmigrate_plan::Plan;

use crate::checkpoint::Checkpoint;
use crate::events::{Event, Reporter};
use crate::lock::{LockError, PlanLock};
use crate::outputs::OutputsError;
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
pub trait RunnerFactory {
    fn runner(&self, checkpoint: &Checkpoint) -> Arc<dyn StepRunner>;
}

pub async fn apply(
    plan: &Plan,
    options: &ApplyOptions,
    factory: &dyn RunnerFactory,
    reporter: Arc<dyn Reporter>,
    stop: &StopSignal,
) -> Result<WalkSummary, ApplyError> {
    let store = StateStore::new(&options.state_dir, &plan.name);
    let lock = PlanLock::acquire(&store.lock_path())?;
    if let Some(holder) = &lock.took_over {
        reporter.report(Event::LockTakenOver { holder: holder.to_string() });
    }
    let loaded = crate::outputs::load(&store)?;
    let fresh = loaded.is_none();
    let mut state = loaded.unwrap_or_else(|| State::new(&plan.name));
    // A kill between an expand step's end and the recording of its expansion leaves the topics in
    // the step's outputs only: take them from there too, or the pattern's topics would never be
    // migrated.
    let unexpanded = compile(plan, &state.expansion)?;
    let expansion = expansion_of(&unexpanded, &state).map_err(|e| ApplyError::Internal(e.to_string()))?;
    let expanded = expansion != state.expansion;
    state.expansion = expansion;
    let mut graph = compile(plan, &state.expansion)?;
    let changed = changed_steps(&graph, &state);
    if !changed.is_empty() && !options.replan {
        return Err(ApplyError::PlanChanged(changed));
    }
    for (step, why) in crate::replan::reruns(&graph, &state) {
        let because_of = match why {
            crate::replan::Rerun::Changed => None,
            crate::replan::Rerun::Downstream(of) => Some(of),
        };
        reporter.report(Event::Warning {
            step: Some(step),
            warning: crate::facts::StepWarning::Rerun { because_of },
        });
    }
    let reconciled = reconcile(&graph, &mut state);
    let forgot = forget_run_facts(&mut state).map_err(|e| ApplyError::Internal(e.to_string()))?;
    let done =
        graph.steps().filter(|s| state.step(&s.id.to_string()).is_some_and(|s| s.status == StepStatus::Done));
    reporter.report(Event::ApplyStarted {
        plan: plan.name.clone(),
        steps: graph.len(),
        already_done: done.count(),
    });
    // A new snapshot holds what was reconciled and folds in a journal a kill left. None when
    // neither changed anything (a finished migration applied again): the first change writes it.
    let save = fresh || expanded || reconciled || forgot || store.journal_path().exists();
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
        // An expand step finished: record what it matched and compile the larger graph.
        let expansion =
            checkpoint.read(|s| expansion_of(&graph, s)).map_err(|e| ApplyError::Internal(e.to_string()))?;
        checkpoint.update(|s| s.expansion = expansion.clone())?;
        graph = compile(plan, &expansion)?;
        checkpoint.update(|s| reconcile(&graph, s))?;
    }
}

fn compile(plan: &Plan, expansion: &Expansion) -> Result<StepGraph, ApplyError> {
    kmigrate_dag::compile(plan, expansion).map_err(|e| ApplyError::Internal(e.to_string()))
}

/// Done steps whose fingerprint differs from the plan's current definition.
pub fn changed_steps(graph: &StepGraph, state: &State) -> Vec<ChangedStep> {
    graph
        .steps()
        .filter_map(|step| {
            let st = state.step(&step.id.to_string())?;
            crate::replan::done_but_changed(step, st).then(|| ChangedStep {
                step: step.id.to_string(),
                before: st.definition.clone(),
                after: step.definition.clone(),
            })
        })
        .collect()
}

/// Gives every step of the graph a state entry with its current definition; with `--replan`,
/// changed done steps and everything downstream of them run again (see `replan`). Returns
/// whether `state` changed.
fn reconcile(graph: &StepGraph, state: &mut State) -> bool {
    crate::replan::reset_for_replan(graph, state)
}

/// Facts that hold only for the run that recorded them: a copy that caught up with the source in
/// an earlier run says nothing of now (producers may have written since), and the cutover gate
/// must wait for this run's copies to catch up. Returns whether `state` changed.
fn forget_run_facts(state: &mut State) -> Result<bool, OutputsError> {
    let mut changed = false;
    for (id, st) in state.steps.iter_mut() {
        if id.split_once(':').is_some_and(|(kind, _)| kind == StepKind::Copy.as_str())
            && st.status != StepStatus::Done
        {
            let mut copy = crate::outputs::copy_in(id, &st.outputs)?;
            if copy.caught_up {
                copy.caught_up = false;
                st.outputs = crate::outputs::copy_value(&copy);
                changed = true;
            }
        }
    }
    Ok(changed)
}

/// The recorded expansion, plus the topics every done expand step of `graph` recorded.
fn expansion_of(graph: &StepGraph, state: &State) -> Result<Expansion, OutputsError> {
    let mut expansion = state.expansion.clone();
    for step in graph.steps().filter(|s| s.kind() == StepKind::Expand) {
        let id = step.id.to_string();
        let Some(st) = state.step(&id).filter(|st| st.status == StepStatus::Done) else { continue };
        if let (Some(pattern), Some(topics)) =
            (step.subject(), crate::outputs::expanded_in(&id, &st.outputs)?)
        {
            expansion.insert(pattern.to_string(), topics);
        }
    }
    Ok(expansion)
}
