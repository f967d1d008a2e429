//! Topic configs: read many at once (DescribeConfigs), change them (IncrementalAlterConfigs).
//!
//! "Non-default" follows Apache Kafka: a config is a topic override when its source is
//! `DYNAMIC_TOPIC_CONFIG` (what `kafka-configs --describe --entity-type topics` lists). Configs inherited
//! from the broker (static or dynamic broker configs) or Kafka's defaults are not copied to the target: the
//! target's own broker settings apply there.
//!
//! tansu 0.6 differs: DescribeConfigs returns only the configs set explicitly at creation, and flags them
//! all `DEFAULT_CONFIG`. kmigrate reports them as defaults (it is built for Apache Kafka and does not guess):
//! against tansu, [`TopicConfig::overrides`] is empty.

use std::collections::BTreeMap;
use std::time::Instant;

use rdkafka::admin::{ConfigSource as RdConfigSource, ResourceSpecifier};
use rdkafka::types::RDKafkaErrorCode;
use serde::{Deserialize, Serialize};

use crate::client::Cluster;
use crate::error::{Error, Result};
use crate::ffi::{self, ConfigOp};

/// Where a config value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConfigSource {
    /// Set on the topic (an override).
    DynamicTopic,
    /// A dynamic config of the broker.
    DynamicBroker,
    /// The dynamic default of all brokers.
    DynamicDefaultBroker,
    /// The broker's server.properties.
    StaticBroker,
    /// Kafka's built-in default.
    Default,
    /// The broker did not say (brokers before Kafka 1.1).
    Unknown,
}

/// One config entry of a topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigValue {
    /// `None` for sensitive configs (the broker does not return their values).
    pub value: Option<String>,
    pub source: ConfigSource,
    pub is_default: bool,
    pub is_read_only: bool,
    pub is_sensitive: bool,
}

impl ConfigValue {
    /// Whether this config was set on the topic itself.
    pub fn is_override(&self) -> bool {
        self.source == ConfigSource::DynamicTopic
    }
}

/// The configs of one topic, by name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TopicConfig {
    pub entries: BTreeMap<String, ConfigValue>,
}

impl TopicConfig {
    /// The topic's overrides (source `DYNAMIC_TOPIC_CONFIG`) with their values: what must be copied to a
    /// target topic.
    pub fn overrides(&self) -> BTreeMap<String, String> {
        self.entries
            .iter()
            .filter(|(_, v)| v.is_override())
            .filter_map(|(k, v)| Some((k.clone(), v.value.clone()?)))
            .collect()
    }
}

/// A change of one topic config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConfigChange {
    /// Set the config on the topic.
    Set { name: String, value: String },
    /// Remove the topic override (the broker's value applies again).
    Delete { name: String },
}

impl ConfigChange {
    pub fn set(name: impl Into<String>, value: impl Into<String>) -> Self {
        ConfigChange::Set { name: name.into(), value: value.into() }
    }

    pub fn delete(name: impl Into<String>) -> Self {
        ConfigChange::Delete { name: name.into() }
    }
}

fn source(s: &RdConfigSource) -> ConfigSource {
    match s {
        RdConfigSource::DynamicTopic => ConfigSource::DynamicTopic,
        RdConfigSource::DynamicBroker => ConfigSource::DynamicBroker,
        RdConfigSource::DynamicDefaultBroker => ConfigSource::DynamicDefaultBroker,
        RdConfigSource::StaticBroker => ConfigSource::StaticBroker,
        RdConfigSource::Default => ConfigSource::Default,
        RdConfigSource::Unknown => ConfigSource::Unknown,
    }
}

