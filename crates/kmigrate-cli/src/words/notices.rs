//! Why a step paused and how to continue, what it waits for, how far it got, and warnings.

use chrono::{TimeZone, Utc};
use kmigrate_migration::preview::Earlier;
use kmigrate_migration::{ConnectorWaiting, PauseReason, ProgressDetail, StepWarning, WaitReason};

use super::done::{late_records, left_uncommitted};
use super::{human_bytes, human_ms};

/// Why a step paused.
pub fn pause(p: &PauseReason) -> String {
    match p {
        PauseReason::CutoverGate { target, copies_caught_up, mirror_caught_up } => format!(
            "waiting for the producer cutover{}. Switch every producer of the plan's topics to the target ({target}), check that the source receives nothing more, then approve",
            if *copies_caught_up {
                " (the copies have caught up with the source)"
            } else if *mirror_caught_up {
                " (MirrorMaker 2 has caught up with the source)"
            } else {
                ""
            }
        ),
        PauseReason::CutoverNotYet { at } => format!("the cutover time {} has not come yet", at.to_rfc3339()),
        PauseReason::SourceNotIdle { idle_ms } => {
            format!("the source topics have not been idle for {} yet", human_ms(*idle_ms))
        }
        PauseReason::MirrorTasksNotRunning { url, waiting } => {
            format!("MirrorMaker 2's tasks have not all started on {url}: {}", connectors(waiting))
        }
        PauseReason::GroupLagging { group, lag, partitions } => {
            let worst: Vec<String> = partitions.iter().map(|(p, l)| format!("{p}: {l}")).collect();
            format!("group {group} still lags by {lag} records on the source ({})", worst.join(", "))
        }
    }
}

/// How to continue after a pause of the apply of `plan_file`.
pub fn resume(p: &PauseReason, plan_file: &str) -> String {
    match p {
        PauseReason::CutoverGate { .. } => {
            format!("kmigrate apply {plan_file} --approve cutover [--cutover-at TIME]")
        }
        PauseReason::CutoverNotYet { .. } => "run apply again after that time".to_string(),
        PauseReason::SourceNotIdle { .. } | PauseReason::GroupLagging { .. } => {
            format!("kmigrate apply {plan_file}")
        }
        PauseReason::MirrorTasksNotRunning { .. } => {
            format!("kmigrate apply {plan_file} (the connectors are submitted)")
        }
    }
}

/// What a running step waits for.
pub fn wait(w: &WaitReason) -> String {
    match w {
        WaitReason::CutoverTime { at, left_ms } => {
            format!("the cutover time {} is {} away", at.to_rfc3339(), human_ms(*left_ms))
        }
        WaitReason::CopiesCatchingUp { copies } => {
            format!("waiting for {} to catch up with the source before the cutover gate", copies.join(", "))
        }
        WaitReason::MirrorTasks { url, waiting } => {
            format!("waiting for MirrorMaker 2's tasks to start on {url}: {}", connectors(waiting))
        }
    }
}

/// How far a step got, beside its bar.
pub fn progress(d: &ProgressDetail) -> String {
    match d {
        ProgressDetail::Copy { records, bytes, records_per_sec, bytes_per_sec, lag, awaiting } => {
            let mut lag_text = lag.map_or(String::new(), |l| format!(", lag {l} records"));
            if *awaiting > 0 {
                lag_text.push_str(&format!(", {awaiting} awaiting the target's acknowledgement"));
            }
            format!(
                "{records} records, {} copied ({records_per_sec:.0} records/s, {:.1} MB/s{lag_text})",
                human_bytes(*bytes),
                bytes_per_sec / 1e6
            )
        }
        ProgressDetail::GroupLag { group, lag, partitions } => {
            format!("lag {lag} on {partitions} partitions (waiting for group {group} to consume them)")
        }
        ProgressDetail::SourceIdle { quiet_ms, idle_ms } => {
            format!("source idle for {} of {}", human_ms(*quiet_ms), human_ms(*idle_ms))
        }
        ProgressDetail::Mirror { records_per_sec, lag } => {
            format!("{records_per_sec:.0} records/s, lag {lag}")
        }
    }
}

