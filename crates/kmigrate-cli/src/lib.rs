//! `kmigrate-cli`: the `kmigrate` command. It parses the command line (clap), runs the
//! libraries, and renders their results and events; it is the only crate that prints.

mod args;
mod commands;
pub mod exit;
mod logging;
mod printer;
mod reporter;
mod runtime;
mod words;

use std::process::ExitCode;

use clap::Parser;

pub use args::Cli;
use printer::Printer;

/// Runs the command line and returns the process exit code (see [`exit`]).
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { exit::USAGE } else { exit::SUCCESS };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    logging::init(cli.global.verbose);
    let printer = Printer::new(cli.global.output, cli.global.color);
    let code = match commands::run(cli.command, &cli.global, &printer) {
        Ok(code) => code,
        Err(e) => {
            printer.diagnostic(e.as_ref());
            exit::INTERNAL
        }
    };
    ExitCode::from(code)
}
