//! `kmigrate validate PLAN...`: parse and check plans without contacting any cluster.

use kmigrate_plan::Severity;
use serde_json::json;

use crate::args::ValidateArgs;
use crate::exit;
use crate::printer::Printer;

pub fn run(args: &ValidateArgs, printer: &Printer) -> u8 {
    let mut all_valid = true;
    let mut reports = Vec::new();
    for path in &args.plans {
        let file = path.display().to_string();
        let parsed = match kmigrate_plan::load(path) {
            Ok(p) => p,
            Err(e) => {
                all_valid = false;
                let message = format!("cannot read {file}: {e}");
                if printer.is_json() {
                    reports.push(json!({ "file": file, "valid": false, "errors": 1, "warnings": 0,
                        "diagnostics": [{ "severity": "error", "file": file, "line": null, "column": null,
                            "code": "plan::io", "message": message, "help": "check the path" }] }));
                } else {
                    printer.note(format!("error: {message}"));
                }
                continue;
            }
        };
        let errors = parsed.diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
        let warnings = parsed.diagnostics.len() - errors;
        all_valid &= errors == 0;
        if printer.is_json() {
            let diagnostics: Vec<_> = parsed.diagnostics.iter().map(|d| d.to_json()).collect();
            reports.push(json!({ "file": file, "valid": errors == 0, "errors": errors, "warnings": warnings,
                "diagnostics": diagnostics }));
        } else {
            for d in &parsed.diagnostics {
                printer.diagnostic(d);
            }
            printer.out(summary(&file, errors, warnings));
        }
    }
    if printer.is_json() {
        printer.json(&json!({ "format_version": 1, "valid": all_valid, "plans": reports }));
    }
    if all_valid { exit::SUCCESS } else { exit::FAILURE }
}

fn summary(file: &str, errors: usize, warnings: usize) -> String {
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    match (errors, warnings) {
        (0, 0) => format!("{file}: valid"),
        (0, w) => format!("{file}: valid, {}", count(w, "warning")),
        (e, 0) => format!("{file}: invalid, {}", count(e, "error")),
        (e, w) => format!("{file}: invalid, {}, {}", count(e, "error"), count(w, "warning")),
    }
}
