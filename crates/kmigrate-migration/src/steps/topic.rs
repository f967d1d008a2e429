//! `topic:<t>`: create the topic on the target with the source's partition count and
//! non-default configs plus the plan's overrides, or verify an existing one (more partitions is
//! fine, fewer is an error; configs the plan asks for are set, other differences are shown).

use std::collections::BTreeMap;

use kmigrate_kafka::{ConfigChange, Error as KafkaError, NewTopicSpec};
use kmigrate_plan::{Plan, TopicSelector, TopicSpec};
use serde::Serialize;
use serde_json::json;

use super::context::{Context, kafka_error};
use crate::executor::{StepError, StepHandle, StepOutcome, StepResult};
use crate::facts::{StepSummary, StepWarning, TopicDone};

/// What the target topic must look like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Desired {
    pub partitions: i32,
    pub configs: BTreeMap<String, String>,
}

/// The difference between the target as it is and as the plan wants it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum TopicChange {
    Create(Desired),
    Update {
        /// `(current, wanted)` when partitions must be added.
        partitions: Option<(i32, i32)>,
        /// Config name → (current value, wanted value).
        configs: BTreeMap<String, (Option<String>, String)>,
        /// Configs set on the target that neither the source nor the plan has: left alone.
        extra: BTreeMap<String, String>,
    },
    /// Already as wanted (`extra` configs are left alone).
    Unchanged {
        extra: BTreeMap<String, String>,
    },
    /// Impossible: the target has fewer partitions than the source.
    Impossible {
        reason: String,
    },
}

/// The plan entry that governs `topic`: its name, or else the first pattern matching it.
pub fn spec_for<'a>(plan: &'a Plan, topic: &str) -> Option<&'a TopicSpec> {
    plan.topics.iter().find(|t| matches!(&t.selector, TopicSelector::Name(n) if n == topic)).or_else(|| {
        plan.topics.iter().find(|t| matches!(&t.selector, TopicSelector::Pattern(re) if re.is_match(topic)))
    })
}

/// Pure: what the target topic must be, from the source topic and the plan entry.
pub fn desired(
    source_partitions: i32,
    source_overrides: &BTreeMap<String, String>,
    spec: &TopicSpec,
) -> Result<Desired, String> {
    let partitions = match spec.partitions {
        Some(p) if (p as i64) < source_partitions as i64 => {
            return Err(format!(
                "the plan asks for {p} partitions but the source has {source_partitions}: records would land in other partitions and per-key order would break; use at least {source_partitions}"
            ));
        }
        Some(p) => p as i32,
        None => source_partitions,
    };
    let mut configs = source_overrides.clone();
    configs.extend(spec.config.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(Desired { partitions, configs })
}

/// Pure: the change that brings the target (`None`: absent) to `want`.
pub fn change(
    want: &Desired,
    source_partitions: i32,
    target: Option<(i32, &BTreeMap<String, String>)>,
) -> TopicChange {
    let Some((have_partitions, have_configs)) = target else { return TopicChange::Create(want.clone()) };
    if have_partitions < source_partitions {
        return TopicChange::Impossible {
            reason: format!(
                "the target topic has {have_partitions} partitions, fewer than the source's {source_partitions}: records of the missing partitions have nowhere to go. Delete and recreate it, or add partitions"
            ),
        };
    }
    let partitions = (have_partitions < want.partitions).then_some((have_partitions, want.partitions));
    let configs: BTreeMap<_, _> = want
        .configs
        .iter()
        .filter(|(k, v)| have_configs.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), (have_configs.get(k).cloned(), v.clone())))
        .collect();
    let extra: BTreeMap<_, _> = have_configs
        .iter()
        .filter(|(k, _)| !want.configs.contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if partitions.is_none() && configs.is_empty() {
        TopicChange::Unchanged { extra }
    } else {
        TopicChange::Update { partitions, configs, extra }
    }
}

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
        outputs: json!({ "source_partitions": src_partitions, "desired": want, "change": diff }),
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
                outputs: json!({ "desired": want }),
                summary: StepSummary::Topic { change: TopicDone::Updated { partitions, configs } },
            })
        }
        TopicChange::Unchanged { .. } => Ok(StepOutcome::Done {
            outputs: json!({ "desired": want }),
            summary: StepSummary::Topic { change: TopicDone::FoundAsWanted },
        }),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(partitions: Option<u32>, config: &[(&str, &str)]) -> TopicSpec {
        TopicSpec {
            selector: TopicSelector::Name("t".into()),
            partitions,
            config: config.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            loc: Default::default(),
        }
    }

    fn map(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn desired_takes_the_source_and_the_plans_overrides() {
        let src = map(&[("retention.ms", "604800000"), ("cleanup.policy", "compact")]);
        let d = desired(6, &src, &spec(None, &[("retention.ms", "86400000")])).unwrap();
        assert_eq!(d.partitions, 6);
        assert_eq!(d.configs, map(&[("retention.ms", "86400000"), ("cleanup.policy", "compact")]));
        assert_eq!(desired(6, &src, &spec(Some(12), &[])).unwrap().partitions, 12);
        assert!(desired(6, &src, &spec(Some(3), &[])).unwrap_err().contains("at least 6"));
    }

    #[test]
    fn an_existing_topic_is_verified() {
        let want = Desired { partitions: 12, configs: map(&[("retention.ms", "1")]) };
        assert_eq!(change(&want, 6, None), TopicChange::Create(want.clone()));
        assert!(matches!(change(&want, 6, Some((4, &map(&[])))), TopicChange::Impossible { .. }));
        let have = map(&[("retention.ms", "1"), ("segment.ms", "9")]);
        assert_eq!(
            change(&Desired { partitions: 6, ..want.clone() }, 6, Some((8, &have))),
            TopicChange::Unchanged { extra: map(&[("segment.ms", "9")]) }
        );
        let have = map(&[("retention.ms", "2")]);
        assert_eq!(
            change(&want, 6, Some((6, &have))),
            TopicChange::Update {
                partitions: Some((6, 12)),
                configs: [("retention.ms".to_string(), (Some("2".to_string()), "1".to_string()))].into(),
                extra: BTreeMap::new(),
            }
        );
    }
}
