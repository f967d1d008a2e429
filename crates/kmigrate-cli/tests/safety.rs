//! Secrets from `${VAR}` never reach the state file, the logs or the output; bad input gets a
//! clear error and changes nothing.

mod common;

use std::process::Command;

use common::*;

fn all_output(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_from_the_environment_appears_in_no_file_log_or_output() {
    let mut s = Scenario::start();
    s.seed_old(3, now_ms() - 60_000).await;
    s.drain_group_on_source().await;
    let secret = format!("s3cr3t-{}", now_ms());
    let plan = s.write_plan(
        "data: not-synced\ncutover:\n  at: \"2026-01-01T00:00:00Z\"",
        "      offsets: self-stored\n      export: out/offsets.csv\n",
    );
    // Credentials on the source, as a SASL setup has them (tansu's PLAINTEXT listener ignores them).
    let yaml = std::fs::read_to_string(&plan).unwrap().replacen(
        "target:",
        "  properties:\n    sasl.username: \"${KMIGRATE_E2E_USER}\"\n    sasl.password: \"${KMIGRATE_E2E_SECRET}\"\ntarget:",
        1,
    );
    // The source's address from the environment too: a templated value is never shown resolved.
    let source_address = s.source().bootstrap().to_string();
    let yaml = yaml.replacen(&format!("\"{source_address}\""), "\"${KMIGRATE_E2E_SOURCE}\"", 1);
    assert!(yaml.contains("${KMIGRATE_E2E_SOURCE}"));
    std::fs::write(&plan, yaml).unwrap();
    let plan = plan.to_str().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_kmigrate"))
            .args(args)
            .current_dir(s.dir.path())
            .env("KMIGRATE_E2E_USER", "migrator")
            .env("KMIGRATE_E2E_SECRET", &secret)
            .env("KMIGRATE_E2E_SOURCE", &source_address)
            .env("RUST_LOG", "trace")
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let mut seen = String::new();
    // Each command as it must end: plan sees changes (2), apply does them all (0), the second
    // apply and plan find nothing left (0).
    for (args, code) in [
        (vec!["plan", plan, "-vv", "--detailed-exitcode"], 2),
        (vec!["apply", plan, "-vv"], 0),
        (vec!["apply", plan, "-vv", "--output", "json"], 0),
        (vec!["status", plan, "--output", "json"], 0),
        (vec!["plan", plan, "--output", "json", "--detailed-exitcode"], 0),
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", all_output(&out));
        seen.push_str(&all_output(&out));
    }
    assert!(seen.contains("TRACE") || seen.contains("DEBUG"), "logs were captured at the highest verbosity");
    assert!(!seen.contains(&secret), "the secret appears in the output or logs");
    assert!(!seen.contains(&source_address), "the templated source address appears in the output or logs");
    assert!(seen.contains("${KMIGRATE_E2E_SOURCE}"), "messages show the template instead");
    let files = all_files(s.dir.path());
    assert!(files.contains("\"status\": \"done\""), "the state file was read");
    assert!(!files.contains(&secret), "the secret appears in the state or export files");
    assert!(!files.contains(&source_address), "the templated source address appears in the state");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_clearly_and_changes_nothing() {
    let mut s = Scenario::start();
    s.seed_old(3, now_ms() - 60_000).await;
    s.drain_group_on_source().await;
    let plan = s.write_plan("data: not-synced\ncutover:\n  manual: true", "");
    let yaml = std::fs::read_to_string(&plan).unwrap().replacen(
        "target:",
        "  properties:\n    sasl.password: \"${KMIGRATE_E2E_UNSET_VARIABLE}\"\ntarget:",
        1,
    );
    std::fs::write(&plan, &yaml).unwrap();
    let plan_s = plan.to_str().unwrap().to_string();
    let state_dir = s.dir.path().join(".kmigrate");

    // A missing environment variable: named, with its line; nothing runs.
    let out = s.kmigrate(&["apply", &plan_s]);
    assert_eq!(out.status.code(), Some(1));
    let text = all_output(&out);
    assert!(text.contains("KMIGRATE_E2E_UNSET_VARIABLE"), "{text}");
    assert!(text.contains("plan.yaml:6:20"), "points at the line and column: {text}");
    assert!(!state_dir.exists(), "no state was written");

    // An invalid plan: all its problems, nothing runs.
    std::fs::write(
        &plan,
        yaml.replace("version: 1", "version: 2")
            .replace("manual: true", "manual: true\n  at: \"2026-11-25T02:00:00\""),
    )
    .unwrap();
    let out = s.kmigrate(&["apply", &plan_s]);
    assert_eq!(out.status.code(), Some(1));
    let text = all_output(&out);
    assert!(text.contains("plan::version") && text.contains("plan::cutover::mode"), "{text}");
    assert!(!state_dir.exists());

    // A cutover time without a UTC offset on the command line.
    std::fs::write(&plan, yaml.replace("${KMIGRATE_E2E_UNSET_VARIABLE}", "x")).unwrap();
    let out = s.kmigrate(&["apply", &plan_s, "--approve", "cutover", "--cutover-at", "2026-11-25T02:00:00"]);
    assert_eq!(out.status.code(), Some(64));
    assert!(all_output(&out).contains("UTC offset"));
    assert!(!state_dir.exists());

    // Nothing reached the target.
    let topics = s.target().connect().await.metadata().await.unwrap().topics;
    assert!(!topics.contains_key(&s.topic), "the target is untouched");
}
