//! README claims, end to end through the binary on Apache Kafka: a drain that really waits and
//! then finishes, the `detect` cutover with a margin (the recorded T and the exact records read),
//! and the documented exit codes for a corrupt state file (70) and a usage error (64).

mod common;

use common::*;

/// A lagging group: apply waits for the drain, gives up after `--wait-timeout` (exit 3, the step
/// `waiting`, the lock released), and once the group has caught up the re-run finishes.
#[tokio::test(flavor = "multi_thread")]
async fn a_drain_really_waits_for_a_lagging_group() {
    let mut s = Scenario::start();
    s.seed_old(5, now_ms() - 60 * 60 * 1000).await;
    // Consumed 2 of 5 on each partition: 3 records of lag.
    s.source().commit_group_offsets(&s.group, &[(s.topic.as_str(), 0, 2), (s.topic.as_str(), 1, 2)]).await;
    let plan =
        s.write_plan("data: not-synced\ncutover:\n  at: \"2026-01-01T00:00:00Z\"", "      loss: strict\n");
    let plan = plan.to_str().unwrap().to_string();

    let started = std::time::Instant::now();
    let out = s.kmigrate(&["apply", &plan, "--wait-timeout", "2s"]);
    assert_eq!(out.status.code(), Some(3), "paused: the drain did not finish");
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "took {:?}", started.elapsed());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("lag 6"), "shows the lag: {stdout}");
    assert_eq!(step_status(s.dir.path(), &format!("drain:{}", s.group)), "waiting");
    assert_eq!(step_status(s.dir.path(), &format!("offsets:{}", s.group)), "pending", "nothing committed");
    let lock = s.dir.path().join(".kmigrate/e2e.lock");
    assert_eq!(std::fs::read(&lock).unwrap_or_default(), b"", "the lock is released");

    // The group catches up; the re-run continues the drain and finishes.
    s.drain_group_on_source().await;
    let out = s.kmigrate(&["apply", &plan, "--wait-timeout", "2s"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(step_status(s.dir.path(), &format!("offsets:{}", s.group)), "done");
    assert_eq!(s.committed_on_target().await, vec![(0, 0), (1, 0)], "strict, not synced: earliest");
}

/// `cutover: detect` without `--cutover-at`: once the source is idle, T is 1 ms after the newest
/// record there, minus the margin. A strict group on externally copied data starts by time: with a
/// 1 s margin it reads again the copied records of the last second before the switch, and loses
/// nothing.
#[tokio::test(flavor = "multi_thread")]
async fn detect_records_t_after_the_newest_record_minus_the_margin() {
    let mut s = Scenario::start();
    let base = now_ms() - 60 * 60 * 1000;
    // Per partition: 3 records a minute apart, then 2 in the last half second before the switch.
    s.source().create_topic(&s.topic, PARTITIONS).await;
    for p in 0..PARTITIONS {
        let records: Vec<kmigrate_testkit::SeedRecord> = [0, 60_000, 120_000, 180_000 - 400, 180_000 - 100]
            .iter()
            .enumerate()
            .map(|(i, dt)| {
                kmigrate_testkit::SeedRecord::new(p)
                    .key(format!("k{i}"))
                    .value(format!("old-{p}-{i}"))
                    .timestamp(base + dt)
            })
            .collect();
        s.source().produce(&s.topic, &records).await;
    }
    s.drain_group_on_source().await;
    s.external_copy().await;
    s.produce_new(s.target(), "during", 2).await;
    let plan = s.write_plan(
        // Dual write: a strict group starts by time (with an external copy, the aligned logs would
        // start it exactly, whatever the margin).
        "data: dual-write\ncutover:\n  detect: { idle: 2s }\n  margin: 1s",
        "      loss: strict\n",
    );
    let out = s.kmigrate(&["apply", plan.to_str().unwrap(), "--wait-timeout", "60s"]);
    assert_eq!(out.status.code(), Some(0));
    let state = read_state(s.dir.path()).unwrap();
    let cutover = &state["steps"]["cutover"]["outputs"];
    let newest = base + 180_000 - 100;
    assert_eq!(cutover["newest_source_record_ms"], newest);
    assert_eq!(cutover["time_ms"], newest + 1 - 1_000, "{cutover}");
    let read = sorted(s.consume_from(&s.committed_on_target().await).await);
    let mut want = expected("during", 0..2);
    want.extend(expected("old", 3..5));
    assert_eq!(read, sorted(want), "the margin's second read again, nothing lost");
}

#[test]
fn a_corrupt_state_file_is_an_internal_error_and_a_bad_flag_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "version: 1\nname: e2e\nsource:\n  bootstrap_servers: \"127.0.0.1:9\"\ntarget:\n  bootstrap_servers: \"127.0.0.1:7\"\ntopics:\n  - orders\ndata: not-synced\ncutover:\n  at: \"2026-01-01T00:00:00Z\"\nconsumers:\n  groups:\n    - id: billing\n";
    std::fs::write(dir.path().join("plan.yaml"), yaml).unwrap();
    std::fs::create_dir_all(dir.path().join(".kmigrate")).unwrap();
    std::fs::write(dir.path().join(".kmigrate/e2e.state.json"), "{ not json").unwrap();
    for args in [&["status", "plan.yaml"][..], &["apply", "plan.yaml"]] {
        let out = kmigrate(dir.path(), args);
        assert_eq!(out.status.code(), Some(70), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("e2e.state.json"), "names the file: {stderr}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".kmigrate/e2e.state.json")).unwrap(),
        "{ not json",
        "left as it was"
    );
    let out = kmigrate(dir.path(), &["apply", "plan.yaml", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(64));
}
