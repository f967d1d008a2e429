//! The copy (`data: synced`, `sync.by: kmigrate`): exact, resumable after SIGKILL, verified,
//! and exact offset translation when producers' new records interleave with copied ones.

mod common;

use common::*;
use kmigrate_testkit::{Engine, SeedRecord, TestCluster, unique};

/// A plan that only copies `topics` (no consumer groups).
fn copy_plan(
    dir: &std::path::Path,
    source: &TestCluster,
    target: &TestCluster,
    topics: &[String],
    cutover: &str,
) -> String {
    let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
    write_copy_plan(dir, source, target, &topics, "", "", &format!("cutover:\n{cutover}\n"))
}

/// `n` records for `partition` with keys, two headers and explicit timestamps; `tag` makes
/// values unique across batches.
fn records(partition: i32, tag: &str, n: usize, base_ms: i64) -> Vec<SeedRecord> {
    (0..n)
        .map(|i| {
            SeedRecord::new(partition)
                .key(format!("key-{tag}-{i}"))
                .value(format!("{tag}-{partition}-{i}-{}", "x".repeat(i % 40)))
                .header("trace-id", format!("{tag}{i}"))
                .header("origin", "orders-service")
                .timestamp(base_ms + i as i64)
        })
        .collect()
}

/// Source and target hold the same records, in the same order, with the same key, value,
/// headers and timestamp.
async fn assert_identical(source: &TestCluster, target: &TestCluster, topic: &str, partitions: i32) -> usize {
    let mut total = 0;
    for p in 0..partitions {
        let (a, b) = (read_all(source, topic, p).await, read_all(target, topic, p).await);
        assert_eq!(a.len(), b.len(), "{topic}/{p}: record counts");
        for (x, y) in a.iter().zip(&b) {
            assert!(
                x.same_content(y, kmigrate_kafka::Fields::All),
                "{topic}/{p}: source offset {} differs from target offset {}",
                x.offset,
                y.offset
            );
        }
        total += a.len();
    }
    total
}

fn past() -> String {
    format!("  at: \"{}\"", chrono::DateTime::from_timestamp_millis(now_ms() - 60_000).unwrap().to_rfc3339())
}

/// tansu's memory engine: fast enough for 300k records (its SQLite engine slows down badly on
/// large partitions). Its ListOffsets "latest" answers are wrong; the copy and its verification
/// learn partition ends from the fetches, so they do not depend on them.
#[tokio::test(flavor = "multi_thread")]
async fn copies_300k_records_exactly_and_verify_passes() {
    let pair = kmigrate_testkit::BrokerPair::start(Engine::Memory);
    let dir = tempfile::tempdir().unwrap();
    let topics: Vec<String> = (0..3).map(|i| unique(&format!("copy{i}"))).collect();
    let base = now_ms() - 86_400_000;
    for t in &topics {
        pair.source.create_topic(t, 4).await;
        for p in 0..4 {
            pair.source.produce(t, &records(p, "r", 25_000, base)).await;
        }
    }
    let plan = copy_plan(dir.path(), &pair.source, &pair.target, &topics, &past());
    let out = kmigrate(dir.path(), &["apply", &plan]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("✓ verify: 300000 copied records in 12 partitions match the source"), "{stdout}");
    // Progress reports the lag left on the source, from the fetches: none once a copy is done.
    for t in &topics {
        assert!(stdout.contains(&format!("… copy:{t}: 100000 records")), "{stdout}");
    }
    assert!(stdout.matches("MB/s, lag 0 records)").count() >= 3, "{stdout}");
    // The copy read the target behind its producer up to its last copy: verify read nothing more.
    let state = read_state(dir.path()).unwrap();
    for t in &topics {
        let outputs = &state["steps"][format!("copy:{t}")]["outputs"];
        for p in 0..4 {
            let run = &outputs["partitions"][p.to_string()]["runs"][0];
            let read = &outputs["target_read"][p.to_string()];
            assert_eq!(read["next"], run[1].as_i64().unwrap() + run[2].as_i64().unwrap(), "{t}/{p}: {read}");
            assert_eq!(read["digest"], outputs["digests"][p.to_string()], "{t}/{p}");
        }
    }
    let mut total = 0;
    for t in &topics {
        total += assert_identical(&pair.source, &pair.target, t, 4).await;
    }
    assert_eq!(total, 300_000);
}

