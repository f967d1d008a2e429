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
    pub data: Option<S<Scalar>>,
    pub sync: Option<S<RawSync>>,
    pub cutover: Option<S<RawCutover>>,
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
    pub partitions: Option<S<Scalar>>,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawData {
    Synced,
    NotSynced,
    DualWrite,
}

impl RawData {
    pub const CHOICES: &[(&str, RawData)] = &[
        ("synced", RawData::Synced),
        ("not-synced", RawData::NotSynced),
        ("dual-write", RawData::DualWrite),
    ];
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename = "sync")]
pub(crate) struct RawSync {
    pub by: Option<S<Scalar>>,
    /// Checked semantically (every problem reported together, with help for Kafka's own words).
    pub compression: Option<S<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawSyncBy {
    Kmigrate,
    External,
}

impl RawSyncBy {
    pub const CHOICES: &[(&str, RawSyncBy)] =
        &[("kmigrate", RawSyncBy::Kmigrate), ("external", RawSyncBy::External)];
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename = "cutover")]
pub(crate) struct RawCutover {
    pub at: Option<S<String>>,
    pub manual: Option<S<Scalar>>,
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
    pub offsets: Option<S<Scalar>>,
    pub loss: Option<S<Scalar>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawOffsets {
    BrokerManaged,
    SelfStored,
}

impl RawOffsets {
    pub const CHOICES: &[(&str, RawOffsets)] =
        &[("broker-managed", RawOffsets::BrokerManaged), ("self-stored", RawOffsets::SelfStored)];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawLoss {
    Tolerant,
    Strict,
}

impl RawLoss {
    pub const CHOICES: &[(&str, RawLoss)] = &[("tolerant", RawLoss::Tolerant), ("strict", RawLoss::Strict)];
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename = "group")]
pub(crate) struct RawGroup {
    pub id: Option<S<String>>,
    pub offsets: Option<S<Scalar>>,
    pub loss: Option<S<Scalar>>,
    pub export: Option<S<String>>,
    pub from_file: Option<S<String>>,
    pub topics: Option<S<Vec<S<String>>>>,
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
