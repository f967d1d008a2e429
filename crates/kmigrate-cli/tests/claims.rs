//! README claims, end to end through the binary on Apache Kafka: a drain that really waits and
//! then finishes, the `detect` cutover with a margin (the recorded T and the exact records read),
//! pattern topics expanded, Ctrl-C in the middle of a large copy, steps a crash left `running`
//! after their side effect, the refusal to commit into a group with a live member, and the
//! documented exit codes for a corrupt state file (70) and a usage error (64).

mod common;

use common::*;
use kmigrate_kafka::TopicPartition;
use kmigrate_testkit::{GroupProtocol, unique};

/// A cutover a minute ago: copies run to the end of the source, nothing waits.
fn past() -> String {
    let at = chrono::DateTime::from_timestamp_millis(now_ms() - 60_000).unwrap().to_rfc3339();
    format!("cutover:\n  at: \"{at}\"\n")
}

/// The values a consumer reads on `cluster` from the group's committed offsets of `topic` to the
/// end, per partition in order; a partition without a committed offset reads nothing.
async fn read_from_committed(
    cluster: &kmigrate_testkit::TestCluster,
    group: &str,
    topic: &str,
    partitions: i32,
) -> Vec<String> {
    let parts: Vec<TopicPartition> = (0..partitions).map(|p| TopicPartition::new(topic, p)).collect();
    let k = cluster.connect().await;
    let committed = k.committed_offsets(group, &parts).await.unwrap();
    let ends = k.latest_offsets(&parts).await.unwrap();
    let mut out = Vec::new();
    for p in &parts {
        if let Some(start) = committed[p] {
            for r in cluster.consume(topic, p.partition, start, ends[p]).await {
                out.push(String::from_utf8(r.value.unwrap_or_default()).unwrap());
            }
        }
    }
    out
}

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

/// `topics: - pattern:` end to end: `expand:` finds the two source topics the pattern matches
/// (and not a third whose name only shares the prefix), the DAG grows their steps, both are copied
/// record for record, and a strict group drained on the source starts on the target exactly at the
/// first record switched producers wrote there (neither earliest nor latest would). The third topic
/// stays untouched: never created on the target, no offset for it, and the group's lag there does
/// not hold up its drain.
#[tokio::test(flavor = "multi_thread")]
async fn a_pattern_copies_its_matching_topics_exactly_and_leaves_the_others_alone() {
    let s = Scenario::start();
    let prefix = unique("pat");
    let (a, b, other) = (format!("{prefix}.a"), format!("{prefix}.b"), format!("{prefix}-other"));
    let ts = now_ms() - 3_600_000;
    for (topic, n) in [(&a, 30), (&b, 20), (&other, 10)] {
        s.source().create_topic(topic, PARTITIONS).await;
        seed_values(s.source(), topic, PARTITIONS, n, topic, ts, 1).await;
    }
    // The group has read a and b to their ends, the other topic only in part.
    s.source()
        .commit_group_offsets(
            &s.group,
            &[(a.as_str(), 0, 30), (&a, 1, 30), (&b, 0, 20), (&b, 1, 20), (&other, 0, 4), (&other, 1, 4)],
        )
        .await;
    let pattern = format!("pattern: \"^{prefix}\\\\.\"");
    let rest = format!(
        "cutover:\n  manual: true\nconsumers:\n  groups:\n    - id: {}\n      loss: strict\n",
        s.group
    );
    let plan = write_copy_plan(s.dir.path(), s.source(), s.target(), &[&pattern], "", "", &rest);

    // To the cutover gate: the copies have caught up.
    let out = s.kmigrate(&["apply", &plan, "--wait-timeout", "60s"]);
    assert_eq!(out.status.code(), Some(3), "paused at the gate");
    let state = read_state(s.dir.path()).unwrap();
    let expand = format!("^{prefix}\\.");
    assert_eq!(state["steps"][format!("expand:{expand}")]["status"], "done", "{state}");
    assert_eq!(state["expansion"][&expand], serde_json::json!([a, b]), "the matches are recorded");
    let steps = state["steps"].as_object().unwrap();
    assert!(steps.contains_key(&format!("copy:{a}")) && steps.contains_key(&format!("copy:{b}")));
    assert!(steps.keys().all(|k| !k.contains(&other)), "no step for {other}: {:?}", steps.keys());

    // Producers switch to the target and write there; the cutover is approved.
    for t in [&a, &b] {
        seed_values(s.target(), t, PARTITIONS, 3, &format!("new-{t}"), now_ms(), 1).await;
    }
    let out = s.kmigrate(&["apply", &plan, "--approve", "cutover", "--wait-timeout", "60s"]);
    assert_eq!(out.status.code(), Some(0));
    let state = read_state(s.dir.path()).unwrap();
    for t in [&a, &b] {
        for step in [format!("topic:{t}"), format!("copy:{t}")] {
            assert_eq!(state["steps"][&step]["status"], "done", "{step}");
        }
    }
    for (t, n) in [(&a, 30), (&b, 20)] {
        for p in 0..PARTITIONS {
            let target = values_of(&read_all(s.target(), t, p).await);
            let source = values_of(&read_all(s.source(), t, p).await);
            assert_eq!(source.len(), n);
            assert_eq!(target[..n], source[..], "{t}/{p}: the copies, in order, once each");
        }
    }
    let target_topics = s.target().connect().await.metadata().await.unwrap().topics;
    assert!(!target_topics.contains_key(&other), "{other} was created on the target");

    let decided = &state["steps"][format!("offsets:{}", s.group)]["outputs"]["decided"];
    assert_eq!(decided["rule"]["rule"], "exact-from-map", "{decided}");
    for t in [&a, &b] {
        let want: Vec<String> =
            (0..PARTITIONS).flat_map(|p| (0..3).map(move |i| format!("new-{t}-{p}-{i}"))).collect();
        assert_eq!(read_from_committed(s.target(), &s.group, t, PARTITIONS).await, want, "{t}");
    }
    let on_other = s
        .target()
        .connect()
        .await
        .all_committed_offsets(&s.group)
        .await
        .unwrap()
        .into_keys()
        .filter(|p| p.topic == other)
        .count();
    assert_eq!(on_other, 0, "the group got offsets for {other} on the target");
}

