//! Everything the preview reads from the clusters, in a fixed number of batched requests.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::try_join_all;
use kmigrate_dag::Expansion;
use kmigrate_kafka::{
    Cluster, ClusterMetadata, PartitionTimestamps, SampledBytes, TopicConfig, TopicPartition, Watermarks,
};
use kmigrate_plan::{GroupSpec, OffsetStore, TopicSelector};

use super::known::{self, cutover_time};
use super::{PreviewError, PreviewInput, configs};
use crate::rules::groups::topics_read;
use crate::steps::concrete_topics;
use crate::steps::offsets::{TIMESTAMP_SAMPLE, rule_for_group, time_answers};
use crate::strategy::{Rule, TimeAnswer};

/// How many of the newest records of each partition are read to count the bytes to copy. When a
/// partition has no more left to copy than this, its count is exact.
pub(super) const BYTES_SAMPLE: i64 = 10;

/// What the clusters said.
pub(super) struct Live {
    pub source_md: ClusterMetadata,
    pub target_md: ClusterMetadata,
    /// Configs of the plan topics on each cluster (where they exist).
    pub source_configs: BTreeMap<String, TopicConfig>,
    pub target_configs: BTreeMap<String, TopicConfig>,
    /// The topic config names the target knows, when it lists them all (Apache Kafka does).
    pub target_config_names: Option<BTreeSet<String>>,
    /// Watermarks of every partition of the plan topics on each cluster.
    pub source_marks: BTreeMap<TopicPartition, Watermarks>,
    pub target_marks: BTreeMap<TopicPartition, Watermarks>,
    /// Committed offsets by group: on the source for groups apply reads there (broker-managed or
    /// drained), on the target for broker-managed groups.
    pub source_committed: BTreeMap<String, BTreeMap<TopicPartition, i64>>,
    pub target_committed: BTreeMap<String, BTreeMap<TopicPartition, i64>>,
    /// The newest records not yet copied, per source partition (copies only).
    pub samples: BTreeMap<TopicPartition, SampledBytes>,
    /// The target's by-time answers at the cutover time, and its timestamp inspection (only
    /// when a by-time group can be decided now: T is known and has passed).
    pub by_time: BTreeMap<TopicPartition, TimeAnswer>,
    pub inspected: Vec<PartitionTimestamps>,
    /// The Kafka Connect cluster of `sync.by: mirrormaker2` (`None`: no such plan, or its URL is
    /// a `${VAR}`, resolved at apply).
    pub connect: Option<Result<ConnectFacts, String>>,
    /// MirrorMaker 2's latest checkpoints of each strict group (`sync.by: mirrormaker2`).
    pub mm2_checkpoints: BTreeMap<String, BTreeMap<TopicPartition, kmigrate_connect::checkpoint::Checkpoint>>,
}

/// What `kmigrate plan` learns from the Connect cluster.
pub(super) struct ConnectFacts {
    pub version: String,
    /// The workers can run MirrorMaker's source connector.
    pub mirror_plugin: bool,
    /// The plan's connectors that exist already (apply replaces their configs).
    pub existing: Vec<String>,
}

/// Asks the Connect cluster of a MirrorMaker 2 plan (read-only requests).
async fn connect_facts(plan: &kmigrate_plan::Plan) -> Option<Result<ConnectFacts, String>> {
    let c = plan.connect.as_ref().filter(|c| plan.mirrors_data() && c.url.is_literal())?;
    let client = kmigrate_connect::ConnectClient::new(&c.url.raw, std::time::Duration::from_secs(10));
    let names = kmigrate_dag::connector_names(plan);
    let facts =
        tokio::task::spawn_blocking(move || -> Result<ConnectFacts, kmigrate_connect::ConnectError> {
            let version = client.version()?;
            let mirror_plugin =
                client.plugins()?.iter().any(|p| p == kmigrate_connect::mm2::SOURCE_CONNECTOR_CLASS);
            let listed = client.list()?;
            let existing = names.into_iter().filter(|n| listed.contains(n)).collect();
            Ok(ConnectFacts { version, mirror_plugin, existing })
        })
        .await;
    Some(match facts {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(e) => Err(format!("internal error: {e}")),
    })
}

