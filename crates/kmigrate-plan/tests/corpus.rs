//! The invalid-plan corpus (`tests/plans/invalid/*.yaml` at the workspace root): every file is
//! parsed and its diagnostics are snapshotted, both as the compact `line:col code message` list
//! and as rendered by miette, so that a review of the snapshots shows each error at its place.

use std::path::{Path, PathBuf};

use kmigrate_plan::{Parsed, Severity, parse, render_plain};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/plans/invalid")
}

/// Every corpus file as (relative name for diagnostics, stem, text).
fn corpus() -> Vec<(String, String, String)> {
    let mut files: Vec<_> = std::fs::read_dir(corpus_dir())
        .expect("tests/plans/invalid exists")
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let file_name = p.file_name().unwrap().to_string_lossy().into_owned();
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).expect("readable corpus file");
            (format!("tests/plans/invalid/{file_name}"), stem, text)
        })
        .collect()
}

fn report(parsed: &Parsed) -> String {
    let mut out = String::new();
    for d in &parsed.diagnostics {
        out.push_str(&d.short());
        out.push('\n');
    }
    for d in &parsed.diagnostics {
        out.push('\n');
        out.push_str(&render_plain(d));
    }
    out
}

/// The first comment lines of a corpus file: what is wrong with it.
fn what_is_wrong(text: &str) -> String {
    text.lines()
        .take_while(|l| l.starts_with('#'))
        .map(|l| l.trim_start_matches('#').trim())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn corpus_has_enough_files() {
    assert!(corpus().len() >= 30, "the corpus must hold at least 30 invalid plans");
}

#[test]
fn every_corpus_file_is_rejected_and_snapshotted() {
    for (name, stem, text) in corpus() {
        assert!(text.starts_with('#'), "{name}: start with a comment saying what is wrong");
        let parsed = parse(&name, &text);
        assert!(parsed.has_errors(), "{name}: expected at least one error");
        assert!(parsed.plan.is_none(), "{name}: no plan when there are errors");
        for d in &parsed.diagnostics {
            assert_eq!(d.file, name);
            assert!(d.line >= 1 && d.column >= 1, "{name}: {d:?}");
            assert!(d.help.is_some(), "{name}: every diagnostic says how to fix it: {d:?}");
        }
        insta::with_settings!({ description => what_is_wrong(&text), omit_expression => true }, {
            insta::assert_snapshot!(stem, report(&parsed));
        });
    }
}

#[test]
fn a_plan_with_many_mistakes_reports_every_one() {
    let name = "tests/plans/invalid/36-many-errors.yaml";
    let text = std::fs::read_to_string(corpus_dir().join("36-many-errors.yaml")).unwrap();
    let parsed = parse(name, &text);
    let found: Vec<(u32, &str)> = parsed.diagnostics.iter().map(|d| (d.line, d.code)).collect();
    // Lines of 36-many-errors.yaml (line 1 is the comment).
    let expected = [
        (2, "plan::version"),
        (3, "plan::name"),
        (7, "plan::cluster::bootstrap"),
        (11, "plan::topic::duplicate"),
        (12, "plan::topic::pattern"),
        (13, "plan::data::sync"),
        (15, "plan::cutover::timezone"),
        (16, "plan::cutover::margin"),
        (21, "plan::group::export"),
        (23, "plan::group::duplicate"),
    ];
    for e in expected {
        assert!(found.contains(&e), "missing {e:?} in {found:?}");
    }
    let distinct: std::collections::BTreeSet<_> = parsed.diagnostics.iter().map(|d| d.code).collect();
    assert!(distinct.len() >= 5);
    assert!(parsed.diagnostics.iter().all(|d| d.severity == Severity::Error));
}
