//! `kmigrate --version`, `kmigrate version` and `kmigrate version -v`: no broker needed.

mod common;

fn stdout(args: &[&str]) -> String {
    let out = common::kmigrate(std::path::Path::new("."), args);
    assert_eq!(out.status.code(), Some(0), "{args:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Version numbers change with every release; the shape and the feature list must not. Replaces
/// every `N.N.N` by `[version]`.
fn redact_versions(text: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let parts: Vec<&str> = run.split('.').collect();
        if parts.len() == 3 && parts.iter().all(|p| !p.is_empty()) {
            out.push_str("[version]");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() || c == '.' {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[test]
fn version_flag_prints_the_version() {
    let text = stdout(&["--version"]);
    assert_eq!(text, format!("kmigrate {}\n", env!("CARGO_PKG_VERSION")));
    assert_eq!(stdout(&["version"]), text, "`version` without -v prints what --version does");
}

#[test]
fn verbose_version_lists_the_librdkafka_features() {
    let text = stdout(&["version", "-v"]);
    insta::assert_snapshot!("version_verbose", redact_versions(&text));
    let features: Vec<&str> = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("builtin.features: "))
        .expect("a builtin.features line")
        .split(", ")
        .collect();
    for f in ["ssl", "sasl_scram", "sasl_oauthbearer", "oidc", "http", "zstd", "lz4", "snappy", "gzip"] {
        assert!(features.contains(&f), "librdkafka lacks `{f}`: {features:?}");
    }
    let json: serde_json::Value = serde_json::from_str(&stdout(&["version", "--output", "json"])).unwrap();
    assert_eq!(json["kmigrate"], env!("CARGO_PKG_VERSION"));
    let listed: Vec<&str> = json["librdkafka"]["builtin_features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(listed, features, "text and JSON list the same features");
    assert!(text.contains(&format!("librdkafka {}", json["librdkafka"]["version"].as_str().unwrap())));
}
