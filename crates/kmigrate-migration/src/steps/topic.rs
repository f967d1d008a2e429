//! `topic:<t>`: create the topic on the target with the source's partition count and
//! non-default configs plus the plan's overrides, or verify an existing one (more partitions is
//! fine, fewer is an error; configs the plan asks for are set, other differences are shown).

use std::collections::BTreeMap;

use kmigrate_kafka::{ConfigChange, Error as KafkaError, NewTopicSpec};

use super::context::Context;
use super::errors::kafka_error;
use crate::executor::{StepError, StepHandle, StepOutcome, StepResult};
use crate::facts::{StepSummary, StepWarning, TopicDone};
use crate::outputs::{self, TopicOutputs};
use crate::rules::topic::{Desired, TopicChange, change, desired, spec_for};

pub async fn run(ctx: &Context, h: &StepHandle) -> StepResult {
    let topic = h.step.subject().unwrap_or_default().to_string();
    let spec = spec_for(&ctx.plan, &topic)
        .ok_or_else(|| StepError::fatal(format!("topic {topic} is not in the plan")))?;
    let (source, target) = tokio::try_join!(ctx.source(), ctx.target())?;

    let src = source.topics(&[topic.as_str()]).await.map_err(kafka_error)?;
    let src_partitions = src
        .get(&topic)
        .ok_or_else(|| StepError::fatal(format!("topic {topic} does not exist on the source cluster")))?
        .partition_count() as i32;
    let src_configs = source.describe_topic_configs(&[topic.as_str()]).await.map_err(kafka_error)?;
    let overrides = src_configs.get(&topic).map(|c| c.overrides()).unwrap_or_default();
    let want = desired(src_partitions, &overrides, spec).map_err(StepError::fatal)?;

    let current = current_target(ctx, &topic).await?;
    let diff = change(&want, src_partitions, current.as_ref().map(|(p, c)| (*p, c)));
    let summary = match &diff {
        TopicChange::Create(d) => {
            let mut new = NewTopicSpec::new(topic.clone(), d.partitions);
            new.configs = d.configs.clone();
            match target.create_topics(&[new]).await {
                Ok(()) => {
                    wait_for_leaders(ctx, &topic, d.partitions).await?;
                    TopicDone::Created { partitions: d.partitions, configs: d.configs.len() }
                }
                // Created by an earlier, interrupted run (or concurrently): verify it instead.
                Err(KafkaError::TopicAlreadyExists { .. }) => {
                    return verify_after_race(ctx, h, &topic, &want, src_partitions).await;
                }
                Err(e) => return Err(kafka_error(e)),
            }
        }
        TopicChange::Update { partitions, configs, extra } => {
            apply_update(ctx, &topic, *partitions, configs).await?;
            warn_extra(h, &topic, extra);
            TopicDone::Updated { partitions: *partitions, configs: configs.clone() }
        }
        TopicChange::Unchanged { extra } => {
            warn_extra(h, &topic, extra);
            TopicDone::Unchanged { partitions: current.map_or(0, |c| c.0) }
        }
        TopicChange::Impossible { reason } => return Err(StepError::fatal(reason.clone())),
    };
    Ok(StepOutcome::Done {
        outputs: outputs::value(&TopicOutputs {
            source_partitions: Some(src_partitions),
            desired: want,
            change: Some(diff),
        }),
        summary: StepSummary::Topic { change: summary },
    })
}

/// A new topic is usable once every partition has a leader; the steps after this one produce
/// to it at once.
async fn wait_for_leaders(ctx: &Context, topic: &str, partitions: i32) -> Result<(), StepError> {
    let target = ctx.target().await?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Ok(found) = target.topics(&[topic]).await
            && let Some(info) = found.get(topic)
            && info.partition_count() as i32 >= partitions
            && info.partitions.iter().all(|p| p.leader >= 0)
        {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            return Err(StepError::transient(format!(
                "topic {topic} was created but its partitions have no leader yet"
            )));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn current_target(
    ctx: &Context,
    topic: &str,
) -> Result<Option<(i32, BTreeMap<String, String>)>, StepError> {
    let target = ctx.target().await?;
    let found = match target.topics(&[topic]).await {
        Ok(found) => found,
        Err(KafkaError::TopicNotFound { .. }) => return Ok(None),
        Err(e) => return Err(kafka_error(e)),
    };
    let Some(info) = found.get(topic) else { return Ok(None) };
    let configs = target.describe_topic_configs(&[topic]).await.map_err(kafka_error)?;
    Ok(Some((info.partition_count() as i32, configs.get(topic).map(|c| c.overrides()).unwrap_or_default())))
}

async fn verify_after_race(
    ctx: &Context,
    h: &StepHandle,
    topic: &str,
    want: &Desired,
    src_partitions: i32,
) -> StepResult {
    let current = current_target(ctx, topic).await?;
    match change(want, src_partitions, current.as_ref().map(|(p, c)| (*p, c))) {
        TopicChange::Impossible { reason } => Err(StepError::fatal(reason)),
        TopicChange::Create(_) => Err(StepError::transient(format!(
            "topic {topic} exists and does not exist: metadata is settling"
        ))),
        TopicChange::Update { partitions, configs, extra } => {
            apply_update(ctx, topic, partitions, &configs).await?;
            warn_extra(h, topic, &extra);
            Ok(StepOutcome::Done {
                outputs: found_created(want),
                summary: StepSummary::Topic { change: TopicDone::Updated { partitions, configs } },
            })
        }
        TopicChange::Unchanged { .. } => Ok(StepOutcome::Done {
            outputs: found_created(want),
            summary: StepSummary::Topic { change: TopicDone::FoundAsWanted },
        }),
    }
}

/// The outputs of a topic found created by an earlier, interrupted run: what it must be.
fn found_created(want: &Desired) -> serde_json::Value {
    outputs::value(&TopicOutputs { source_partitions: None, desired: want.clone(), change: None })
}

async fn apply_update(
    ctx: &Context,
    topic: &str,
    partitions: Option<(i32, i32)>,
    configs: &BTreeMap<String, (Option<String>, String)>,
) -> Result<(), StepError> {
    let target = ctx.target().await?;
    if let Some((_, want)) = partitions {
        target.add_partitions(topic, want as usize).await.map_err(kafka_error)?;
    }
    if !configs.is_empty() {
        let changes: BTreeMap<String, Vec<ConfigChange>> = [(
            topic.to_string(),
            configs.iter().map(|(k, (_, v))| ConfigChange::set(k.clone(), v.clone())).collect(),
        )]
        .into();
        target.alter_topic_configs(&changes).await.map_err(kafka_error)?;
    }
    Ok(())
}

fn warn_extra(h: &StepHandle, topic: &str, extra: &BTreeMap<String, String>) {
    if !extra.is_empty() {
        h.warn(StepWarning::ExtraTargetConfigs { topic: topic.to_string(), configs: extra.clone() });
    }
}
