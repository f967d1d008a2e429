//! Semantic validation: from the raw, located plan to the validated [`Plan`].
//!
//! Every check runs even after an earlier one failed, so that one `kmigrate validate` run
//! reports every problem, each at its own line and column with a suggested fix.

mod cluster;
mod connect;
mod consumers;
mod cutover;
mod data;
mod topics;
mod values;

use cluster::bootstrap_of;
pub use cluster::is_secret_key;

use std::sync::{Arc, LazyLock};

use regex::Regex;

use crate::codes;
use crate::diagnostics::{PlanDiagnostic, Severity, diagnostic_at};
use crate::loc::loc_of;
use crate::model::{Loc, Plan, SourceFile, Template};
use crate::raw::{NAME_PATTERN, RawPlan, S};
use crate::template::template_problems;

static NAME_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(NAME_PATTERN).expect("static regex"));

/// Validates a deserialised plan. Returns the plan when everything needed to build it was
/// present (the caller drops it when any diagnostic is an error) and every diagnostic.
pub(crate) fn validate(
    src: &Arc<SourceFile>,
    raw: Option<S<RawPlan>>,
) -> (Option<Plan>, Vec<PlanDiagnostic>) {
    let mut c = Checker { src, diags: Vec::new() };
    let plan = c.plan(raw);
    (plan, c.diags)
}

pub(super) struct Checker<'a> {
    src: &'a Arc<SourceFile>,
    diags: Vec<PlanDiagnostic>,
}