impl Cluster {
    /// Reads the configs of many topics in one DescribeConfigs request. [`Error::TopicNotFound`] names a
    /// topic that does not exist.
    pub async fn describe_topic_configs(&self, topics: &[&str]) -> Result<BTreeMap<String, TopicConfig>> {
        if topics.is_empty() {
            return Ok(BTreeMap::new());
        }
        let started = Instant::now();
        let specs: Vec<ResourceSpecifier<'_>> = topics.iter().map(|t| ResourceSpecifier::Topic(t)).collect();
        let results = self
            .with_deadline(
                "describing topic configs",
                self.inner.admin.describe_configs(specs.iter(), &self.admin_options()),
            )
            .await?
            .map_err(|e| self.kafka_error("describing topic configs", &e, started.elapsed()))?;
        let mut out = BTreeMap::new();
        let mut errors = Vec::new();
        for (topic, result) in topics.iter().zip(results) {
            match result {
                Ok(resource) => {
                    let entries = resource
                        .entries
                        .iter()
                        .map(|e| {
                            (
                                e.name.clone(),
                                ConfigValue {
                                    value: e.value.clone(),
                                    source: source(&e.source),
                                    is_default: e.is_default,
                                    is_read_only: e.is_read_only,
                                    is_sensitive: e.is_sensitive,
                                },
                            )
                        })
                        .collect();
                    out.insert(topic.to_string(), TopicConfig { entries });
                }
                Err(code) => errors.push(self.topic_code_error(topic, code, "describing configs of")),
            }
        }
        // rdkafka 0.39 does not surface per-resource errors of DescribeConfigs: a missing topic comes back as
        // an empty entry list. Apache Kafka always returns every config of an existing topic, tansu only the
        // ones set at creation (possibly none), so check empty answers against the metadata.
        let empty: Vec<&str> =
            out.iter().filter(|(_, c)| c.entries.is_empty()).map(|(t, _)| t.as_str()).collect();
        if !empty.is_empty() {
            let md = self.metadata().await?;
            for t in empty {
                if !md.topics.contains_key(t) {
                    errors
                        .push(Error::TopicNotFound { label: self.label().to_string(), topic: t.to_string() });
                }
            }
        }
        crate::error::collect(self.label(), "describing topic configs", errors)?;
        Ok(out)
    }

    /// Changes the configs of many topics in one IncrementalAlterConfigs request (only the named configs
    /// change; AlterConfigs, which replaces the whole set, is never used).
    pub async fn alter_topic_configs(&self, changes: &BTreeMap<String, Vec<ConfigChange>>) -> Result<()> {
        let request: Vec<(String, Vec<ConfigOp>)> = changes
            .iter()
            .filter(|(_, ops)| !ops.is_empty())
            .map(|(topic, ops)| {
                let ops = ops
                    .iter()
                    .map(|c| match c {
                        ConfigChange::Set { name, value } => ConfigOp::Set(name.clone(), value.clone()),
                        ConfigChange::Delete { name } => ConfigOp::Delete(name.clone()),
                    })
                    .collect();
                (topic.clone(), ops)
            })
            .collect();
        if request.is_empty() {
            return Ok(());
        }
        let timeout = self.request_timeout();
        let results = self
            .blocking(move |inner| {
                ffi::incremental_alter_topic_configs(inner.admin.inner(), &request, timeout)
            })
            .await
            .map_err(|e| self.ffi_error("changing topic configs", &e))?;
        let errors = results
            .into_iter()
            .filter_map(|(topic, err)| {
                let err = err?;
                Some(match err.code {
                    RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic => {
                        Error::TopicNotFound { label: self.label().to_string(), topic }
                    }
                    _ => self.ffi_error(&format!("changing configs of topic `{topic}`"), &err),
                })
            })
            .collect();
        crate::error::collect(self.label(), "changing topic configs", errors)?;
        tracing::info!(cluster = %self.label(), topics = changes.len(), "changed topic configs");
        Ok(())
    }

    pub(crate) fn topic_code_error(&self, topic: &str, code: RDKafkaErrorCode, what: &str) -> Error {
        match code {
            RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic => {
                Error::TopicNotFound { label: self.label().to_string(), topic: topic.to_string() }
            }
            code => crate::error::from_code(
                self.label(),
                &format!("{what} topic `{topic}`"),
                code,
                None,
                self.request_timeout(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(v: &str, source: ConfigSource) -> ConfigValue {
        ConfigValue {
            value: Some(v.into()),
            source,
            is_default: source == ConfigSource::Default,
            is_read_only: false,
            is_sensitive: false,
        }
    }

    #[test]
    fn overrides_are_topic_level_configs_only() {
        let cfg = TopicConfig {
            entries: BTreeMap::from([
                ("retention.ms".into(), value("1000", ConfigSource::DynamicTopic)),
                ("cleanup.policy".into(), value("delete", ConfigSource::Default)),
                ("segment.bytes".into(), value("1024", ConfigSource::StaticBroker)),
                ("max.message.bytes".into(), value("2048", ConfigSource::DynamicBroker)),
            ]),
        };
        assert_eq!(cfg.overrides(), BTreeMap::from([("retention.ms".to_string(), "1000".to_string())]));
    }
}
