//! MirrorMaker 2's own translation of a strict group's offsets, beside kmigrate's exact start
//! (issue 11, item 4): MirrorMaker's checkpoint connector translates a group's committed source
//! offset through sparse offset syncs (a group past the last sync lands on that sync + 1), so a
//! group switched on its translation may read records again, or skip some. The `offsets:<g>` step
//! of a strict group reads the checkpoints from the target (`source.checkpoints.internal`, where
//! present) and says, per partition, where MirrorMaker would start the group and how many records
//! the difference would repeat or lose.

use std::collections::BTreeMap;
use std::time::Duration;

use kmigrate_connect::checkpoint::{self, Checkpoint};
use kmigrate_connect::mm2;
use kmigrate_kafka::{Cluster, TopicPartition};

use super::errors::kafka_error;
use crate::executor::StepError;
use crate::outputs::{Decided, Mm2Start};

/// The latest checkpoint of `group` for every partition, read from the target; empty when the
/// checkpoint topic does not exist (yet).
pub async fn read(target: &Cluster, group: &str) -> Result<BTreeMap<TopicPartition, Checkpoint>, StepError> {
    read_checkpoints(target, group).await.map_err(kafka_error)
}

/// [`read`], with the Kafka error (for `kmigrate plan`).
pub async fn read_checkpoints(
    target: &Cluster,
    group: &str,
) -> kmigrate_kafka::Result<BTreeMap<TopicPartition, Checkpoint>> {
    let topic = mm2::checkpoints_topic();
    let info = match target.topics(&[&topic]).await {
        Ok(found) => found,
        Err(kmigrate_kafka::Error::TopicNotFound { .. }) => return Ok(BTreeMap::new()),
        Err(e) => return Err(e),
    };
    let partitions: Vec<TopicPartition> = info
        .get(&topic)
        .map(|t| t.partitions.iter().map(|p| TopicPartition::new(topic.clone(), p.id)).collect())
        .unwrap_or_default();
    let marks = target.watermarks(&partitions).await?;
    let mut out = BTreeMap::new();
    for p in &partitions {
        let w = marks[p];
        let (tx, rx) = std::sync::mpsc::channel();
        target
            .scan_partition(p, w.earliest, Some(w.latest), Duration::from_secs(30), move |r| {
                tx.send(r).is_ok()
            })
            .await?;
        for r in rx {
            let (Some(k), Some(v)) = (r.key.as_deref(), r.value.as_deref()) else { continue };
            if let Some(c) = checkpoint::decode(k, v).filter(|c| c.group == group) {
                out.insert(TopicPartition::new(c.topic.clone(), c.partition), c);
            }
        }
    }
    Ok(out)
}

/// Pure: MirrorMaker's start beside kmigrate's, for every decided partition it has a checkpoint for
/// (the CLI words them: `offsets:<g>`'s summary, the dry run's notes).
pub fn compare(decided: &Decided, checkpoints: &BTreeMap<TopicPartition, Checkpoint>) -> Vec<Mm2Start> {
    decided
        .partitions
        .iter()
        .filter_map(|d| {
            let c = checkpoints.get(&TopicPartition::new(d.topic.clone(), d.partition))?;
            Some(Mm2Start {
                topic: d.topic.clone(),
                partition: d.partition,
                upstream: c.upstream,
                mirrormaker: c.downstream,
                kmigrate: d.offset,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outputs::PartitionDecision;
    use crate::strategy::Rule;

    #[test]
    fn mirrormaker_s_start_is_set_beside_kmigrate_s() {
        let d = |partition, offset| PartitionDecision { topic: "t".into(), partition, offset, note: None };
        let decided = Decided {
            rule: Rule::ExactFromAlignment,
            cutover_time: String::new(),
            partitions: vec![d(0, Some(3)), d(1, Some(13)), d(2, Some(5)), d(3, None), d(4, Some(0))],
            duplicates: 0,
        };
        let c = |partition, upstream, downstream| {
            (
                TopicPartition::new("t", partition),
                Checkpoint { group: "g".into(), topic: "t".into(), partition, upstream, downstream },
            )
        };
        let cps: BTreeMap<_, _> = [c(0, 7, 1), c(1, 13, 13), c(2, 9, 8), c(3, 2, 2)].into_iter().collect();
        let starts = compare(&decided, &cps);
        let diffs: Vec<Option<i64>> = starts.iter().map(Mm2Start::difference).collect();
        assert_eq!(diffs, [Some(-2), Some(0), Some(3), None]);
        let at: Vec<(i32, i64, i64)> =
            starts.iter().map(|s| (s.partition, s.upstream, s.mirrormaker)).collect();
        assert_eq!(at, [(0, 7, 1), (1, 13, 13), (2, 9, 8), (3, 2, 2)], "partition 4 has no checkpoint");
    }
}
