//! The writer: facts and choices in, the commented plan's YAML text out. Pure.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::collapse::{TopicEntry, collapse};
use crate::facts::{Activity, GroupFacts, SourceFacts, TargetFacts};
use crate::suggest::{DataChoice, Offsets, suggest, thousands};

/// The environment variable the plan reads the target's brokers from when no target was given.
pub const TARGET_PLACEHOLDER_VAR: &str = "TARGET_BOOTSTRAP";

/// Comment lines are wrapped at this width.
const WIDTH: usize = 100;

/// How many topic names a pattern's comment lists.
const NAMES_SHOWN: usize = 6;

/// A cluster as the plan writes it: the text given, `${VAR}` templates unresolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterText {
    pub bootstrap_servers: String,
    pub properties: BTreeMap<String, String>,
}

/// The choices `kmigrate init` was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitInput {
    /// The plan's `name`.
    pub name: String,
    pub source: ClusterText,
    /// `None`: the plan reads the target's brokers from `${TARGET_BOOTSTRAP}`.
    pub target: Option<ClusterText>,
    pub data: DataChoice,
    /// `--topics` and `--groups` as given, for the comments.
    pub topics_regex: Option<String>,
    pub groups_regex: Option<String>,
}

/// Why no plan can be drafted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DraftError {
    /// No topic is left to migrate (a plan needs one).
    NoTopics { source_topics: usize, tooling: usize, unselected: usize },
}

impl std::fmt::Display for DraftError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DraftError::NoTopics { source_topics, tooling, unselected } => write!(
                f,
                "no topic to migrate: of the source's {source_topics} topics (besides Kafka's internal ones), \
                 {tooling} are tooling state and {unselected} do not match --topics"
            ),
        }
    }
}

impl std::error::Error for DraftError {}

/// What the draft proposes, counted: for the CLI's summary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DraftSummary {
    pub topics: usize,
    pub patterns: usize,
    pub groups: usize,
    pub self_stored: usize,
    pub groups_left_out: usize,
}

