//! apply's reliability: one apply at a time, refusal of a plan edited under done steps, and
//! resumption after SIGKILL without repeating a side effect or losing a record.

mod common;

use common::*;
use kmigrate_kafka::TopicPartition;

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_concurrent_apply_is_refused_and_a_dead_holders_lock_is_taken_over() {
    let mut s = Scenario::start();
    s.seed_old(3, now_ms() - 60_000).await;
    s.drain_group_on_source().await;
    // A cutover an hour ahead: the first apply waits at the cutover step.
    let at = chrono::DateTime::from_timestamp_millis(now_ms() + 3_600_000).unwrap().to_rfc3339();
    let plan = s.write_plan(&format!("data: not-synced\ncutover:\n  at: \"{at}\""), "");
    let plan = plan.to_str().unwrap().to_string();
    let first = Background::start(s.dir.path(), &["apply", &plan]);
    assert!(
        wait_until(30, || step_status(s.dir.path(), "cutover") == "running"),
        "the first apply reaches the cutover wait"
    );

    let second = s.kmigrate(&["apply", &plan]);
    assert_eq!(second.status.code(), Some(1));
    let msg = text(&second);
    assert!(msg.contains("another apply of this plan is running"), "{msg}");
    assert!(msg.contains(&format!("pid {}", first.child.id())), "names the holder's pid: {msg}");
    assert!(msg.contains(&kmigrate_executor::hostname()), "names the holder's host: {msg}");

    // The holder dies without cleaning up: the next apply takes its lock over, with a warning,
    // and resumes (here: waits again, bounded by --wait-timeout, and pauses).
    first.kill9();
    let third = s.kmigrate(&["apply", &plan, "--wait-timeout", "1s"]);
    assert_eq!(third.status.code(), Some(3), "{}", text(&third));
    assert!(text(&third).contains("took over a stale lock"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_edited_under_a_done_step_is_refused_naming_it_until_replan() {
    let mut s = Scenario::start();
    s.seed_old(3, now_ms() - 60_000).await;
    s.drain_group_on_source().await;
    let plan = s.write_plan("data: not-synced\ncutover:\n  manual: true", "");
    let plan_s = plan.to_str().unwrap().to_string();
    assert_eq!(s.kmigrate(&["apply", &plan_s]).status.code(), Some(3));

    // The reviewer asks for a shorter retention on the target after the topic was created.
    let yaml = std::fs::read_to_string(&plan).unwrap().replace(
        &format!("  - {}\n", s.topic),
        &format!("  - name: {}\n    config:\n      retention.ms: \"3600000\"\n", s.topic),
    );
    std::fs::write(&plan, yaml).unwrap();
    let refused = s.kmigrate(&["apply", &plan_s, "--approve", "cutover"]);
    assert_eq!(refused.status.code(), Some(1));
    let msg = text(&refused);
    assert!(msg.contains(&format!("topic:{}", s.topic)), "names the changed step: {msg}");
    assert!(msg.contains("+ config: {\"retention.ms\":\"3600000\"}"), "shows what changed: {msg}");
    assert!(msg.contains("--replan"), "{msg}");
    // Refused means nothing ran: the cutover is still waiting.
    assert_eq!(step_status(s.dir.path(), "cutover"), "waiting");

    let accepted = s.kmigrate(&["apply", &plan_s, "--approve", "cutover", "--replan"]);
    assert_eq!(accepted.status.code(), Some(0), "{}", text(&accepted));
    let configs = s.target().connect().await.describe_topic_configs(&[s.topic.as_str()]).await.unwrap();
    assert_eq!(configs[&s.topic].entries["retention.ms"].value.as_deref(), Some("3600000"));
}

/// SIGKILL during a multi-step plan (copy running, the cutover waiting), twice, while producers
/// still write to the source; then a re-run completes: the topic was created once, the target
/// holds every source record once, and the group's offsets are committed as computed.
///
/// tansu's SQLite engine serves fetches of large partitions very slowly (20k records: no answer
/// within 20 s; 2k: 0.5 s), so the partitions stay small here; the copy tests in copy.rs run
/// 300k records on the memory engine.
#[tokio::test(flavor = "multi_thread")]
async fn sigkill_mid_plan_then_rerun_completes_without_repeating_side_effects() {
    let mut s = Scenario::start();
    s.seed_old(1_000, now_ms() - 3_600_000).await;
    // A manual cutover, approved by the last run: until then the copy keeps copying what
    // producers write, and no phase of the test races a wall clock.
    let plan = s.write_plan("data: synced\nsync: { by: kmigrate }\ncutover:\n  manual: true", STRICT);
    let plan = plan.to_str().unwrap().to_string();
    let step = format!("copy:{}", s.topic);
    s.source().commit_group_offsets(&s.group, &[(s.topic.as_str(), 0, 0), (s.topic.as_str(), 1, 0)]).await;

    let bg = Background::start(s.dir.path(), &["apply", &plan]);
    assert!(wait_until(60, || copied(s.dir.path(), &step) > 0), "the copy checkpoints progress");
    assert_ne!(step_status(s.dir.path(), &step), "done");
    bg.kill9();
    assert_eq!(step_status(s.dir.path(), &format!("topic:{}", s.topic)), "done");

    // Producers still write to the source; kill again while the copy catches up.
    let before = copied(s.dir.path(), &step);
    for p in 0..PARTITIONS {
        let records: Vec<_> = (1_000..1_500)
            .map(|i| {
                kmigrate_testkit::SeedRecord::new(p)
                    .key(format!("k{i}"))
                    .value(format!("old-{p}-{i}"))
                    .timestamp(now_ms())
            })
            .collect();
        s.source().produce(&s.topic, &records).await;
    }
    let more = Background::start(s.dir.path(), &["apply", &plan]);
    if !wait_until(60, || copied(s.dir.path(), &step) > before) {
        dump_logs(s.dir.path());
        panic!("the resumed copy made no progress beyond {before}");
    }
    more.kill9();
    s.drain_group_on_source().await;

    let rerun = s.kmigrate(&["apply", &plan, "--approve", "cutover"]);
    assert_eq!(rerun.status.code(), Some(0), "{}", text(&rerun));
    let state = read_state(s.dir.path()).unwrap();
    assert_eq!(state["steps"][format!("topic:{}", s.topic)]["attempts"], 1, "the topic was created once");
    assert_eq!(state["steps"]["verify"]["status"], "done");
    for p in 0..PARTITIONS {
        let values: Vec<String> = read_all(s.target(), &s.topic, p)
            .await
            .into_iter()
            .map(|r| String::from_utf8(r.value.unwrap()).unwrap())
            .collect();
        assert_eq!(
            values,
            (0..1_500).map(|i| format!("old-{p}-{i}")).collect::<Vec<_>>(),
            "partition {p}: each record once"
        );
    }
    let committed = s.committed_on_target().await;
    let ends = s.ends(s.target()).await;
    for (p, o) in committed {
        assert_eq!(
            o,
            ends[&TopicPartition::new(s.topic.clone(), p)],
            "the drained group starts after the copies"
        );
    }
}

const STRICT: &str = "      loss: strict\n";

/// `--replan` decides anew: a group whose `loss` changed gets its offsets from the new rule, and a
/// changed `cutover.at` re-decides every group downstream of it (their definitions did not change),
/// instead of applying the offsets saved by the first apply. `plan` says which steps run again.
#[tokio::test(flavor = "multi_thread")]
async fn replan_decides_anew_for_changed_steps_and_those_downstream() {
    let mut s = Scenario::start();
    s.seed_old(4, now_ms() - 60 * 60 * 1000).await;
    s.drain_group_on_source().await;
    s.external_copy().await;
    // New records on the target, 10 minutes ago and now.
    s.seed_target_before_t("ten-min", 2, now_ms() - 10 * 60 * 1000).await;
    s.produce_new(s.target(), "now", 2).await;
    let at = |minutes_ago: i64| {
        chrono::DateTime::from_timestamp_millis(now_ms() - minutes_ago * 60 * 1000).unwrap().to_rfc3339()
    };
    let write = |s: &mut Scenario, t: &str, loss: &str| {
        let plan = s.write_plan(
            // Dual write: strict starts by time (an external copy would be aligned instead).
            &format!("data: dual-write\ncutover:\n  at: \"{t}\""),
            &format!("      loss: {loss}\n"),
        );
        plan.to_str().unwrap().to_string()
    };
    // Strict, T 30 minutes ago: by time, after the 4 copies.
    let plan = write(&mut s, &at(30), "strict");
    assert_eq!(s.kmigrate(&["apply", &plan]).status.code(), Some(0));
    assert_eq!(s.committed_on_target().await, vec![(0, 4), (1, 4)]);

    // Tolerant: latest (4 copies + 2 + 2 new).
    let plan = write(&mut s, &at(30), "tolerant");
    assert_eq!(s.kmigrate(&["apply", &plan]).status.code(), Some(1), "refused without --replan");
    let out = s.kmigrate(&["apply", &plan, "--replan"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(s.committed_on_target().await, vec![(0, 8), (1, 8)], "decided anew: latest");

    // Strict again, and T 5 minutes ago: the offsets step depends on the changed cutover.
    let plan = write(&mut s, &at(30), "strict");
    assert_eq!(s.kmigrate(&["apply", &plan, "--replan"]).status.code(), Some(0));
    assert_eq!(s.committed_on_target().await, vec![(0, 4), (1, 4)]);
    let plan = write(&mut s, &at(5), "strict");
    let preview = s.kmigrate(&["plan", &plan]);
    let text = String::from_utf8_lossy(&preview.stdout);
    assert!(text.contains("cutover changed, so --replan runs this step again"), "{text}");
    let out = s.kmigrate(&["apply", &plan, "--replan"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("depends on cutover, which changed"));
    assert_eq!(s.committed_on_target().await, vec![(0, 6), (1, 6)], "by the new T: only the records of now");
}

// --- a state file written by an earlier version -------------------------------------------------

/// The state file of a migration in flight, written by kmigrate at the time of the fixture (format
/// version 1): the topic created, the copy caught up with 20 records per partition (its offset map
/// saved), apply paused at the manual cutover gate. A format change that breaks resuming it fails
/// here; keep reading old files, or migrate them, when STATE_FORMAT_VERSION is bumped.
const STATE_FIXTURE: &str = "tests/fixtures/state-v1.json";
const FIXTURE_TOPIC: &str = "fixture-v1-orders";
const FIXTURE_GROUP: &str = "fixture-v1-billing";
/// 2025-11-30T00:00:00Z: the fixture's records' timestamps.
const FIXTURE_TS: i64 = 1_764_460_800_000;

/// The fixture's plan: the clusters' addresses are templates, so its steps' fingerprints do not
/// depend on the ports of the brokers of a run.
const FIXTURE_PLAN: &str = "version: 1\nname: fixture\nsource:\n  bootstrap_servers: \"${KMIGRATE_FIXTURE_SOURCE}\"\ntarget:\n  bootstrap_servers: \"${KMIGRATE_FIXTURE_TARGET}\"\ntopics:\n  - fixture-v1-orders\ndata: synced\nsync: { by: kmigrate }\ncutover: { manual: true }\nconsumers:\n  groups:\n    - id: fixture-v1-billing\n      loss: strict\n";

/// Records `range` of each partition of the fixture's topic, the same on every run.
fn fixture_records(p: i32, range: std::ops::Range<usize>) -> Vec<kmigrate_testkit::SeedRecord> {
    range
        .map(|i| {
            kmigrate_testkit::SeedRecord::new(p)
                .key(format!("k{i}"))
                .value(format!("fixture-{p}-{i}"))
                .header("trace", format!("t{i}"))
                .timestamp(FIXTURE_TS + i as i64)
        })
        .collect()
}

/// Brokers on which the fixture's fixed names are fresh: those the testkit starts (a shared one
/// lives as long as this test binary); a Kafka pair of the test's own against external clusters,
/// which may hold them from an earlier run.
fn fixture_brokers() -> kmigrate_testkit::BrokerPair {
    if kmigrate_testkit::external_clusters() {
        kmigrate_testkit::BrokerPair::start_dedicated()
    } else {
        kmigrate_testkit::BrokerPair::start(kmigrate_testkit::Engine::Sqlite)
    }
}

/// The source as the fixture's run found it: 20 records per partition, the group at their end.
async fn seed_fixture_source(pair: &kmigrate_testkit::BrokerPair) {
    pair.source.create_topic_with(FIXTURE_TOPIC, PARTITIONS, &[("retention.ms", "-1")]).await;
    for p in 0..PARTITIONS {
        pair.source.produce(FIXTURE_TOPIC, &fixture_records(p, 0..20)).await;
    }
}

fn kmigrate_with_fixture_env(
    dir: &std::path::Path,
    pair: &kmigrate_testkit::BrokerPair,
    args: &[&str],
) -> std::process::Output {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kmigrate"))
        .args(args)
        .current_dir(dir)
        .env("KMIGRATE_FIXTURE_SOURCE", pair.source.bootstrap())
        .env("KMIGRATE_FIXTURE_TARGET", pair.target.bootstrap())
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    println!("$ kmigrate {}\n--- exit {:?}\n{}", args.join(" "), out.status.code(), text(&out));
    out
}

/// Writes the fixture anew, on brokers of its own (the fixture's names stay fresh for the test
/// that resumes it). Run when the format changes on purpose, and only then (the fixture is the
/// state of an earlier version):
/// `KMIGRATE_BLESS_STATE_FIXTURE=1 cargo test -p kmigrate-cli --test resume a_state_file_of_an_earlier_version_resumes`.
async fn write_the_state_fixture() {
    let pair = kmigrate_testkit::BrokerPair::start_dedicated();
    let dir = tempfile::tempdir().unwrap();
    seed_fixture_source(&pair).await;
    pair.source.commit_group_offsets(FIXTURE_GROUP, &[(FIXTURE_TOPIC, 0, 20), (FIXTURE_TOPIC, 1, 20)]).await;
    std::fs::write(dir.path().join("plan.yaml"), FIXTURE_PLAN).unwrap();
    let out = kmigrate_with_fixture_env(dir.path(), &pair, &["apply", "plan.yaml"]);
    assert_eq!(out.status.code(), Some(3), "paused at the cutover gate");
    let state = std::fs::read_to_string(dir.path().join(".kmigrate/fixture.state.json")).unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(STATE_FIXTURE);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, state).unwrap();
}

/// The fixture resumes: the state reader and `status` read it, and `apply --approve
/// cutover` on clusters as the fixture's run left them (plus 5 records per partition producers
/// wrote since) finishes the migration exactly: the copy continues after its saved map, verify
/// passes, the group starts after the copies.
#[tokio::test(flavor = "multi_thread")]
async fn a_state_file_of_an_earlier_version_resumes() {
    if std::env::var_os("KMIGRATE_BLESS_STATE_FIXTURE").is_some_and(|v| v == "1") {
        write_the_state_fixture().await;
    }
    let fixture =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(STATE_FIXTURE))
            .expect("the state fixture");
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join(".kmigrate");
    std::fs::create_dir_all(&state_dir).unwrap();
    std::fs::write(state_dir.join("fixture.state.json"), &fixture).unwrap();
    std::fs::write(dir.path().join("plan.yaml"), FIXTURE_PLAN).unwrap();

    let loaded: kmigrate_migration::State =
        kmigrate_migration::StateStore::new(&state_dir, "fixture").load().unwrap().expect("a state");
    assert_eq!(loaded.format_version, 1);
    let status = |id: &str| loaded.steps[id].status.to_string();
    assert_eq!(status(&format!("topic:{FIXTURE_TOPIC}")), "done");
    assert_eq!(status("cutover"), "waiting");
    assert_eq!(status(&format!("copy:{FIXTURE_TOPIC}")), "pending");
    assert_eq!(status("verify"), "pending");

    // `status` needs no cluster.
    let out = kmigrate(dir.path(), &["status", "plan.yaml", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps = json["steps"].as_array().unwrap();
    let shown: Vec<(String, String, bool)> = steps
        .iter()
        .map(|s| {
            (
                s["step"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
                s["plan_changed"] == true,
            )
        })
        .collect();
    assert!(shown.iter().all(|(_, _, changed)| !changed), "no step's definition changed: {shown:?}");
    assert!(shown.contains(&("cutover".into(), "waiting".into(), false)), "{shown:?}");

    // The clusters as the fixture's run left them: the target holds the 20 copies per partition.
    let pair = fixture_brokers();
    seed_fixture_source(&pair).await;
    pair.target.create_topic_with(FIXTURE_TOPIC, PARTITIONS, &[("retention.ms", "-1")]).await;
    for p in 0..PARTITIONS {
        pair.target.produce(FIXTURE_TOPIC, &fixture_records(p, 0..20)).await;
        // Producers wrote more before they switched; the group read everything.
        pair.source.produce(FIXTURE_TOPIC, &fixture_records(p, 20..25)).await;
    }
    pair.source.commit_group_offsets(FIXTURE_GROUP, &[(FIXTURE_TOPIC, 0, 25), (FIXTURE_TOPIC, 1, 25)]).await;

    let out = kmigrate_with_fixture_env(dir.path(), &pair, &["apply", "plan.yaml", "--approve", "cutover"]);
    assert_eq!(out.status.code(), Some(0));
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state_dir.join("fixture.state.json")).unwrap())
            .unwrap();
    assert_eq!(state["steps"]["verify"]["status"], "done");
    let copy = &state["steps"][format!("copy:{FIXTURE_TOPIC}")]["summary"];
    assert_eq!(copy["this_run"]["records"], 10, "continued after the saved map: {copy}");
    for p in 0..PARTITIONS {
        assert_eq!(assert_exact(&pair.source, &pair.target, FIXTURE_TOPIC, p).await, 25);
    }
    let parts: Vec<TopicPartition> = (0..PARTITIONS).map(|p| TopicPartition::new(FIXTURE_TOPIC, p)).collect();
    let committed = pair.target.connect().await.committed_offsets(FIXTURE_GROUP, &parts).await.unwrap();
    assert_eq!(committed.into_values().collect::<Vec<_>>(), vec![Some(25), Some(25)]);
}

/// The state file of a finished apply, as this version writes it (a snapshot: `cargo insta
/// review` after a change on purpose). Beside the fixture above, which is the state of an earlier
/// version that must still resume, this pins what is written: every step kind's typed outputs and
/// summary, the fingerprints (a change to one makes `apply` refuse a finished migration without
/// `--replan`), the layout of the snapshot. What varies per run is filtered: times, the copy's
/// duration, the brokers' addresses and cluster ids, the snapshot's generation, the number of topics
/// on the shared source. A change here that
/// older files cannot follow needs STATE_FORMAT_VERSION bumped, and the old format still read.
#[tokio::test(flavor = "multi_thread")]
async fn the_state_file_of_a_finished_apply() {
    const PLAN: &str = "version: 1\nname: finished\nsource:\n  bootstrap_servers: \"${KMIGRATE_FIXTURE_SOURCE}\"\ntarget:\n  bootstrap_servers: \"${KMIGRATE_FIXTURE_TARGET}\"\ntopics:\n  - snapshot-orders\ndata: synced\nsync: { by: kmigrate }\ncutover: { manual: true }\nconsumers:\n  groups:\n    - id: snapshot-billing\n      loss: strict\n";
    let pair = fixture_brokers();
    pair.source.create_topic_with("snapshot-orders", PARTITIONS, &[("retention.ms", "-1")]).await;
    for p in 0..PARTITIONS {
        pair.source.produce("snapshot-orders", &fixture_records(p, 0..20)).await;
    }
    pair.source
        .commit_group_offsets("snapshot-billing", &[("snapshot-orders", 0, 20), ("snapshot-orders", 1, 20)])
        .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plan.yaml"), PLAN).unwrap();

    let out = kmigrate_with_fixture_env(dir.path(), &pair, &["apply", "plan.yaml", "--approve", "cutover"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let state_dir = dir.path().join(".kmigrate");
    assert!(
        !state_dir.join("finished.state.journal").exists(),
        "a finished apply leaves the state file alone"
    );
    let state = std::fs::read_to_string(state_dir.join("finished.state.json")).unwrap();
    // It reads back as this version reads it.
    let loaded: kmigrate_migration::State =
        kmigrate_migration::load_state(&kmigrate_migration::StateStore::new(&state_dir, "finished"))
            .unwrap()
            .expect("a state");
    assert!(loaded.steps.values().all(|s| s.status == kmigrate_migration::StepStatus::Done));

    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex::escape(pair.source.bootstrap()), "[source]");
    settings.add_filter(&regex::escape(pair.target.bootstrap()), "[target]");
    settings.add_filter(r#""(created_at|updated_at|started_at|finished_at)": "[^"]+""#, r#""$1": "[time]""#);
    settings.add_filter(r#""generation": "[^"]+""#, r#""generation": "[generation]""#);
    // A step retried after a passing failure (a loaded machine) is as finished as one that was not.
    settings.add_filter(r#""attempts": \d+"#, r#""attempts": "[attempts]""#);
    settings.add_filter(r#""cluster_id": "[^"]+""#, r#""cluster_id": "[cluster id]""#);
    settings.add_filter(r#""seconds": [-+.0-9eE]+"#, r#""seconds": "[duration]""#);
    // Preflight counts every topic of the source, which this binary's other tests share.
    settings.add_filter(r#""topics": \d+"#, r#""topics": "[count]""#);
    settings.bind(|| insta::assert_snapshot!("finished_apply_state", state));
}
