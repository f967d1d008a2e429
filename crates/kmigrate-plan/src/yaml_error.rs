//! Turning a deserializer error (YAML syntax, unknown key, wrong type, ...) into a located
//! [`PlanDiagnostic`] worded for the plan's author rather than for a Rust developer.

use std::sync::Arc;

use serde_saphyr::{Error as YamlError, MessageFormatter, UserMessageFormatter};

use crate::codes;
use crate::diagnostics::{PlanDiagnostic, Severity, diagnostic_at};
use crate::loc::loc_of;
use crate::model::{Loc, SourceFile};
use crate::suggest::did_you_mean;

/// Converts the (single) deserializer error into a diagnostic with our code, message and help.
pub(crate) fn convert(src: &Arc<SourceFile>, err: &YamlError) -> PlanDiagnostic {
    let inner = unwrap_error(err);
    let mut loc = err.location().map(|l| loc_of(&src.text, &l)).unwrap_or_default();
    if loc.line == 0 {
        // Unknown location (rare): point at the start of the file.
        loc = Loc { line: 1, column: 1, offset: 0, len: 0 };
    }
    let text = src.text.as_str();
    let d = match inner {
        YamlError::SerdeUnknownField { field, expected, .. } => {
            let mut help = match did_you_mean(field, expected.iter().copied()) {
                Some(s) => format!("did you mean `{s}`? "),
                None => String::new(),
            };
            if field == "bootstrap.servers" {
                help = "the brokers go in `bootstrap_servers` (with an underscore); client \
                        properties go under `properties`. "
                    .to_owned();
            }
            help.push_str(&format!("Valid keys here: {}", list(expected)));
            let message = match parent_key(text, loc.offset) {
                Some(parent) => format!("unknown key `{field}` in {}", parent.describe()),
                None => format!("unknown key `{field}`"),
            };
            Diag::new(codes::UNKNOWN_KEY, message, Some(help), "unknown key")
        }
        YamlError::SerdeUnknownVariant { variant, expected, .. } => {
            let mut help = match did_you_mean(variant, expected.iter().copied()) {
                Some(s) => format!("did you mean `{s}`? "),
                None => String::new(),
            };
            help.push_str(&format!("Use one of: {}", list(expected)));
            let message = match value_key(text, loc.offset) {
                Some(key) if !key.entry => format!("`{variant}` is not a valid `{}`", key.name),
                _ => format!("`{variant}` is not a valid value here"),
            };
            Diag::new(codes::INVALID_VALUE, message, Some(help), "not a valid value")
        }
        YamlError::DuplicateMappingKey { key, .. } => {
            let name = key.as_deref().unwrap_or("this key");
            let first = key.as_deref().and_then(|k| earlier_key_line(text, loc, k));
            let message = match first {
                Some(line) => {
                    format!("key `{name}` appears twice in the same mapping (first on line {line})")
                }
                None => format!("key `{name}` appears twice in the same mapping"),
            };
            Diag::new(
                codes::DUPLICATE_KEY,
                message,
                Some(
                    "remove one of the two, or merge them; kmigrate refuses to guess which one you meant"
                        .to_owned(),
                ),
                "second occurrence",
            )
        }
        YamlError::SerdeMissingField { field, .. } => Diag::new(
            codes::MISSING_KEY,
            format!("missing key `{field}`"),
            Some(format!("add `{field}:` here")),
            "in this mapping",
        ),
        YamlError::SerdeInvalidType { unexpected, expected, .. }
        | YamlError::SerdeInvalidValue { unexpected, expected, .. } => {
            type_error(text, loc, &friendly_expected(expected), Some(unexpected))
        }
        YamlError::InvalidScalar { ty, .. } => type_error(text, loc, &friendly_expected(ty), None),
        YamlError::Unexpected { expected, .. } => type_error(text, loc, &friendly_expected(expected), None),
        other => {
            let text = UserMessageFormatter.format_message(other).into_owned();
            let help = if text.contains("multiple") {
                "a plan file holds a single YAML document: remove the `---` separator, or split the \
                 plans into separate files"
            } else if text.contains("tab") {
                loc = at_tab(src.text.as_str(), loc);
                "indent with spaces only: YAML does not allow tabs for indentation"
            } else if text.contains("expected '-' indicator") {
                "every item of a list starts with `- `; to give a list item settings, write it as a \
                 mapping: `- name: orders` with `partitions: 12` indented under `name`"
            } else {
                "check the indentation (spaces only, children indented under their key) and that \
                 every quote and bracket opened on this or an earlier line is closed"
            };
            Diag::new(codes::SYNTAX, format!("invalid YAML: {text}"), Some(help.to_owned()), "here")
        }
    };
    diagnostic_at(src, loc, Severity::Error, d.code, d.message, d.help).with_label(d.label)
}

