//! The validated plan: what the rest of kmigrate consumes.
//!
//! A [`Plan`] only exists once parsing and semantic validation found no error, so its invariants
//! hold: exactly one cutover mode, names that are well formed, no duplicate topics or groups, every
//! self-stored group has an export path, and so on. Every element keeps the [`Loc`] of the YAML it
//! came from, so that problems found later (a missing `${VAR}`, a topic absent on the source) can
//! still point at the plan file.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, FixedOffset};

use crate::template::{Segment, segments};

/// A location in the plan file: 1-based line and column, and the byte range for snippets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Loc {
    pub line: u32,
    pub column: u32,
    /// Byte offset of the start of the located value in the source text.
    pub offset: usize,
    /// Length in bytes of the located value (0 when unknown).
    pub len: usize,
}

/// The plan file's name (as the user gave it) and its full text, shared by all diagnostics.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    /// Where each line starts, built on the first rendered diagnostic: miette finds a span's
    /// lines by reading the text from its start, which made rendering every diagnostic of a
    /// large plan quadratic (see `diagnostics.rs`).
    line_starts: std::sync::OnceLock<Vec<usize>>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        SourceFile { name: name.into(), text: text.into(), line_starts: std::sync::OnceLock::new() }
    }

    /// The byte offset of every line's start, line breaks counted as miette counts them (`\n`,
    /// `\r\n`, a lone `\r`): `[0, ...]`.
    pub(crate) fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            let bytes = self.text.as_bytes();
            let mut starts = vec![0];
            let mut i = 0;
            while i < bytes.len() {
                match bytes[i] {
                    b'\r' if bytes.get(i + 1) == Some(&b'\n') => i += 1,
                    b'\r' | b'\n' => {}
                    _ => {
                        i += 1;
                        continue;
                    }
                }
                i += 1;
                starts.push(i);
            }
            starts
        })
    }
}

impl PartialEq for SourceFile {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.text == other.text
    }
}

impl Eq for SourceFile {}

/// A validated migration plan (format version 1).
#[derive(Debug, Clone)]
pub struct Plan {
    pub source_file: Arc<SourceFile>,
    /// `[a-z0-9._-]+`; names the checkpoint state.
    pub name: String,
    pub source: Cluster,
    pub target: Cluster,
    pub topics: Vec<TopicSpec>,
    pub data: DataMode,
    /// `sync.compression`: the codec kmigrate's copy writes with, for every topic (data synced by
    /// kmigrate only). `None`: the migration's rule decides per topic.
    pub compression: Option<CompressionChoice>,
    pub cutover: Cutover,
    pub groups: Vec<GroupSpec>,
    /// `sync.connect`: the Kafka Connect cluster that runs MirrorMaker 2 (`sync.by: mirrormaker2`
    /// only, and then always set).
    pub connect: Option<Connect>,
}

/// `sync.connect`: where and how kmigrate runs MirrorMaker 2's connectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    /// The Connect REST API's URL (`http://` or `https://`), without a trailing `/`.
    pub url: Template,
    /// The connectors are `<name_prefix>-source` and `<name_prefix>-checkpoint`.
    pub name_prefix: String,
    /// The source connector's `tasks.max`; `None`: the Connect cluster's default.
    pub tasks: Option<u32>,
    /// Connector config set on top of the rendered one, in file order.
    pub properties: Vec<Property>,
    pub loc: Loc,
}

/// How to reach one cluster. Values may hold `${VAR}` references, resolved only when a client
/// is built (see [`Template::resolve`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    pub bootstrap_servers: Template,
    /// Client properties passed to the Kafka client as-is, in file order.
    pub properties: Vec<Property>,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub key: String,
    pub value: Template,
}

/// A string that may contain `${VAR}` references to environment variables.
///
/// The raw text is kept as written; a value is produced only by [`Template::resolve`].
/// `$$` is a literal `$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Template {
    pub raw: String,
    pub loc: Loc,
}

/// A `${VAR}` that is not set in the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingVar {
    pub var: String,
    pub loc: Loc,
}

/// One `topics:` entry.
#[derive(Debug, Clone)]
pub struct TopicSpec {
    pub selector: TopicSelector,
    /// Partition count on the target; `None` means the source's count.
    pub partitions: Option<u32>,
    /// Config overrides on top of the source topic's non-default configs.
    pub config: BTreeMap<String, String>,
    pub loc: Loc,
}

#[derive(Debug, Clone)]
pub enum TopicSelector {
    /// An exact topic name.
    Name(String),
    /// Every non-internal source topic matching the regex; expanded against the source cluster.
    Pattern(regex::Regex),
}

/// Whether old data reaches the target, and by whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataMode {
    Synced(SyncBy),
    NotSynced,
    DualWrite,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncBy {
    /// kmigrate copies the records itself (`copy:<t>` steps).
    Kmigrate,
    /// kmigrate runs MirrorMaker 2 on a Kafka Connect cluster (`connectors`, `mirror:<t>` steps).
    MirrorMaker2,
    /// Another tool (MirrorMaker, Replicator, ...) copies them.
    External,
}