/// Five SIGKILLs while the copy runs and producers still write to the source, then a run to
/// the end: the target holds exactly the source's records, each once.
///
/// tansu's SQLite engine: its memory engine cannot serve a fetch that starts inside a record
/// batch (it answers nothing, or skips to the next batch), which every resume does; Apache Kafka
/// and the SQLite engine serve it. SQLite slows down on large partitions, hence the sizes.
#[tokio::test(flavor = "multi_thread")]
async fn survives_five_sigkills_during_the_copy() {
    let pair = kmigrate_testkit::BrokerPair::start(Engine::Sqlite);
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("killed");
    pair.source.create_topic(&topic, 4).await;
    let base = now_ms() - 86_400_000;
    for p in 0..4 {
        pair.source.produce(&topic, &records(p, "seed", 600, base)).await;
    }
    // The cutover is detected once the source has been idle for 3 s: until the producers stop,
    // the copy keeps copying.
    let plan = copy_plan(
        dir.path(),
        &pair.source,
        &pair.target,
        std::slice::from_ref(&topic),
        "  detect: { idle: 3s }",
    );
    let step = format!("copy:{topic}");
    let mut kills_mid_copy = 0;
    for round in 0..5 {
        let before = copied(dir.path(), &step);
        let bg = Background::start(dir.path(), &["apply", &plan]);
        // Producers are still on the source.
        for p in 0..4 {
            pair.source.produce(&topic, &records(p, &format!("live{round}"), 200, now_ms())).await;
        }
        if !wait_until(60, || copied(dir.path(), &step) > before) {
            dump_logs(dir.path());
            panic!("round {round}: the copy made no progress beyond {before}");
        }
        if step_status(dir.path(), &step) != "done" {
            kills_mid_copy += 1;
        }
        bg.kill9();
    }
    assert_eq!(kills_mid_copy, 5, "every kill landed while the copy was running");
    let last = kmigrate(dir.path(), &["apply", &plan]);
    assert_eq!(last.status.code(), Some(0));
    let total = assert_identical(&pair.source, &pair.target, &topic, 4).await;
    assert_eq!(total, 4 * (600 + 5 * 200));
}

/// A strict group, data copied by kmigrate, and producers writing new records to the target
/// while copies still arrive: consumed from its committed offsets, the group loses nothing and
/// reads again exactly the copied records apply announced. SQLite engine: the offsets step needs
/// correct end offsets.
#[tokio::test(flavor = "multi_thread")]
async fn interleaved_new_records_lose_nothing_and_duplicates_are_announced() {
    let mut s = Scenario::start();
    s.seed_old(800, now_ms() - 3_600_000).await;
    // A manual cutover, approved at the end: no phase of the test races a wall clock.
    let plan = s
        .write_plan("data: synced\nsync: { by: kmigrate }\ncutover:\n  manual: true", "      loss: strict\n");
    let plan = plan.to_str().unwrap().to_string();
    let step = format!("copy:{}", s.topic);
    s.source().commit_group_offsets(&s.group, &[(s.topic.as_str(), 0, 0), (s.topic.as_str(), 1, 0)]).await;

    // The copy catches up with the 800 records per partition; Ctrl-C stops it cleanly (or apply
    // reached the cutover gate first: paused either way).
    let bg = Background::start(s.dir.path(), &["apply", &plan]);
    if !wait_until(60, || copied(s.dir.path(), &step) == 1_600) {
        dump_logs(s.dir.path());
        panic!("the copy did not catch up: {} of 1600 records", copied(s.dir.path(), &step));
    }
    assert_eq!(bg.interrupt(), Some(3), "Ctrl-C leaves apply paused, to be continued");

    // Some producers already write to the target, others still to the source.
    s.produce_new(s.target(), "new", 7).await;
    for p in 0..PARTITIONS {
        let late: Vec<SeedRecord> = (800..1_000)
            .map(|i| {
                SeedRecord::new(p).key(format!("k{i}")).value(format!("old-{p}-{i}")).timestamp(now_ms())
            })
            .collect();
        s.source().produce(&s.topic, &late).await;
    }
    s.drain_group_on_source().await;
    let out = s.kmigrate(&["apply", &plan, "--approve", "cutover"]);
    assert_eq!(out.status.code(), Some(0));
    s.produce_new(s.target(), "after", 3).await;

    let state = read_state(s.dir.path()).unwrap();
    let decided = &state["steps"][format!("offsets:{}", s.group)]["outputs"]["decided"];
    assert_eq!(decided["rule"]["rule"], "exact-from-map");
    let duplicates = decided["duplicates"].as_u64().unwrap() as usize;
    // The 200 late copies per partition landed after the new records.
    assert_eq!(duplicates, 2 * 200, "announced: the late copies after the first new record");
    assert!(String::from_utf8_lossy(&out.stdout).contains("the group will read 400 copied records again"));

    let read = s.consume_from(&s.committed_on_target().await).await;
    let new: Vec<String> = sorted(read.iter().filter(|v| !v.starts_with("old-")).cloned().collect());
    assert_eq!(
        new,
        sorted([expected("new", 0..7), expected("after", 0..3)].concat()),
        "no new record lost or read twice"
    );
    assert_eq!(read.iter().filter(|v| v.starts_with("old-")).count(), duplicates);
}

