//! `kmigrate plan PLAN`: the dry run. Reads both clusters (or nothing, `--offline`), writes
//! nothing, and prints what apply would do in DAG order, as text, Markdown or JSON.

mod describe;
mod markdown;
mod text;
mod units;

use kmigrate_migration::StateStore;
use kmigrate_migration::preview::{
    Action, OffsetsAction, PlanPreview, PreviewInput, preview, preview_online,
};

use crate::args::{OutputFormat, PlanArgs};
use crate::commands::{InternalError, load_valid_plan, state_dir};
use crate::exit;
use crate::printer::Printer;

pub fn run(args: &PlanArgs, printer: &Printer) -> Result<u8, InternalError> {
    let Some(plan) = load_valid_plan(&args.plan, printer) else { return Ok(exit::FAILURE) };
    // The checkpoint is only read (no lock: plan never writes it).
    let store = StateStore::new(state_dir(&args.plan, &args.state), &plan.name);
    // An unreadable state file is an internal error (exit 70), as for apply and status.
    let state = kmigrate_migration::load_state(&store)
        .map_err(|e| Box::new(miette::MietteDiagnostic::new(e.to_string())) as InternalError)?;
    let configs = if args.offline {
        None
    } else {
        // ${VAR} references are resolved here; a missing one stops before any cluster is contacted.
        match kmigrate_migration::cluster_configs(&plan, &|k| std::env::var(k).ok()) {
            Ok(c) => Some(c),
            Err(missing) => {
                for d in &missing {
                    printer.diagnostic(d);
                }
                printer.note("help: set the variables, or run `kmigrate plan --offline` to see the plan without contacting the clusters");
                return Ok(exit::FAILURE);
            }
        }
    };
    let plan_dir = args.plan.parent().map(|p| p.to_path_buf()).unwrap_or_default();
    let input =
        PreviewInput { plan: &plan, plan_dir: &plan_dir, state: state.as_ref(), now: chrono::Utc::now() };

    let result = crate::runtime::block_on(async {
        match configs {
            None => preview(&input, None).await,
            Some((source, target)) => preview_online(&input, source, target, args.connect_timeout).await,
        }
    })?;
    let mut preview = match result {
        Ok(p) => p,
        Err(e) => {
            printer.note(format!("error: {e}"));
            printer.note("  nothing was changed on either cluster");
            return Ok(exit::FAILURE);
        }
    };

    // What the checkpoint says, in words: a done step's summary, and what an earlier apply left
    // (the last note); MirrorMaker 2's translation of a group (the first note).
    for step in &mut preview.steps {
        step.done_summary = step.done.as_ref().map(crate::words::recorded);
        if let Action::Offsets(OffsetsAction { mirrormaker2: Some(m), .. }) = &step.action {
            step.notes.insert(0, crate::words::mm2::preview(m));
        }
        if let Some(earlier) = &step.earlier {
            step.notes.push(crate::words::earlier(earlier));
        }
    }
    let plan_file = args.plan.display().to_string();
    match printer.format {
        // Serialized from the struct (not a `Value`) to keep its field order: format_version first.
        OutputFormat::Json => {
            printer.out(serde_json::to_string_pretty(&preview).expect("the preview serializes"))
        }
        OutputFormat::Markdown => printer.out_raw(&markdown::render(&preview, &plan_file)),
        OutputFormat::Text => printer.out_raw(&text::render(&preview, &plan_file)),
    }
    Ok(exit_code(&preview, args.detailed_exitcode))
}

/// Impossible changes fail; with `--detailed-exitcode`, 2 says apply would change something.
fn exit_code(preview: &PlanPreview, detailed: bool) -> u8 {
    if preview.summary.impossible > 0 {
        exit::FAILURE
    } else if detailed && preview.summary.changes {
        exit::CHANGES_PRESENT
    } else {
        exit::SUCCESS
    }
}
