//! The plan file as written: serde structs that mirror the YAML, with a source span on every
//! value that a later semantic check may need to point at.
//!
//! Everything a semantic check reports on is optional here, so that a missing key becomes a
//! located diagnostic reported together with the others instead of stopping the parse.
//! No `flatten`/`untagged` (serde would buffer the values and lose their spans): a topic
//! entry (a string or a mapping) has a hand-written visitor instead.
//!
//! Typed values (a choice such as `data: synced`, a boolean, a number) are read as [`Scalar`],
//! whatever was written, and converted by the semantic checks: a wrong value is then one located
//! diagnostic among the others instead of an error that stops the parse.
//!
//! The same types generate the plan's JSON Schema ([`crate::schema`]): their doc comments are its
//! descriptions (written for the plan's author), and each `#[schemars(with = ...)]` says what a
//! `Spanned` or lenient `Scalar` value must hold for validation to accept it.

use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use serde_saphyr::Spanned;

mod schemas;

use schemas::{Choice, Codec, PlanVersion};

pub(crate) type S<T> = Spanned<T>;

/// A kmigrate plan (format version 1): which topics and consumer groups move from the source
/// cluster to the target, whether their old records are copied, when producers switch, and where
/// each group starts on the target. `kmigrate validate PLAN` checks it; `kmigrate plan PLAN` shows
/// what `kmigrate apply PLAN` would do.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "plan")]
#[schemars(transform = schemas::sync_only_when_synced)]
pub(crate) struct RawPlan {
    /// The plan format version: `1`.
    // The schema wants the number 1; the parser keeps the text so that `version: "1"`, `version: 2` and `version: one` all reach the
    // semantic check with their location.
    #[schemars(with = "PlanVersion")]
    pub version: Option<S<String>>,
    /// The migration's name: lowercase letters, digits, `.`, `_` and `-` (e.g. `orders-to-new`).
    /// It names the checkpoint state (`.kmigrate/<name>.state.json` beside the plan).
    #[schemars(with = "String", regex(pattern = NAME_PATTERN))]
    pub name: Option<S<String>>,
    /// The cluster the topics and consumer groups move away from.
    #[schemars(with = "RawCluster")]
    pub source: Option<S<RawCluster>>,
    /// The cluster they move to.
    #[schemars(with = "RawCluster")]
    pub target: Option<S<RawCluster>>,
    /// The topics to create (or check) on the target: a name (`- orders`), or a mapping with a
    /// `name` or a `pattern` and optional `partitions` and `config`.
    #[schemars(with = "Vec<RawTopic>", length(min = 1))]
    pub topics: Option<S<Vec<S<RawTopic>>>>,
    /// Whether the old records reach the target: `synced` (they are copied; say by whom in
    /// `sync`), `not-synced` (they are not) or `dual-write` (producers write to both clusters).
    #[schemars(with = "Choice<RawData>")]
    pub data: Option<S<Scalar>>,
    /// Who copies the old records (only with `data: synced`, and then required).
    #[schemars(with = "Option<RawSync>")]
    pub sync: Option<S<RawSync>>,
    /// The producer cutover: the time T that separates records produced to the source from
    /// records produced to the target. Exactly one of `at`, `manual: true` or `detect`.
    #[schemars(with = "RawCutover")]
    pub cutover: Option<S<RawCutover>>,
    /// The consumer groups to move, and where each starts on the target.
    #[schemars(with = "Option<RawConsumers>")]
    pub consumers: Option<S<RawConsumers>>,
}

/// A value as written: a scalar's text (`12`, `true`, `synced`), or what stands there instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scalar {
    Text(String),
    Null,
    Mapping,
    List,
}