/// Ctrl-C (SIGINT) in the middle of a large copy: apply stops at a safe point and exits paused (3)
/// within seconds; the copy's progress stays in the state (the step back to `pending`, its offset
/// map kept, never claiming more than the target holds); the re-run continues it and the target
/// ends up with every source record exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_in_the_middle_of_a_large_copy_pauses_keeps_progress_and_the_rerun_is_exact() {
    let s = Scenario::start();
    const N: usize = 100_000;
    s.source().create_topic(&s.topic, PARTITIONS).await;
    // The target topic exists already and takes batches of 8 KiB at most, which the copy's
    // batches fit: it takes seconds, not one.
    s.target().create_topic_with(&s.topic, PARTITIONS, &[("max.message.bytes", "8192")]).await;
    seed_values(s.source(), &s.topic, PARTITIONS, N, "big", now_ms() - 3_600_000, 0).await;
    let total = (N * PARTITIONS as usize) as u64;
    let plan = write_copy_plan(s.dir.path(), s.source(), s.target(), &[&s.topic], "", "", &past());
    let step = format!("copy:{}", s.topic);

    let bg = Background::start(s.dir.path(), &["apply", &plan]);
    // The first checkpoint of the copy's progress: it is copying, most records still to come.
    if !wait_until(120, || copied(s.dir.path(), &step) > 0) {
        dump_logs(s.dir.path());
        panic!("the copy checkpointed no progress");
    }
    let at_interrupt = copied(s.dir.path(), &step);
    assert!(at_interrupt < total, "the copy was done before Ctrl-C: {at_interrupt} of {total} copied");
    let interrupted = std::time::Instant::now();
    let code = bg.interrupt();
    let took = interrupted.elapsed();
    dump_logs(s.dir.path());
    assert_eq!(code, Some(3), "Ctrl-C pauses apply");
    assert!(took < std::time::Duration::from_secs(15), "stopping took {took:?}");

    let kept = copied(s.dir.path(), &step);
    assert!(kept >= at_interrupt, "the progress is kept: {kept} records, {at_interrupt} before Ctrl-C");
    assert_eq!(step_status(s.dir.path(), &step), "pending", "to be continued");
    assert_eq!(step_status(s.dir.path(), "verify"), "pending");
    // The state never claims a record the target does not hold.
    let ends = s.ends(s.target()).await;
    let state = read_state(s.dir.path()).unwrap();
    for p in 0..PARTITIONS {
        let runs = state["steps"][&step]["outputs"]["partitions"][p.to_string()]["runs"].as_array().cloned();
        let claimed_end = runs
            .unwrap_or_default()
            .iter()
            .map(|r| r[1].as_i64().unwrap() + r[2].as_i64().unwrap())
            .max()
            .unwrap_or(0);
        let end = ends[&TopicPartition::new(s.topic.clone(), p)];
        assert!(
            claimed_end <= end,
            "partition {p}: the map claims target offsets up to {claimed_end}, the target ends at {end}"
        );
    }

    let out = s.kmigrate(&["apply", &plan]);
    assert_eq!(out.status.code(), Some(0));
    // Continued after the kept progress, not restarted: this run copied only what was left.
    let summary = read_state(s.dir.path()).unwrap()["steps"][&step]["summary"].clone();
    assert_eq!(summary["kind"], "copy", "{summary}");
    let this_run = summary["this_run"]["records"].as_u64().unwrap_or(0);
    assert!(this_run <= total - kept, "{summary}: {kept} records were kept");
    let mut n = 0;
    for p in 0..PARTITIONS {
        n += assert_exact(s.source(), s.target(), &s.topic, p).await;
    }
    assert_eq!(n as u64, total);
}

