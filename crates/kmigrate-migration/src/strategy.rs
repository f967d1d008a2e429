//! Which offset a consumer group starts from on the target: the strategy table of the design,
//! as a pure function of facts already read (watermarks, by-time answers, explicit offsets, the
//! copy's offset map). The `offsets:<g>` step gathers the facts and applies the decision.

use chrono::{DateTime, FixedOffset};
use kmigrate_plan::{DataMode, Loss, OffsetStore, SyncBy};
use serde::{Deserialize, Serialize};

/// The rule that decides a group's start offsets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "kebab-case")]
pub enum Rule {
    /// The end of each partition when the offsets are resolved (after the cutover and drain).
    Latest,
    /// The first retained offset (0 unless retention removed older records).
    Earliest,
    /// The first record whose timestamp is at or after the cutover time T.
    ByTime { time: DateTime<FixedOffset> },
    /// The target offset of the first record the group has not consumed, from the copy's offset map.
    ExactFromMap,
    /// The same, from the offset map rebuilt by aligning the source and target logs record by
    /// record (data copied by another tool).
    ExactFromAlignment,
    /// Explicit offsets from the plan's `from_file`.
    FromFile,
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rule::Latest => f.write_str("latest"),
            Rule::Earliest => f.write_str("earliest"),
            Rule::ByTime { time } => write!(f, "by time {}", time.to_rfc3339()),
            Rule::ExactFromMap => f.write_str("exact from offset map"),
            Rule::ExactFromAlignment => f.write_str("exact from the aligned logs"),
            Rule::FromFile => f.write_str("from file"),
        }
    }
}

/// The strategy table (DESIGN.md), plus the explicit-file fallback and exact translation.
///
/// `time` is the recorded cutover time T (margin already applied); `exact_map` says whether an
/// offset map is to be had: kmigrate's copy's, or, for data another tool copied, one rebuilt by
/// aligning the logs (false once that proved impossible).
pub fn rule_for(
    data: DataMode,
    store: OffsetStore,
    loss: Loss,
    from_file: bool,
    exact_map: bool,
    time: DateTime<FixedOffset>,
) -> Rule {
    if from_file {
        return Rule::FromFile;
    }
    match (data, store, loss) {
        (DataMode::Synced(_), OffsetStore::BrokerManaged, Loss::Tolerant) => Rule::Latest,
        (DataMode::Synced(SyncBy::Kmigrate), _, _) if exact_map => Rule::ExactFromMap,
        (DataMode::Synced(SyncBy::External | SyncBy::MirrorMaker2), _, _) if exact_map => {
            Rule::ExactFromAlignment
        }
        (DataMode::Synced(_), OffsetStore::BrokerManaged, Loss::Strict) => Rule::ByTime { time },
        (DataMode::Synced(_), OffsetStore::SelfStored, _) => Rule::ByTime { time },
        (DataMode::NotSynced, OffsetStore::BrokerManaged, Loss::Tolerant) => Rule::Latest,
        (DataMode::NotSynced, OffsetStore::BrokerManaged, Loss::Strict) => Rule::Earliest,
        (DataMode::NotSynced, OffsetStore::SelfStored, _) => Rule::Earliest,
        // Dual write: the target already holds every record produced since T; a strict group
        // starts there (and may see again what it consumed from the source after T).
        (DataMode::DualWrite, _, Loss::Tolerant) => Rule::Latest,
        (DataMode::DualWrite, _, Loss::Strict) => Rule::ByTime { time },
    }
}

/// A by-time lookup's answer for one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeAnswer {
    /// The first offset whose record timestamp is ≥ T.
    Offset(i64),
    /// No record at or after T: the end of the partition.
    End,
    /// The partition's records carry no timestamps (or LogAppendTime): the answer is meaningless.
    NoTimestamps,
}

/// What is known about one target partition when deciding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PartitionFacts {
    /// First retained offset on the target.
    pub earliest: i64,
    /// End offset (high watermark) on the target.
    pub latest: i64,
    pub by_time: Option<TimeAnswer>,
    pub from_file: Option<i64>,
    pub exact: Option<i64>,
    /// The group has no committed offset on this partition on the source (exact rule): where it
    /// would start there is up to its consumers' `auto.offset.reset`, which kmigrate cannot know.
    pub no_source_commit: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// `None`: leave the partition without a committed offset on the target.
    pub offset: Option<i64>,
    /// Why, when more than the rule explains it (end of partition, retention clamp).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecideError {
    #[error("records carry no timestamps, so a by-time lookup is meaningless")]
    NoTimestamps,
    #[error("{0} gave no offset for this partition")]
    MissingFact(&'static str),
}

