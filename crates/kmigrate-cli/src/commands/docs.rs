//! `kmigrate completions SHELL` and `kmigrate man`: generated from the clap definition, so they
//! never drift from the command line; `kmigrate schema`: the plan's JSON Schema, generated from
//! the plan's own types (`kmigrate_plan::plan_schema`).

use clap::CommandFactory;

use crate::args::Cli;
use crate::printer::Printer;

pub fn completions(shell: clap_complete::Shell, printer: &Printer) -> u8 {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "kmigrate", &mut out);
    printer.out_raw(&String::from_utf8_lossy(&out));
    crate::exit::SUCCESS
}

pub fn man(printer: &Printer) -> Result<u8, super::InternalError> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out).map_err(|e| {
        Box::new(miette::MietteDiagnostic::new(format!("rendering the man page: {e}")))
            as super::InternalError
    })?;
    printer.out_raw(&String::from_utf8_lossy(&out));
    Ok(crate::exit::SUCCESS)
}

/// The JSON Schema of plan format v1: the text of `schema/plan-v1.json`.
pub fn schema(printer: &Printer) -> u8 {
    printer.out_raw(&kmigrate_plan::plan_schema_text());
    crate::exit::SUCCESS
}
