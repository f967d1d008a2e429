//! Snapshots of the human lines and JSON words of typed events: every sentence the CLI writes
//! about a step, from the facts the migration reports.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::DateTime;
use kmigrate_migration::compression::copy_compression;
use kmigrate_migration::strategy::Rule;
use kmigrate_migration::{
    Applied, Checked, ClusterSeen, ConnectorWaiting, CopiesVerified, CopyRun, CutoverSource, Event, Late,
    Mm2Start, Outcome, PauseReason, ProgressDetail, StepSummary, StepWarning, TopicDone, WaitReason,
};
use kmigrate_plan::Compression;

use super::{Human, json_fields, worded};
use crate::args::{ColorChoice, OutputFormat};
use crate::printer::Printer;

fn human(color: bool) -> Human {
    let printer = Printer::new(OutputFormat::Text, ColorChoice::Never);
    Human { printer, plan_file: "plans/orders.yaml".into(), color, bars: None, running: Default::default() }
}

fn t(text: &str) -> chrono::DateTime<chrono::FixedOffset> {
    DateTime::parse_from_rfc3339(text).unwrap()
}

fn late() -> Vec<Late> {
    vec![
        Late {
            topic: "orders".into(),
            partition: 0,
            records: 3,
            from: 120,
            to: 123,
            newest_ms: Some(1_767_225_600_000),
        },
        Late { topic: "orders".into(), partition: 1, records: 1, from: 80, to: 81, newest_ms: None },
    ]
}

fn done(step: &str, result: StepSummary) -> Event {
    Event::StepDone { step: step.into(), result }
}

