//! What a finished step did, in one line.

use kmigrate_migration::{
    Applied, Checked, CopiesVerified, CutoverSource, Late, RecordedSummary, StepSummary, TopicDone,
};

use super::{human_bytes, human_ms};

/// A summary as the state file holds it: typed, or the words an older kmigrate recorded.
pub fn recorded(s: &RecordedSummary) -> String {
    match s {
        RecordedSummary::Typed(s) => summary(s),
        RecordedSummary::Text(text) => text.clone(),
    }
}

/// `1 broker`, `3 brokers`.
fn counted(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// One line saying what a step did.
pub fn summary(s: &StepSummary) -> String {
    match s {
        StepSummary::Preflight { source, target } => {
            let topics = source.topics.map(|t| format!(", {}", counted(t, "topic"))).unwrap_or_default();
            format!(
                "source {} ({}{topics}), target {} ({})",
                source.bootstrap_servers,
                counted(source.brokers, "broker"),
                target.bootstrap_servers,
                counted(target.brokers, "broker")
            )
        }
        StepSummary::Expand { pattern, topics } => format!("{topics} topic(s) match {pattern}"),
        StepSummary::Topic { change } => topic(change),
        StepSummary::Connectors { url, connectors } => {
            let each: Vec<String> = connectors
                .iter()
                .map(|(name, created)| {
                    format!("{name} ({})", if *created { "created" } else { "config unchanged or updated" })
                })
                .collect();
            format!("submitted to Kafka Connect at {url}: {}; every task runs", each.join(", "))
        }
        StepSummary::Mirror { topic, records, partitions } => format!(
            "MirrorMaker 2 copied {topic} to the source's end after the cutover ({records} records in {partitions} partitions)"
        ),
        StepSummary::StopMirror { url, deleted, absent } => {
            if deleted.is_empty() {
                format!("MirrorMaker 2's connectors were already gone from {url}")
            } else if absent.is_empty() {
                format!("deleted MirrorMaker 2's connectors from {url}: {}", deleted.join(", "))
            } else {
                format!(
                    "deleted MirrorMaker 2's connectors from {url}: {} ({} already gone)",
                    deleted.join(", "),
                    absent.join(", ")
                )
            }
        }
        StepSummary::Copy { records, bytes, partitions, this_run } => match this_run {
            None => format!(
                "copied {records} records ({}) in {partitions} partitions; nothing more to copy",
                human_bytes(*bytes)
            ),
            Some(run) => format!(
                "copied {records} records ({}) in {partitions} partitions, compressed with {}; this run {} records at {:.0} records/s",
                human_bytes(*bytes),
                run.compression,
                run.records,
                run.records as f64 / run.seconds.max(0.001)
            ),
        },
        StepSummary::Cutover { time, from, margin_ms } => {
            let how = match from {
                CutoverSource::PlanAt => "the plan's cutover.at".to_string(),
                CutoverSource::CutoverAtFlag => "--cutover-at".to_string(),
                CutoverSource::NewestAtApproval => {
                    "just after the newest record on the source at approval".to_string()
                }
                CutoverSource::NewestAfterIdle { idle_ms } => {
                    format!("just after the newest record on the source after {} idle", human_ms(*idle_ms))
                }
            };
            let margin = if *margin_ms == 0 {
                String::new()
            } else {
                format!(", minus margin {}", human_ms(*margin_ms))
            };
            format!("cutover time T = {} (from {how}{margin})", time.to_rfc3339())
        }
        StepSummary::Synced => "every copy has finished".to_string(),
        StepSummary::Drain { group, partitions } => {
            format!("group {group} has consumed everything on the source ({partitions} partitions)")
        }
        StepSummary::Offsets {
            group,
            partitions,
            rule,
            applied,
            at_end,
            duplicates,
            uncommitted,
            mirrormaker2,
        } => {
            let detail = match applied {
                Applied::Committed => format!("committed for group {group} on the target"),
                Applied::AlreadyCommitted => format!("already committed for group {group} on the target"),
                Applied::Exported { csv, json } => {
                    format!("exported to {} (and {})", csv.display(), json.display())
                }
                Applied::ExportUnchanged { csv, json } => {
                    format!("unchanged to {} (and {})", csv.display(), json.display())
                }
            };
            let mut line = format!("{partitions} partitions set by rule \"{rule}\": {detail}");
            if *at_end > 0 {
                line.push_str(&format!("; {at_end} with no record at or after T start at the end"));
            }
            if *duplicates > 0 {
                line.push_str(&format!("; the group will read {duplicates} copied records again"));
            }
            if !uncommitted.is_empty() {
                line.push_str(&format!("; {}", left_uncommitted(uncommitted)));
            }
            if let Some(starts) = mirrormaker2 {
                // (The dry run's notes use the same words.)
                let words = super::mm2::starts(starts, *partitions);
                line.push_str(&format!("; {words}"));
            }
            line
        }
        StepSummary::Verify { checked } if checked.is_empty() => "nothing to check".to_string(),
        StepSummary::Verify { checked } => checked.iter().map(check).collect::<Vec<_>>().join("; "),
    }
}

fn topic(change: &TopicDone) -> String {
    match change {
        TopicDone::Created { partitions, configs } => {
            format!("created with {partitions} partitions, {configs} configs")
        }
        TopicDone::Updated { partitions, configs } => {
            let mut parts = Vec::new();
            if let Some((a, b)) = partitions {
                parts.push(format!("partitions {a} → {b}"));
            }
            for (k, (old, new)) in configs {
                parts.push(format!("{k}: {} → {new}", old.as_deref().unwrap_or("(default)")));
            }
            format!("updated: {}", parts.join(", "))
        }
        TopicDone::Unchanged { partitions } => {
            format!("exists with {partitions} partitions and matching configs")
        }
        TopicDone::FoundAsWanted => "already exists as wanted".to_string(),
    }
}

fn check(c: &Checked) -> String {
    match c {
        Checked::GroupCommitted { group, offsets, ahead } => {
            let note = if *ahead > 0 {
                format!(" ({ahead} partitions already consumed further)")
            } else {
                String::new()
            };
            format!("group {group}: {offsets} committed offsets{note}")
        }
        Checked::GroupExported { group, path } => format!("group {group}: {} exported", path.display()),
        Checked::Copies(v) => copies(v),
        Checked::RecordsAfterCopy { late } => late_records(late),
    }
}

fn copies(v: &CopiesVerified) -> String {
    let mut compared = if v.stamped_topics.is_empty() {
        String::new()
    } else {
        format!(
            " (keys, values and headers; not timestamps on {}, whose target topic stamps records with the broker's clock: message.timestamp.type=LogAppendTime)",
            v.stamped_topics.join(", ")
        )
    };
    if v.unstamped > 0 {
        compared.push_str(&format!(
            "; {} of them without their timestamp: the source record has none or is stamped 0, which a copy cannot keep (the producer client stamps such records with the time of the copy)",
            v.unstamped
        ));
    }
    let mut why = Vec::new();
    if v.source_gone > 0 {
        why.push(format!(
            "{} the source no longer holds (compacted away, or deleted by retention, after they were copied)",
            v.source_gone
        ));
    }
    if v.target_gone > 0 {
        why.push(format!(
            "{} the target no longer holds (compacted away, or deleted by retention)",
            v.target_gone
        ));
    }
    let not_compared = if why.is_empty() {
        String::new()
    } else {
        format!(
            "; {} copied records could not be compared: {}",
            v.source_gone + v.target_gone,
            why.join("; ")
        )
    };
    let how = match v.by_digest {
        0 => String::new(),
        n if n == v.partitions => "; the target was read against the digests the copy recorded".to_string(),
        n => format!(
            "; the target of {n} partitions was read against the digests the copy recorded, the others compared with the source"
        ),
    };
    format!(
        "{} copied records in {} partitions match the source{compared}{not_compared}{how}",
        v.matched, v.partitions
    )
}

/// Records the source received after the copy finished: how many, where, and the newest (the
/// migration's words, which verify's failure uses too).
pub(super) fn late_records(late: &[Late]) -> String {
    kmigrate_migration::facts::late_records(late)
}

/// Partitions `offsets:<g>` left without a committed offset, and why that is right.
pub(super) fn left_uncommitted(partitions: &[String]) -> String {
    format!(
        "{} left uncommitted ({}): the group has no committed offset there on the source, so its consumers' auto.offset.reset decides on the target as it would on the source",
        partitions.len(),
        partitions.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use kmigrate_migration::facts::{ClusterSeen, StepSummary};

    #[test]
    fn preflight_counts_brokers_and_topics_in_the_singular_and_the_plural() {
        let seen = |brokers, topics| ClusterSeen { bootstrap_servers: "k:9092".into(), brokers, topics };
        let one = StepSummary::Preflight { source: seen(1, Some(1)), target: seen(1, None) };
        assert_eq!(super::summary(&one), "source k:9092 (1 broker, 1 topic), target k:9092 (1 broker)");
        let many = StepSummary::Preflight { source: seen(3, Some(0)), target: seen(5, None) };
        assert_eq!(super::summary(&many), "source k:9092 (3 brokers, 0 topics), target k:9092 (5 brokers)");
    }
}
