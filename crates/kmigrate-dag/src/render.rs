//! Rendering a sealed graph as Graphviz DOT or Mermaid, for `kmigrate graph`.

use std::fmt::Write;

use crate::graph::StepGraph;
use crate::step::{StepId, StepKind};

/// Graphviz DOT: one node per step, labelled with its kind and subject; an edge from each
/// dependency to its dependent. Feed it to `dot -Tsvg`.
pub fn to_dot(graph: &StepGraph, plan_name: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", dot_quote(plan_name));
    out.push_str("  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];\n");
    for step in graph.steps() {
        let label = match step.subject() {
            Some(s) => format!("{}\\n{}", step.kind(), dot_escape(s)),
            None => step.kind().to_string(),
        };
        let _ = writeln!(
            out,
            "  {} [label=\"{}\", fillcolor=\"{}\"];",
            dot_quote(&step.id.to_string()),
            label,
            color(step.kind())
        );
    }
    for (from, to) in graph.edges() {
        let _ = writeln!(out, "  {} -> {};", dot_quote(&from.to_string()), dot_quote(&to.to_string()));
    }
    out.push_str("}\n");
    out
}

/// Mermaid flowchart, for Markdown that renders it (GitHub, GitLab).
pub fn to_mermaid(graph: &StepGraph) -> String {
    let mut out = String::from("flowchart LR\n");
    let ids: std::collections::HashMap<&StepId, String> =
        graph.steps().enumerate().map(|(i, s)| (&s.id, format!("s{i}"))).collect();
    for step in graph.steps() {
        let label = match step.subject() {
            Some(s) => format!("{}<br/>{}", step.kind(), mermaid_escape(s)),
            None => step.kind().to_string(),
        };
        let _ = writeln!(out, "  {}[\"{}\"]", ids[&step.id], label);
    }
    for (from, to) in graph.edges() {
        let _ = writeln!(out, "  {} --> {}", ids[from], ids[to]);
    }
    out
}

fn color(kind: StepKind) -> &'static str {
    match kind {
        StepKind::Preflight | StepKind::Verify => "#e8e8e8",
        StepKind::Expand | StepKind::Topic => "#dbeafe",
        StepKind::Copy | StepKind::Synced | StepKind::Mirror => "#dcfce7",
        StepKind::Connectors | StepKind::StopMirror => "#ccfbf1",
        StepKind::Cutover => "#fde68a",
        StepKind::Drain | StepKind::Offsets => "#fce7f3",
    }
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn dot_quote(s: &str) -> String {
    format!("\"{}\"", dot_escape(s))
}

fn mermaid_escape(s: &str) -> String {
    s.replace('"', "#quot;").replace('<', "#lt;").replace('>', "#gt;")
}