/// The first tab of the indentation of the line at `loc` (the parser points after it), or `loc`.
fn at_tab(text: &str, loc: Loc) -> Loc {
    let (start, line) = line_at(text, loc.offset);
    let indent = &line[..line.len() - line.trim_start_matches([' ', '\t']).len()];
    match indent.find('\t') {
        Some(i) => Loc { column: i as u32 + 1, offset: start + i, len: 1, ..loc },
        None => loc,
    }
}

struct Diag {
    code: &'static str,
    message: String,
    help: Option<String>,
    label: &'static str,
}

impl Diag {
    fn new(code: &'static str, message: String, help: Option<String>, label: &'static str) -> Self {
        Diag { code, message, help, label }
    }
}

fn type_error(text: &str, loc: Loc, expected: &str, found: Option<&str>) -> Diag {
    let key = value_key(text, loc.offset);
    let mut message = match &key {
        Some(k) => format!("{} must be {expected}", k.describe()),
        None if at_top_level(text, loc.offset) => {
            let help = "write one top-level key per line (`version: 1`, `name: ...`, `source:`, ...); \
                        start from one of the sample plans in `plans/`";
            return Diag::new(
                codes::TYPE,
                "the plan file must be a mapping of top-level keys".to_owned(),
                Some(help.to_owned()),
                "wrong kind of value",
            );
        }
        None => format!("expected {expected}"),
    };
    if let Some(found) = found {
        message.push_str(&format!(", found {found}"));
    }
    let help = key.as_ref().and_then(key_hint).map(str::to_owned).or_else(|| match expected {
        e if e.starts_with("a mapping") => {
            Some("write `key: value` settings on the following lines, indented under the key".to_owned())
        }
        e if e.starts_with("a list") => {
            Some("write one `- item` per line, indented under the key, or `[a, b]`".to_owned())
        }
        "`true` or `false`" => Some("write `true` or `false`".to_owned()),
        "a whole number" => Some("write a whole number without quotes or units, e.g. `12`".to_owned()),
        "a text value" => Some(
            "write a single value (text, number or true/false), not a list or mapping; Kafka \
             client properties are flat, e.g. `sasl.mechanism: PLAIN`"
                .to_owned(),
        ),
        _ => Some("compare with the plan format in the sample plans under `plans/`".to_owned()),
    });
    Diag::new(codes::TYPE, message, help, "wrong kind of value")
}