/// What the operator should know.
pub fn warning(w: &StepWarning) -> String {
    match w {
        StepWarning::Rerun { because_of: None } => {
            "the plan changed under this done step; --replan given: it runs again and decides anew"
                .to_string()
        }
        StepWarning::Rerun { because_of: Some(of) } => {
            format!("depends on {of}, which changed; --replan given: it runs again and decides anew")
        }
        StepWarning::FutureDatedRecord { partition, timestamp_ms, ahead_ms } => {
            let at = Utc.timestamp_millis_opt(*timestamp_ms).single().unwrap_or_else(Utc::now).fixed_offset();
            format!(
                "the last record of {partition} is dated {} ({} ahead of this machine's clock): ignored for the cutover time",
                at.to_rfc3339(),
                human_ms((*ahead_ms).max(0) as u64)
            )
        }
        StepWarning::OffsetsOutsidePlan { group } => {
            format!("group {group} has committed offsets only for topics outside the plan")
        }
        StepWarning::PatternMatchesNothing { pattern } => {
            format!("pattern {pattern} matches no topic on the source")
        }
        StepWarning::ExtraTargetConfigs { topic, configs } => {
            let list: Vec<String> = configs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!(
                "target topic {topic} has configs the source does not: {} (left as they are)",
                list.join(", ")
            )
        }
        StepWarning::RecoveredRecords { records } => {
            format!("found {records} records copied by an interrupted run; continuing after them")
        }
        StepWarning::Recompressed { topic, codec, topic_codec } => format!(
            "the copy writes {codec} (sync.compression) but topic {topic} on the target has compression.type {topic_codec}: the broker recompresses every batch"
        ),
        StepWarning::AlignmentFallback { group, partition, source_offset, target_offset } => format!(
            "group {group}: the logs cannot be aligned, so its start falls back to the time of the cutover: {partition}: the source record at offset {source_offset} is not on the target (dropped or altered by the external copy), though the one after it is, at target offset {target_offset}"
        ),
        StepWarning::Uncommitted { partitions } => left_uncommitted(partitions),
        StepWarning::MembershipUnverified { group, reason } => format!(
            "could not verify that group {group} has no active members on the target ({reason}); the broker accepted the commit"
        ),
        StepWarning::RecordsAfterCopy { late } => late_records(late),
        StepWarning::UntranslatedProperty { property } => format!(
            "{property}: a librdkafka property MirrorMaker's Java clients have no equivalent for; not passed to the connectors (set the Java client's own in sync.connect.properties, as source.cluster.<property> or target.cluster.<property>)"
        ),
        StepWarning::ConnectorGone { name, url } => {
            format!("connector {name} is gone from Kafka Connect at {url}; submitting it again")
        }
    }
}

/// What an earlier apply left of a step, and what apply does with it (a note of the dry run).
pub fn earlier(e: &Earlier) -> String {
    match e {
        Earlier::DoneButChanged => "done by an earlier apply, but its definition in the plan changed since: apply refuses to run without --replan, which runs this step again and decides anew".to_string(),
        Earlier::DoneUpstreamChanged { step } => {
            format!("done by an earlier apply; {step} changed, so --replan runs this step again and decides anew")
        }
        Earlier::Failed { error } => format!(
            "failed in an earlier apply ({}); apply runs it again",
            error.as_deref().unwrap_or("no error recorded")
        ),
        Earlier::Waiting => "waiting since an earlier apply; apply continues it".to_string(),
        Earlier::Interrupted => "interrupted in an earlier apply; apply continues it".to_string(),
    }
}

/// "kmigrate-source is UNASSIGNED, kmigrate-checkpoint is not listed yet"
fn connectors(waiting: &[ConnectorWaiting]) -> String {
    let each: Vec<String> = waiting
        .iter()
        .map(|c| match &c.state {
            Some(state) => format!("{} is {state}", c.name),
            None => format!("{} is not listed yet", c.name),
        })
        .collect();
    each.join(", ")
}
