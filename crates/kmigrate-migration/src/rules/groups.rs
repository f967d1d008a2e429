//! Which plan topics a consumer group reads: pure, called by `drain:<g>` and `offsets:<g>` (through
//! `steps::groups::topics`) and by the dry run.

use std::collections::BTreeMap;

use kmigrate_kafka::TopicPartition;
use kmigrate_plan::{GroupSpec, OffsetStore};

/// Pure: which of `plan_topics` the group reads (see `steps::groups::topics`). `committed` is the group's
/// committed offsets on the source, needed only for a broker-managed group that names no topics.
pub fn topics_read(
    plan_topics: Vec<String>,
    group: &GroupSpec,
    committed: Option<&BTreeMap<TopicPartition, i64>>,
) -> Result<Vec<String>, String> {
    if let Some(named) = &group.topics {
        return Ok(plan_topics
            .into_iter()
            .filter(|t| named.contains(t) || group_names_pattern(named, t))
            .collect());
    }
    if group.offsets == OffsetStore::SelfStored {
        return Ok(plan_topics);
    }
    let read: Vec<String> = plan_topics
        .into_iter()
        .filter(|t| committed.is_some_and(|c| c.keys().any(|p| &p.topic == t)))
        .collect();
    if read.is_empty() {
        return Err(format!(
            "group {} has no committed offsets on the source for any plan topic: list the topics it reads under `topics:` in the plan",
            group.id
        ));
    }
    Ok(read)
}

/// `topics:` may also name a pattern entry's matches by the pattern itself.
fn group_names_pattern(named: &[String], topic: &str) -> bool {
    named.iter().any(|n| regex::Regex::new(n).is_ok_and(|re| n.starts_with('^') && re.is_match(topic)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(offsets: OffsetStore, topics: Option<&[&str]>) -> GroupSpec {
        GroupSpec {
            id: "g".into(),
            offsets,
            loss: kmigrate_plan::Loss::Strict,
            export: None,
            from_file: None,
            topics: topics.map(|t| t.iter().map(|s| s.to_string()).collect()),
            drain: true,
            loc: Default::default(),
        }
    }

    #[test]
    fn named_topics_then_committed_ones_then_every_topic() {
        let plan = || vec!["a1".to_string(), "a2".to_string(), "b".to_string()];
        let named = group(OffsetStore::BrokerManaged, Some(&["b", "^a[0-9]$"]));
        assert_eq!(topics_read(plan(), &named, None).unwrap(), ["a1", "a2", "b"], "by name and by pattern");
        let committed: BTreeMap<_, _> = [(TopicPartition::new("a2", 0), 5)].into();
        let broker = group(OffsetStore::BrokerManaged, None);
        assert_eq!(topics_read(plan(), &broker, Some(&committed)).unwrap(), ["a2"]);
        assert!(topics_read(plan(), &broker, Some(&BTreeMap::new())).unwrap_err().contains("group g"));
        let self_stored = group(OffsetStore::SelfStored, None);
        assert_eq!(topics_read(plan(), &self_stored, None).unwrap(), plan());
    }
}
