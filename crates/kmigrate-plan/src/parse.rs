//! From text to a validated plan: YAML deserialisation (spans kept), then semantic validation.

use std::path::Path;
use std::sync::Arc;

use crate::diagnostics::{PlanDiagnostic, Severity};
use crate::model::{Plan, SourceFile};

/// The outcome of parsing a plan file.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// `Some` if and only if no diagnostic is an error.
    pub plan: Option<Plan>,
    /// Every problem found, errors and warnings, in file order. Warnings are kept whether or
    /// not the plan was built.
    pub diagnostics: Vec<PlanDiagnostic>,
}

impl Parsed {
    /// Whether any diagnostic is an error (then `plan` is `None`).
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(PlanDiagnostic::is_error)
    }

    /// The warnings only.
    pub fn warnings(&self) -> impl Iterator<Item = &PlanDiagnostic> {
        self.diagnostics.iter().filter(|d| d.severity == Severity::Warning)
    }
}

/// Parses and validates a plan. `file_name` is only used to name the file in diagnostics.
///
/// YAML errors (syntax, unknown key, duplicate key, a mapping or list where the plan has text)
/// stop the parse and are reported alone. Every other problem, wrong values of typed keys
/// (`data`, `loss`, `manual`, `partitions`, ...) included, is reported together.
pub fn parse(file_name: &str, text: &str) -> Parsed {
    let src = Arc::new(SourceFile::new(file_name, text));
    match crate::raw::from_str(text) {
        Err(e) => Parsed { plan: None, diagnostics: vec![crate::yaml_error::convert(&src, &e)] },
        Ok(raw) => {
            let (plan, mut diagnostics) = crate::validate::validate(&src, raw);
            diagnostics.sort_by_key(|d| (d.line, d.column));
            let plan = if diagnostics.iter().any(PlanDiagnostic::is_error) { None } else { plan };
            Parsed { plan, diagnostics }
        }
    }
}

/// Reads and parses a plan file; the file is named in diagnostics as `path` was given.
pub fn load(path: &Path) -> std::io::Result<Parsed> {
    let text = std::fs::read_to_string(path)?;
    Ok(parse(&path.display().to_string(), &text))
}
