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
    assert!(msg.contains(&kmigrate_engine::lock::hostname()), "names the holder's host: {msg}");

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