/// How to write the value of a given plan key (or an entry of its list), for type errors.
fn key_hint(key: &Ctx) -> Option<&'static str> {
    if key.entry {
        return match key.name.as_str() {
            "topics" => Some(
                "write a topic name (`- orders`) or a mapping (`- name: orders`, \
                 `- pattern: \"^audit\\\\.\"`, plus optional `partitions` and `config`)",
            ),
            "groups" => Some(
                "each group is a mapping: `- id: billing` (plus optional `offsets`, `loss`, `export`, ...)",
            ),
            _ => None,
        };
    }
    Some(match key.name.as_str() {
        "topics" => "write a list: `topics: [orders, payments]`, or one `- orders` per line",
        "source" | "target" => {
            "write the cluster as a mapping: the key alone on its line, then an indented \
             `bootstrap_servers: \"host1:9092,host2:9092\"`"
        }
        "cutover" => {
            "write `cutover:` then one indented `at: ...`, `manual: true` or `detect: { idle: 60s }`"
        }
        "detect" => "write `detect: { idle: 60s }`",
        "sync" => "write `sync: { by: kmigrate }` or `sync: { by: external }`",
        "consumers" => "write `consumers:` then indented `defaults:` and `groups:`",
        "defaults" => "write `defaults: { offsets: broker-managed, loss: strict }`",
        "groups" => "write one `- id: <group>` entry per line, indented under `groups:`",
        "properties" | "config" => "write one `name: value` setting per line, indented under the key",
        "manual" => "write `manual: true`",
        "drain" => "write `drain: true` or `drain: false`",
        "partitions" => "write a whole number, e.g. `partitions: 12`",
        "version" => "write `version: 1`",
        _ => return None,
    })
}

fn unwrap_error(err: &YamlError) -> &YamlError {
    match err.without_snippet() {
        YamlError::AliasError { error, .. } => unwrap_error(error),
        other => other,
    }
}

fn list(items: &[&str]) -> String {
    items.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
}

/// serde's "expected" texts name Rust types; say what the YAML should look like instead.
fn friendly_expected(expected: &str) -> String {
    if expected.starts_with("struct ") || expected == "mapping start" || expected == "a mapping" {
        return "a mapping (`key: value` settings)".to_owned();
    }
    if let Some(name) = expected.strip_prefix("enum ") {
        return format!("one of the `{name}` values");
    }
    match expected {
        "i64" | "u64" | "i32" | "u32" | "u16" | "usize" | "isize" | "i8" | "u8" | "i16" | "an integer" => {
            "a whole number".to_owned()
        }
        "bool" | "boolean" | "a boolean" => "`true` or `false`".to_owned(),
        "a string" | "string" | "a string scalar" | "string scalar" => "a text value".to_owned(),
        "a sequence" | "sequence start" => "a list".to_owned(),
        other => other.to_owned(),
    }
}

/// Whether `offset` is at the start of the document's top-level node.
fn at_top_level(text: &str, offset: usize) -> bool {
    text[..offset.min(text.len())]
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || l.trim() == "---")
}

/// The line containing `offset`: (start offset, text).
fn line_at(text: &str, offset: usize) -> (usize, &str) {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    (start, &text[start..end])
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches([' ', '-']).len()
}

/// Where in the plan a value sits: under `name`, or in an entry of the list under `name`.
#[derive(Debug, PartialEq, Eq)]
struct Ctx {
    name: String,
    entry: bool,
}

impl Ctx {
    fn describe(&self) -> String {
        if self.entry { format!("a `{}` entry", self.name) } else { format!("`{}`", self.name) }
    }
}

/// The key whose value starts at `offset`: `key` in `  key: <value>`, or for a list item
/// (`- <value>`), the key that owns the list.
fn value_key(text: &str, offset: usize) -> Option<Ctx> {
    let (start, line) = line_at(text, offset);
    let before = &line[..(offset - start).min(line.len())];
    let trimmed = before.trim_end();
    if let Some(k) = trimmed.strip_suffix(':') {
        let k = k.trim_start().trim_start_matches(['-', ' ']);
        let k = k.rsplit(['{', ',', ' ']).next().unwrap_or(k).trim_matches(['"', '\'']);
        return (!k.is_empty()).then(|| Ctx { name: k.to_owned(), entry: false });
    }
    if trimmed.trim_start().starts_with('-') {
        return parent_key(text, offset);
    }
    None
}

