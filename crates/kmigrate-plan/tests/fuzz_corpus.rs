//! What the fuzzer (`scripts/fuzz.sh`, `fuzz/fuzz_targets/validate.rs`) checks, on every input it
//! ever found a crash or a hang with (`tests/plans/fuzz/`, at the workspace root) and on every
//! other plan of the repository: parsing returns diagnostics without panicking, each located
//! inside the text (at character boundaries, line and column from 1), and renders with miette.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kmigrate_plan::{parse, render_plain};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every file of `dir` (relative to the workspace root), sorted, as (name, bytes).
fn files(dir: &str) -> Vec<(String, Vec<u8>)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| (format!("{dir}/{}", p.file_name().unwrap().to_string_lossy()), std::fs::read(&p).unwrap()))
        .collect()
}

/// The fuzz target's checks on one input (as the target reads it: bytes, invalid UTF-8 replaced).
fn check(name: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let started = Instant::now();
    let parsed = parse(name, &text);
    assert_eq!(parsed.plan.is_some(), !parsed.has_errors(), "{name}");
    for d in &parsed.diagnostics {
        let loc = d.loc();
        assert!(loc.offset + loc.len <= text.len(), "{name}: span out of the text: {d:?}");
        assert!(text.is_char_boundary(loc.offset), "{name}: span starts inside a character: {d:?}");
        assert!(text.is_char_boundary(loc.offset + loc.len), "{name}: span ends inside a character: {d:?}");
        assert!(d.line >= 1 && d.column >= 1, "{name}: no position: {d:?}");
        assert!(render_plain(d).contains(&d.code.to_string()), "{name}: rendered without its code");
    }
    // The fuzzer's hang limit is 10 s; any plan parses in far less.
    assert!(started.elapsed() < Duration::from_secs(2), "{name}: took {:?}", started.elapsed());
}

#[test]
fn the_fuzz_corpus_is_diagnosed_without_panicking() {
    let found: Vec<_> = files("tests/plans/fuzz").into_iter().filter(|(n, _)| n.ends_with(".yaml")).collect();
    assert!(found.len() >= 5, "tests/plans/fuzz holds the corpus");
    for (name, bytes) in &found {
        check(name, bytes);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let depth = 50_000;
    let flow = format!("version: 1\ntopics: {}{}\n", "[".repeat(depth), "]".repeat(depth));
    check("deep-flow.yaml", flow.as_bytes());
    let maps = format!("version: 1\nsource: {}1{}\n", "{a: ".repeat(depth), "}".repeat(depth));
    check("deep-maps.yaml", maps.as_bytes());
    let block: String = (0..3_000).map(|i| format!("{}-\n", "  ".repeat(i))).collect();
    check("deep-block.yaml", format!("version: 1\ntopics:\n{block}").as_bytes());
}

/// Rendering a diagnostic read the text from its start (miette's `read_span` of a `str`): every
/// diagnostic of a large plan cost the whole text, 138 s for the 40,000 of a 1 MB plan in a
/// release build. Now each reads only its own lines.
#[test]
fn rendering_many_diagnostics_takes_time_linear_in_the_plan() {
    let topics: String =
        (0..20_000).map(|i| format!("  - name: \"bad name {i}\"\n    partitions: -{i}\n")).collect();
    let text = format!("version: 1\nname: big\ntopics:\n{topics}");
    let parsed = parse("big.yaml", &text);
    assert!(parsed.diagnostics.len() >= 20_000, "{}", parsed.diagnostics.len());
    let started = Instant::now();
    let rendered: usize = parsed.diagnostics.iter().map(|d| render_plain(d).len()).sum();
    let took = started.elapsed();
    assert!(rendered > 0);
    // About 1 s in a debug build; quadratic, it took minutes.
    assert!(
        took < Duration::from_secs(30),
        "rendering {} diagnostics took {took:?}",
        parsed.diagnostics.len()
    );
    let last = parsed.diagnostics.last().unwrap();
    assert!(render_plain(last).contains(&format!("big.yaml:{}:", last.line)), "{}", render_plain(last));
}

#[test]
fn every_plan_of_the_repository_passes_the_fuzzer_checks() {
    for dir in ["tests/plans/invalid", "plans"] {
        for (name, bytes) in files(dir) {
            check(&name, &bytes);
        }
    }
}
