//! Reading the facts from the clusters, through `kmigrate-kafka` (read-only: Metadata,
//! ListOffsets, ListGroups, DescribeGroups, OffsetFetch).

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};
use kmigrate_kafka::{Cluster, Error, GroupListing, GroupState, TopicPartition};
use regex::Regex;

use crate::facts::{Activity, Commits, GroupFacts, SourceFacts, TargetFacts, TopicFacts};
use crate::tooling::{tooling_group, tooling_topic};

/// How many groups are read at once.
const GROUP_CONCURRENCY: usize = 8;

/// A group as read: its listing, activity, protocol type (when described), committed offsets.
type GroupRead = (GroupListing, Activity, Option<String>, BTreeMap<TopicPartition, i64>);

/// Which topics and groups to propose (`--topics`, `--groups`); `None` selects all.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub topics: Option<Regex>,
    pub groups: Option<Regex>,
}

/// Reads the source: its topics (partitions, records retained), and every selected group's
/// activity, committed offsets and lag.
pub async fn read_source(source: &Cluster, selection: &Selection) -> Result<SourceFacts, Error> {
    let md = source.metadata().await?;
    let mut facts = SourceFacts { all_topics: md.topics.keys().cloned().collect(), ..Default::default() };
    let mut partitions = Vec::new();
    for (name, topic) in &md.topics {
        if let Some(who) = tooling_topic(name) {
            facts.tooling_topics.push((name.clone(), who));
        } else if selection.topics.as_ref().is_some_and(|re| !re.is_match(name)) {
            facts.unselected_topics.push(name.clone());
        } else {
            partitions.extend(topic.partitions.iter().map(|p| TopicPartition::new(name.clone(), p.id)));
            facts.topics.insert(name.clone(), TopicFacts { partitions: topic.partition_count(), records: 0 });
        }
    }
    let watermarks =
        if partitions.is_empty() { BTreeMap::new() } else { source.watermarks(&partitions).await? };
    for (tp, w) in &watermarks {
        if let Some(t) = facts.topics.get_mut(&tp.topic) {
            t.records += w.len();
        }
    }
    let ends: BTreeMap<&TopicPartition, i64> = watermarks.iter().map(|(tp, w)| (tp, w.latest)).collect();

    let mut listed = Vec::new();
    for g in source.list_groups().await? {
        if tooling_group(&g.group_id, None) {
            facts.tooling_groups.push(g.group_id);
        } else if selection.groups.as_ref().is_some_and(|re| !re.is_match(&g.group_id)) {
            facts.unselected_groups.push(g.group_id);
        } else {
            listed.push(g);
        }
    }
    let read: Vec<GroupRead> = futures::stream::iter(listed)
        .map(|g| async move {
            let (activity, protocol_type) = activity(source, &g).await;
            let committed = source.all_committed_offsets(&g.group_id).await?;
            Ok::<_, Error>((g, activity, protocol_type, committed))
        })
        .buffered(GROUP_CONCURRENCY)
        .try_collect()
        .await?;
    for (g, activity, protocol_type, committed) in read {
        let only_tooling =
            !committed.is_empty() && committed.keys().all(|tp| tooling_topic(&tp.topic).is_some());
        if tooling_group(&g.group_id, protocol_type.as_deref()) || only_tooling {
            facts.tooling_groups.push(g.group_id);
            continue;
        }
        let mut commits: BTreeMap<String, Commits> = BTreeMap::new();
        let mut other_topics: Vec<String> = Vec::new();
        for (tp, offset) in &committed {
            if facts.topics.contains_key(&tp.topic) {
                let end = ends.get(tp).copied().unwrap_or(*offset);
                let c = commits.entry(tp.topic.clone()).or_insert(Commits { partitions: 0, lag: 0 });
                c.partitions += 1;
                c.lag += (end - offset).max(0);
            } else if !other_topics.contains(&tp.topic) {
                other_topics.push(tp.topic.clone());
            }
        }
        facts.groups.push(GroupFacts { id: g.group_id, activity, commits, other_topics });
    }
    facts.groups.sort_by(|a, b| a.id.cmp(&b.id));
    facts.tooling_groups.sort();
    Ok(facts)
}

/// Whether the group has members, and its protocol type when described.
async fn activity(source: &Cluster, g: &GroupListing) -> (Activity, Option<String>) {
    match source.describe_group(&g.group_id).await {
        Ok(d) if !d.members.is_empty() => (Activity::Members(d.members.len()), Some(d.protocol_type)),
        Ok(d) => (Activity::Idle { state: d.state.to_string() }, Some(d.protocol_type)),
        // Kafka 4's consumer-protocol groups are listed but not described: the listed state says.
        Err(Error::GroupNotFound { .. }) => (from_listing(&g.state), None),
        Err(e) => {
            tracing::debug!(group = %g.group_id, error = %e, "describing the group failed");
            match from_listing(&g.state) {
                Activity::Unknown { .. } => (Activity::Unknown { reason: e.to_string() }, None),
                known => (known, None),
            }
        }
    }
}

fn from_listing(state: &GroupState) -> Activity {
    match state {
        GroupState::Empty | GroupState::Dead => Activity::Idle { state: state.to_string() },
        GroupState::Unknown => Activity::Unknown { reason: "the broker does not report its state".into() },
        other => Activity::Active { state: other.to_string() },
    }
}

/// Reads the target: its topics and groups, to say what already exists there.
pub async fn read_target(target: &Cluster) -> Result<TargetFacts, Error> {
    let md = target.metadata().await?;
    let groups = target.list_groups().await?;
    Ok(TargetFacts {
        topics: md.topics.iter().map(|(n, t)| (n.clone(), t.partition_count())).collect(),
        groups: groups.into_iter().map(|g| (g.group_id, g.state.to_string())).collect(),
    })
}
