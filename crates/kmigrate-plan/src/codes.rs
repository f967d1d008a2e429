//! The stable diagnostic codes ([`crate::PlanDiagnostic::code`]).
//!
//! Codes never change meaning once published: scripts match on them (`--format json`).

// --- YAML / schema (reported by the deserializer; parsing stops at the first one) -----------

/// The file is not valid YAML (indentation, unclosed quote or bracket, ...).
pub const SYNTAX: &str = "plan::syntax";
/// A key that the plan format does not know (often a typo).
pub const UNKNOWN_KEY: &str = "plan::unknown-key";
/// The same key twice in one mapping.
pub const DUPLICATE_KEY: &str = "plan::duplicate-key";
/// A value of the wrong kind (a list where a mapping is expected, text where a number is, ...).
pub const TYPE: &str = "plan::type";
/// A value outside a fixed set (`data`, `sync.by`, `offsets`, `loss`).
pub const INVALID_VALUE: &str = "plan::invalid-value";
/// A required key is absent.
pub const MISSING_KEY: &str = "plan::missing-key";

// --- semantic checks (all reported together) ---------------------------------------------------

/// The file holds no plan at all (empty, or only comments).
pub const EMPTY: &str = "plan::empty";
/// `version` missing or not 1.
pub const VERSION: &str = "plan::version";
/// `name` not matching `[a-z0-9._-]+`.
pub const NAME: &str = "plan::name";
/// Empty or malformed `bootstrap_servers`.
pub const CLUSTER_BOOTSTRAP: &str = "plan::cluster::bootstrap";
/// Source and target name the same brokers.
pub const CLUSTER_SAME: &str = "plan::cluster::same";
/// A client property key that is empty or must not be set there (`bootstrap.servers`).
pub const PROPERTY_KEY: &str = "plan::property::key";
/// A client property without a value (YAML null).
pub const PROPERTY_VALUE: &str = "plan::property::value";
/// Warning: a secret written in plain text instead of a `${VAR}` reference.
pub const PROPERTY_SECRET: &str = "plan::property::secret";
/// A malformed `${VAR}` reference (unclosed, empty, invalid name).
pub const TEMPLATE: &str = "plan::template";
/// `topics` missing or empty.
pub const TOPICS_EMPTY: &str = "plan::topics::empty";
/// A topic entry with both `name` and `pattern`, or neither.
pub const TOPIC_SELECTOR: &str = "plan::topic::selector";
/// A topic name Kafka would refuse, or an internal topic.
pub const TOPIC_NAME: &str = "plan::topic::name";
/// A `pattern` that is not a valid regular expression.
pub const TOPIC_PATTERN: &str = "plan::topic::pattern";
/// Warning: a `pattern` without `^`/`$` anchors (it matches anywhere in a name).
pub const TOPIC_PATTERN_UNANCHORED: &str = "plan::topic::pattern-unanchored";
/// The same topic name (or pattern) listed twice.
pub const TOPIC_DUPLICATE: &str = "plan::topic::duplicate";
/// `partitions` below 1.
pub const TOPIC_PARTITIONS: &str = "plan::topic::partitions";
/// An empty key in a topic's `config`.
pub const TOPIC_CONFIG: &str = "plan::topic::config";
/// Warning: a named topic is also matched by a pattern in the plan.
pub const TOPIC_OVERLAP: &str = "plan::topic::overlap";
/// Warning: two topic names differ only by `.` versus `_` (Kafka metric names collide).
pub const TOPIC_COLLISION: &str = "plan::topic::collision";
/// `sync` given without `data: synced`, `data: synced` without `sync`, or `sync.by` missing.
pub const DATA_SYNC: &str = "plan::data::sync";
/// `sync.compression` not one of `none`, `gzip`, `snappy`, `lz4`, `zstd`, or given without `by: kmigrate`.
pub const SYNC_COMPRESSION: &str = "plan::sync::compression";
/// `sync.connect` given without `by: mirrormaker2` or missing with it; its `url`, `name_prefix`,
/// `tasks` or `properties` malformed, or a property kmigrate sets itself.
pub const SYNC_CONNECT: &str = "plan::sync::connect";
/// Warning: `data: dual-write` with a strict group (duplicates at the switch).
pub const DATA_DUAL_WRITE_STRICT: &str = "plan::data::dual-write-strict";
/// Not exactly one of `cutover.at` / `manual` / `detect`.
pub const CUTOVER_MODE: &str = "plan::cutover::mode";
/// `cutover.at` is not an RFC 3339 date-time.
pub const CUTOVER_AT: &str = "plan::cutover::at";
/// `cutover.at` has no UTC offset.
pub const CUTOVER_TIMEZONE: &str = "plan::cutover::timezone";
/// `cutover.detect.idle` missing, not a duration, or zero.
pub const CUTOVER_IDLE: &str = "plan::cutover::idle";
/// `cutover.margin` is not a duration.
pub const CUTOVER_MARGIN: &str = "plan::cutover::margin";
/// A group without an `id`, or with an empty one.
pub const GROUP_ID: &str = "plan::group::id";
/// The same group id listed twice.
pub const GROUP_DUPLICATE: &str = "plan::group::duplicate";
/// A self-stored group without `export`, or an empty `export` path.
pub const GROUP_EXPORT: &str = "plan::group::export";
/// One `export` path used by two groups.
pub const GROUP_EXPORT_DUPLICATE: &str = "plan::group::export-duplicate";
/// Warning: `export` on a broker-managed group (its offsets are committed on the target).
pub const GROUP_EXPORT_UNUSED: &str = "plan::group::export-unused";
/// An empty `from_file` path, or one that is also an `export` path.
pub const GROUP_FROM_FILE: &str = "plan::group::from-file";
/// A group's `topics` list that is empty, repeats a name, or names a topic not in the plan.
pub const GROUP_TOPICS: &str = "plan::group::topics";
/// Warning: `drain: false` on a strict group whose position is found by time.
pub const GROUP_DRAIN: &str = "plan::group::drain";

// --- found later, by other crates ---------------------------------------------------------------

/// A `${VAR}` whose environment variable is not set (see [`crate::missing_var_diagnostic`]).
pub const ENV_MISSING: &str = "plan::env::missing";