/// The words a [`Decision::note`] ends with when a by-time lookup found no record at or after the
/// time (the partition starts at its end). Notes are recorded as text in the state file; this is
/// the one place the words are written and recognised ([`Decision::at_end_of_partition`]).
const END_OF_PARTITION: &str = "end of partition";

impl Decision {
    /// Whether a by-time lookup found no record at or after the time, so the partition starts at
    /// its end (read from the note, which is what the state file records).
    pub fn at_end_of_partition(note: Option<&str>) -> bool {
        note.is_some_and(|n| n.contains(&format!(": {END_OF_PARTITION}")))
    }
}

/// The start offset for one partition under `rule`, clamped into the retained range.
pub fn decide(rule: &Rule, f: &PartitionFacts) -> Result<Decision, DecideError> {
    if matches!(rule, Rule::ExactFromMap | Rule::ExactFromAlignment) && f.no_source_commit {
        return Ok(Decision {
            offset: None,
            note: Some(
                "no committed offset on the source: left uncommitted, so the consumers' auto.offset.reset decides, as it would on the source"
                    .into(),
            ),
        });
    }
    let (raw, mut note) = match rule {
        Rule::Latest => (f.latest, None),
        Rule::Earliest => {
            let note = (f.earliest > 0).then(|| format!("retention trimmed 0..{}", f.earliest));
            (f.earliest, note)
        }
        Rule::ByTime { time } => match f.by_time.ok_or(DecideError::MissingFact("the by-time lookup"))? {
            TimeAnswer::Offset(o) => (o, None),
            TimeAnswer::End => {
                (f.latest, Some(format!("no record at or after {}: {END_OF_PARTITION}", time.to_rfc3339())))
            }
            TimeAnswer::NoTimestamps => return Err(DecideError::NoTimestamps),
        },
        Rule::ExactFromMap | Rule::ExactFromAlignment => {
            (f.exact.ok_or(DecideError::MissingFact("the offset map"))?, None)
        }
        Rule::FromFile => (f.from_file.ok_or(DecideError::MissingFact("the from_file offsets"))?, None),
    };
    let offset = raw.clamp(f.earliest, f.latest.max(f.earliest));
    if offset != raw {
        let why = if raw < f.earliest {
            format!("{raw} is no longer retained: earliest retained offset {offset}")
        } else {
            format!("{raw} is past the end of the partition: clamped to {offset}")
        };
        note = Some(match note {
            Some(n) => format!("{n}; {why}"),
            None => why,
        });
    }
    Ok(Decision { offset: Some(offset), note })
}

#[cfg(test)]
mod tests {
    use super::*;
    use DataMode::*;
    use Loss::*;
    use OffsetStore::*;