/// Reads both clusters; adds the patterns not yet recorded in `expansion`, matched against the
/// source's topics as the `expand:` steps would.
pub(super) async fn read(
    input: &PreviewInput<'_>,
    source: &Cluster,
    target: &Cluster,
    expansion: &mut Expansion,
) -> Result<Live, PreviewError> {
    let plan = input.plan;
    let (source_md, target_md) = tokio::try_join!(source.metadata(), target.metadata())?;
    for spec in &plan.topics {
        if let TopicSelector::Pattern(re) = &spec.selector
            && !expansion.contains_key(re.as_str())
        {
            let matched = source_md.topics.keys().filter(|t| re.is_match(t)).cloned().collect();
            expansion.insert(re.as_str().to_string(), matched);
        }
    }
    let topics = concrete_topics(plan, expansion);
    let on_source: Vec<&str> =
        topics.iter().filter(|t| source_md.topics.contains_key(*t)).map(String::as_str).collect();
    let on_target: Vec<&str> =
        topics.iter().filter(|t| target_md.topics.contains_key(*t)).map(String::as_str).collect();
    // When no plan topic exists on the target yet, one of its other topics tells (in the same
    // request) which config names it knows.
    let mut described_on_target = on_target.clone();
    if described_on_target.is_empty()
        && let Some(other) = target_md.topics.keys().next()
    {
        described_on_target.push(other);
    }
    let source_parts = known::partitions_of(&source_md, &on_source);
    let target_parts = known::partitions_of(&target_md, &on_target);
    let read_on_source: Vec<&GroupSpec> =
        plan.groups.iter().filter(|g| g.offsets == OffsetStore::BrokerManaged || g.drain).collect();
    let read_on_target: Vec<&GroupSpec> =
        plan.groups.iter().filter(|g| g.offsets == OffsetStore::BrokerManaged).collect();

    let (source_configs, target_configs, source_marks, target_marks, source_committed, target_committed) = tokio::try_join!(
        source.describe_topic_configs(&on_source),
        target.describe_topic_configs(&described_on_target),
        watermarks(source, &source_parts),
        watermarks(target, &target_parts),
        committed(source, &read_on_source),
        committed(target, &read_on_target),
    )?;
    let target_config_names = configs::known_names(&target_configs);

    // The bytes to copy: the newest records not yet copied of every partition, in one read.
    let mut ranges = Vec::new();
    if plan.copies_data() {
        for p in &source_parts {
            if input.state.is_some_and(|s| known::is_done(s, &crate::outputs::copy_step(&p.topic))) {
                continue;
            }
            let w = source_marks[p];
            let start = known::copy_state(input.state, &p.topic).resume_offset(p.partition, w);
            if start < w.latest {
                ranges.push((p.clone(), start.max(w.latest - BYTES_SAMPLE), w.latest));
            }
        }
    }
    // The by-time lookup, once for every by-time group (they share the cutover time).
    let mut by_time_parts: BTreeSet<TopicPartition> = BTreeSet::new();
    let t = cutover_time(input);
    if let Some(t) = t.filter(|t| *t <= input.now) {
        for g in &plan.groups {
            if !matches!(rule_for_group(plan, g, t), Rule::ByTime { .. }) || known::decision_known(input, g) {
                continue;
            }
            let Ok(read) = topics_read(topics.clone(), g, source_committed.get(&g.id)) else { continue };
            let on_target: Vec<&str> =
                read.iter().filter(|t| target_md.topics.contains_key(*t)).map(String::as_str).collect();
            by_time_parts.extend(known::partitions_of(&target_md, &on_target));
        }
    }
    let by_time_parts: Vec<TopicPartition> = by_time_parts.into_iter().collect();
    let by_time_lookup = async {
        if by_time_parts.is_empty() {
            return Ok((Vec::new(), BTreeMap::new()));
        }
        let t_ms = t.expect("by-time partitions only with a known cutover time").timestamp_millis();
        let non_empty: Vec<TopicPartition> =
            by_time_parts.iter().filter(|p| !target_marks[*p].is_empty()).cloned().collect();
        let inspected = if non_empty.is_empty() {
            Vec::new()
        } else {
            target.inspect_timestamps(&non_empty, TIMESTAMP_SAMPLE).await?
        };
        let answers = target.offsets_for_time(&by_time_parts, t_ms).await?;
        Ok::<_, kmigrate_kafka::Error>((inspected, time_answers(answers)))
    };
    let sample = async {
        if ranges.is_empty() { Ok(BTreeMap::new()) } else { source.sample_record_bytes(&ranges).await }
    };
    let (samples, (inspected, by_time)) = tokio::try_join!(sample, by_time_lookup)?;
    let connect = connect_facts(plan).await;
    let mut mm2_checkpoints = BTreeMap::new();
    if plan.mirrors_data() {
        for g in plan.groups.iter().filter(|g| g.loss == kmigrate_plan::Loss::Strict) {
            let found = crate::steps::mm2_translation::read_checkpoints(target, &g.id).await?;
            mm2_checkpoints.insert(g.id.clone(), found);
        }
    }

    Ok(Live {
        source_md,
        target_md,
        source_configs,
        target_configs,
        target_config_names,
        source_marks,
        target_marks,
        source_committed,
        target_committed,
        samples,
        by_time,
        inspected,
        connect,
        mm2_checkpoints,
    })
}

async fn watermarks(
    cluster: &Cluster,
    partitions: &[TopicPartition],
) -> kmigrate_kafka::Result<BTreeMap<TopicPartition, Watermarks>> {
    if partitions.is_empty() { Ok(BTreeMap::new()) } else { cluster.watermarks(partitions).await }
}

/// Every committed offset of each group (one OffsetFetch per group, concurrently).
async fn committed(
    cluster: &Cluster,
    groups: &[&GroupSpec],
) -> kmigrate_kafka::Result<BTreeMap<String, BTreeMap<TopicPartition, i64>>> {
    let answers = try_join_all(groups.iter().map(|g| async move {
        Ok::<_, kmigrate_kafka::Error>((g.id.clone(), cluster.all_committed_offsets(&g.id).await?))
    }))
    .await?;
    Ok(answers.into_iter().collect())
}