/// One event of every kind, with the facts of every step kind, pause, wait and warning.
fn events() -> Vec<Event> {
    let configs: BTreeMap<String, (Option<String>, String)> = [
        ("retention.ms".to_string(), (Some("604800000".to_string()), "86400000".to_string())),
        ("segment.ms".to_string(), (None, "3600000".to_string())),
    ]
    .into();
    let warn = |warning| Event::Warning { step: Some("offsets:billing".into()), warning };
    vec![
        Event::ApplyStarted { plan: "orders".into(), steps: 9, already_done: 2 },
        Event::LockTakenOver { holder: "pid 4242 on build-7".into() },
        Event::StepSkipped { step: "preflight".into() },
        Event::StepStarted { step: "copy:orders".into(), attempt: 1 },
        Event::StepStarted { step: "copy:orders".into(), attempt: 2 },
        done(
            "preflight",
            StepSummary::Preflight {
                source: ClusterSeen { bootstrap_servers: "old:9092".into(), brokers: 3, topics: Some(41) },
                target: ClusterSeen { bootstrap_servers: "new:9092".into(), brokers: 5, topics: None },
            },
        ),
        done("expand:^orders\\..*", StepSummary::Expand { pattern: "^orders\\..*".into(), topics: 4 }),
        done(
            "topic:orders",
            StepSummary::Topic { change: TopicDone::Created { partitions: 12, configs: 2 } },
        ),
        done(
            "topic:orders",
            StepSummary::Topic { change: TopicDone::Updated { partitions: Some((6, 12)), configs } },
        ),
        done("topic:orders", StepSummary::Topic { change: TopicDone::Unchanged { partitions: 12 } }),
        done("topic:orders", StepSummary::Topic { change: TopicDone::FoundAsWanted }),
        done(
            "copy:orders",
            StepSummary::Copy {
                records: 1_000_000,
                bytes: 212_968_243,
                partitions: 4,
                this_run: Some(CopyRun {
                    records: 250_000,
                    seconds: 2.5,
                    compression: copy_compression(None, Some("zstd")),
                }),
            },
        ),
        done(
            "copy:orders",
            StepSummary::Copy { records: 1_000_000, bytes: 212_968_243, partitions: 4, this_run: None },
        ),
        done(
            "cutover",
            StepSummary::Cutover {
                time: t("2026-11-30T10:00:00+01:00"),
                from: CutoverSource::PlanAt,
                margin_ms: 0,
            },
        ),
        done(
            "cutover",
            StepSummary::Cutover {
                time: t("2026-11-30T09:59:55Z"),
                from: CutoverSource::NewestAfterIdle { idle_ms: 90_000 },
                margin_ms: 5_000,
            },
        ),
        done(
            "cutover",
            StepSummary::Cutover {
                time: t("2026-11-30T09:00:00Z"),
                from: CutoverSource::CutoverAtFlag,
                margin_ms: 0,
            },
        ),
        done(
            "cutover",
            StepSummary::Cutover {
                time: t("2026-11-30T09:00:00Z"),
                from: CutoverSource::NewestAtApproval,
                margin_ms: 0,
            },
        ),
        done("synced", StepSummary::Synced),
        done("drain:billing", StepSummary::Drain { group: "billing".into(), partitions: 12 }),
        done(
            "offsets:billing",
            StepSummary::Offsets {
                group: "billing".into(),
                partitions: 12,
                rule: Rule::ExactFromMap,
                applied: Applied::Committed,
                at_end: 2,
                duplicates: 7,
                uncommitted: vec!["orders/3".into(), "orders/4".into()],
                mirrormaker2: None,
            },
        ),
        done(
            "offsets:billing",
            StepSummary::Offsets {
                group: "billing".into(),
                partitions: 12,
                rule: Rule::ByTime { time: t("2026-11-30T09:00:00Z") },
                applied: Applied::AlreadyCommitted,
                at_end: 0,
                duplicates: 0,
                uncommitted: Vec::new(),
                mirrormaker2: None,
            },
        ),
        done(
            "offsets:ledger",
            StepSummary::Offsets {
                group: "ledger".into(),
                partitions: 2,
                rule: Rule::Latest,
                applied: Applied::Exported {
                    csv: PathBuf::from("out/ledger.csv"),
                    json: PathBuf::from("out/ledger.json"),
                },
                at_end: 0,
                duplicates: 0,
                uncommitted: Vec::new(),
                mirrormaker2: None,
            },
        ),
        done(
            "offsets:ledger",
            StepSummary::Offsets {
                group: "ledger".into(),
                partitions: 2,
                rule: Rule::FromFile,
                applied: Applied::ExportUnchanged {
                    csv: PathBuf::from("out/ledger.csv"),
                    json: PathBuf::from("out/ledger.json"),
                },
                at_end: 0,
                duplicates: 0,
                uncommitted: Vec::new(),
                mirrormaker2: None,
            },
        ),
        done(
            "offsets:shipments",
            StepSummary::Offsets {
                group: "shipments".into(),
                partitions: 3,
                rule: Rule::ExactFromAlignment,
                applied: Applied::Committed,
                at_end: 0,
                duplicates: 0,
                uncommitted: Vec::new(),
                mirrormaker2: Some(vec![
                    Mm2Start {
                        topic: "t".into(),
                        partition: 0,
                        upstream: 3,
                        mirrormaker: 1,
                        kmigrate: Some(3),
                    },
                    Mm2Start {
                        topic: "t".into(),
                        partition: 1,
                        upstream: 13,
                        mirrormaker: 13,
                        kmigrate: Some(13),
                    },
                ]),
            },
        ),
        done(
            "connectors",
            StepSummary::Connectors {
                url: "http://connect:8083".into(),
                connectors: vec![("kmigrate-source".into(), true), ("kmigrate-checkpoint".into(), false)],
            },
        ),
        done("mirror:orders", StepSummary::Mirror { topic: "orders".into(), records: 1200, partitions: 3 }),
        done(
            "stop-mirror",
            StepSummary::StopMirror {
                url: "http://connect:8083".into(),
                deleted: vec!["kmigrate-source".into()],
                absent: vec!["kmigrate-checkpoint".into()],
            },
        ),
        done(
            "stop-mirror",
            StepSummary::StopMirror {
                url: "http://connect:8083".into(),
                deleted: Vec::new(),
                absent: Vec::new(),
            },
        ),
        Event::StepWaiting {
            step: "connectors".into(),
            wait: WaitReason::MirrorTasks {
                url: "http://connect:8083".into(),
                waiting: vec![ConnectorWaiting { name: "kmigrate-checkpoint".into(), state: None }],
            },
        },
        Event::StepProgress {
            step: "mirror:orders".into(),
            done: 900,
            total: Some(1200),
            unit: "records".into(),
            detail: Some(ProgressDetail::Mirror { records_per_sec: 4521.7, lag: 300 }),
        },
        Event::Warning {
            step: Some("connectors".into()),
            warning: StepWarning::UntranslatedProperty {
                property: "enable.ssl.certificate.verification".into(),
            },
        },
        Event::Warning {
            step: Some("mirror:orders".into()),
            warning: StepWarning::ConnectorGone {
                name: "kmigrate-source".into(),
                url: "http://connect:8083".into(),
            },
        },
        done(
            "verify",
            StepSummary::Verify {
                checked: vec![
                    Checked::GroupCommitted { group: "billing".into(), offsets: 12, ahead: 3 },
                    Checked::GroupExported { group: "ledger".into(), path: PathBuf::from("out/ledger.csv") },
                    Checked::Copies(CopiesVerified {
                        matched: 170,
                        partitions: 4,
                        stamped_topics: vec!["audit".into()],
                        unstamped: 2,
                        source_gone: 5,
                        target_gone: 1,
                        by_digest: 3,
                    }),
                    Checked::RecordsAfterCopy { late: late() },
                ],
            },
        ),
        done(
            "verify",
            StepSummary::Verify {
                checked: vec![Checked::Copies(CopiesVerified {
                    matched: 170,
                    partitions: 2,
                    by_digest: 2,
                    ..CopiesVerified::default()
                })],
            },
        ),
        done("verify", StepSummary::Verify { checked: Vec::new() }),
        Event::StepProgress {
            step: "copy:orders".into(),
            done: 1200,
            total: Some(5000),
            unit: "records".into(),
            detail: Some(ProgressDetail::Copy {
                records: 1200,
                bytes: 3_500_000,
                records_per_sec: 600.4,
                bytes_per_sec: 1_750_000.0,
                lag: Some(3800),
                awaiting: 40,
            }),
        },
        Event::StepProgress {
            step: "drain:billing".into(),
            done: 10,
            total: Some(40),
            unit: "records".into(),
            detail: Some(ProgressDetail::GroupLag { group: "billing".into(), lag: 30, partitions: 2 }),
        },
        Event::StepProgress {
            step: "cutover".into(),
            done: 20,
            total: Some(60),
            unit: "s idle".into(),
            detail: Some(ProgressDetail::SourceIdle { quiet_ms: 20_400, idle_ms: 60_000 }),
        },
        Event::StepProgress {
            step: "copy:orders".into(),
            done: 5,
            total: None,
            unit: "records".into(),
            detail: None,
        },
        Event::StepWaiting {
            step: "cutover".into(),
            wait: WaitReason::CutoverTime { at: t("2026-11-30T10:00:00+01:00"), left_ms: 3_725_000 },
        },
        Event::StepWaiting {
            step: "cutover".into(),
            wait: WaitReason::CopiesCatchingUp { copies: vec!["copy:orders".into(), "copy:payments".into()] },
        },
        Event::StepRetrying {
            step: "topic:orders".into(),
            error: "broker not available".into(),
            retry_in_ms: 2000,
        },
        Event::StepFailed {
            step: "verify".into(),
            error: "orders/0: records differ first at source offset 4".into(),
        },
        Event::StepPaused {
            step: "cutover".into(),
            pause: PauseReason::CutoverGate {
                target: "${TARGET_BOOTSTRAP}".into(),
                copies_caught_up: true,
                mirror_caught_up: false,
            },
        },
        Event::StepPaused {
            step: "cutover".into(),
            pause: PauseReason::CutoverGate {
                target: "new:9092".into(),
                copies_caught_up: false,
                mirror_caught_up: false,
            },
        },
        Event::StepPaused {
            step: "cutover".into(),
            pause: PauseReason::CutoverNotYet { at: t("2026-11-30T10:00:00+01:00") },
        },
        Event::StepPaused { step: "cutover".into(), pause: PauseReason::SourceNotIdle { idle_ms: 300_000 } },
        Event::StepPaused {
            step: "drain:billing".into(),
            pause: PauseReason::GroupLagging {
                group: "billing".into(),
                lag: 42,
                partitions: vec![("orders/0".into(), 40), ("orders/3".into(), 2)],
            },
        },
        Event::Warning { step: Some("copy:orders".into()), warning: StepWarning::Rerun { because_of: None } },
        Event::Warning {
            step: Some("offsets:billing".into()),
            warning: StepWarning::Rerun { because_of: Some("copy:orders".into()) },
        },
        Event::Warning {
            step: Some("cutover".into()),
            warning: StepWarning::FutureDatedRecord {
                partition: "orders/2".into(),
                timestamp_ms: 1_767_229_200_000,
                ahead_ms: 3_600_000,
            },
        },
        Event::Warning {
            step: Some("preflight".into()),
            warning: StepWarning::OffsetsOutsidePlan { group: "billing".into() },
        },
        Event::Warning {
            step: Some("expand:^orders\\..*".into()),
            warning: StepWarning::PatternMatchesNothing { pattern: "^orders\\..*".into() },
        },
        Event::Warning {
            step: Some("topic:orders".into()),
            warning: StepWarning::ExtraTargetConfigs {
                topic: "orders".into(),
                configs: [("max.message.bytes".to_string(), "2000000".to_string())].into(),
            },
        },
        Event::Warning {
            step: Some("copy:orders".into()),
            warning: StepWarning::RecoveredRecords { records: 17 },
        },
        Event::Warning {
            step: Some("copy:orders".into()),
            warning: StepWarning::Recompressed {
                topic: "orders".into(),
                codec: Compression::Gzip.as_str().into(),
                topic_codec: "zstd".into(),
            },
        },
        warn(StepWarning::AlignmentFallback {
            group: "billing".into(),
            partition: "orders/1".into(),
            source_offset: 3,
            target_offset: 4,
        }),
        warn(StepWarning::Uncommitted { partitions: vec!["orders/3".into()] }),
        warn(StepWarning::MembershipUnverified { group: "billing".into(), reason: "timed out".into() }),
        Event::Warning {
            step: Some("verify".into()),
            warning: StepWarning::RecordsAfterCopy { late: late() },
        },
        Event::Warning { step: None, warning: StepWarning::RecoveredRecords { records: 1 } },
        Event::ApplyFinished { outcome: Outcome::Paused, done: 7, failed: 0, pending: 2 },
        Event::StepPaused {
            step: "connectors".into(),
            pause: PauseReason::MirrorTasksNotRunning {
                url: "http://connect:8083".into(),
                waiting: vec![ConnectorWaiting {
                    name: "kmigrate-source".into(),
                    state: Some("UNASSIGNED".into()),
                }],
            },
        },
    ]
}

