//! `kmigrate init`: draft a plan from the live clusters. The reading, the suggestions and the
//! writing are `kmigrate-init`'s; this command resolves the command line's `${VAR}`s to connect,
//! checks the draft like `validate` would, and writes it.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use kmigrate_init::{ClusterText, DataChoice, InitInput, Selection, SourceFacts, TargetFacts};
use kmigrate_kafka::{Cluster, ClusterConfig};
use kmigrate_plan::{Loc, Severity, Template};

use crate::args::{DataArg, InitArgs};
use crate::commands::InternalError;
use crate::exit;
use crate::printer::Printer;

pub fn run(args: &InitArgs, printer: &Printer) -> Result<u8, InternalError> {
    let usage = |msg: String| {
        printer.note(format!("error: {msg}"));
        Ok(exit::USAGE)
    };
    if let Some(to) = &args.to
        && !args.force
        && to.exists()
    {
        return usage(format!("{} exists; pass --force to overwrite it", to.display()));
    }
    let name = match &args.name {
        Some(n) if is_plan_name(n) => n.clone(),
        Some(n) => {
            return usage(format!(
                "--name `{n}`: a plan name is lowercase letters, digits, `.`, `_` and `-`"
            ));
        }
        None => default_name(args.to.as_deref()),
    };
    let source = ClusterText {
        bootstrap_servers: args.source.clone(),
        properties: properties(&args.property, &args.source_property),
    };
    let target = args.target.as_ref().map(|t| ClusterText {
        bootstrap_servers: t.clone(),
        properties: properties(&args.property, &args.target_property),
    });
    for (side, c) in std::iter::once(("source", &source)).chain(target.as_ref().map(|t| ("target", t))) {
        for (key, value) in &c.properties {
            if kmigrate_plan::is_secret_key(key) && !value.is_empty() && !value.contains("${") {
                let var = key.to_ascii_uppercase().replace(['.', '-'], "_");
                return usage(format!(
                    "{side} property `{key}` is a secret given as plain text, and the plan would keep it; \
                     pass it as a variable instead, e.g. -X '{key}=${{{var}}}' with {var} set in the environment"
                ));
            }
        }
    }

    // ${VAR}s are resolved for the connections only; the plan keeps the text given.
    let lookup = |k: &str| std::env::var(k).ok();
    let mut missing = Vec::new();
    let source_config = config("source", &source, &lookup, &mut missing);
    let target_config = target.as_ref().map(|t| config("target", t, &lookup, &mut missing));
    if !missing.is_empty() {
        missing.sort();
        missing.dedup();
        printer.note(format!(
            "error: environment variable(s) not set: {} (named by ${{...}} on the command line)",
            missing.join(", ")
        ));
        return Ok(exit::FAILURE);
    }

    let selection = Selection { topics: args.topics.clone(), groups: args.groups.clone() };
    let timeout = args.connect_timeout;
    let read = crate::runtime::block_on(async {
        let connect = |c: ClusterConfig| Cluster::connect(c, timeout);
        let (source, target) = match target_config {
            Some(t) => {
                let (s, t) = tokio::try_join!(connect(source_config), connect(t))?;
                (s, Some(t))
            }
            None => (connect(source_config).await?, None),
        };
        let source_facts = kmigrate_init::read_source(&source, &selection).await?;
        let target_facts = match &target {
            Some(t) => Some(kmigrate_init::read_target(t).await?),
            None => None,
        };
        Ok::<(SourceFacts, Option<TargetFacts>), kmigrate_kafka::Error>((source_facts, target_facts))
    })?;
    let (source_facts, target_facts) = match read {
        Ok(r) => r,
        Err(e) => {
            printer.note(format!("error: {e}"));
            return Ok(exit::FAILURE);
        }
    };

    let input = InitInput {
        name,
        source,
        target,
        data: match args.data {
            DataArg::Synced => DataChoice::Synced,
            DataArg::NotSynced => DataChoice::NotSynced,
        },
        topics_regex: args.topics.as_ref().map(|r| r.as_str().to_string()),
        groups_regex: args.groups.as_ref().map(|r| r.as_str().to_string()),
    };
    let (text, summary) = match kmigrate_init::write_plan(&input, &source_facts, target_facts.as_ref()) {
        Ok(r) => r,
        Err(e) => {
            printer.note(format!("error: {e}"));
            return Ok(exit::FAILURE);
        }
    };

    // The draft is checked as `kmigrate validate` would: what the command line gave may be wrong
    // (the same brokers twice, a malformed ${VAR}); nothing invalid is written.
    let shown = args.to.as_ref().map_or_else(|| "<stdout>".to_string(), |p| p.display().to_string());
    let parsed = kmigrate_plan::parse(&shown, &text);
    for d in &parsed.diagnostics {
        printer.diagnostic(d);
    }
    if parsed.diagnostics.iter().any(|d| d.severity == Severity::Error) || parsed.plan.is_none() {
        printer.note("error: the drafted plan is not valid (see above); nothing was written");
        return Ok(exit::FAILURE);
    }

    match &args.to {
        None => printer.out_raw(&text),
        Some(path) => {
            let written = if args.force {
                kmigrate_executor::write_atomically(path, text.as_bytes())
            } else {
                write_new(path, text.as_bytes())
            };
            match written {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return usage(format!("{} exists; pass --force to overwrite it", path.display()));
                }
                Err(e) => {
                    printer.note(format!("error: cannot write {}: {e}", path.display()));
                    return Ok(exit::FAILURE);
                }
            }
        }
    }
    let patterns = match summary.patterns {
        0 => String::new(),
        n => format!(" ({n} as pattern{})", if n == 1 { "" } else { "s" }),
    };
    printer.note(format!(
        "{}: {} topic(s){patterns}, {} group(s) ({} self-stored: check their export paths), {} group(s) left out",
        args.to.as_ref().map_or_else(|| "drafted".to_string(), |p| format!("wrote {}", p.display())),
        summary.topics,
        summary.groups,
        summary.self_stored,
        summary.groups_left_out
    ));
    if let Some(path) = &args.to {
        printer.note(format!("next: review it, then `kmigrate plan {}`", path.display()));
    }
    Ok(exit::SUCCESS)
}

