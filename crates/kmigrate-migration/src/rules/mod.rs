//! Pure rules with typed inputs and outputs and no I/O, each called by the step that applies it
//! and by the dry run (`preview`) that predicts it: the preflight checks (`preflight`), the cutover
//! time (`cutover`), the target topic's desired state and change (`topic`), which topics a group
//! reads (`groups`). The other pure rules live beside their data: the strategy table
//! (`strategy`), the copy's codec (`compression`), a group's start offsets (`steps::offsets::decide_partitions`),
//! exact translation (`translate`, `offset_map`), "done but its definition changed"
//! (`replan::done_but_changed`).

pub mod cutover;
pub mod groups;
pub mod preflight;
pub mod topic;
