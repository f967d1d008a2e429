//! What `kmigrate init` reads from the clusters: the typed facts the plan is drafted from.
//! Plain data, so the draft and the writer are pure functions tested without a broker.

use std::collections::{BTreeMap, BTreeSet};

use crate::tooling::Tooling;

/// What was read from the source cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceFacts {
    /// Every topic on the source except Kafka's internal `__*` ones: what a `pattern:` could match.
    pub all_topics: BTreeSet<String>,
    /// The topics proposed for migration: not tooling, and matching `--topics` if given.
    pub topics: BTreeMap<String, TopicFacts>,
    /// Tooling topics left out (MirrorMaker 2, Connect, Schema Registry).
    pub tooling_topics: Vec<(String, Tooling)>,
    /// Topics `--topics` did not select.
    pub unselected_topics: Vec<String>,
    /// The consumer groups read: not tooling, and matching `--groups` if given. Sorted by id.
    pub groups: Vec<GroupFacts>,
    /// Tooling groups left out (Connect workers, MirrorMaker 2, groups committing only on tooling
    /// topics).
    pub tooling_groups: Vec<String>,
    /// Groups `--groups` did not select.
    pub unselected_groups: Vec<String>,
}

/// A topic on the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicFacts {
    pub partitions: usize,
    /// Records retained now (end offset − earliest offset, summed over the partitions; an upper
    /// bound with compaction or transactions).
    pub records: i64,
}

/// A consumer group on the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupFacts {
    pub id: String,
    pub activity: Activity,
    /// The proposed topics the group has committed offsets for.
    pub commits: BTreeMap<String, Commits>,
    /// Other topics it has committed offsets for (not proposed for migration).
    pub other_topics: Vec<String>,
}

impl GroupFacts {
    /// Whether the group has committed any offset on the source, on any topic.
    pub fn has_commits(&self) -> bool {
        !self.commits.is_empty() || !self.other_topics.is_empty()
    }

    /// Its lag over the proposed topics: Σ (end offset − committed offset).
    pub fn lag(&self) -> i64 {
        self.commits.values().map(|c| c.lag).sum()
    }
}

/// A group's commits on one topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Commits {
    /// Partitions with a committed offset.
    pub partitions: usize,
    /// Σ over those partitions of (end offset − committed offset), never negative.
    pub lag: i64,
}

/// Whether a group has consumers right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activity {
    /// Described with this many members (> 0).
    Members(usize),
    /// Listed in an active state (a Kafka 4 consumer-protocol group, which the classic
    /// DescribeGroups does not describe): members consume, how many is not known.
    Active { state: String },
    /// No members (Empty, Dead).
    Idle { state: String },
    /// The broker would not say (e.g. a missing Describe ACL).
    Unknown { reason: String },
}

impl Activity {
    pub fn is_active(&self) -> bool {
        matches!(self, Activity::Members(_) | Activity::Active { .. })
    }
}

/// What was read from the target cluster, when one was given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetFacts {
    /// Topics on the target with their partition counts.
    pub topics: BTreeMap<String, usize>,
    /// Consumer groups listed on the target, with their state.
    pub groups: BTreeMap<String, String>,
}
