//! Process exit codes. Scripts depend on these: never renumber one.

/// Everything asked for is done (or valid).
pub const SUCCESS: u8 = 0;
/// The plan is invalid, a step failed, or apply refused to run (lock held, plan changed under a
/// done step). The output says which.
pub const FAILURE: u8 = 1;
/// `kmigrate plan --detailed-exitcode` only: the plan would change something.
pub const CHANGES_PRESENT: u8 = 2;
/// apply stopped at a gate (`cutover: manual`) or a wait timed out (`--wait-timeout`); run it
/// again (with `--approve cutover` at the gate) to continue.
pub const PAUSED: u8 = 3;
/// The command line is wrong (unknown flag, missing argument), or `init --to` names an existing
/// file without `--force`.
pub const USAGE: u8 = 64;
/// kmigrate itself failed (a bug, or the state directory is unreadable): not the plan's fault.
pub const INTERNAL: u8 = 70;
