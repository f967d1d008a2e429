//! `offsets:<g>`: compute the group's start position on the target (the strategy table, see
//! `strategy`), then commit it to the group on the target (broker-managed) or write the export
//! file (self-stored).
//!
//! The decision is saved in the checkpoint *before* it is applied: a re-run after a kill applies
//! the same offsets instead of resolving "latest" again at a later moment.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, FixedOffset};
use futures::{StreamExt, TryStreamExt};
use kmigrate_kafka::{Cluster, Membership, PartitionTimestamps, TimeOffset, TopicPartition, Watermarks};
use kmigrate_plan::{GroupSpec, OffsetStore, Plan};
use serde_json::json;

use super::context::Context;
use super::copy::{self, Exact};
use super::errors::kafka_error;
use super::{export, groups};
use crate::executor::{StepError, StepHandle, StepOutcome, StepResult};
use crate::facts::{Applied, StepSummary, StepWarning};
use crate::outputs::{self, OffsetsOutputs};
pub use crate::outputs::{Decided, PartitionDecision};
use crate::strategy::{self, Decision, PartitionFacts, Rule, TimeAnswer};

pub async fn run(ctx: &Context, h: &StepHandle) -> StepResult {
    let group = groups::spec(ctx, h)?;
    let saved = h.checkpoint.read(|s| outputs::decided(s, &group.id))?;
    let decided = match saved {
        Some(d) => d,
        None => {
            let d = decide(ctx, h, group).await?;
            h.save_outputs(outputs::value(&OffsetsOutputs {
                decided: d.clone(),
                applied: None,
                mirrormaker2: None,
            }))?;
            d
        }
    };
    let offsets = decided.offsets();
    let at_end = decided
        .partitions
        .iter()
        .filter(|p| crate::strategy::Decision::at_end_of_partition(p.note.as_deref()))
        .count();
    let applied = match group.offsets {
        OffsetStore::BrokerManaged => commit(ctx, h, group, &offsets).await?,
        OffsetStore::SelfStored => write_export(ctx, group, &decided)?,
    };
    let uncommitted: Vec<String> = decided.uncommitted().iter().map(ToString::to_string).collect();
    if !uncommitted.is_empty() {
        h.warn(StepWarning::Uncommitted { partitions: uncommitted.clone() });
    }
    // MirrorMaker 2's own translation beside kmigrate's, for strict groups (read only).
    let mirrormaker2 = if ctx.plan.mirrors_data() && group.loss == kmigrate_plan::Loss::Strict {
        let target = ctx.target().await?;
        let checkpoints = super::mm2_translation::read(target, &group.id).await?;
        Some(super::mm2_translation::compare(&decided, &checkpoints))
    } else {
        None
    };
    let recorded = OffsetsOutputs {
        decided: decided.clone(),
        applied: Some(applied.recorded()),
        mirrormaker2: mirrormaker2.clone(),
    };
    Ok(StepOutcome::Done {
        outputs: outputs::value(&recorded),
        summary: StepSummary::Offsets {
            group: group.id.clone(),
            partitions: offsets.len(),
            rule: decided.rule.clone(),
            applied,
            at_end,
            duplicates: decided.duplicates,
            uncommitted,
            mirrormaker2,
        },
    })
}

/// The facts a group's decision is made of (see `strategy`), read by this step before it acts,
/// or by `kmigrate plan` to predict the decision without acting.
#[derive(Default)]
pub struct Facts {
    /// The target watermarks of every partition the group reads.
    pub marks: BTreeMap<TopicPartition, Watermarks>,
    /// By-time answers (by-time rule only).
    pub by_time: BTreeMap<TopicPartition, TimeAnswer>,
    /// The group's `from_file` offsets (from-file rule only).
    pub from_file: BTreeMap<TopicPartition, i64>,
    /// Translated through the copies' offset maps (kmigrate copies the data).
    pub exact: Option<Exact>,
}

/// The rule that decides `group`'s start offsets, with the cutover time `t`.
pub fn rule_for_group(plan: &Plan, group: &GroupSpec, t: DateTime<FixedOffset>) -> Rule {
    // An offset map is to be had whenever the data is synced: kmigrate's copy's, or the aligned logs.
    let map = matches!(plan.data, kmigrate_plan::DataMode::Synced(_));
    strategy::rule_for(plan.data, group.offsets, group.loss, group.from_file.is_some(), map, t)
}