/// `kmigrate offsets translate`: an application that keeps its own offsets translates them with
/// the copy's offset map; records producers wrote to the target first are not skipped.
#[tokio::test(flavor = "multi_thread")]
async fn offsets_translate_uses_the_offset_map() {
    let mut s = Scenario::start();
    s.seed_old(50, now_ms() - 3_600_000).await;
    // Producers already write 4 new records per partition to the target before the copy runs.
    s.target().create_topic(&s.topic, PARTITIONS).await;
    s.produce_new(s.target(), "new", 4).await;
    let at = chrono::DateTime::from_timestamp_millis(now_ms() - 1_000).unwrap().to_rfc3339();
    let plan = s.write_plan(
        &format!("data: synced\nsync: {{ by: kmigrate }}\ncutover:\n  at: \"{at}\""),
        "      offsets: self-stored\n      export: out/analytics.csv\n",
    );
    let plan = plan.to_str().unwrap().to_string();
    assert_eq!(s.kmigrate(&["apply", &plan]).status.code(), Some(0));

    // The application had read 30 records of partition 0 and all 50 of partition 1.
    let stored = s.dir.path().join("stored.csv");
    std::fs::write(&stored, format!("{t},0,30\n{t},1,50\n", t = s.topic)).unwrap();
    let out = s.kmigrate(&[
        "offsets",
        "translate",
        &plan,
        "--group",
        &s.group,
        "--from-file",
        stored.to_str().unwrap(),
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let parts = json["partitions"].as_array().unwrap();
    // Copies landed at target 4..54: both partitions start at the first new record (0), so
    // nothing new is lost; the copies already read (30 and 50) are announced.
    assert_eq!(parts[0]["target_offset"], 0);
    assert_eq!(parts[0]["duplicates"], 30);
    assert_eq!(parts[1]["target_offset"], 0);
    assert_eq!(json["duplicates"], 80);

    let missing = s.dir.path().join("missing.csv");
    std::fs::write(&missing, "elsewhere,0,3\n").unwrap();
    let out = s.kmigrate(&[
        "offsets",
        "translate",
        &plan,
        "--group",
        &s.group,
        "--from-file",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("elsewhere/0"));
}

/// verify compares record by record: when the target does not hold the records the offset map
/// says it does, apply fails naming the partition and the first differing offsets.
#[tokio::test(flavor = "multi_thread")]
async fn verify_names_the_first_differing_record() {
    let s = Scenario::start();
    s.seed_old(20, now_ms() - 3_600_000).await;
    let plan = copy_plan(s.dir.path(), s.source(), s.target(), std::slice::from_ref(&s.topic), &past());
    assert_eq!(kmigrate(s.dir.path(), &["apply", &plan]).status.code(), Some(0));

    // Producers write 20 records per partition to the target; then the map of partition 0 is
    // made to claim those are the copies, and verify runs again.
    s.produce_new(s.target(), "new", 20).await;
    let path = s.dir.path().join(".kmigrate/e2e.state.json");
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    state["steps"][format!("copy:{}", s.topic)]["outputs"]["partitions"]["0"]["runs"] =
        serde_json::json!([[0, 20, 20]]);
    state["steps"]["verify"]["status"] = "pending".into();
    std::fs::write(&path, serde_json::to_vec_pretty(&state).unwrap()).unwrap();

    let out = kmigrate(s.dir.path(), &["apply", &plan]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("{}/0: records differ first at source offset 0 (target offset 20)", s.topic)),
        "{text}"
    );
    assert!(!text.contains(&format!("{}/1:", s.topic)), "partition 1 matches: {text}");
}

/// An unreadable copy checkpoint (issue 10, item 11) is an internal error naming the state file
/// and the step, for `apply`, `plan` and `status` alike, and nothing changes: not the target, not
/// the state file. (Read as "nothing copied yet", it would start the copy over.)
#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_copy_checkpoint_stops_apply_plan_and_status_and_changes_nothing() {
    let mut s = Scenario::start();
    s.seed_old(300, now_ms() - 3_600_000).await;
    let plan = s.write_plan("data: synced\nsync: { by: kmigrate }\ncutover:\n  manual: true", "");
    let plan = plan.to_str().unwrap().to_string();
    s.drain_group_on_source().await;
    let out = s.kmigrate(&["apply", &plan]);
    assert_eq!(out.status.code(), Some(3), "paused at the cutover gate once the copy caught up");
    let step = format!("copy:{}", s.topic);
    assert_eq!(copied(s.dir.path(), &step), 600);

    let path = s.dir.path().join(".kmigrate/e2e.state.json");
    let mut state = read_state(s.dir.path()).unwrap();
    state["steps"][&step]["outputs"]["partitions"]["0"]["next"] = serde_json::json!("three hundred");
    let damaged = serde_json::to_string_pretty(&state).unwrap();
    std::fs::write(&path, &damaged).unwrap();
    let ends = s.ends(s.target()).await;

    for args in [&["apply", &plan, "--approve", "cutover"][..], &["plan", &plan], &["status", &plan]] {
        let out = s.kmigrate(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(70), "{args:?}: {stderr}");
        assert!(
            stderr.contains("e2e.state.json") && stderr.contains(&step),
            "{args:?} names the file and step: {stderr}"
        );
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), damaged, "the state file is left as it was");
    assert_eq!(s.ends(s.target()).await, ends, "nothing was written to the target");
}

