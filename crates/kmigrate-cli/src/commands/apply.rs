//! `kmigrate apply PLAN`: execute the plan, checkpointing after every step.

use std::sync::Arc;

use kmigrate_migration::{
    ApplyError, ApplyOptions, KafkaSteps, LockError, Migration, Outcome, Reporter, RunOptions, StopSignal,
    WalkOptions,
};

use crate::args::{ApplyArgs, Gate};
use crate::commands::{InternalError, load_valid_plan, state_dir};
use crate::exit;
use crate::printer::Printer;
use crate::reporter::{Human, JsonLines};

pub fn run(args: &ApplyArgs, printer: &Printer) -> Result<u8, InternalError> {
    let Some(plan) = load_valid_plan(&args.plan, printer) else { return Ok(exit::FAILURE) };
    let cutover_at = match &args.cutover_at {
        None => None,
        Some(text) => match chrono::DateTime::parse_from_rfc3339(text) {
            Ok(t) => Some(t),
            Err(e) => {
                printer.note(format!(
                    "error: --cutover-at {text:?} is not an RFC 3339 time with a UTC offset ({e}); write e.g. 2026-11-25T02:00:00+08:00 or 2026-11-24T18:00:00Z (Kafka's tools silently assume UTC)"
                ));
                return Ok(exit::USAGE);
            }
        },
    };
    // ${VAR} references are resolved here, once; a missing one stops apply before anything runs.
    let (source, target) = match kmigrate_migration::cluster_configs(&plan, &|k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(missing) => {
            for d in &missing {
                printer.diagnostic(d);
            }
            return Ok(exit::FAILURE);
        }
    };
    let connect = match kmigrate_migration::connect_config(&plan, &|k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(missing) => {
            for d in &missing {
                printer.diagnostic(d);
            }
            return Ok(exit::FAILURE);
        }
    };
    let plan_dir = args.plan.parent().map(|p| p.to_path_buf()).unwrap_or_default();
    let options = RunOptions {
        approve_cutover: args.approve.contains(&Gate::Cutover),
        cutover_at,
        wait_timeout: args.wait_timeout,
        connect_timeout: args.connect_timeout,
        ..RunOptions::default()
    };
    let plan = Arc::new(plan);
    let steps = KafkaSteps::new(
        kmigrate_migration::Context::new(plan.clone(), plan_dir, options, source, target)
            .with_connect(connect),
    );
    let apply_options = ApplyOptions {
        state_dir: state_dir(&args.plan, &args.state),
        replan: args.replan,
        walk: WalkOptions { concurrency: args.concurrency.max(1), ..WalkOptions::default() },
    };
    let plan_file = plan.source_file.name.clone();
    let reporter: Arc<dyn Reporter<Migration>> = if printer.is_json() {
        Arc::new(JsonLines::new(printer.clone(), plan_file))
    } else {
        Arc::new(Human::new(printer.clone(), plan_file, printer.color()))
    };

    let result = crate::runtime::block_on(async {
        let stop = StopSignal::new();
        let on_signal = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                on_signal.stop();
            }
        });
        kmigrate_migration::apply(&plan, &apply_options, &steps, reporter, &stop).await
    })?;

    match result {
        Ok(summary) => Ok(match summary.outcome {
            Outcome::Done => exit::SUCCESS,
            Outcome::Paused => exit::PAUSED,
            Outcome::Failed => exit::FAILURE,
        }),
        Err(ApplyError::Lock(LockError::Held { path, holder })) => {
            printer.note(format!(
                "error: another apply of this plan is running: {holder}\n  lock file: {}\n  help: wait for it to finish; if that process is gone on another host, remove the lock file",
                path.display()
            ));
            Ok(exit::FAILURE)
        }
        Err(ApplyError::PlanChanged(changes)) => {
            printer.note(format!(
                "error: the plan changed under {} step(s) that are already done:",
                changes.len()
            ));
            for c in &changes {
                printer.note(format!("  {}:", c.step));
                for line in definition_diff(&c.before, &c.after) {
                    printer.note(format!("    {line}"));
                }
            }
            printer.note(
                "  help: revert the change, or run apply with --replan to run those steps again with the new definition",
            );
            Ok(exit::FAILURE)
        }
        Err(
            e @ (ApplyError::State(_) | ApplyError::Internal(_) | ApplyError::Lock(LockError::Io { .. })),
        ) => Err(Box::new(miette::MietteDiagnostic::new(e.to_string()))),
    }
}

/// `- key: old` / `+ key: new` lines for the fields that differ.
fn definition_diff(before: &serde_json::Value, after: &serde_json::Value) -> Vec<String> {
    let (Some(b), Some(a)) = (before.as_object(), after.as_object()) else {
        return vec![format!("- {before}"), format!("+ {after}")];
    };
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for k in keys {
        match (b.get(k), a.get(k)) {
            (x, y) if x == y => {}
            (x, y) => {
                if let Some(x) = x {
                    out.push(format!("- {k}: {x}"));
                }
                if let Some(y) = y {
                    out.push(format!("+ {k}: {y}"));
                }
            }
        }
    }
    out
}