/// Pure: the start offset of every partition under `rule`. `Err` names every partition that
/// cannot be decided, one line each.
pub fn decide_partitions(
    rule: &Rule,
    partitions: &[TopicPartition],
    facts: &Facts,
) -> Result<Vec<PartitionDecision>, Vec<String>> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for p in partitions {
        let w = facts.marks[p];
        let partition_facts = PartitionFacts {
            earliest: w.earliest,
            latest: w.latest,
            by_time: facts.by_time.get(p).copied(),
            from_file: facts.from_file.get(p).copied(),
            exact: facts.exact.as_ref().and_then(|e| e.offsets.get(p).copied()),
            no_source_commit: facts.exact.as_ref().is_some_and(|e| e.uncommitted.contains(p)),
        };
        match strategy::decide(rule, &partition_facts) {
            Ok(Decision { offset, note }) => {
                out.push(PartitionDecision { topic: p.topic.clone(), partition: p.partition, offset, note })
            }
            Err(e) => problems.push(format!("{p}: {e}")),
        }
    }
    if problems.is_empty() { Ok(out) } else { Err(problems) }
}

async fn decide(ctx: &Context, h: &StepHandle, group: &GroupSpec) -> Result<Decided, StepError> {
    let t = h
        .checkpoint
        .read(crate::outputs::cutover_time)?
        .ok_or_else(|| StepError::fatal("the cutover time is not recorded yet"))?;
    let target = ctx.target().await?;
    let topics = groups::topics(ctx, h, group).await?;
    let partitions = ctx.partitions(target, &topics).await?;
    let mut rule = rule_for_group(&ctx.plan, group, t);

    let marks = target.watermarks(&partitions).await.map_err(kafka_error)?;
    let mut exact = copy::exact_offsets(ctx, h, group, &partitions, &marks).await?;
    if rule == Rule::ExactFromAlignment {
        match aligned_offsets(ctx, group, &partitions, &marks).await? {
            Ok(e) => exact = Some(e),
            Err(why) => {
                let (p, source_offset, target_offset) = why;
                h.warn(StepWarning::AlignmentFallback {
                    group: group.id.clone(),
                    partition: p.to_string(),
                    source_offset,
                    target_offset,
                });
                rule = strategy::rule_for(ctx.plan.data, group.offsets, group.loss, false, false, t);
            }
        }
    }
    let by_time = match &rule {
        Rule::ByTime { time } => by_time(target, &partitions, time.timestamp_millis(), &marks).await?,
        _ => BTreeMap::new(),
    };
    let from_file = match &group.from_file {
        Some(path) => read_from_file(&ctx.plan_dir, path, &partitions).map_err(StepError::fatal)?,
        None => BTreeMap::new(),
    };
    let duplicates = exact.as_ref().map_or(0, |e| e.duplicates);
    let facts = Facts { marks, by_time, from_file, exact };
    let partitions =
        decide_partitions(&rule, &partitions, &facts).map_err(|p| StepError::fatal(p.join("\n")))?;
    Ok(Decided { rule, cutover_time: t.to_rfc3339(), partitions, duplicates })
}

/// Exact start offsets from the aligned logs of every partition the group reads, or why a
/// partition cannot be aligned: the partition, the source record the external copy dropped or
/// altered, and the target offset of the copy after it. A target that
/// lacks the source's latest records (the external copy is behind) fails the step: no rule can
/// start the group on records the target does not have.
async fn aligned_offsets(
    ctx: &Context,
    group: &GroupSpec,
    partitions: &[TopicPartition],
    marks: &BTreeMap<TopicPartition, Watermarks>,
) -> Result<Result<copy::Exact, (TopicPartition, i64, i64)>, StepError> {
    let (source, target) = tokio::try_join!(ctx.source(), ctx.target())?;
    let mut copies: BTreeMap<String, copy::CopyState> = BTreeMap::new();
    let mut fields_of: BTreeMap<String, kmigrate_kafka::Fields> = BTreeMap::new();
    for p in partitions {
        if !fields_of.contains_key(&p.topic) {
            fields_of.insert(p.topic.clone(), copy::kept_fields(target, &p.topic).await?);
        }
    }
    // Partitions are aligned concurrently; their results are looked at in partition order.
    // (The futures are made up front: a stream holding the closure that makes them is not `Send`
    // for every lifetime, which the step's boxed future needs.)
    let alignments: Vec<_> = partitions
        .iter()
        .map(|p| {
            let fields = fields_of[&p.topic];
            async move { Ok::<_, StepError>((p, ctx.alignments.get(source, target, p, fields).await?)) }
        })
        .collect();
    let mut aligned: Vec<_> = futures::stream::iter(alignments)
        .buffer_unordered(super::align::ALIGN_PARALLEL)
        .try_collect()
        .await?;
    aligned.sort_by(|a, b| a.0.cmp(b.0));
    for (p, result) in aligned {
        match result {
            Ok(map) => {
                copies.entry(p.topic.clone()).or_default().partitions.insert(p.partition, map);
            }
            Err(super::align::Misaligned::Behind { source_offset }) => {
                return Err(StepError::fatal(format!(
                    "{p}: the target holds no copy of the source's records from offset {source_offset} on (the external copy has not caught up); let it catch up, then run apply again"
                )));
            }
            Err(super::align::Misaligned::Skipped { source_offset, target_offset }) => {
                return Ok(Err((p.clone(), source_offset, target_offset)));
            }
        }
    }
    let committed = match group.offsets {
        OffsetStore::BrokerManaged => {
            Some(source.committed_offsets(&group.id, partitions).await.map_err(kafka_error)?)
        }
        OffsetStore::SelfStored => None,
    };
    Ok(Ok(copy::exact_from(&copies, committed.as_ref(), partitions, marks)))
}