impl Scalar {
    /// What was written, for messages: `` `yes` ``, "a mapping", ...
    pub fn describe(&self) -> String {
        match self {
            Scalar::Text(t) => format!("`{t}`"),
            Scalar::Null => "nothing".to_owned(),
            Scalar::Mapping => "a mapping".to_owned(),
            Scalar::List => "a list".to_owned(),
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar::Text(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Text(v.to_string()))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Scalar, E> {
                Ok(Scalar::Text(v.to_string()))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Scalar, E> {
                Ok(Scalar::Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Text(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar::Null)
            }
            fn visit_some<D2: de::Deserializer<'de>>(self, d: D2) -> Result<Scalar, D2::Error> {
                Scalar::deserialize(d)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
                while map.next_entry::<de::IgnoredAny, de::IgnoredAny>()?.is_some() {}
                Ok(Scalar::Mapping)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(Scalar::List)
            }
        }
        d.deserialize_any(ScalarVisitor)
    }
}

/// How to reach a cluster.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "cluster")]
pub(crate) struct RawCluster {
    /// The brokers as `host:port`, comma-separated (e.g. `"old-1:9092,old-2:9092"`); may hold
    /// `${VAR}` references.
    #[schemars(with = "String", length(min = 1))]
    pub bootstrap_servers: Option<S<String>>,
    /// Client properties passed to the Kafka client (librdkafka) as they are, e.g.
    /// `security.protocol: SASL_SSL`. Write every secret as a `${VAR}`, read from the
    /// environment at run time and never stored or logged.
    #[schemars(with = "Option<Pairs>")]
    pub properties: Option<S<Pairs>>,
}

/// A mapping of scalar keys to scalar values, in file order, every key and value located.
/// Values keep their text as written (`retries: 5` gives "5"); `None` is a YAML null.
#[derive(Debug, Default)]
pub(crate) struct Pairs(pub Vec<(S<String>, S<Option<String>>)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct PairsVisitor;
        impl<'de> Visitor<'de> for PairsVisitor {
            type Value = Pairs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of `key: value` settings")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Pairs, E> {
                Ok(Pairs::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<S<String>>()? {
                    let value = map.next_value::<S<Option<String>>>()?;
                    out.push((key, value));
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_map(PairsVisitor)
    }
}

/// One `topics:` entry: `- orders` or `- {name|pattern, partitions, config}`.
/// Its schema (a string or a mapping) is written in `raw/schemas.rs`.
#[derive(Debug)]
pub(crate) enum RawTopic {
    /// `- orders`; located by the enclosing `Spanned`.
    Short(String),
    Full(Box<RawTopicMap>),
    /// `-` with nothing after it.
    Empty,
}

/// A topic with settings of its own: exactly one of `name` or `pattern`.
// Read by `RawTopic`'s visitor, which knows its fields (`TOPIC_FIELDS`); the schema derived here
// lists the same (a unit test in `schema` checks it).
#[derive(Debug, Default, JsonSchema)]
#[schemars(deny_unknown_fields, rename = "topic_mapping")]
#[schemars(extend("oneOf" = [{ "required": ["name"] }, { "required": ["pattern"] }]))]
pub(crate) struct RawTopicMap {
    /// The topic's name.
    #[schemars(with = "Option<String>", length(min = 1))]
    pub name: Option<S<String>>,
    /// A regular expression selecting every source topic it matches, anchored with `^...$`
    /// (e.g. `'^audit\.[a-z-]+$'`); internal topics never match.
    #[schemars(with = "Option<String>", length(min = 1))]
    pub pattern: Option<S<String>>,
    /// The partition count on the target; default: the source's count. Never fewer than the
    /// source's.
    #[schemars(with = "Option<u32>", range(min = 1, max = u32::MAX))]
    pub partitions: Option<S<Scalar>>,
    /// Topic configs set on the target on top of the source topic's non-default configs, e.g.
    /// `retention.ms: "604800000"`.
    #[schemars(with = "Option<Pairs>")]
    pub config: Option<S<Pairs>>,
}

/// What a plan's `name` must match (it names the checkpoint state on disk): validation checks it,
/// the schema states it.
pub(crate) const NAME_PATTERN: &str = r"^[a-z0-9._-]+$";
/// What `sync.connect.name_prefix` must match (connector names go into REST URLs).
pub(crate) const CONNECTOR_PREFIX_PATTERN: &str = r"^[A-Za-z0-9._-]+$";

pub(crate) const TOPIC_FIELDS: &[&str] = &["name", "pattern", "partitions", "config"];

impl<'de> Deserialize<'de> for RawTopic {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TopicVisitor;
        impl<'de> Visitor<'de> for TopicVisitor {
            type Value = RawTopic;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a topic name or a mapping with `name` or `pattern`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawTopic, E> {
                Ok(RawTopic::Short(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<RawTopic, E> {
                Ok(RawTopic::Short(v))
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawTopic, E> {
                Ok(RawTopic::Empty)
            }
            fn visit_none<E: de::Error>(self) -> Result<RawTopic, E> {
                Ok(RawTopic::Empty)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawTopic, A::Error> {
                let mut t = RawTopicMap::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "name" => t.name = map.next_value()?,
                        "pattern" => t.pattern = map.next_value()?,
                        "partitions" => t.partitions = map.next_value()?,
                        "config" => t.config = map.next_value()?,
                        other => return Err(de::Error::unknown_field(other, TOPIC_FIELDS)),
                    }
                }
                Ok(RawTopic::Full(Box::new(t)))
            }
        }
        // Scalars such as `- 2024` arrive as strings: the deserializer keeps their text.
        d.deserialize_any(TopicVisitor)
    }
}

/// The values a choice key accepts, as written in the plan, each with the value it reads as.
/// Semantic validation reads them; the schema lists them ([`Choice`]).
pub(crate) trait Choices: Copy + 'static {
    const CHOICES: &'static [(&'static str, Self)];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawData {
    Synced,
    NotSynced,
    DualWrite,
}

impl Choices for RawData {
    const CHOICES: &'static [(&'static str, RawData)] = &[
        ("synced", RawData::Synced),
        ("not-synced", RawData::NotSynced),
        ("dual-write", RawData::DualWrite),
    ];
}

/// Who copies the old records to the target.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "sync")]
#[schemars(transform = schemas::sync_rules)]
pub(crate) struct RawSync {
    /// `kmigrate`: the plan copies every record (same partition, key, value, headers and
    /// timestamp), so a strict group starts exactly at its first unread record; `mirrormaker2`:
    /// kmigrate runs MirrorMaker 2 on an existing Kafka Connect cluster (`connect`) to copy them;
    /// `external`: another tool copies them. With `mirrormaker2` and `external`, strict groups
    /// start exactly from the two logs aligned record by record.
    #[schemars(with = "Choice<RawSyncBy>")]
    pub by: Option<S<Scalar>>,
    /// The codec kmigrate's copy writes with (only with `by: kmigrate`); default: the target
    /// topic's own `compression.type`, else `lz4`.
    // Checked semantically (every problem reported together, with help for Kafka's own words).
    #[schemars(with = "Option<Codec>")]
    pub compression: Option<S<String>>,
    /// The Kafka Connect cluster (distributed mode) that runs MirrorMaker 2 (only with
    /// `by: mirrormaker2`, and then required).
    #[schemars(with = "Option<RawConnect>")]
    pub connect: Option<S<RawConnect>>,
}

/// The Kafka Connect cluster that runs MirrorMaker 2's connectors for the plan.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "connect")]
pub(crate) struct RawConnect {
    /// The Connect REST API's URL, `http://` or `https://` (e.g. `"http://connect-1:8083"`);
    /// may hold `${VAR}` references.
    #[schemars(with = "String", length(min = 1))]
    pub url: Option<S<String>>,
    /// The start of the connectors' names: `<name_prefix>-source` and `<name_prefix>-checkpoint`;
    /// default: `kmigrate-<plan name>`.
    #[schemars(with = "Option<String>", regex(pattern = CONNECTOR_PREFIX_PATTERN))]
    pub name_prefix: Option<S<String>>,
    /// The source connector's `tasks.max` (records are copied by at most this many tasks, one
    /// or more partitions each); default: the Connect cluster's default (1).
    #[schemars(with = "Option<u32>", range(min = 1, max = 10_000))]
    pub tasks: Option<S<Scalar>>,
    /// Connector config set on top of what kmigrate renders (e.g.
    /// `source.cluster.ssl.truststore.location`, `producer.override.compression.type`); secrets
    /// as `${VAR}`.
    #[schemars(with = "Option<Pairs>")]
    pub properties: Option<S<Pairs>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawSyncBy {
    Kmigrate,
    MirrorMaker2,
    External,
}

impl Choices for RawSyncBy {
    const CHOICES: &'static [(&'static str, RawSyncBy)] = &[
        ("kmigrate", RawSyncBy::Kmigrate),
        ("mirrormaker2", RawSyncBy::MirrorMaker2),
        ("external", RawSyncBy::External),
    ];
}