impl Checker<'_> {
    // ---------------------------------------------------------------- helpers

    fn loc<T>(&self, s: &S<T>) -> Loc {
        let mut loc = loc_of(&self.src.text, &s.referenced);
        if loc.line == 0 {
            return self.start();
        }
        if loc.len == 0 {
            // A mapping or list is located at its first token: underline that token (the first
            // key of a mapping) rather than nothing.
            let rest = self.src.text.get(loc.offset..).unwrap_or_default();
            loc.len = rest.find([':', '\n', ' ', ',', '}', ']', '#']).unwrap_or(rest.len());
        }
        loc
    }

    /// The start of the document's content (first key), or 1:1.
    fn start(&self) -> Loc {
        let text = &self.src.text;
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let trimmed = line.trim_start();
            if !(trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---")) {
                let indent = line.len() - trimmed.len();
                let (l, c) = crate::diagnostics::line_col_of(text, offset + indent);
                let word = trimmed.find([':', ' ', '\n']).unwrap_or(trimmed.len());
                return Loc { line: l, column: c, offset: offset + indent, len: word };
            }
            offset += line.len();
        }
        Loc { line: 1, column: 1, offset: 0, len: 0 }
    }

    /// The location of `key:` written before `value` (a mapping value's own location is that
    /// of its first entry, which is the wrong line for "this section is ...").
    fn key_loc(&self, key: &str, value: Loc) -> Loc {
        let text = &self.src.text;
        let hay = &text[..value.offset.min(text.len())];
        let mut end = hay.len();
        while let Some(i) = hay[..end].rfind(key) {
            let before_ok = hay[..i]
                .chars()
                .next_back()
                .is_none_or(|c| c.is_whitespace() || matches!(c, '{' | ',' | '"' | '\'' | '-'));
            let after = hay[i + key.len()..].trim_start_matches(['"', '\'']).trim_start();
            if before_ok && after.starts_with(':') {
                let (line, column) = crate::diagnostics::line_col_of(text, i);
                return Loc { line, column, offset: i, len: key.len() };
            }
            end = i;
        }
        value
    }

    fn push(&mut self, d: PlanDiagnostic) {
        self.diags.push(d);
    }

    fn diag(
        &self,
        severity: Severity,
        loc: Loc,
        code: &'static str,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> PlanDiagnostic {
        diagnostic_at(self.src, loc, severity, code, message, Some(help.into()))
    }

    fn error(
        &mut self,
        loc: Loc,
        code: &'static str,
        message: impl Into<String>,
        help: impl Into<String>,
        label: &str,
    ) {
        let d = self.diag(Severity::Error, loc, code, message, help).with_label(label);
        self.push(d);
    }

    fn warn(
        &mut self,
        loc: Loc,
        code: &'static str,
        message: impl Into<String>,
        help: impl Into<String>,
        label: &str,
    ) {
        let d = self.diag(Severity::Warning, loc, code, message, help).with_label(label);
        self.push(d);
    }

    fn template(&mut self, s: &S<String>) -> Template {
        let loc = self.loc(s);
        for (message, help) in template_problems(&s.value) {
            self.error(loc, codes::TEMPLATE, message, help, "malformed ${VAR} reference");
        }
        Template { raw: s.value.clone(), loc }
    }

    // ---------------------------------------------------------------- the plan

    fn plan(&mut self, raw: Option<S<RawPlan>>) -> Option<Plan> {
        let Some(raw) = raw else {
            self.error(
                self.start(),
                codes::EMPTY,
                "the plan file is empty",
                "a plan needs at least `version: 1`, `name`, `source`, `target`, `topics`, `data` and \
                 `cutover`; start from one of the sample plans in `plans/`",
                "no plan here",
            );
            return None;
        };
        let root = self.loc(&raw);
        let raw = raw.value;

        self.version(raw.version.as_ref(), root);
        let name = self.name(raw.name.as_ref(), root);
        let source = self.cluster("source", raw.source.as_ref(), root);
        let target = self.cluster("target", raw.target.as_ref(), root);
        if let (Some(s), Some(t)) = (bootstrap_of(raw.source.as_ref()), bootstrap_of(raw.target.as_ref())) {
            self.same_cluster(s, t);
        }
        let (topics, index) = self.topics(raw.topics.as_ref(), root);
        let data = self.data(&raw, root);
        let compression = self.sync_compression(&raw, data);
        let connect = self.connect(&raw, data, name.as_deref(), root);
        let cutover = self.cutover(raw.cutover.as_ref(), root);
        let groups = self.consumers(raw.consumers.as_ref(), &index, data);

        Some(Plan {
            source_file: Arc::clone(self.src),
            name: name?,
            source: source?,
            target: target?,
            topics,
            data: data?,
            compression,
            cutover: cutover?,
            groups,
            connect,
        })
    }

    fn version(&mut self, v: Option<&S<String>>, root: Loc) {
        match v {
            None => self.error(
                root,
                codes::VERSION,
                "the plan has no `version`",
                "add `version: 1` as the first line of the plan",
                "version missing",
            ),
            Some(v) if v.value.trim() == "1" => {}
            Some(v) => self.error(
                self.loc(v),
                codes::VERSION,
                format!("unsupported plan version `{}`", v.value),
                "this kmigrate reads plan format version 1: set `version: 1`",
                "expected 1",
            ),
        }
    }

    fn name(&mut self, n: Option<&S<String>>, root: Loc) -> Option<String> {
        let Some(n) = n else {
            self.error(
                root,
                codes::NAME,
                "the plan has no `name`",
                "add e.g. `name: orders-to-new`; the name identifies the migration's checkpoint state",
                "name missing",
            );
            return None;
        };
        let value = n.value.as_str();
        let loc = self.loc(n);
        if !NAME_RE.is_match(value) || value == "." || value == ".." {
            let suggestion: String = value
                .trim()
                .to_ascii_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '-' })
                .collect();
            let suggestion = suggestion.trim_matches('-');
            let help = if !suggestion.is_empty()
                && NAME_RE.is_match(suggestion)
                && !suggestion.chars().all(|c| c == '.')
            {
                format!("use lowercase letters, digits, `.`, `_` and `-` only, e.g. `name: {suggestion}`")
            } else {
                "use lowercase letters, digits, `.`, `_` and `-` only, e.g. `name: orders-to-new`".to_owned()
            };
            self.error(
                loc,
                codes::NAME,
                format!("invalid plan name `{value}`: it must match [a-z0-9._-]+ (it names the checkpoint state on disk)"),
                help,
                "invalid name",
            );
            return None;
        }
        Some(value.to_owned())
    }
}
