//! Cluster metadata: cluster id, brokers, topics with their partitions and leaders.

use std::collections::BTreeMap;
use std::time::Instant;

use rdkafka::types::RDKafkaErrorCode;
use serde::{Deserialize, Serialize};

use crate::client::Cluster;
use crate::error::{Error, Result};

/// A broker of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BrokerInfo {
    pub id: i32,
    pub host: String,
    pub port: i32,
}

/// A partition of a topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionInfo {
    pub id: i32,
    /// The leader's broker id; -1 when the partition has no leader right now.
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

/// A topic with its partitions (sorted by id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicInfo {
    pub name: String,
    pub partitions: Vec<PartitionInfo>,
}

impl TopicInfo {
    pub fn partition_count(&self) -> usize {
        self.partitions.len()
    }
}

/// What the cluster's metadata says. Internal topics are never included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterMetadata {
    /// `None` if the broker does not report one (Metadata v2+ does).
    pub cluster_id: Option<String>,
    /// Sorted by id.
    pub brokers: Vec<BrokerInfo>,
    /// By topic name; internal topics excluded (see [`is_internal_topic`]).
    pub topics: BTreeMap<String, TopicInfo>,
}

/// Whether a topic is one of Kafka's internal topics (`__consumer_offsets`, `__transaction_state`, ...).
///
/// Apache Kafka flags exactly its own "__"-prefixed topics as internal in Metadata answers, but librdkafka's
/// public metadata API does not expose that flag; the name rule covers every topic Kafka flags, and also
/// excludes other "__" topics (e.g. tooling state), which kmigrate must not migrate either.
pub fn is_internal_topic(name: &str) -> bool {
    name.starts_with("__")
}

impl Cluster {
    /// Reads the cluster id, the brokers and every (non-internal) topic.
    pub async fn metadata(&self) -> Result<ClusterMetadata> {
        self.read_metadata(None).await
    }

    /// Reads the metadata of the given topics; [`Error::TopicNotFound`] names a topic that does not exist.
    pub async fn topics(&self, names: &[&str]) -> Result<BTreeMap<String, TopicInfo>> {
        let mut out = BTreeMap::new();
        if names.len() == 1 {
            // One topic: ask for it alone (cheaper on clusters with many topics).
            let md = self.read_metadata(Some(names[0].to_string())).await?;
            out.extend(md.topics);
        } else {
            let md = self.read_metadata(None).await?;
            for name in names {
                if let Some(t) = md.topics.get(*name) {
                    out.insert(name.to_string(), t.clone());
                }
            }
        }
        let mut missing: Vec<Error> = names
            .iter()
            .filter(|n| !out.contains_key(**n))
            .map(|n| Error::TopicNotFound { label: self.label().to_string(), topic: n.to_string() })
            .collect();
        if missing.len() == 1 {
            return Err(missing.remove(0));
        }
        crate::error::collect(self.label(), "reading topic metadata", missing)?;
        Ok(out)
    }

    async fn read_metadata(&self, topic: Option<String>) -> Result<ClusterMetadata> {
        let timeout = self.request_timeout();
        let started = Instant::now();
        let (md, cluster_id) = self
            .blocking(move |inner| {
                let client = inner.admin.inner();
                let md = client.fetch_metadata(topic.as_deref(), timeout)?;
                let brokers: Vec<BrokerInfo> = md
                    .brokers()
                    .iter()
                    .map(|b| BrokerInfo { id: b.id(), host: b.host().to_string(), port: b.port() })
                    .collect();
                let mut topics = BTreeMap::new();
                let mut errors = Vec::new();
                for t in md.topics() {
                    if let Some(err) = t.error() {
                        errors.push((t.name().to_string(), RDKafkaErrorCode::from(err)));
                        continue;
                    }
                    if is_internal_topic(t.name()) {
                        continue;
                    }
                    let mut partitions: Vec<PartitionInfo> = t
                        .partitions()
                        .iter()
                        .map(|p| PartitionInfo {
                            id: p.id(),
                            leader: p.leader(),
                            replicas: p.replicas().to_vec(),
                            isr: p.isr().to_vec(),
                        })
                        .collect();
                    partitions.sort_by_key(|p| p.id);
                    topics.insert(t.name().to_string(), TopicInfo { name: t.name().to_string(), partitions });
                }
                // The cluster id comes from librdkafka's cached metadata answer: no extra request.
                let cluster_id = client.fetch_cluster_id(timeout);
                Ok::<_, rdkafka::error::KafkaError>(((brokers, topics, errors), cluster_id))
            })
            .await
            .map_err(|e| self.kafka_error("fetching metadata", &e, started.elapsed()))?;
        let (mut brokers, topics, errors) = md;
        brokers.sort();
        let mut failures = Vec::new();
        for (name, code) in errors {
            match code {
                // Asked for one topic that does not exist: reported by `topics`.
                RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic => {}
                code => failures.push(crate::error::from_code(
                    self.label(),
                    &format!("reading metadata of topic `{name}`"),
                    code,
                    None,
                    started.elapsed(),
                )),
            }
        }
        crate::error::collect(self.label(), "reading metadata", failures)?;
        Ok(ClusterMetadata { cluster_id, brokers, topics })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_topics_by_name() {
        assert!(is_internal_topic("__consumer_offsets"));
        assert!(is_internal_topic("__transaction_state"));
        assert!(!is_internal_topic("_schemas"));
        assert!(!is_internal_topic("orders"));
    }
}