/// When the producers switch to the target: exactly one of `at`, `manual: true` or `detect`,
/// and an optional `margin`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "cutover")]
#[schemars(extend("oneOf" = [
    { "required": ["at"] },
    { "required": ["manual"], "properties": { "manual": { "const": true } } },
    { "required": ["detect"] },
]))]
pub(crate) struct RawCutover {
    /// The cutover time, stated: an RFC 3339 date-time with its UTC offset (e.g.
    /// `"2026-11-25T02:00:00+08:00"`; a time without an offset is refused).
    #[schemars(with = "Option<String>", extend("format" = "date-time"))]
    pub at: Option<S<String>>,
    /// `true`: apply pauses at a gate until `kmigrate apply PLAN --approve cutover`, given once
    /// the producers write to the target; the cutover time is the newest record on the source.
    #[schemars(with = "Option<bool>")]
    pub manual: Option<S<Scalar>>,
    /// The cutover is detected when the source topics have received nothing for `idle`.
    #[schemars(with = "Option<RawDetect>")]
    pub detect: Option<S<RawDetect>>,
    /// Moves the cutover time earlier by this duration (e.g. `5s`; default `0s`), for clock
    /// skew between producers: a strict group may see a few records twice, never miss one.
    #[schemars(with = "Option<String>")]
    pub margin: Option<S<String>>,
}