/// Writes the commented plan for `source` (and `target`): topics by name or collapsed into
/// patterns, every group with its facts and suggested strategy, and what was left out and why.
pub fn write_plan(
    input: &InitInput,
    source: &SourceFacts,
    target: Option<&TargetFacts>,
) -> Result<(String, DraftSummary), DraftError> {
    if source.topics.is_empty() {
        return Err(DraftError::NoTopics {
            source_topics: source.all_topics.len(),
            tooling: source.tooling_topics.len(),
            unselected: source.unselected_topics.len(),
        });
    }
    let mut summary = DraftSummary::default();
    let mut out = String::new();
    let o = &mut out;
    // The plan's JSON Schema, for editors (the `yaml-language-server` comment understood by VS
    // Code's YAML extension, Helix, Neovim, ...).
    line(o, &format!("# yaml-language-server: $schema={}", kmigrate_plan::PLAN_SCHEMA_URL));
    line(o, "#");
    let target_text = input.target.as_ref().map(|t| format!(" and the target at {}", t.bootstrap_servers));
    comment(
        o,
        0,
        &format!(
            "Drafted by `kmigrate init` from the source cluster at {}{}: the topics, every consumer \
             group with what it commits, its lag and whether it has members, and a suggested strategy \
             per group with the reason. Review it, then:",
            source_text(&input.source),
            target_text.unwrap_or_default()
        ),
    );
    line(o, "#   kmigrate validate PLAN");
    line(o, "#   kmigrate plan PLAN       # the dry run: what apply would change");
    line(o, "version: 1");
    line(o, &format!("name: {}", scalar(&input.name)));
    line(o, "");

    line(o, "source:");
    cluster(o, &input.source);
    line(o, "target:");
    match &input.target {
        Some(t) => cluster(o, t),
        None => {
            comment(
                o,
                2,
                &format!(
                    "No --target was given: set {TARGET_PLACEHOLDER_VAR} in the environment, or write the \
                     new cluster's brokers here (and its `properties:` if it is secured)."
                ),
            );
            line(o, &format!("  bootstrap_servers: \"${{{TARGET_PLACEHOLDER_VAR}}}\""));
        }
    }
    line(o, "");

    // --- topics
    let selected: BTreeSet<String> = source.topics.keys().cloned().collect();
    let entries = collapse(&selected, &source.all_topics);
    let mut head = format!("{} proposed", count(source.topics.len() as i64, "topic", "topics"));
    if let Some(re) = &input.topics_regex {
        let _ = write!(head, " (matching --topics `{re}`)");
    }
    head.push_str(
        ". Each is created on the target with the source's partitions and non-default configs \
         (override with `partitions:` and `config:`).",
    );
    if entries.iter().any(|e| matches!(e, TopicEntry::Pattern { .. })) {
        head.push_str(
            " A pattern stands for every source topic with its prefix, today's and those created \
             before apply.",
        );
    }
    comment(o, 0, &head);
    line(o, "topics:");
    // Trailing comments of names line up.
    let width = entries
        .iter()
        .filter_map(|e| match e {
            TopicEntry::Name(n) => Some(scalar(n).len()),
            TopicEntry::Pattern { .. } => None,
        })
        .max()
        .unwrap_or(0);
    for e in &entries {
        match e {
            TopicEntry::Name(name) => {
                summary.topics += 1;
                let facts = source.topics[name];
                let mut note = format!(
                    "{}, {}",
                    count(facts.partitions as i64, "partition", "partitions"),
                    count(facts.records, "record", "records")
                );
                if let Some(t) = target {
                    note.push_str(&on_target(t, name, facts.partitions));
                }
                let name = scalar(name);
                line(o, &format!("  - {name:width$}   # {}", printable(&note)));
            }
            TopicEntry::Pattern { pattern, topics, .. } => {
                summary.topics += topics.len();
                summary.patterns += 1;
                let partitions: usize = topics.iter().map(|t| source.topics[t].partitions).sum();
                let records: i64 = topics.iter().map(|t| source.topics[t].records).sum();
                let shown: Vec<&str> = topics.iter().take(NAMES_SHOWN).map(|t| t.as_str()).collect();
                let more = topics.len().saturating_sub(NAMES_SHOWN);
                let mut note = format!(
                    "{} topics today ({} partitions, {} records): {}{}",
                    topics.len(),
                    partitions,
                    thousands(records),
                    shown.join(", "),
                    if more > 0 { format!(" and {more} more") } else { ".".into() }
                );
                if let Some(t) = target {
                    let present = topics.iter().filter(|n| t.topics.contains_key(*n)).count();
                    if present > 0 {
                        let _ = write!(note, " {present} of them already on the target.");
                    }
                }
                comment(o, 2, &note);
                line(o, &format!("  - pattern: '{}'", pattern.replace('\'', "''")));
            }
        }
    }
    let mut left_out = Vec::new();
    if !source.tooling_topics.is_empty() {
        let mut by_tool: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (t, who) in &source.tooling_topics {
            by_tool.entry(who.describe()).or_default().push(t);
        }
        let parts: Vec<String> = by_tool.iter().map(|(who, ts)| format!("{} ({who})", names(ts))).collect();
        left_out.push(format!("tooling state, never migrated: {}.", parts.join("; ")));
    }
    if !source.unselected_topics.is_empty() {
        left_out.push(format!(
            "{} not matching --topics: {}.",
            count(source.unselected_topics.len() as i64, "topic", "topics"),
            names(&source.unselected_topics.iter().map(String::as_str).collect::<Vec<_>>())
        ));
    }
    if !left_out.is_empty() {
        comment(o, 2, &format!("Left out (Kafka's own `__*` topics always are): {}", left_out.join(" ")));
    }
    line(o, "");

    // --- data and cutover
    match input.data {
        DataChoice::Synced => {
            comment(
                o,
                0,
                "synced: kmigrate copies every record (same partition, key, value, headers and timestamp) and \
                 knows which target offset each got, so strict groups start exactly where they stopped.",
            );
            line(o, "data: synced");
            line(o, "sync:");
            line(o, "  by: kmigrate");
        }
        DataChoice::NotSynced => {
            comment(o, 0, "not-synced: the target starts without the source's records.");
            line(o, "data: not-synced");
        }
    }
    line(o, "");
    comment(
        o,
        0,
        "apply stops at a gate until the producers write to the target: then run `kmigrate apply PLAN \
         --approve cutover`. Or state the time (`at: \"2026-12-01T02:00:00+00:00\"`), or let kmigrate \
         detect it (`detect: { idle: 60s }`).",
    );
    line(o, "cutover:");
    line(o, "  manual: true");

    // --- consumers
    line(o, "");
    let mut drafted: Vec<(&GroupFacts, crate::suggest::Suggestion)> = Vec::new();
    let mut skipped: Vec<(&str, String)> = Vec::new();
    for g in &source.groups {
        match suggest(g, input.data) {
            Ok(s) => drafted.push((g, s)),
            Err(why) => skipped.push((&g.id, why)),
        }
    }
    summary.groups = drafted.len();
    summary.groups_left_out = skipped.len();
    let mut exports: BTreeSet<String> = BTreeSet::new();
    if drafted.is_empty() {
        comment(o, 0, "No consumer group to position on the target (see below).");
    } else {
        comment(
            o,
            0,
            "Every group is `loss: strict` (no record skipped); `loss: tolerant` starts a group at the \
             end of the target instead. Each group's comment gives what was read and why its strategy.",
        );
        line(o, "consumers:");
        line(o, "  groups:");
        for (g, s) in &drafted {
            comment(o, 4, &facts_line(g, target));
            for r in &s.reasons {
                comment_with(o, 4, "  ", "  ", r);
            }
            line(o, &format!("    - id: {}", scalar(&g.id)));
            match s.offsets {
                Offsets::BrokerManaged => line(o, "      offsets: broker-managed"),
                Offsets::SelfStored => {
                    summary.self_stored += 1;
                    line(o, "      offsets: self-stored");
                    let path = export_path(&g.id, &mut exports);
                    line(o, &format!("      export: {}", scalar(&path)));
                }
            }
            line(o, "      loss: strict");
            if let Some(d) = s.drain {
                line(o, &format!("      drain: {d}"));
            }
            if !g.commits.is_empty() {
                topic_list(o, &g.commits.keys().map(String::as_str).collect::<Vec<_>>());
            }
        }
    }
    let mut notes = Vec::new();
    for (id, why) in &skipped {
        notes.push(format!("`{}`: {why}.", printable(id)));
    }
    if !source.tooling_groups.is_empty() {
        let ids: Vec<&str> = source.tooling_groups.iter().map(String::as_str).collect();
        notes.push(format!("tooling groups (Connect, MirrorMaker 2): {}.", names(&ids)));
    }
    if !source.unselected_groups.is_empty() {
        let ids: Vec<&str> = source.unselected_groups.iter().map(String::as_str).collect();
        let re = input.groups_regex.as_deref().unwrap_or("");
        notes.push(format!("not matching --groups `{re}`: {}.", names(&ids)));
    }
    if !notes.is_empty() {
        comment(o, 0, "Groups on the source left out of the plan:");
        for n in notes {
            comment_with(o, 0, "  - ", "    ", &n);
        }
    }
    Ok((out, summary))
}