#[test]
fn every_event_in_words() {
    let human = human(false);
    let lines: Vec<String> = events().iter().filter_map(|e| human.text(e)).collect();
    insta::assert_snapshot!("human", lines.join("\n"));
}

#[test]
fn json_lines_carry_the_facts_and_their_words() {
    let lines: Vec<String> = events()
        .iter()
        .filter(|e| !worded(e, "plans/orders.yaml").is_empty())
        .take(3)
        .chain(events().iter().filter(|e| matches!(e, Event::StepPaused { .. })).take(1))
        .map(|e| {
            let line = format!("{}}}", json_fields(e, "plans/orders.yaml"));
            serde_json::from_str::<serde_json::Value>(&line).expect("a JSON object");
            line
        })
        .collect();
    insta::assert_snapshot!("json", lines.join("\n"));
}

#[test]
fn colors_mark_the_lines_only_when_on() {
    let event = done("synced", StepSummary::Synced);
    assert_eq!(human(false).text(&event).unwrap(), "  ✓ synced: every copy has finished");
    let colored = human(true).text(&event).unwrap();
    assert!(colored.contains("\u{1b}[32m✓\u{1b}[39m"), "{colored:?}");
}

#[test]
fn what_an_earlier_apply_left_in_words() {
    use kmigrate_migration::preview::Earlier;
    let lines: Vec<String> = [
        Earlier::DoneButChanged,
        Earlier::DoneUpstreamChanged { step: "cutover".into() },
        Earlier::Failed { error: Some("broker not available".into()) },
        Earlier::Failed { error: None },
        Earlier::Waiting,
        Earlier::Interrupted,
    ]
    .iter()
    .map(crate::words::earlier)
    .collect();
    insta::assert_snapshot!("earlier", lines.join("\n"));
}
