//! The recorded outputs of every step kind, each a typed struct (serialized into the state file,
//! whose `format_version` covers them) read through one accessor per kind: the copy's offset map
//! (`copy:<t>`), a group's decided offsets (`offsets:<g>`), the cutover time (`cutover`), a
//! pattern's topics (`expand:<p>`), whether MirrorMaker 2 caught up with a topic (`mirror:<t>`),
//! and what `preflight`, `topic:<t>`, `connectors`, `drain:<g>`, `stop-mirror` and `verify`
//! found or did. Later steps, re-runs, `status`, `plan` and `offsets translate` rely on them.
//!
//! Outputs a step has not recorded yet read as "nothing yet" (an empty copy, no decision). Outputs
//! that are present but unreadable are an error, never a default: a copy checkpoint read as empty
//! would copy the whole topic again, a lost decision would resolve "latest" anew. [`load`] checks
//! every recorded output when the state file is read, so a damaged file stops `apply`, `plan`,
//! `status` and `offsets translate` before anything is done (an internal error: exit 70).
//!
//! A step writes its outputs through its struct ([`value`]); `read` holds what the accessors share,
//! `copy` and `offsets` the outputs later steps compute with, `kinds` the others.

mod copy;
mod kinds;
mod offsets;
mod read;

use kmigrate_dag::{StepId, StepKind};

pub use copy::{CopyState, copy, copy_in, copy_step};
pub use kinds::{
    ClusterOutputs, ConnectorsOutputs, CutoverOutputs, DrainOutputs, ExpandOutputs, MirrorState,
    PreflightOutputs, StopMirrorOutputs, TopicOutputs, VerifyOutputs, connectors_in, cutover_in,
    cutover_time, cutover_time_in, drain_in, expanded_in, mirror_in, preflight_in, stop_mirror_in, topic_in,
    verify_in,
};
pub use offsets::{
    AppliedTo, Decided, Mm2Start, OffsetsOutputs, PartitionDecision, decided, decided_in, offsets_in,
};
pub use read::{Outputs, OutputsError, value};

use crate::executor::{State, StateError, StateStore};

/// Loads the state file and checks every recorded output (see the module docs).
pub fn load(store: &StateStore) -> Result<Option<State>, StateError> {
    let Some(state) = store.load()? else { return Ok(None) };
    check(&state).map_err(|e| StateError::Outputs { path: store.path(), step: e.step, reason: e.reason })?;
    Ok(Some(state))
}

/// Reads every step's recorded outputs as its kind's type; the first unreadable one is the error.
pub fn check(state: &State) -> Result<(), OutputsError> {
    for (id, st) in &state.steps {
        let Some(step) = StepId::parse(id) else { continue };
        let o = &st.outputs;
        match step.kind {
            StepKind::Preflight => preflight_in(o).map(drop)?,
            StepKind::Expand => expanded_in(id, o).map(drop)?,
            StepKind::Topic => topic_in(id, o).map(drop)?,
            StepKind::Connectors => connectors_in(o).map(drop)?,
            StepKind::Copy => copy_in(id, o).map(drop)?,
            StepKind::Mirror => mirror_in(id, o).map(drop)?,
            StepKind::Cutover => cutover_in(o).map(drop)?,
            StepKind::Synced => read::parse::<()>(id, o).map(drop)?,
            StepKind::Drain => drain_in(id, o).map(drop)?,
            StepKind::Offsets => offsets_in(id, o).map(drop)?,
            StepKind::StopMirror => stop_mirror_in(o).map(drop)?,
            StepKind::Verify => verify_in(o).map(drop)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