/// Records producers write to the source after the copy finished are not on the target (issue 10,
/// item 6): `plan` shows the offsets after the copy's end, verify counts the records by
/// partition and offsets and fails a plan with a strict group, and `status` shows why.
#[tokio::test(flavor = "multi_thread")]
async fn records_written_to_the_source_after_the_copy_are_reported_and_fail_a_strict_plan() {
    let mut s = Scenario::start();
    s.seed_old(200, now_ms() - 3_600_000).await;
    let plan = s
        .write_plan("data: synced\nsync: { by: kmigrate }\ncutover:\n  manual: true", "      loss: strict\n");
    let plan = plan.to_str().unwrap().to_string();
    s.drain_group_on_source().await;
    assert_eq!(s.kmigrate(&["apply", &plan]).status.code(), Some(3), "paused at the cutover gate");
    let out = s.kmigrate(&["apply", &plan, "--approve", "cutover"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));

    // A producer nobody switched writes 3 records to partition 1 of the source.
    let stray: Vec<SeedRecord> =
        (0..3).map(|i| SeedRecord::new(1).key("k").value(format!("stray-{i}"))).collect();
    s.source().produce(&s.topic, &stray).await;

    let out = s.kmigrate(&["plan", &plan]);
    let text = String::from_utf8_lossy(&out.stdout);
    let range = format!("{}/1 offsets 200..203", s.topic);
    assert!(
        text.contains("the copy finished, but the source holds 3 offsets after its end")
            && text.contains(&range),
        "{text}"
    );

    // Verify runs again (as it would have, had the records arrived before it): it finds them.
    let path = s.dir.path().join(".kmigrate/e2e.state.json");
    let mut state = read_state(s.dir.path()).unwrap();
    state["steps"]["verify"]["status"] = serde_json::json!("pending");
    std::fs::write(&path, serde_json::to_string_pretty(&state).unwrap()).unwrap();
    let out = s.kmigrate(&["apply", &plan]);
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "a strict plan fails: {all}");
    let line = format!(
        "3 records reached the source after the copy finished and are not on the target: {range} (3)"
    );
    assert!(all.contains(&line), "{all}");
    let status = s.kmigrate(&["status", &plan]);
    assert!(String::from_utf8_lossy(&status.stdout).contains(&line), "status shows it");
}

/// `apply --output json`: one JSON object per line, the event's own fields first, then when it
/// happened (`at`, `elapsed_ms` since apply began) and, at the end of a step, how long it ran
/// (`duration_ms`): the time breakdown of an apply.
#[tokio::test(flavor = "multi_thread")]
async fn json_events_carry_times_and_step_durations() {
    let pair = kmigrate_testkit::BrokerPair::start(Engine::Sqlite);
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("timed");
    pair.source.create_topic(&topic, 1).await;
    pair.source.produce(&topic, &records(0, "r", 500, now_ms() - 60_000)).await;
    let plan = copy_plan(dir.path(), &pair.source, &pair.target, std::slice::from_ref(&topic), &past());
    let out = kmigrate(dir.path(), &["apply", &plan, "--output", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut last_elapsed = 0;
    let mut durations = std::collections::BTreeMap::new();
    for line in stdout.lines() {
        assert!(line.starts_with("{\"event\":"), "the event comes first: {line}");
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        chrono::DateTime::parse_from_rfc3339(e["at"].as_str().unwrap()).unwrap();
        let elapsed = e["elapsed_ms"].as_u64().unwrap();
        assert!(elapsed >= last_elapsed, "{line}");
        last_elapsed = elapsed;
        if e["event"] == "step_done" {
            durations.insert(e["step"].as_str().unwrap().to_string(), e["duration_ms"].as_u64().unwrap());
        }
    }
    let steps: Vec<&String> = durations.keys().collect();
    assert_eq!(
        steps,
        [&format!("copy:{topic}"), "cutover", "preflight", &format!("topic:{topic}"), "verify"]
    );
    assert!(durations.values().all(|d| *d <= last_elapsed), "{durations:?} within {last_elapsed} ms");
}