    fn t() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-11-25T02:00:00+08:00").unwrap()
    }

    fn rule(data: DataMode, store: OffsetStore, loss: Loss) -> Rule {
        rule_for(data, store, loss, false, false, t())
    }

    const EXTERNAL: DataMode = Synced(SyncBy::External);

    #[test]
    fn the_strategy_table_row_by_row() {
        // synced | broker | tolerant → latest
        assert_eq!(rule(EXTERNAL, BrokerManaged, Tolerant), Rule::Latest);
        // synced | broker | strict → by time of the cutover
        assert_eq!(rule(EXTERNAL, BrokerManaged, Strict), Rule::ByTime { time: t() });
        // synced | self-stored | either → the offsets at the cutover time
        assert_eq!(rule(EXTERNAL, SelfStored, Strict), Rule::ByTime { time: t() });
        assert_eq!(rule(EXTERNAL, SelfStored, Tolerant), Rule::ByTime { time: t() });
        // not synced | broker | tolerant → latest
        assert_eq!(rule(NotSynced, BrokerManaged, Tolerant), Rule::Latest);
        // not synced | broker | strict → earliest
        assert_eq!(rule(NotSynced, BrokerManaged, Strict), Rule::Earliest);
        // not synced | self-stored | either → 0, or the earliest retained
        assert_eq!(rule(NotSynced, SelfStored, Strict), Rule::Earliest);
        assert_eq!(rule(NotSynced, SelfStored, Tolerant), Rule::Earliest);
        // dual write
        assert_eq!(rule(DualWrite, BrokerManaged, Tolerant), Rule::Latest);
        assert_eq!(rule(DualWrite, BrokerManaged, Strict), Rule::ByTime { time: t() });
    }

    #[test]
    fn external_copies_are_exact_through_alignment_until_it_proves_impossible() {
        assert_eq!(rule_for(EXTERNAL, BrokerManaged, Strict, false, true, t()), Rule::ExactFromAlignment);
        assert_eq!(rule_for(EXTERNAL, SelfStored, Tolerant, false, true, t()), Rule::ExactFromAlignment);
        assert_eq!(rule_for(EXTERNAL, BrokerManaged, Tolerant, false, true, t()), Rule::Latest);
        assert_eq!(rule_for(EXTERNAL, BrokerManaged, Strict, false, false, t()), Rule::ByTime { time: t() });
        // MirrorMaker 2's copies are external copies.
        let mm2 = Synced(SyncBy::MirrorMaker2);
        assert_eq!(rule_for(mm2, BrokerManaged, Strict, false, true, t()), Rule::ExactFromAlignment);
        assert_eq!(rule_for(mm2, BrokerManaged, Tolerant, false, true, t()), Rule::Latest);
        assert_eq!(rule_for(mm2, SelfStored, Strict, false, false, t()), Rule::ByTime { time: t() });
    }

    #[test]
    fn kmigrate_copies_make_strict_and_self_stored_groups_exact() {
        let k = Synced(SyncBy::Kmigrate);
        assert_eq!(rule_for(k, BrokerManaged, Strict, false, true, t()), Rule::ExactFromMap);
        assert_eq!(rule_for(k, SelfStored, Tolerant, false, true, t()), Rule::ExactFromMap);
        assert_eq!(rule_for(k, BrokerManaged, Tolerant, false, true, t()), Rule::Latest);
        // Without a map (not yet available), kmigrate's copy falls back to the time lookup.
        assert_eq!(rule_for(k, BrokerManaged, Strict, false, false, t()), Rule::ByTime { time: t() });
        // An explicit file always wins.
        assert_eq!(rule_for(k, BrokerManaged, Strict, true, true, t()), Rule::FromFile);
    }

    #[test]
    fn decisions_respect_retention_and_the_end_of_the_partition() {
        let facts = PartitionFacts { earliest: 1200, latest: 5000, ..Default::default() };
        assert_eq!(decide(&Rule::Latest, &facts).unwrap(), Decision { offset: Some(5000), note: None });
        let d = decide(&Rule::Earliest, &facts).unwrap();
        assert_eq!(d.offset, Some(1200));
        assert_eq!(d.note.as_deref(), Some("retention trimmed 0..1200"));
        assert_eq!(
            decide(&Rule::Earliest, &PartitionFacts::default()).unwrap(),
            Decision { offset: Some(0), note: None }
        );

        let by_time = Rule::ByTime { time: t() };
        let at = |a| PartitionFacts { by_time: Some(a), ..facts };
        assert_eq!(decide(&by_time, &at(TimeAnswer::Offset(4100))).unwrap().offset, Some(4100));
        let end = decide(&by_time, &at(TimeAnswer::End)).unwrap();
        assert_eq!(end.offset, Some(5000));
        assert!(Decision::at_end_of_partition(end.note.as_deref()));
        assert!(!Decision::at_end_of_partition(Some(
            "9000 is past the end of the partition: clamped to 5000"
        )));
        assert_eq!(decide(&by_time, &at(TimeAnswer::NoTimestamps)), Err(DecideError::NoTimestamps));
        assert_eq!(decide(&by_time, &facts), Err(DecideError::MissingFact("the by-time lookup")));

        // An explicit offset below the retained start is clamped, and the output says so.
        let file = PartitionFacts { from_file: Some(10), ..facts };
        let d = decide(&Rule::FromFile, &file).unwrap();
        assert_eq!(d.offset, Some(1200));
        assert!(d.note.unwrap().contains("no longer retained"));
        let file = PartitionFacts { from_file: Some(9000), ..facts };
        assert_eq!(decide(&Rule::FromFile, &file).unwrap().offset, Some(5000));
        let exact = PartitionFacts { exact: Some(4242), ..facts };
        assert_eq!(decide(&Rule::ExactFromMap, &exact).unwrap().offset, Some(4242));
        // No commit on the source: left alone, whatever the map says.
        let none = PartitionFacts { no_source_commit: true, ..exact };
        let d = decide(&Rule::ExactFromMap, &none).unwrap();
        assert_eq!(d.offset, None);
        assert!(d.note.unwrap().contains("auto.offset.reset"));
    }
}
