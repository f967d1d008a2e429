//! The typed steps that make up a migration, and their stable identifiers.

use std::fmt;

use serde::Serialize;

/// What a step does. The order of the variants is the order of the operators' procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    /// Reach both clusters; check topics, groups and permissions.
    Preflight,
    /// Expand a `pattern:` topic entry against the source cluster.
    Expand,
    /// Create (or verify) one topic on the target.
    Topic,
    /// Submit MirrorMaker 2's connectors to Kafka Connect (`sync.by: mirrormaker2`).
    Connectors,
    /// Copy one topic's records source → target.
    Copy,
    /// Watch MirrorMaker 2 copy one topic until the source is copied to its end after the cutover.
    Mirror,
    /// Record the producer cutover time.
    Cutover,
    /// A milestone: every copy has finished, the target holds all the source's records. Groups
    /// that may read any plan topic wait for it instead of for each copy.
    Synced,
    /// Wait until a group has consumed everything on the source.
    Drain,
    /// Compute and commit/export a group's start position on the target.
    Offsets,
    /// Delete MirrorMaker 2's connectors once every group is positioned.
    StopMirror,
    /// Check the end state.
    Verify,
}

impl StepKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Preflight => "preflight",
            StepKind::Expand => "expand",
            StepKind::Topic => "topic",
            StepKind::Connectors => "connectors",
            StepKind::Copy => "copy",
            StepKind::Mirror => "mirror",
            StepKind::Cutover => "cutover",
            StepKind::Synced => "synced",
            StepKind::Drain => "drain",
            StepKind::Offsets => "offsets",
            StepKind::StopMirror => "stop-mirror",
            StepKind::Verify => "verify",
        }
    }

    /// Whether steps of this kind name a subject (`topic:<t>`) or stand alone (`cutover`).
    pub fn has_subject(self) -> bool {
        matches!(
            self,
            StepKind::Expand
                | StepKind::Topic
                | StepKind::Copy
                | StepKind::Mirror
                | StepKind::Drain
                | StepKind::Offsets
        )
    }
}

impl fmt::Display for StepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A step's identity: its kind and, for per-topic and per-group steps, the subject.
///
/// Rendered as `kind` or `kind:subject` (`topic:orders`, `offsets:billing`, `expand:^audit\.`);
/// this string keys the step in the checkpoint state, so it must stay stable across releases.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct StepId {
    pub kind: StepKind,
    pub subject: Option<String>,
}

impl StepId {
    pub fn new(kind: StepKind) -> Self {
        debug_assert!(!kind.has_subject());
        StepId { kind, subject: None }
    }

    pub fn with_subject(kind: StepKind, subject: impl Into<String>) -> Self {
        debug_assert!(kind.has_subject());
        StepId { kind, subject: Some(subject.into()) }
    }

    pub fn preflight() -> Self {
        Self::new(StepKind::Preflight)
    }
    pub fn cutover() -> Self {
        Self::new(StepKind::Cutover)
    }
    pub fn synced() -> Self {
        Self::new(StepKind::Synced)
    }
    pub fn verify() -> Self {
        Self::new(StepKind::Verify)
    }
    pub fn topic(t: &str) -> Self {
        Self::with_subject(StepKind::Topic, t)
    }
    pub fn copy(t: &str) -> Self {
        Self::with_subject(StepKind::Copy, t)
    }
    pub fn mirror(t: &str) -> Self {
        Self::with_subject(StepKind::Mirror, t)
    }
    pub fn connectors() -> Self {
        Self::new(StepKind::Connectors)
    }
    pub fn stop_mirror() -> Self {
        Self::new(StepKind::StopMirror)
    }
    pub fn drain(g: &str) -> Self {
        Self::with_subject(StepKind::Drain, g)
    }
    pub fn offsets(g: &str) -> Self {
        Self::with_subject(StepKind::Offsets, g)
    }
    pub fn expand(pattern: &str) -> Self {
        Self::with_subject(StepKind::Expand, pattern)
    }

    /// Parses `kind` / `kind:subject`, the form [`fmt::Display`] produces.
    pub fn parse(s: &str) -> Option<Self> {
        let (kind, subject) = match s.split_once(':') {
            Some((k, rest)) => (k, Some(rest.to_string())),
            None => (s, None),
        };
        let kind = [
            StepKind::Preflight,
            StepKind::Expand,
            StepKind::Topic,
            StepKind::Connectors,
            StepKind::Copy,
            StepKind::Mirror,
            StepKind::Cutover,
            StepKind::Synced,
            StepKind::Drain,
            StepKind::Offsets,
            StepKind::StopMirror,
            StepKind::Verify,
        ]
        .into_iter()
        .find(|k| k.as_str() == kind)?;
        (kind.has_subject() == subject.is_some()).then_some(StepId { kind, subject })
    }
}

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.subject {
            Some(s) => write!(f, "{}:{}", self.kind, s),
            None => f.write_str(self.kind.as_str()),
        }
    }
}

/// A node of the DAG: the step's identity plus a canonical description of its definition.
///
/// `definition` holds everything from the plan that determines what the step does (a topic's
/// partition and config overrides, a group's strategy, the cutover mode, ...). Its
/// [`Step::fingerprint`] is what the executor stores with a done step, to notice when the plan
/// changed under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub id: StepId,
    pub definition: serde_json::Value,
}

impl Step {
    pub fn kind(&self) -> StepKind {
        self.id.kind
    }

    pub fn subject(&self) -> Option<&str> {
        self.id.subject.as_deref()
    }

    /// SHA-256 of the canonical JSON of the definition (serde_json maps are sorted), hex-encoded.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let canonical = serde_json::to_vec(&self.definition).expect("JSON values always serialize");
        hex::encode(Sha256::digest(&canonical))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_their_string_form() {
        for id in [
            StepId::preflight(),
            StepId::topic("orders"),
            StepId::expand("^audit\\.:x"),
            StepId::offsets("billing"),
            StepId::connectors(),
            StepId::mirror("orders"),
            StepId::stop_mirror(),
            StepId::verify(),
        ] {
            assert_eq!(StepId::parse(&id.to_string()), Some(id));
        }
        assert_eq!(StepId::parse("topic"), None);
        assert_eq!(StepId::parse("cutover:x"), None);
        assert_eq!(StepId::parse("nonsense:x"), None);
    }
}
