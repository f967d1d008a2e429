//! `offsets:<g>`: compute the group's start position on the target (the strategy table, see
//! `strategy`), then commit it to the group on the target (broker-managed) or write the export
//! file (self-stored).
//!
//! The decision is saved in the checkpoint *before* it is applied: a re-run after a kill applies
//! the same offsets instead of resolving "latest" again at a later moment.

use std::collections::BTreeMap;

use kmigrate_kafka::{Membership, TimeOffset, TopicPartition};
use kmigrate_plan::{GroupSpec, OffsetStore};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::context::{Context, kafka_error};
use super::{cutover, export, groups};
use crate::strategy::{self, Decision, PartitionFacts, Rule, TimeAnswer};
use crate::walker::{StepError, StepHandle, StepOutcome, StepResult};

/// What the step decided, as saved in the checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decided {
    pub rule: Rule,
    pub cutover_time: String,
    pub partitions: Vec<PartitionDecision>,
    /// Copied records the group will read again (exact translation with interleaved records).
    #[serde(default)]
    pub duplicates: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionDecision {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Decided {
    pub fn offsets(&self) -> BTreeMap<TopicPartition, i64> {
        self.partitions
            .iter()
            .map(|p| (TopicPartition::new(p.topic.clone(), p.partition), p.offset))
            .collect()
    }
}

pub async fn run(ctx: &Context, h: &StepHandle) -> StepResult {
    let group = groups::spec(ctx, h)?;
    let saved: Option<Decided> =
        h.checkpoint.outputs(&h.id()).get("decided").and_then(|d| serde_json::from_value(d.clone()).ok());
    let decided = match saved {
        Some(d) => d,
        None => {
            let d = decide(ctx, h, group).await?;
            h.save_outputs(json!({ "decided": d }))?;
            d
        }
    };
    let offsets = decided.offsets();
    let at_end = decided
        .partitions
        .iter()
        .filter(|p| p.note.as_deref().is_some_and(|n| n.contains("end of partition")))
        .count();
    let (applied, detail) = match group.offsets {
        OffsetStore::BrokerManaged => commit(ctx, h, group, &offsets).await?,
        OffsetStore::SelfStored => write_export(ctx, group, &decided)?,
    };
    let mut summary = format!("{} partitions set by rule \"{}\": {detail}", offsets.len(), decided.rule);
    if at_end > 0 {
        summary.push_str(&format!("; {at_end} with no record at or after T start at the end"));
    }
    if decided.duplicates > 0 {
        summary.push_str(&format!("; the group will read {} copied records again", decided.duplicates));
    }
    Ok(StepOutcome::Done { outputs: json!({ "decided": decided, "applied": applied }), summary })
}

async fn decide(ctx: &Context, h: &StepHandle, group: &GroupSpec) -> Result<Decided, StepError> {
    let t =
        cutover::recorded_time(h).ok_or_else(|| StepError::fatal("the cutover time is not recorded yet"))?;
    let target = ctx.target().await?;
    let topics = groups::topics(ctx, h, group).await?;
    let partitions = ctx.partitions(target, &topics).await?;
    let exact = super::copy::exact_offsets(ctx, h, group, &partitions).await?;
    let rule = strategy::rule_for(
        ctx.plan.data,
        group.offsets,
        group.loss,
        group.from_file.is_some(),
        exact.is_some(),
        t,
    );

    let marks = target.watermarks(&partitions).await.map_err(kafka_error)?;
    let by_time = match &rule {
        Rule::ByTime { time } => by_time(ctx, &partitions, time.timestamp_millis(), &marks).await?,
        _ => BTreeMap::new(),
    };
    let from_file = match &group.from_file {
        Some(path) => read_from_file(ctx, path, &partitions)?,
        None => BTreeMap::new(),
    };

    let mut out = Vec::new();
    let mut problems = Vec::new();
    for p in &partitions {
        let w = marks[p];
        let facts = PartitionFacts {
            earliest: w.earliest,
            latest: w.latest,
            by_time: by_time.get(p).copied(),
            from_file: from_file.get(p).copied(),
            exact: exact.as_ref().and_then(|e| e.offsets.get(p).copied()),
        };
        match strategy::decide(&rule, &facts) {
            Ok(Decision { offset, note }) => {
                out.push(PartitionDecision { topic: p.topic.clone(), partition: p.partition, offset, note })
            }
            Err(e) => problems.push(format!("{p}: {e}")),
        }
    }
    if !problems.is_empty() {
        return Err(StepError::fatal(problems.join("\n")));
    }
    Ok(Decided {
        rule,
        cutover_time: t.to_rfc3339(),
        partitions: out,
        duplicates: exact.map_or(0, |e| e.duplicates),
    })
}

/// By-time answers, refusing partitions whose records carry no usable timestamps.
async fn by_time(
    ctx: &Context,
    partitions: &[TopicPartition],
    t_ms: i64,
    marks: &BTreeMap<TopicPartition, kmigrate_kafka::Watermarks>,
) -> Result<BTreeMap<TopicPartition, TimeAnswer>, StepError> {
    let target = ctx.target().await?;
    let non_empty: Vec<TopicPartition> =
        partitions.iter().filter(|p| !marks[*p].is_empty()).cloned().collect();
    let inspected = target.inspect_timestamps(&non_empty, 3).await.map_err(kafka_error)?;
    let unusable: Vec<String> = inspected
        .iter()
        .filter(|p| !p.kind.usable_for_time_lookup())
        .map(|p| format!("{} ({:?})", p.partition, p.kind))
        .collect();
    if !unusable.is_empty() {
        return Err(StepError::fatal(format!(
            "a by-time lookup is meaningless on partitions whose records carry no producer timestamps: {}. Records written by clients older than Kafka 0.10 have none, and LogAppendTime topics hold the time of the copy. Give the group explicit offsets instead: `from_file: offsets.csv` with `topic,partition,offset` lines (the format of kafka-consumer-groups --reset-offsets --from-file)",
            unusable.join(", ")
        )));
    }
    let answers = target.offsets_for_time(partitions, t_ms).await.map_err(kafka_error)?;
    Ok(answers
        .into_iter()
        .map(|(p, a)| {
            let answer = match a {
                TimeOffset::At(o) => TimeAnswer::Offset(o),
                TimeOffset::End(_) => TimeAnswer::End,
            };
            (p, answer)
        })
        .collect())
}

fn read_from_file(
    ctx: &Context,
    path: &std::path::Path,
    partitions: &[TopicPartition],
) -> Result<BTreeMap<TopicPartition, i64>, StepError> {
    let full = ctx.plan_dir.join(path);
    let text = std::fs::read_to_string(&full)
        .map_err(|e| StepError::fatal(format!("cannot read from_file {}: {e}", full.display())))?;
    let map = export::parse_csv(&text).map_err(|e| StepError::fatal(format!("{}: {e}", full.display())))?;
    let missing: Vec<String> =
        partitions.iter().filter(|p| !map.contains_key(*p)).map(|p| p.to_string()).collect();
    if !missing.is_empty() {
        return Err(StepError::fatal(format!(
            "{} gives no offset for {}",
            full.display(),
            missing.join(", ")
        )));
    }
    Ok(map)
}

async fn commit(
    ctx: &Context,
    h: &StepHandle,
    group: &GroupSpec,
    offsets: &BTreeMap<TopicPartition, i64>,
) -> Result<(&'static str, String), StepError> {
    let target = ctx.target().await?;
    let parts: Vec<TopicPartition> = offsets.keys().cloned().collect();
    let current = target.committed_offsets(&group.id, &parts).await.map_err(kafka_error)?;
    if offsets.iter().all(|(p, o)| current.get(p).copied().flatten() == Some(*o)) {
        return Ok(("unchanged", format!("already committed for group {} on the target", group.id)));
    }
    match target.commit_offsets(&group.id, offsets).await.map_err(kafka_error)? {
        Membership::Unverified { reason } => {
            h.warn(format!("could not verify that group {} has no active members on the target ({reason}); the broker accepted the commit", group.id))
        }
        _ => {}
    }
    Ok(("committed", format!("committed for group {} on the target", group.id)))
}

fn write_export(
    ctx: &Context,
    group: &GroupSpec,
    decided: &Decided,
) -> Result<(&'static str, String), StepError> {
    let rel = group
        .export
        .as_ref()
        .ok_or_else(|| StepError::fatal(format!("self-stored group {} has no export path", group.id)))?;
    let path = ctx.plan_dir.join(rel);
    let json = json!({
        "group": group.id,
        "cutover_time": decided.cutover_time,
        "rule": decided.rule,
        "offsets": decided.partitions,
    });
    let written = export::write(&path, &export::to_csv(&decided.offsets()), &json)
        .map_err(|e| StepError::fatal(format!("cannot write {}: {e}", path.display())))?;
    let what = if written { "exported" } else { "unchanged" };
    Ok((what, format!("{what} to {} (and {})", path.display(), export::json_path(&path).display())))
}