/// A compression codec of Kafka record batches, by its name in plans, in librdkafka's
/// `compression.type` and in Kafka's topic config `compression.type` (which says `uncompressed` for
/// [`Compression::None`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    /// Every codec, in the order messages list them.
    pub const ALL: [Compression; 5] =
        [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd];

    /// `none`, `gzip`, `snappy`, `lz4`, `zstd`.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }

    /// The codec of a plan's or librdkafka's name (exact, lowercase).
    pub fn from_name(name: &str) -> Option<Compression> {
        Compression::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `sync.compression` as the plan states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompressionChoice {
    pub codec: Compression,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cutover {
    pub mode: CutoverMode,
    /// Moves the cutover time T earlier by this much (clock skew between producers). Default 0.
    pub margin: Duration,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CutoverMode {
    /// The operator states T.
    At(DateTime<FixedOffset>),
    /// apply pauses at a gate until `--approve cutover`; T is then read from the source.
    Manual,
    /// T is detected once the source topics have received nothing for `idle`.
    Detect { idle: Duration },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OffsetStore {
    BrokerManaged,
    SelfStored,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Loss {
    Tolerant,
    Strict,
}

/// One consumer group, with the defaults already applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSpec {
    pub id: String,
    pub offsets: OffsetStore,
    pub loss: Loss,
    /// Where a self-stored group's target offsets are written (CSV `topic,partition,offset`,
    /// plus JSON beside it). Required for self-stored groups. Relative to the plan file's directory.
    pub export: Option<PathBuf>,
    /// Explicit per-partition target offsets (`topic,partition,offset` CSV): the fallback when
    /// time-based lookups are impossible. Relative to the plan file's directory.
    pub from_file: Option<PathBuf>,
    /// The topics the group reads, when the plan narrows them; `None` = every plan topic the
    /// group has committed offsets for on the source (self-stored: every plan topic).
    pub topics: Option<Vec<String>>,
    /// Whether apply waits for the group to drain on the source (its committed offsets reach the
    /// end of every partition). Default: true for broker-managed groups, false for self-stored
    /// ones (their position is not visible on the broker unless the application also commits it).
    pub drain: bool,
    pub loc: Loc,
}

impl Plan {
    /// The plain topic names the plan lists (patterns excluded).
    pub fn named_topics(&self) -> impl Iterator<Item = &str> {
        self.topics.iter().filter_map(|t| match &t.selector {
            TopicSelector::Name(n) => Some(n.as_str()),
            TopicSelector::Pattern(_) => None,
        })
    }

    /// Whether kmigrate itself copies the data (`data: synced` + `sync.by: kmigrate`).
    pub fn copies_data(&self) -> bool {
        self.data == DataMode::Synced(SyncBy::Kmigrate)
    }

    /// Whether kmigrate runs MirrorMaker 2 to copy the data (`sync.by: mirrormaker2`).
    pub fn mirrors_data(&self) -> bool {
        self.data == DataMode::Synced(SyncBy::MirrorMaker2)
    }

    /// Whether another tool's copy is aligned for exact offsets (MirrorMaker 2 or `external`).
    pub fn aligns_copies(&self) -> bool {
        matches!(self.data, DataMode::Synced(SyncBy::MirrorMaker2 | SyncBy::External))
    }
}

impl Template {
    /// The names of the `${VAR}` references in the template, in order.
    pub fn references(&self) -> Vec<&str> {
        segments(&self.raw)
            .into_iter()
            .filter_map(|s| match s {
                Segment::Var(v) => Some(v),
                _ => None,
            })
            .collect()
    }

    /// Whether the template references any environment variable.
    pub fn is_literal(&self) -> bool {
        self.references().is_empty()
    }

    /// Substitutes every `${VAR}` with `lookup(VAR)`; `$$` becomes `$`.
    ///
    /// Returns every variable that `lookup` does not know, not only the first.
    pub fn resolve(&self, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, Vec<MissingVar>> {
        let mut out = String::with_capacity(self.raw.len());
        let mut missing = Vec::new();
        for segment in segments(&self.raw) {
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Var(var) => match lookup(var) {
                    Some(v) => out.push_str(&v),
                    None => missing.push(MissingVar { var: var.to_string(), loc: self.loc }),
                },
                // Rejected by validation; kept as written should it ever get here.
                Segment::Unclosed(rest) => {
                    out.push_str("${");
                    out.push_str(rest);
                }
            }
        }
        if missing.is_empty() { Ok(out) } else { Err(missing) }
    }
}

impl std::fmt::Display for DataMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DataMode::Synced(SyncBy::Kmigrate) => "synced (by kmigrate)",
            DataMode::Synced(SyncBy::MirrorMaker2) => "synced (by MirrorMaker 2)",
            DataMode::Synced(SyncBy::External) => "synced (by an external tool)",
            DataMode::NotSynced => "not-synced",
            DataMode::DualWrite => "dual-write",
        })
    }
}

impl std::fmt::Display for OffsetStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OffsetStore::BrokerManaged => "broker-managed",
            OffsetStore::SelfStored => "self-stored",
        })
    }
}

impl std::fmt::Display for Loss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Loss::Tolerant => "tolerant",
            Loss::Strict => "strict",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(raw: &str) -> Template {
        Template { raw: raw.into(), loc: Loc::default() }
    }

    #[test]
    fn templates_resolve_and_report_every_missing_variable() {
        let env = |k: &str| (k == "USER").then(|| "alice".to_string());
        assert_eq!(t("${USER}-x$$y").resolve(&env).unwrap(), "alice-x$y");
        let err = t("${A}:${USER}:${B}").resolve(&env).unwrap_err();
        let names: Vec<_> = err.iter().map(|m| m.var.as_str()).collect();
        assert_eq!(names, ["A", "B"]);
        assert_eq!(t("a ${X} $$ ${Y}").references(), ["X", "Y"]);
        assert!(t("plain $ text").is_literal());
    }
}
