//! The README's commands and examples run as written, from the repository root: a newcomer's first
//! minutes must not meet a missing file or a stale example.
//!
//! - Every `kmigrate` command in a fenced `sh` block names a file that exists; those that need no
//!   cluster (validate, graph, status, plan --offline) run and succeed here; those that need clusters
//!   (plan, apply) are run by `examples/quickstart.sh` on its local brokers, which CI runs too: this
//!   test checks the quickstart runs each of them.
//! - Every script named there exists and is executable.
//! - The plan example validates; the Mermaid graph is what `kmigrate graph` prints for its plan;
//!   the editor-support line names the schema where kmigrate publishes it.

mod common;

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).unwrap()
}

/// The fenced blocks of language `lang`, with the line number of their opening fence.
fn fenced(text: &str, lang: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match &mut current {
            None if line.trim_start() == format!("```{lang}") => current = Some((i + 1, String::new())),
            Some(_) if line.trim_start() == "```" => out.push(current.take().unwrap()),
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    out
}

/// The command lines of the `sh` blocks, comments removed.
fn shell_lines() -> Vec<(usize, Vec<String>)> {
    fenced(&readme(), "sh")
        .into_iter()
        .flat_map(|(at, body)| {
            body.lines()
                .enumerate()
                .map(move |(i, l)| {
                    (
                        at + 1 + i,
                        l.split('#').next().unwrap().split_whitespace().map(String::from).collect::<Vec<_>>(),
                    )
                })
                .filter(|(_, words)| !words.is_empty())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn readme_commands_run_as_written() {
    let lines = shell_lines();
    assert!(lines.len() >= 7, "the README's shell blocks: {lines:?}");
    let quickstart = std::fs::read_to_string(root().join("examples/quickstart.sh")).unwrap();
    for (line, words) in lines {
        let at = format!("README.md:{line}: `{}`", words.join(" "));
        if words[0] != "kmigrate" {
            let script = root().join(&words[0]);
            let mode = std::fs::metadata(&script).unwrap_or_else(|e| panic!("{at}: {e}")).permissions();
            assert!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o111 != 0, "{at}: not executable");
            continue;
        }
        // Up to an output redirection, which the test does not follow.
        let args: Vec<&str> =
            words[1..].iter().map(String::as_str).take_while(|w| !w.starts_with('>')).collect();
        if matches!(args[0], "completions" | "man" | "schema") {
            let out = common::kmigrate(&root(), &args);
            assert_eq!(out.status.code(), Some(0), "{at} failed");
            assert!(!out.stdout.is_empty(), "{at} printed nothing");
            continue;
        }
        if args[0] == "init" {
            // It needs a cluster; here its command line must parse and its `${VAR}`s be recognised:
            // with them unset, it stops before connecting, naming them, and writes nothing.
            let unquoted: Vec<&str> = args.iter().map(|a| a.trim_matches('\'')).collect();
            let out = common::kmigrate(&root(), &unquoted);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{at}: {stderr}");
            assert!(stderr.contains("not set: KAFKA_PASSWORD, KAFKA_USER"), "{at}: {stderr}");
            let to = args.iter().skip_while(|a| **a != "--to").nth(1).expect("--to FILE");
            assert!(!root().join(to).exists(), "{at}: {to} exists, or was written");
            continue;
        }
        let file = args.iter().find(|a| a.ends_with(".yaml")).unwrap_or_else(|| panic!("{at}: no plan file"));
        assert!(root().join(file).is_file(), "{at}: {file} does not exist");
        match args[0] {
            "validate" | "graph" | "status" => {
                let out = common::kmigrate(&root(), &args);
                assert_eq!(out.status.code(), Some(0), "{at} failed");
                // Nothing written beside the plan by a read-only command.
                assert!(!root().join("plans/.kmigrate").exists(), "{at} wrote plans/.kmigrate");
            }
            "plan" => {
                let mut offline = args.clone();
                offline.insert(1, "--offline");
                let out = common::kmigrate(&root(), &offline);
                assert_eq!(out.status.code(), Some(0), "{at} --offline failed");
                assert!(quickstart.contains("run plan \"$plan\""), "{at}: the quickstart does not run it");
            }
            "apply" => {
                assert!(quickstart.contains("run apply \"$plan\""), "{at}: the quickstart does not run it")
            }
            other => panic!("{at}: no check for `kmigrate {other}`; add one"),
        }
    }
}

/// Every YAML block validates: whole plans as they are (after their first comment lines); a
/// `source:` or `target:` snippet (how to connect to a secured cluster) inside a minimal plan with
/// the other side plaintext, a `data:` snippet (how the data is synced) inside a minimal plan.
#[test]
fn readme_plan_examples_validate() {
    let blocks = fenced(&readme(), "yaml");
    assert!(!blocks.is_empty());
    for (line, body) in blocks {
        let first_key = body.lines().find(|l| !l.starts_with('#')).unwrap_or_default();
        let plan = if first_key.starts_with("version:") {
            body.clone()
        } else if first_key.starts_with("data:") {
            // How the data is synced: inside a minimal plan.
            format!(
                "version: 1\nname: snippet\nsource:\n  bootstrap_servers: \"old:9092\"\ntarget:\n  bootstrap_servers: \"new:9092\"\ntopics:\n  - orders\n{body}cutover: {{ manual: true }}\n"
            )
        } else {
            let other = if body.starts_with("source:") { "target" } else { "source" };
            assert!(body.starts_with("target:") || other == "target", "README.md:{line}: a snippet of what?");
            format!(
                "version: 1\nname: snippet\n{body}{other}:\n  bootstrap_servers: \"other:9092\"\ntopics:\n  - orders\ndata: not-synced\ncutover: {{ manual: true }}\n"
            )
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("plan.yaml"), &plan).unwrap();
        let out = common::kmigrate(dir.path(), &["validate", "plan.yaml"]);
        assert_eq!(out.status.code(), Some(0), "the plan at README.md:{line} does not validate");
    }
}

/// The README's `yaml-language-server` lines name the schema where kmigrate publishes it.
#[test]
fn readme_names_the_published_schema() {
    let text = readme();
    let lines: Vec<&str> =
        text.lines().filter(|l| l.contains("yaml-language-server: $schema=http")).collect();
    assert!(!lines.is_empty());
    for l in lines {
        assert_eq!(l, format!("# yaml-language-server: $schema={}", kmigrate_plan::PLAN_SCHEMA_URL));
    }
}

#[test]
fn readme_graph_is_what_kmigrate_prints() {
    let text = readme();
    let (line, block) = fenced(&text, "mermaid").into_iter().next().expect("a mermaid block");
    let intro = text.lines().take(line).filter(|l| l.contains("kmigrate graph --format mermaid")).last();
    let cmd = intro.expect("the block says which command prints it");
    let file = cmd
        .split_whitespace()
        .find(|w| w.contains(".yaml"))
        .unwrap()
        .trim_matches(|c: char| c == '`' || c == ')' || c == ':');
    let out = common::kmigrate(&root(), &["graph", "--format", "mermaid", file]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        block,
        "README.md:{line} is stale; paste the output of `kmigrate graph --format mermaid {file}`"
    );
}

/// `kmigrate completions SHELL` and `kmigrate man` generate, and know every subcommand.
#[test]
fn completions_and_the_man_page_generate() {
    let subcommands =
        ["init", "validate", "plan", "apply", "status", "graph", "offsets", "schema", "completions", "man"];
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = common::kmigrate(&root(), &["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = String::from_utf8_lossy(&out.stdout);
        for sub in subcommands {
            assert!(script.contains(sub), "{shell} completions lack `{sub}`");
        }
    }
    // The bash script is valid bash.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kmigrate.bash");
    std::fs::write(&path, common::kmigrate(&root(), &["completions", "bash"]).stdout).unwrap();
    assert!(std::process::Command::new("bash").arg("-n").arg(&path).status().unwrap().success());

    let man = common::kmigrate(&root(), &["man"]);
    assert_eq!(man.status.code(), Some(0));
    let page = String::from_utf8_lossy(&man.stdout);
    assert!(page.starts_with(".ie") && page.contains(".TH kmigrate 1"), "{page}");
    for sub in subcommands {
        assert!(
            page.contains(&format!("kmigrate\\-{sub}")) || page.contains(sub),
            "the man page lacks `{sub}`"
        );
    }
}