/// Detect the cutover: the source topics have received nothing for `idle`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "detect")]
pub(crate) struct RawDetect {
    /// How long the source topics must stay quiet (a duration such as `60s` or `5m`, longer than
    /// the producers' quietest normal gap).
    #[schemars(with = "String")]
    pub idle: Option<S<String>>,
}

/// The consumer groups that move, with the defaults they share.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "consumers")]
pub(crate) struct RawConsumers {
    /// `offsets` and `loss` for every group that does not set its own.
    #[schemars(with = "Option<RawDefaults>")]
    pub defaults: Option<S<RawDefaults>>,
    /// The consumer groups, each by its `id` (the application's `group.id`).
    #[schemars(with = "Option<Vec<RawGroup>>")]
    pub groups: Option<S<Vec<S<RawGroup>>>>,
}

/// Settings every group inherits unless it sets its own.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "defaults")]
pub(crate) struct RawDefaults {
    /// Where the groups' offsets are stored: `broker-managed` (committed to Kafka) or
    /// `self-stored` (the application keeps them in its own store; kmigrate writes them to an
    /// `export` file).
    #[schemars(with = "Option<Choice<RawOffsets>>")]
    pub offsets: Option<S<Scalar>>,
    /// Whether the groups may miss a few records at the switch: `tolerant` or `strict`.
    #[schemars(with = "Option<Choice<RawLoss>>")]
    pub loss: Option<S<Scalar>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawOffsets {
    BrokerManaged,
    SelfStored,
}

impl Choices for RawOffsets {
    const CHOICES: &'static [(&'static str, RawOffsets)] =
        &[("broker-managed", RawOffsets::BrokerManaged), ("self-stored", RawOffsets::SelfStored)];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawLoss {
    Tolerant,
    Strict,
}

impl Choices for RawLoss {
    const CHOICES: &'static [(&'static str, RawLoss)] =
        &[("tolerant", RawLoss::Tolerant), ("strict", RawLoss::Strict)];
}

/// A consumer group that moves to the target.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "group")]
pub(crate) struct RawGroup {
    /// The group's id (the application's `group.id`).
    #[schemars(with = "String", length(min = 1))]
    pub id: Option<S<String>>,
    /// Where this group's offsets are stored: `broker-managed` or `self-stored`; default:
    /// `consumers.defaults.offsets`.
    #[schemars(with = "Option<Choice<RawOffsets>>")]
    pub offsets: Option<S<Scalar>>,
    /// Whether this group may miss a few records at the switch: `tolerant` or `strict`; default:
    /// `consumers.defaults.loss`.
    #[schemars(with = "Option<Choice<RawLoss>>")]
    pub loss: Option<S<Scalar>>,
    /// For a `self-stored` group: the file kmigrate writes the group's target offsets to, as
    /// `topic,partition,offset` CSV (the format of `kafka-consumer-groups --from-file`),
    /// relative to the plan's directory.
    #[schemars(with = "Option<String>", length(min = 1))]
    pub export: Option<S<String>>,
    /// Explicit per-partition target offsets, as `topic,partition,offset` CSV relative to the
    /// plan's directory: the fallback when records carry no timestamps to look them up by time.
    #[schemars(with = "Option<String>", length(min = 1))]
    pub from_file: Option<S<String>>,
    /// The topics this group reads, by name from `topics`; default: every plan topic the group
    /// has committed offsets for on the source.
    #[schemars(with = "Option<Vec<String>>", length(min = 1))]
    pub topics: Option<S<Vec<S<String>>>>,
    /// Wait until the group has consumed everything on the source before positioning it on the
    /// target; default: `true` for a broker-managed group, `false` for a self-stored one.
    #[schemars(with = "Option<bool>")]
    pub drain: Option<S<Scalar>>,
}

/// Deserialises the whole document. `Ok(None)` for an empty document.
pub(crate) fn from_str(text: &str) -> Result<Option<S<RawPlan>>, serde_saphyr::Error> {
    let options = serde_saphyr::options! {
        // We render our own snippets with miette.
        with_snippet: false,
        // Explicit although it is the default: a repeated key is an error, never silently
        // last-wins (a plan with two `cutover:` blocks must not be guessed at).
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
    };
    serde_saphyr::from_str_with_options::<Option<S<RawPlan>>>(text, options)
}
