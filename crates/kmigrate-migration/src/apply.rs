//! The migration's side of `kmigrate apply`: the plan as the executor's [`Job`]. The executor
//! takes the lock, loads the checkpoint and walks; the plan says which graph it walks (compiled
//! with the recorded expansion of pattern topics, recompiled when an expansion adds topics),
//! refuses a plan that changed under done steps unless re-planning is accepted, and resets what
//! re-planning and a new run reset.

use std::sync::Arc;

use kmigrate_dag::{Expansion, StepGraph, StepKind};
use kmigrate_executor::{Job, Reporter, RunnerFactory};
use kmigrate_plan::Plan;

use crate::executor::{ApplyError, ApplyOptions, ChangedStep, State, StateError, StateStore, StepStatus};
use crate::executor::{StopSignal, WalkSummary};
use crate::facts::Migration;
use crate::outputs::OutputsError;

/// Applies `plan`: [`kmigrate_executor::apply`] with the plan as its job.
pub async fn apply(
    plan: &Plan,
    options: &ApplyOptions,
    factory: &dyn RunnerFactory<Migration>,
    reporter: Arc<dyn Reporter<Migration>>,
    stop: &StopSignal,
) -> Result<WalkSummary, ApplyError> {
    kmigrate_executor::apply(&PlanJob(plan), options, factory, reporter, stop).await
}

/// A validated plan, as the job the executor runs.
pub struct PlanJob<'a>(pub &'a Plan);

impl Job<Migration> for PlanJob<'_> {
    fn name(&self) -> &str {
        &self.0.name
    }

    fn load(&self, store: &StateStore) -> Result<Option<State>, StateError> {
        crate::outputs::load(store)
    }

    fn prepare(
        &self,
        state: &mut State,
        replan: bool,
        reporter: &dyn Reporter<Migration>,
    ) -> Result<(StepGraph, bool), ApplyError> {
        let plan = self.0;
        // A kill between an expand step's end and the recording of its expansion leaves the
        // topics in the step's outputs only: take them from there too, or the pattern's topics
        // would never be migrated.
        let unexpanded = compile(plan, &state.expansion)?;
        let expansion = expansion_of(&unexpanded, state).map_err(|e| ApplyError::Internal(e.to_string()))?;
        let expanded = expansion != state.expansion;
        state.expansion = expansion;
        let graph = compile(plan, &state.expansion)?;
        let changed = changed_steps(&graph, state);
        if !changed.is_empty() && !replan {
            return Err(ApplyError::PlanChanged(changed));
        }
        for (step, why) in crate::replan::reruns(&graph, state) {
            let because_of = match why {
                crate::replan::Rerun::Changed => None,
                crate::replan::Rerun::Downstream(of) => Some(of),
            };
            reporter.report(kmigrate_executor::Event::Warning {
                step: Some(step),
                warning: crate::facts::StepWarning::Rerun { because_of },
            });
        }
        let reconciled = reconcile(&graph, state);
        let forgot = forget_run_facts(state).map_err(|e| ApplyError::Internal(e.to_string()))?;
        Ok((graph, expanded || reconciled || forgot))
    }

    fn grow(&self, graph: &StepGraph, state: &mut State) -> Result<StepGraph, ApplyError> {
        // An expand step finished: record what it matched and compile the larger graph.
        let expansion = expansion_of(graph, state).map_err(|e| ApplyError::Internal(e.to_string()))?;
        state.expansion = expansion;
        let graph = compile(self.0, &state.expansion)?;
        reconcile(&graph, state);
        Ok(graph)
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
                st.outputs = crate::outputs::value(&copy);
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
