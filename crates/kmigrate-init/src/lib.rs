//! `kmigrate-init`: drafting a plan from live clusters (`kmigrate init`).
//!
//! - [`read_source`] / [`read_target`] read the facts through `kmigrate-kafka`, read-only: the
//!   topics (partitions, records retained), every consumer group's activity (members, or the
//!   listed state of a consumer-protocol group), committed offsets and lag (end offset −
//!   committed offset); tooling topics and groups ([`tooling`]) are set aside;
//! - [`collapse`] turns topics sharing a delimited prefix into anchored `pattern:` entries that
//!   match exactly those topics on the source;
//! - [`suggest`] picks each group's strategy from the facts, with its reasons;
//! - [`write_plan`] writes the commented plan. The last three are pure functions.
//!
//! The library never prints, and never resolves a `${VAR}` itself: the plan gets the text given.

pub mod collapse;
pub mod facts;
mod read;
mod render;
pub mod suggest;
pub mod tooling;

pub use collapse::{TopicEntry, collapse};
pub use facts::{Activity, Commits, GroupFacts, SourceFacts, TargetFacts, TopicFacts};
pub use read::{Selection, read_source, read_target};
pub use render::{ClusterText, DraftError, DraftSummary, InitInput, TARGET_PLACEHOLDER_VAR, write_plan};
pub use suggest::{DataChoice, Offsets, Suggestion, suggest};

#[cfg(test)]
mod tests;
