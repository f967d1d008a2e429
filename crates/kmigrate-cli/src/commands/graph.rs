//! `kmigrate graph PLAN`: the step DAG as Graphviz DOT or Mermaid.
//!
//! Offline: pattern topics appear as `expand:<pattern>` steps, which apply expands against the
//! source cluster.

use crate::args::{GraphArgs, GraphFormat};
use crate::commands::load_valid_plan;
use crate::exit;
use crate::printer::Printer;

pub fn run(args: &GraphArgs, printer: &Printer) -> u8 {
    let Some(plan) = load_valid_plan(&args.plan, printer) else { return exit::FAILURE };
    let graph = match kmigrate_dag::compile(&plan, &Default::default()) {
        Ok(g) => g,
        Err(e) => {
            printer.note(format!("internal error: {e}"));
            return exit::INTERNAL;
        }
    };
    let text = match args.format {
        GraphFormat::Dot => kmigrate_dag::to_dot(&graph, &plan.name),
        GraphFormat::Mermaid => kmigrate_dag::to_mermaid(&graph),
    };
    printer.out_raw(&text);
    exit::SUCCESS
}