/// -X properties, then the side's own on top.
fn properties(both: &[(String, String)], side: &[(String, String)]) -> BTreeMap<String, String> {
    both.iter().chain(side).cloned().collect()
}

/// The client configuration of one side, `${VAR}`s resolved (the names of unset ones go to
/// `missing`).
fn config(
    label: &str,
    c: &ClusterText,
    lookup: &dyn Fn(&str) -> Option<String>,
    missing: &mut Vec<String>,
) -> ClusterConfig {
    let mut resolve = |raw: &str| {
        Template { raw: raw.to_string(), loc: Loc::default() }.resolve(lookup).unwrap_or_else(|vars| {
            missing.extend(vars.into_iter().map(|m| m.var));
            String::new()
        })
    };
    let mut config = ClusterConfig::new(label, resolve(&c.bootstrap_servers));
    if c.bootstrap_servers.contains("${") {
        config = config.with_bootstrap_template(c.bootstrap_servers.clone());
    }
    for (k, v) in &c.properties {
        config = config.with_property(k.clone(), resolve(v));
    }
    config
}

fn is_plan_name(n: &str) -> bool {
    !n.is_empty()
        && n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

/// The --to file's stem as a plan name (`plans/Orders Move.yaml` → `orders-move`), else `migration`.
fn default_name(to: Option<&Path>) -> String {
    let stem = to.and_then(|p| p.file_stem()).and_then(|s| s.to_str()).unwrap_or("");
    let name: String = stem
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' })
        .collect();
    let name = name.trim_matches('-').to_string();
    if name.is_empty() { "migration".to_string() } else { name }
}

/// Writes a file that must not exist yet: a temporary file in the same directory, linked to
/// `path` (which fails if `path` exists, even if it appeared meanwhile), so the plan appears
/// whole or not at all.
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let file = path.file_name().and_then(|n| n.to_str()).unwrap_or("plan");
    let tmp: PathBuf = dir.join(format!(".{file}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::hard_link(&tmp, path)
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(default_name(Some(Path::new("plans/Orders Move.yaml"))), "orders-move");
        assert_eq!(default_name(Some(Path::new("x/.yaml"))), ".yaml");
        assert_eq!(default_name(None), "migration");
        assert!(is_plan_name("orders-to-new.v2"));
        assert!(!is_plan_name("Orders"));
    }

    #[test]
    fn write_new_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("plan.yaml");
        write_new(&p, b"one").unwrap();
        let e = write_new(&p, b"two").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "one");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file is left");
    }
}
