//! The kmigrate plan language: everything about the plan file (`plans/*.yaml`, format version 1).
//!
//! This crate owns
//! - the schema: private serde structs mirroring the YAML, with a source span on every value a
//!   later check may point at (`raw`), and the hand-written parts that keep spans (topic
//!   entries that are either a string or a mapping, ordered `key: value` maps); the JSON Schema
//!   generated from them for editors ([`plan_schema`], checked in as `schema/plan-v1.json` and
//!   published at [`PLAN_SCHEMA_URL`]);
//! - parsing ([`parse`], [`load`]): YAML and schema errors (syntax, unknown key, wrong type,
//!   invalid value, duplicate key) stop at the first one; then semantic validation reports
//!   **every** problem in one run;
//! - diagnostics ([`PlanDiagnostic`], [`Severity`], [`codes`]): file, line, column, what is wrong
//!   and how to fix it; rendered by miette with the offending line ([`render_plain`]) or as JSON
//!   ([`PlanDiagnostic::to_json`]); [`diagnostic_at`] and [`missing_var_diagnostic`] let other
//!   crates report problems found later at the plan's own locations;
//! - the validated model ([`Plan`] and friends, in [`model`]), which only exists when no error
//!   was found, so its invariants hold for the rest of kmigrate.
//!
//! The library never prints.
//!
//! ```
//! let parsed = kmigrate_plan::parse("plan.yaml", "version: 2\n");
//! assert!(parsed.has_errors());
//! assert!(parsed.plan.is_none());
//! let version = parsed.diagnostics.iter().find(|d| d.code == "plan::version").unwrap();
//! assert_eq!((version.line, version.column), (1, 10));
//! assert!(kmigrate_plan::render_plain(version).contains("plan.yaml:1:10"));
//! ```

pub mod codes;
mod diagnostics;
mod duration;
mod loc;
pub mod model;
mod parse;
mod raw;
mod schema;
mod suggest;
mod template;
mod validate;
mod yaml_error;

pub use diagnostics::{PlanDiagnostic, Severity, diagnostic_at, missing_var_diagnostic, render_plain};
pub use model::*;
pub use parse::{Parsed, load, parse};
pub use schema::{PLAN_SCHEMA_URL, plan_schema, plan_schema_text};
pub use validate::is_secret_key;