/// A crash right after a step's side effect, before its checkpoint: `topic:<t>` left `running`
/// although the topic was created, and the checkpoints after it lost (the copy's offset map
/// too, though its records reached the target). The re-run re-checks instead of repeating: the
/// topic step finds the topic and verifies it (no TopicAlreadyExists), the copy finds its records
/// on the target and copies none twice, and the group is committed as computed.
#[tokio::test(flavor = "multi_thread")]
async fn a_step_left_running_after_its_side_effect_is_rechecked_not_repeated() {
    let mut s = Scenario::start();
    s.seed_old(5, now_ms() - 3_600_000).await;
    s.drain_group_on_source().await;
    let plan = s.write_plan(
        &format!("data: synced\nsync: {{ by: kmigrate }}\n{}", past().trim_end()),
        "      loss: strict\n",
    );
    let plan = plan.to_str().unwrap().to_string();
    assert_eq!(s.kmigrate(&["apply", &plan]).status.code(), Some(0));

    let topic_step = format!("topic:{}", s.topic);
    let path = s.dir.path().join(".kmigrate/e2e.state.json");
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for (id, step) in state["steps"].as_object_mut().unwrap() {
        let step = step.as_object_mut().unwrap();
        if id == "preflight" {
            continue;
        }
        for key in ["finished_at", "summary", "outputs", "error"] {
            step.remove(key);
        }
        if *id == topic_step {
            step.insert("status".into(), "running".into());
        } else {
            step.insert("status".into(), "pending".into());
            step.insert("attempts".into(), 0.into());
            step.remove("started_at");
        }
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&state).unwrap()).unwrap();
    assert_eq!(step_status(s.dir.path(), &topic_step), "running");

    let out = s.kmigrate(&["apply", &plan]);
    assert_eq!(out.status.code(), Some(0));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!text.contains("already exists"), "{text}");
    let state = read_state(s.dir.path()).unwrap();
    let topic = &state["steps"][&topic_step];
    assert_eq!(topic["status"], "done");
    assert_eq!(topic["attempts"], 2, "re-checked once");
    assert_eq!(
        topic["summary"]["change"],
        serde_json::json!({ "action": "unchanged", "partitions": 2 }),
        "exists with 2 partitions and matching configs: {topic}"
    );
    let md = s.target().connect().await.topics(&[&s.topic]).await.unwrap();
    assert_eq!(md[&s.topic].partition_count(), PARTITIONS as usize);
    for p in 0..PARTITIONS {
        assert_eq!(assert_exact(s.source(), s.target(), &s.topic, p).await, 5);
    }
    assert_eq!(state["steps"]["verify"]["status"], "done");
    assert_eq!(s.committed_on_target().await, vec![(0, 5), (1, 5)], "after the copies");
}

/// A group that still has a live member on the target (its consumers already switched) is not
/// committed to: apply fails at `offsets:<g>` naming the group and what to do, and the group's
/// offsets on the target stay as the member left them; once the member is gone, the re-run commits.
/// Both group protocols: classic (DescribeGroups shows the member) and Kafka 4's consumer protocol
/// (KIP-848: DescribeGroups does not describe the group, ListGroups lists it active).
#[tokio::test(flavor = "multi_thread")]
async fn apply_refuses_to_commit_into_a_group_with_a_live_member_on_the_target() {
    for protocol in [GroupProtocol::Classic, GroupProtocol::Consumer] {
        let mut s = Scenario::start();
        s.seed_old(5, now_ms() - 3_600_000).await;
        s.drain_group_on_source().await;
        // Producers already write to the target: latest is 3 on each partition.
        s.seed_target_before_t("new", 3, now_ms()).await;
        let plan =
            s.write_plan(&format!("data: not-synced\n{}", past().trim_end()), "      loss: tolerant\n");
        let plan = plan.to_str().unwrap().to_string();
        let member = s.target().start_member_with(&s.group, &[&s.topic], protocol).await;
        // What the member committed itself (the testkit's member commits 0 where it is assigned).
        let before = s.committed_on_target().await;
        assert_eq!(before, vec![(0, 0), (1, 0)], "{protocol:?}");

        let out = s.kmigrate(&["apply", &plan]);
        assert_eq!(out.status.code(), Some(1), "{protocol:?}");
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(
            text.contains(&format!(
                "refusing to commit offsets for consumer group `{}` on the target cluster",
                s.group
            )),
            "{protocol:?}: {text}"
        );
        assert!(text.contains("stop its consumers") || text.contains("active member"), "{text}");
        let offsets = format!("offsets:{}", s.group);
        assert_eq!(step_status(s.dir.path(), &offsets), "failed");
        assert_eq!(s.committed_on_target().await, before, "{protocol:?}: nothing committed");

        drop(member);
        let out = s.kmigrate(&["apply", &plan]);
        assert_eq!(out.status.code(), Some(0), "{protocol:?}");
        assert_eq!(s.committed_on_target().await, vec![(0, 3), (1, 3)], "{protocol:?}: latest");
    }
}

