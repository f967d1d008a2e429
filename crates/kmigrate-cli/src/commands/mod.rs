//! One module per subcommand. Each returns the exit code, or an internal error.

mod apply;
mod docs;
mod graph;
mod init;
mod offsets;
mod plan;
mod status;
mod validate;
mod version;

use crate::args::{Command, GlobalArgs};
use crate::printer::Printer;

/// An unexpected failure of kmigrate itself (exit code [`crate::exit::INTERNAL`]).
pub type InternalError = Box<dyn miette::Diagnostic + Send + Sync + 'static>;

pub fn run(command: Command, global: &GlobalArgs, printer: &Printer) -> Result<u8, InternalError> {
    match command {
        Command::Init(args) => init::run(&args, printer),
        Command::Validate(args) => Ok(validate::run(&args, printer)),
        Command::Graph(args) => Ok(graph::run(&args, printer)),
        Command::Plan(args) => plan::run(&args, printer),
        Command::Apply(args) => apply::run(&args, printer),
        Command::Status(args) => status::run(&args, printer),
        Command::Offsets(crate::args::OffsetsCommand::Translate(args)) => offsets::translate(&args, printer),
        Command::Schema => Ok(docs::schema(printer)),
        Command::Completions(args) => Ok(docs::completions(args.shell, printer)),
        Command::Man => docs::man(printer),
        Command::Version => Ok(version::run(global.verbose > 0, printer)),
    }
}

/// Loads and validates a plan, printing its diagnostics (warnings too). `None` when the plan
/// cannot be used: unreadable, or invalid. Commands other than `validate` start with this.
pub(crate) fn load_valid_plan(path: &std::path::Path, printer: &Printer) -> Option<kmigrate_plan::Plan> {
    match kmigrate_plan::load(path) {
        Ok(parsed) => {
            for d in &parsed.diagnostics {
                printer.diagnostic(d);
            }
            if parsed.plan.is_none() {
                printer
                    .note(format!("error: {} is not a valid plan; see `kmigrate validate`", path.display()));
            }
            parsed.plan
        }
        Err(e) => {
            printer.note(format!("error: cannot read plan {}: {e}", path.display()));
            None
        }
    }
}

/// The state directory: `--state-dir`, or `.kmigrate/` beside the plan.
pub(crate) fn state_dir(plan: &std::path::Path, args: &crate::args::StateArgs) -> std::path::PathBuf {
    args.state_dir.clone().unwrap_or_else(|| kmigrate_migration::StateStore::default_dir(plan))
}