/// By-time answers, refusing partitions whose records carry no usable timestamps.
async fn by_time(
    target: &Cluster,
    partitions: &[TopicPartition],
    t_ms: i64,
    marks: &BTreeMap<TopicPartition, Watermarks>,
) -> Result<BTreeMap<TopicPartition, TimeAnswer>, StepError> {
    let non_empty: Vec<TopicPartition> =
        partitions.iter().filter(|p| !marks[*p].is_empty()).cloned().collect();
    let inspected = target.inspect_timestamps(&non_empty, TIMESTAMP_SAMPLE).await.map_err(kafka_error)?;
    if let Some(problem) = unusable_timestamps(&inspected) {
        return Err(StepError::fatal(problem));
    }
    let answers = target.offsets_for_time(partitions, t_ms).await.map_err(kafka_error)?;
    Ok(time_answers(answers))
}

/// How many records at each end of a partition are inspected before a by-time lookup.
pub const TIMESTAMP_SAMPLE: usize = 3;

/// Pure: why a by-time lookup is refused on the inspected partitions, if it is.
pub fn unusable_timestamps(inspected: &[PartitionTimestamps]) -> Option<String> {
    let unusable: Vec<String> = inspected
        .iter()
        .filter(|p| !p.kind.usable_for_time_lookup())
        .map(|p| format!("{} ({:?})", p.partition, p.kind))
        .collect();
    (!unusable.is_empty()).then(|| format!(
        "a by-time lookup is meaningless on partitions whose records carry no producer timestamps: {}. Records written by clients older than Kafka 0.10 have none, and LogAppendTime topics hold the time of the copy. Give the group explicit offsets instead: `from_file: offsets.csv` with `topic,partition,offset` lines (the format of kafka-consumer-groups --reset-offsets --from-file)",
        unusable.join(", ")
    ))
}

/// Pure: the broker's by-time answers as the strategy's facts.
pub fn time_answers(answers: BTreeMap<TopicPartition, TimeOffset>) -> BTreeMap<TopicPartition, TimeAnswer> {
    answers
        .into_iter()
        .map(|(p, a)| {
            let answer = match a {
                TimeOffset::At(o) => TimeAnswer::Offset(o),
                TimeOffset::End(_) => TimeAnswer::End,
            };
            (p, answer)
        })
        .collect()
}

/// The group's `from_file` offsets (`path` relative to `plan_dir`); every partition must have one.
pub fn read_from_file(
    plan_dir: &Path,
    path: &Path,
    partitions: &[TopicPartition],
) -> Result<BTreeMap<TopicPartition, i64>, String> {
    let full = plan_dir.join(path);
    let text = std::fs::read_to_string(&full)
        .map_err(|e| format!("cannot read from_file {}: {e}", full.display()))?;
    let map = export::parse_csv(&text).map_err(|e| format!("{}: {e}", full.display()))?;
    let missing: Vec<String> =
        partitions.iter().filter(|p| !map.contains_key(*p)).map(|p| p.to_string()).collect();
    if !missing.is_empty() {
        return Err(format!("{} gives no offset for {}", full.display(), missing.join(", ")));
    }
    Ok(map)
}

async fn commit(
    ctx: &Context,
    h: &StepHandle,
    group: &GroupSpec,
    offsets: &BTreeMap<TopicPartition, i64>,
) -> Result<Applied, StepError> {
    let target = ctx.target().await?;
    let parts: Vec<TopicPartition> = offsets.keys().cloned().collect();
    let current = target.committed_offsets(&group.id, &parts).await.map_err(kafka_error)?;
    if offsets.iter().all(|(p, o)| current.get(p).copied().flatten() == Some(*o)) {
        return Ok(Applied::AlreadyCommitted);
    }
    if let Membership::Unverified { reason } =
        target.commit_offsets(&group.id, offsets).await.map_err(kafka_error)?
    {
        h.warn(StepWarning::MembershipUnverified { group: group.id.clone(), reason })
    }
    Ok(Applied::Committed)
}

fn write_export(ctx: &Context, group: &GroupSpec, decided: &Decided) -> Result<Applied, StepError> {
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
    let (csv, json) = (path.clone(), export::json_path(&path));
    Ok(if written { Applied::Exported { csv, json } } else { Applied::ExportUnchanged { csv, json } })
}
