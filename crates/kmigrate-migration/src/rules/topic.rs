//! The target topic's desired state and the change that brings the target to it: pure, called by
//! the `topic:<t>` step (`steps/topic.rs`) and by the dry run. The types are recorded in the step's
//! outputs (`outputs::TopicOutputs`).

use std::collections::BTreeMap;

use kmigrate_plan::{Plan, TopicSelector, TopicSpec};
use serde::{Deserialize, Serialize};

/// What the target topic must look like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Desired {
    pub partitions: i32,
    pub configs: BTreeMap<String, String>,
}

/// The difference between the target as it is and as the plan wants it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