/// The key of the block mapping or list that contains the line at `offset` (the nearest
/// earlier line with less indentation that ends with `key:`).
fn parent_key(text: &str, offset: usize) -> Option<Ctx> {
    let (start, line) = line_at(text, offset);
    let indent = line.len() - line.trim_start().len();
    let mut entry = line.trim_start().starts_with('-');
    let mut cursor = start;
    while cursor > 0 {
        let (prev_start, prev) = line_at(text, cursor - 1);
        cursor = prev_start;
        let content = prev.split(" #").next().unwrap_or(prev).trim_end();
        let prev_indent = prev.len() - prev.trim_start().len();
        if content.trim().is_empty() || content.trim_start().starts_with('#') {
            continue;
        }
        if prev_indent < indent || (prev_indent == indent && line.trim_start().starts_with('-')) {
            if let Some(k) = content.strip_suffix(':') {
                let k = k.trim_start().trim_start_matches(['-', ' ']).trim_matches(['"', '\'']);
                return (!k.is_empty()).then(|| Ctx { name: k.to_owned(), entry });
            }
            if indent_of(prev) < indent {
                return None;
            }
            if prev.trim_start().starts_with('-') {
                entry = true;
            }
        }
    }
    None
}

/// The line of an earlier `key:` at the same indentation (for duplicate keys).
fn earlier_key_line(text: &str, loc: Loc, key: &str) -> Option<u32> {
    let (start, line) = line_at(text, loc.offset);
    let indent = indent_of(line);
    let mut cursor = start;
    let mut line_no = loc.line;
    while cursor > 0 {
        let (prev_start, prev) = line_at(text, cursor - 1);
        cursor = prev_start;
        line_no -= 1;
        // In `- name: x`, the mapping's keys are indented like the text after `- `.
        let prev_indent = indent_of(prev);
        let body = prev.trim_start().trim_start_matches('-').trim_start();
        if prev_indent == indent && body.strip_prefix(key).is_some_and(|r| r.trim_start().starts_with(':')) {
            return Some(line_no);
        }
        let is_content = !prev.trim().is_empty() && !prev.trim_start().starts_with('#');
        let item_start = prev.trim_start().starts_with('-');
        if is_content && (prev_indent < indent || (prev_indent == indent && item_start)) {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_key_that_owns_a_value() {
        let ctx = |name: &str, entry| Some(Ctx { name: name.to_owned(), entry });
        let text = "a:\n  topics: orders\n  groups:\n    - billing\n";
        assert_eq!(value_key(text, text.find("orders").unwrap()), ctx("topics", false));
        assert_eq!(value_key(text, text.find("billing").unwrap()), ctx("groups", true));
        let text = "cutover: { detect: 60s }\n";
        assert_eq!(value_key(text, text.find("60s").unwrap()), ctx("detect", false));
        let text = "target:\n   bad: 1\n  x: 2\n";
        assert_eq!(parent_key(text, text.find("bad").unwrap()), ctx("target", false));
        let text = "topics:\n  - name: x\n    partiton: 3\n";
        assert_eq!(parent_key(text, text.find("partiton").unwrap()), ctx("topics", true));
        let text = "topics:\n  - name: x\n    config:\n      a: 1\n";
        assert_eq!(parent_key(text, text.find("a: 1").unwrap()), ctx("config", false));
        let text = "topics:\n  - name: x\n    name: y\n  - name: z\n    name: w\n";
        let second = |needle: &str| Loc {
            line: 1 + text[..text.find(needle).unwrap()].matches('\n').count() as u32,
            column: 5,
            offset: text.find(needle).unwrap(),
            len: 4,
        };
        assert_eq!(earlier_key_line(text, second("name: y"), "name"), Some(2));
        assert_eq!(earlier_key_line(text, second("name: w"), "name"), Some(4));
        let text = "topics:\n  - name: x\n    config:\n      a: 1\n";
        assert_eq!(parent_key(text, text.find("a: 1").unwrap()), ctx("config", false));
        assert_eq!(parent_key("top: 1\n", 0), None);
    }
}
