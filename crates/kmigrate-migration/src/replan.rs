//! Which done steps run again when the plan changed under them (`apply --replan`), and why: the one
//! rule that apply follows and the dry run (`kmigrate plan`) shows.
//!
//! A done step whose definition changed runs again; so does every done step downstream of it in the
//! DAG, since its decisions were made from the changed step's outputs (an `offsets:<g>` step after a
//! changed `cutover.at` or `margin`, `verify` after any of them). A step that runs again starts from
//! no outputs, so that it decides anew, except a `copy:<t>` step: its offset map records which
//! records the target holds, which stays true, and the copy continues from it.

use std::collections::{BTreeMap, VecDeque};

use kmigrate_dag::{Step, StepGraph, StepKind};

use crate::executor::{State, StepState, StepStatus};

/// The rule: a step is done but its definition changed when its recorded fingerprint is not the
/// plan's now. Apply refuses such a step without `--replan`, `status` marks it, and the dry run
/// says so (through [`reruns`]).
pub fn done_but_changed(step: &Step, recorded: &StepState) -> bool {
    recorded.status == StepStatus::Done && recorded.fingerprint != step.fingerprint()
}

/// Why a done step runs again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rerun {
    /// Its definition in the plan changed.
    Changed,
    /// It depends on this changed step (directly or through others).
    Downstream(String),
}

/// The done steps that run again with `--replan`, by step id.
pub fn reruns(graph: &StepGraph, state: &State) -> BTreeMap<String, Rerun> {
    let done = |id: &str| state.step(id).is_some_and(|s| s.status == StepStatus::Done);
    let mut out = BTreeMap::new();
    let mut queue = VecDeque::new();
    for step in graph.steps() {
        let id = step.id.to_string();
        if state.step(&id).is_some_and(|s| done_but_changed(step, s)) {
            out.insert(id.clone(), Rerun::Changed);
            queue.push_back((step.id.clone(), id));
        }
    }
    while let Some((at, origin)) = queue.pop_front() {
        for next in graph.dependents(&at) {
            let id = next.id.to_string();
            if done(&id) && !out.contains_key(&id) {
                out.insert(id.clone(), Rerun::Downstream(origin.clone()));
                queue.push_back((next.id.clone(), origin.clone()));
            }
        }
    }
    out
}

/// Applies [`reruns`] to `state`: those steps become pending with their current definition, their
/// outputs cleared (a copy keeps its offset map). A step not done yet whose definition changed
/// (killed after it saved a decision) loses its outputs too. Steps new to the graph get an entry.
/// Returns whether `state` changed.
pub fn reset_for_replan(graph: &StepGraph, state: &mut State) -> bool {
    let reruns = reruns(graph, state);
    let mut touched = !reruns.is_empty();
    for step in graph.steps() {
        let id = step.id.to_string();
        let fingerprint = step.fingerprint();
        let entry = state.steps.entry(id.clone()).or_insert_with(|| {
            touched = true;
            crate::executor::StepState::new(fingerprint.clone(), step.definition.clone())
        });
        let changed = entry.fingerprint != fingerprint;
        if reruns.contains_key(&id) {
            entry.status = StepStatus::Pending;
        }
        if (reruns.contains_key(&id) || changed) && step.kind() != StepKind::Copy {
            entry.outputs = serde_json::Value::Null;
        }
        if changed {
            touched = true;
            entry.fingerprint = fingerprint;
            entry.definition = step.definition.clone();
        }
    }
    touched
}