/// `validate` and `graph` through the binary, no cluster: every problem of an invalid plan at
/// once, located (text and JSON), exit 1 as soon as one plan of several is invalid, 0 for valid
/// ones; `graph` prints the DAG (DOT by default, Mermaid on request) with the dependencies the
/// README describes, and refuses an invalid plan with nothing on stdout.
#[test]
fn validate_and_graph_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let good = "version: 1\nname: e2e\nsource:\n  bootstrap_servers: \"old:9092\"\ntarget:\n  bootstrap_servers: \"new:9092\"\ntopics:\n  - orders\n  - pattern: \"^audit\\\\.\"\ndata: synced\nsync: { by: kmigrate }\ncutover: { manual: true }\nconsumers:\n  groups:\n    - id: billing\n      loss: strict\n    - id: analytics\n      offsets: self-stored\n      export: out/analytics.csv\n";
    std::fs::write(dir.path().join("good.yaml"), good).unwrap();
    // Two problems: an unsupported version (line 1) and two cutover modes (line 13).
    let bad = good
        .replace("version: 1", "version: 2")
        .replace("cutover: { manual: true }", "cutover:\n  manual: true\n  at: \"2026-11-25T02:00:00Z\"");
    std::fs::write(dir.path().join("bad.yaml"), &bad).unwrap();

    let out = kmigrate(dir.path(), &["validate", "good.yaml"]);
    assert_eq!(out.status.code(), Some(0));
    let out = kmigrate(dir.path(), &["validate", "good.yaml", "bad.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("bad.yaml:1:10") && text.contains("plan::version"), "{text}");
    assert!(text.contains("plan::cutover::mode") && text.contains("bad.yaml:13:3"), "{text}");
    assert!(text.contains("bad.yaml: invalid, 2 errors"), "{text}");

    let out = kmigrate(dir.path(), &["validate", "good.yaml", "bad.yaml", "--output", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["format_version"], 1);
    assert_eq!(json["valid"], false);
    assert_eq!(json["plans"][0]["valid"], true);
    let diagnostics = json["plans"][1]["diagnostics"].as_array().unwrap();
    let located: Vec<(String, u64, u64)> = diagnostics
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        located,
        vec![("plan::version".to_string(), 1, 10), ("plan::cutover::mode".to_string(), 13, 3)],
        "{json}"
    );

    let out = kmigrate(dir.path(), &["graph", "good.yaml"]);
    assert_eq!(out.status.code(), Some(0));
    let dot = String::from_utf8(out.stdout).unwrap();
    assert!(dot.starts_with("digraph \"e2e\" {") && dot.trim_end().ends_with('}'), "{dot}");
    let mut edges: Vec<&str> = dot.lines().map(str::trim).filter(|l| l.contains(" -> ")).collect();
    edges.sort();
    let mut want = vec![
        "\"preflight\" -> \"topic:orders\";",
        "\"preflight\" -> \"expand:^audit\\\\.\";",
        "\"topic:orders\" -> \"copy:orders\";",
        "\"topic:orders\" -> \"cutover\";",
        "\"expand:^audit\\\\.\" -> \"cutover\";",
        "\"copy:orders\" -> \"synced\";",
        "\"cutover\" -> \"drain:billing\";",
        "\"cutover\" -> \"offsets:billing\";",
        "\"cutover\" -> \"offsets:analytics\";",
        "\"synced\" -> \"offsets:billing\";",
        "\"synced\" -> \"offsets:analytics\";",
        "\"drain:billing\" -> \"offsets:billing\";",
        "\"offsets:billing\" -> \"verify\";",
        "\"offsets:analytics\" -> \"verify\";",
    ];
    want.sort();
    assert_eq!(edges, want, "{dot}");
    let mermaid = kmigrate(dir.path(), &["graph", "good.yaml", "--format", "mermaid"]);
    assert_eq!(mermaid.status.code(), Some(0));
    let mermaid = String::from_utf8(mermaid.stdout).unwrap();
    assert!(mermaid.starts_with("flowchart LR\n"), "{mermaid}");
    assert_eq!(mermaid.matches(" --> ").count(), want.len(), "the same edges: {mermaid}");

    let out = kmigrate(dir.path(), &["graph", "bad.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "no graph of an invalid plan");
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.yaml is not a valid plan"));
}
