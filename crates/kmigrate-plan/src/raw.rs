//! The plan file as written: serde structs that mirror the YAML, with a source span on every
//! value that a later semantic check may need to point at.
//!
//! Everything a semantic check reports on is optional here, so that a missing key becomes a
//! located diagnostic reported together with the others instead of stopping the parse.
//! No `flatten`/`untagged` (serde would buffer the values and lose their spans): a topic
//! entry (a string or a mapping) has a hand-written visitor instead.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use serde_saphyr::Spanned;

pub(crate) type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename = "plan")]
pub(crate) struct RawPlan {
    /// Kept as text so that `version: "1"`, `version: 2` and `version: one` all reach the
    /// semantic check with their location.
    pub version: Option<S<String>>,
    pub name: Option<S<String>>,
    pub source: Option<S<RawCluster>>,
    pub target: Option<S<RawCluster>>,
    pub topics: Option<S<Vec<S<RawTopic>>>>,
    pub data: Option<S<RawData>>,
    pub sync: Option<S<RawSync>>,
    pub cutover: Option<S<RawCutover>>,
    pub consumers: Option<S<RawConsumers>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename = "cluster")]
pub(crate) struct RawCluster {
    pub bootstrap_servers: Option<S<String>>,
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
#[derive(Debug)]
pub(crate) enum RawTopic {
    /// `- orders`; located by the enclosing `Spanned`.
    Short(String),
    Full(Box<RawTopicMap>),
    /// `-` with nothing after it.
    Empty,
}

#[derive(Debug, Default)]
pub(crate) struct RawTopicMap {
    pub name: Option<S<String>>,
    pub pattern: Option<S<String>>,
    pub partitions: Option<S<i64>>,
    pub config: Option<S<Pairs>>,
}

const TOPIC_FIELDS: &[&str] = &["name", "pattern", "partitions", "config"];

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", rename = "data")]
pub(crate) enum RawData {
    Synced,
    NotSynced,
    DualWrite,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename = "sync")]
pub(crate) struct RawSync {
    pub by: Option<S<RawSyncBy>>,
    /// Checked semantically (every problem reported together, with help for Kafka's own words).
    pub compression: Option<S<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", rename = "sync.by")]
pub(crate) enum RawSyncBy {
    Kmigrate,
    External,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename = "cutover")]
pub(crate) struct RawCutover {
    pub at: Option<S<String>>,
    pub manual: Option<S<bool>>,
    pub detect: Option<S<RawDetect>>,
    pub margin: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename = "detect")]
pub(crate) struct RawDetect {
    pub idle: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename = "consumers")]
pub(crate) struct RawConsumers {
    pub defaults: Option<S<RawDefaults>>,
    pub groups: Option<S<Vec<S<RawGroup>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename = "defaults")]
pub(crate) struct RawDefaults {
    pub offsets: Option<S<RawOffsets>>,
    pub loss: Option<S<RawLoss>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", rename = "offsets")]
pub(crate) enum RawOffsets {
    BrokerManaged,
    SelfStored,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", rename = "loss")]
pub(crate) enum RawLoss {
    Tolerant,
    Strict,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename = "group")]
pub(crate) struct RawGroup {
    pub id: Option<S<String>>,
    pub offsets: Option<S<RawOffsets>>,
    pub loss: Option<S<RawLoss>>,
    pub export: Option<S<String>>,
    pub from_file: Option<S<String>>,
    pub topics: Option<S<Vec<S<String>>>>,
    pub drain: Option<S<bool>>,
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
