//! What `preflight` checks, as a function of what it read: the `preflight` step reads both
//! clusters and fails on the problems; the dry run reads the same facts and shows them.

use std::collections::BTreeMap;

use kmigrate_kafka::{ClusterMetadata, TopicPartition};
use kmigrate_plan::{OffsetStore, Plan};

/// Something that stops the migration before it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Source and target report the same cluster id.
    SameCluster { cluster_id: String },
    /// A topic the plan names is not on the source.
    TopicMissing { topic: String },
    /// A broker-managed group has no committed offsets on the source.
    NoCommittedOffsets { group: String },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::SameCluster { cluster_id } => write!(
                f,
                "source and target are the same cluster (cluster id {cluster_id}): check bootstrap_servers of source and target"
            ),
            Problem::TopicMissing { topic } => {
                write!(f, "topic {topic} does not exist on the source cluster")
            }
            Problem::NoCommittedOffsets { group } => write!(
                f,
                "consumer group {group} has no committed offsets on the source: check the group id, or mark it `offsets: self-stored` if the application keeps its own offsets"
            ),
        }
    }
}

/// What preflight found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checked {
    pub problems: Vec<Problem>,
    /// Broker-managed groups without a `topics:` list whose committed offsets are all for
    /// topics outside the plan (a warning: the group may read other topics).
    pub outside_plan: Vec<String>,
}

/// The rule. `committed`: the source's committed offsets of each broker-managed group (a group
/// missing from it has none).
pub fn check(
    plan: &Plan,
    source: &ClusterMetadata,
    target: &ClusterMetadata,
    committed: &BTreeMap<String, BTreeMap<TopicPartition, i64>>,
) -> Checked {
    let mut out = Checked::default();
    if let (Some(a), Some(b)) = (&source.cluster_id, &target.cluster_id)
        && a == b
    {
        out.problems.push(Problem::SameCluster { cluster_id: a.clone() });
    }
    for name in plan.named_topics() {
        if !source.topics.contains_key(name) {
            out.problems.push(Problem::TopicMissing { topic: name.to_string() });
        }
    }
    let named = plan.named_topics().next().is_some();
    for g in plan.groups.iter().filter(|g| g.offsets == OffsetStore::BrokerManaged) {
        match committed.get(&g.id) {
            None => out.problems.push(Problem::NoCommittedOffsets { group: g.id.clone() }),
            Some(c) if c.is_empty() => out.problems.push(Problem::NoCommittedOffsets { group: g.id.clone() }),
            Some(c) => {
                if g.topics.is_none() && named && !c.keys().any(|p| source.topics.contains_key(&p.topic)) {
                    out.outside_plan.push(g.id.clone());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kmigrate_kafka::TopicInfo;

    fn plan() -> Plan {
        let yaml = "version: 1\nname: t\nsource:\n  bootstrap_servers: a:9092\ntarget:\n  bootstrap_servers: b:9092\ntopics:\n  - orders\n  - payments\ndata: not-synced\ncutover:\n  at: \"2026-01-01T00:00:00Z\"\nconsumers:\n  groups:\n    - id: billing\n    - id: audit\n    - id: ledger\n      offsets: self-stored\n      export: ledger.csv\n";
        kmigrate_plan::parse("t.yaml", yaml).plan.expect("a valid plan")
    }

    fn cluster(id: &str, topics: &[&str]) -> ClusterMetadata {
        ClusterMetadata {
            cluster_id: Some(id.to_string()),
            brokers: Vec::new(),
            topics: topics
                .iter()
                .map(|t| (t.to_string(), TopicInfo { name: t.to_string(), partitions: Vec::new() }))
                .collect(),
        }
    }

    #[test]
    fn every_problem_at_once_and_the_groups_reading_elsewhere() {
        let committed: BTreeMap<String, BTreeMap<TopicPartition, i64>> = [
            ("billing".to_string(), [(TopicPartition::new("orders", 0), 5)].into()),
            ("audit".to_string(), [(TopicPartition::new("gone", 0), 5)].into()),
        ]
        .into();
        let checked = check(&plan(), &cluster("same", &["orders"]), &cluster("same", &[]), &committed);
        assert_eq!(
            checked.problems,
            vec![
                Problem::SameCluster { cluster_id: "same".into() },
                Problem::TopicMissing { topic: "payments".into() },
            ]
        );
        assert_eq!(checked.outside_plan, vec!["audit".to_string()]);

        let checked =
            check(&plan(), &cluster("a", &["orders", "payments"]), &cluster("b", &[]), &BTreeMap::new());
        assert_eq!(
            checked.problems,
            vec![
                Problem::NoCommittedOffsets { group: "billing".into() },
                Problem::NoCommittedOffsets { group: "audit".into() }
            ],
            "self-stored groups need no commits"
        );
        assert_eq!(
            checked.problems[0].to_string(),
            "consumer group billing has no committed offsets on the source: check the group id, or mark it `offsets: self-stored` if the application keeps its own offsets"
        );
    }
}
