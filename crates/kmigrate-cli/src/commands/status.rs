//! `kmigrate status PLAN`: where the migration stands, read from the state file (no cluster is
//! contacted and no lock is taken).

use kmigrate_migration::{StateStore, StepStatus};
use serde_json::json;

use crate::args::StatusArgs;
use crate::commands::{InternalError, load_valid_plan, state_dir};
use crate::exit;
use crate::printer::Printer;
use crate::words;

pub fn run(args: &StatusArgs, printer: &Printer) -> Result<u8, InternalError> {
    let Some(plan) = load_valid_plan(&args.plan, printer) else { return Ok(exit::FAILURE) };
    let store = StateStore::new(state_dir(&args.plan, &args.state), &plan.name);
    let state = kmigrate_migration::load_state(&store)
        .map_err(|e| Box::new(miette::MietteDiagnostic::new(e.to_string())) as InternalError)?;
    let expansion = state.as_ref().map(|s| s.expansion.clone()).unwrap_or_default();
    let graph = kmigrate_dag::compile(&plan, &expansion)
        .map_err(|e| Box::new(miette::MietteDiagnostic::new(e.to_string())) as InternalError)?;

    let mut rows = Vec::new();
    for step in graph.steps() {
        let id = step.id.to_string();
        let st = state.as_ref().and_then(|s| s.steps.get(&id));
        let status = st.map_or(StepStatus::Pending, |s| s.status);
        let changed = st.is_some_and(|s| kmigrate_migration::replan::done_but_changed(step, s));
        rows.push((id, status, st.cloned(), changed));
    }
    let count = |want: StepStatus| rows.iter().filter(|r| r.1 == want).count();

    if printer.is_json() {
        let steps: Vec<_> = rows
            .iter()
            .map(|(id, status, st, changed)| {
                json!({
                    "step": id,
                    "status": status,
                    "attempts": st.as_ref().map_or(0, |s| s.attempts),
                    "started_at": st.as_ref().and_then(|s| s.started_at),
                    "finished_at": st.as_ref().and_then(|s| s.finished_at),
                    "summary": st.as_ref().and_then(|s| s.summary.as_ref()).map(words::recorded),
                    "result": st.as_ref().and_then(|s| s.summary.clone()),
                    "error": st.as_ref().and_then(|s| s.error.clone()),
                    "outputs": st.as_ref().map(|s| s.outputs.clone()).unwrap_or_default(),
                    "plan_changed": changed,
                })
            })
            .collect();
        printer.json(&json!({
            "format_version": 1,
            "plan": plan.name,
            "state_file": store.path(),
            "applied": state.is_some(),
            "updated_at": state.as_ref().map(|s| s.updated_at),
            "steps": steps,
        }));
        return Ok(exit::SUCCESS);
    }

    match &state {
        Some(s) => printer.out(format!(
            "Plan {} (state {}, updated {})",
            plan.name,
            store.path().display(),
            s.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )),
        None => {
            printer.out(format!("Plan {}: never applied (no state at {})", plan.name, store.path().display()))
        }
    }
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    for (id, status, st, changed) in &rows {
        let (mark, detail) = match status {
            StepStatus::Done => {
                ("✓", st.as_ref().and_then(|s| s.summary.as_ref()).map(words::recorded).unwrap_or_default())
            }
            StepStatus::Failed => ("✗", st.as_ref().and_then(|s| s.error.clone()).unwrap_or_default()),
            StepStatus::Waiting => ("⏸", "waiting: run apply again to continue".to_string()),
            StepStatus::Running => ("…", "running (or interrupted: apply re-checks it)".to_string()),
            StepStatus::Pending => ("·", String::new()),
        };
        let changed = if *changed { "  [plan changed since: apply needs --replan]" } else { "" };
        printer.out(format!("  {mark} {id:<width$}  {:<8} {detail}{changed}", status.to_string()));
    }
    printer.out(format!(
        "{} done, {} waiting, {} running, {} failed, {} pending",
        count(StepStatus::Done),
        count(StepStatus::Waiting),
        count(StepStatus::Running),
        count(StepStatus::Failed),
        count(StepStatus::Pending)
    ));
    Ok(exit::SUCCESS)
}