/// `1 partition`, `12 partitions`.
fn count(n: impl Into<i64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

fn line(out: &mut String, text: &str) {
    out.push_str(text);
    out.push('\n');
}

/// `# text`, wrapped, at `indent` spaces.
fn comment(out: &mut String, indent: usize, text: &str) {
    comment_with(out, indent, "", "", text)
}

/// `# <first>text`, wrapped, continuation lines starting `# <rest>`.
fn comment_with(out: &mut String, indent: usize, first: &str, rest: &str, text: &str) {
    let pad = " ".repeat(indent);
    let width = WIDTH.saturating_sub(indent + 2).max(40);
    let opts = textwrap::Options::new(width)
        .initial_indent(first)
        .subsequent_indent(rest)
        .break_words(false)
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    for l in textwrap::wrap(&printable(text), opts) {
        let _ = writeln!(out, "{pad}# {l}");
    }
}

/// Text safe inside a comment: control characters (a newline would end it) escaped.
fn printable(s: &str) -> String {
    if s.chars().any(char::is_control) { s.escape_debug().to_string() } else { s.to_string() }
}

/// How the source is named in the header comment.
fn source_text(c: &ClusterText) -> &str {
    &c.bootstrap_servers
}

fn cluster(out: &mut String, c: &ClusterText) {
    line(out, &format!("  bootstrap_servers: {}", quoted(&c.bootstrap_servers)));
    if !c.properties.is_empty() {
        line(out, "  properties:");
        for (k, v) in &c.properties {
            line(out, &format!("    {}: {}", scalar(k), quoted(v)));
        }
    }
}

/// A list of names for a comment: all of them up to a dozen, else the first ones and a count.
fn names(ids: &[&str]) -> String {
    const MAX: usize = 12;
    let shown: Vec<String> = ids.iter().take(MAX).map(|s| printable(s)).collect();
    if ids.len() > MAX {
        format!("{} and {} more", shown.join(", "), ids.len() - MAX)
    } else {
        shown.join(", ")
    }
}

fn on_target(t: &TargetFacts, topic: &str, partitions: usize) -> String {
    match t.topics.get(topic) {
        None => String::new(),
        Some(n) if *n < partitions => {
            format!(
                "; on the target with {}, fewer than the source's: add partitions there first",
                count(*n as i64, "partition", "partitions")
            )
        }
        Some(n) => format!("; already on the target ({})", count(*n as i64, "partition", "partitions")),
    }
}

/// `billing: 3 members; commits on orders, payments (12 partitions); lag 0.`
fn facts_line(g: &GroupFacts, target: Option<&TargetFacts>) -> String {
    let activity = match &g.activity {
        Activity::Members(1) => "1 member".to_string(),
        Activity::Members(n) => format!("{n} members"),
        Activity::Active { state } => format!("active ({state}; a consumer-protocol group)"),
        Activity::Idle { state } => format!("no members ({state})"),
        Activity::Unknown { .. } => "members unknown".to_string(),
    };
    let mut text = format!("{}: {activity}", g.id);
    if g.commits.is_empty() {
        text.push_str("; no committed offsets on the source");
    } else {
        let partitions: usize = g.commits.values().map(|c| c.partitions).sum();
        let topics: Vec<&str> = g.commits.keys().map(String::as_str).collect();
        let _ = write!(
            text,
            "; commits on {} ({}); lag {}",
            names(&topics),
            count(partitions as i64, "partition", "partitions"),
            thousands(g.lag())
        );
    }
    if let Some(state) = target.and_then(|t| t.groups.get(&g.id)) {
        let _ = write!(text, "; already on the target ({state})");
        if !matches!(state.as_str(), "Empty" | "Dead") {
            text.push_str(": apply refuses to commit while it has members there");
        }
    }
    text.push('.');
    text
}

/// `topics: [a, b]` on one line when it fits, else a block list.
fn topic_list(out: &mut String, topics: &[&str]) {
    let flow = format!("      topics: [{}]", topics.iter().map(|t| scalar(t)).collect::<Vec<_>>().join(", "));
    if flow.len() <= WIDTH {
        line(out, &flow);
    } else {
        line(out, "      topics:");
        for t in topics {
            line(out, &format!("        - {}", scalar(t)));
        }
    }
}

/// `offsets/<group>.csv`, with characters other than `[A-Za-z0-9._-]` replaced and a suffix
/// should two groups map to one file.
fn export_path(group: &str, taken: &mut BTreeSet<String>) -> String {
    let stem: String = group
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .collect();
    let stem = if stem.trim_matches('.').is_empty() { "group".to_string() } else { stem };
    let mut path = format!("offsets/{stem}.csv");
    let mut n = 2;
    while !taken.insert(path.clone()) {
        path = format!("offsets/{stem}-{n}.csv");
        n += 1;
    }
    path
}

/// A YAML scalar: plain when it cannot be read as anything but this string, else double-quoted.
pub(crate) fn scalar(s: &str) -> String {
    let plain = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "nan" | "inf"
        );
    if plain { s.to_string() } else { quoted(s) }
}

/// A double-quoted YAML scalar.
pub(crate) fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
