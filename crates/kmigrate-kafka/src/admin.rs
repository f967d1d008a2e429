//! Creating topics and adding partitions.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminOptions, NewPartitions, NewTopic, TopicReplication};
use rdkafka::types::RDKafkaErrorCode;

use crate::client::Cluster;
use crate::error::{Error, Result};

/// A topic to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopicSpec {
    pub name: String,
    pub partitions: i32,
    /// `None`: the broker's default (`default.replication.factor`; CreateTopics v4+, Kafka 2.4+).
    pub replication_factor: Option<i32>,
    /// Topic configs to set at creation.
    pub configs: BTreeMap<String, String>,
}

impl NewTopicSpec {
    pub fn new(name: impl Into<String>, partitions: i32) -> Self {
        NewTopicSpec { name: name.into(), partitions, replication_factor: None, configs: BTreeMap::new() }
    }

    pub fn replication_factor(mut self, rf: i32) -> Self {
        self.replication_factor = Some(rf);
        self
    }

    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.configs.insert(key.into(), value.into());
        self
    }
}

/// Extra wait on top of the request timeout for rdkafka's admin futures (they resolve with librdkafka's own
/// timeout result; this only guards against a lost result).
const FUTURE_MARGIN: Duration = Duration::from_secs(5);

impl Cluster {
    pub(crate) fn admin_options(&self) -> AdminOptions {
        AdminOptions::new()
            .request_timeout(Some(self.request_timeout()))
            .operation_timeout(Some(self.request_timeout()))
    }

    pub(crate) async fn with_deadline<T>(&self, operation: &str, fut: impl Future<Output = T>) -> Result<T> {
        let limit = self.request_timeout() + FUTURE_MARGIN;
        tokio::time::timeout(limit, fut).await.map_err(|_| Error::Timeout {
            label: self.label().to_string(),
            operation: operation.to_string(),
            waited: limit,
        })
    }

    /// Creates topics (CreateTopics, one request). Each failure names its topic; an existing topic is
    /// [`Error::TopicAlreadyExists`].
    pub async fn create_topics(&self, topics: &[NewTopicSpec]) -> Result<()> {
        if topics.is_empty() {
            return Ok(());
        }
        let new_topics: Vec<NewTopic<'_>> = topics
            .iter()
            .map(|t| NewTopic {
                name: &t.name,
                num_partitions: t.partitions,
                replication: TopicReplication::Fixed(t.replication_factor.unwrap_or(-1)),
                config: t.configs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
            })
            .collect();
        let started = Instant::now();
        let results = self
            .with_deadline(
                "creating topics",
                self.inner.admin.create_topics(new_topics.iter(), &self.admin_options()),
            )
            .await?
            .map_err(|e| self.kafka_error("creating topics", &e, started.elapsed()))?;
        let errors = results
            .into_iter()
            .filter_map(|r| r.err())
            .map(|(topic, code)| match code {
                RDKafkaErrorCode::TopicAlreadyExists => {
                    Error::TopicAlreadyExists { label: self.label().to_string(), topic }
                }
                code => crate::error::from_code(
                    self.label(),
                    &format!("creating topic `{topic}`"),
                    code,
                    None,
                    started.elapsed(),
                ),
            })
            .collect();
        crate::error::collect(self.label(), "creating topics", errors)?;
        let wanted: Vec<(&str, usize)> =
            topics.iter().map(|t| (t.name.as_str(), t.partitions as usize)).collect();
        self.wait_for_partitions(&wanted, started).await?;
        tracing::info!(cluster = %self.label(), count = topics.len(), "created topics");
        Ok(())
    }

    /// Waits until the metadata shows every topic of `wanted` with at least its partition count, each
    /// with a leader. A broker acknowledges CreateTopics and CreatePartitions before every broker's
    /// metadata has them (Kafka propagates them through its metadata log), and a producer that
    /// writes to a partition its metadata does not know yet fails; steps that follow a creation must
    /// not see that window.
    async fn wait_for_partitions(&self, wanted: &[(&str, usize)], started: Instant) -> Result<()> {
        let names: Vec<&str> = wanted.iter().map(|(t, _)| *t).collect();
        loop {
            let ready = match self.topics(&names).await {
                Ok(md) => wanted.iter().all(|(t, n)| {
                    md.get(*t).is_some_and(|i| {
                        i.partition_count() >= *n && i.partitions.iter().all(|p| p.leader >= 0)
                    })
                }),
                Err(Error::TopicNotFound { .. }) => false,
                Err(e) => return Err(e),
            };
            if ready {
                return Ok(());
            }
            if started.elapsed() > self.request_timeout() {
                return Err(Error::Timeout {
                    label: self.label().to_string(),
                    operation: format!("waiting for the partitions of {} to have leaders", names.join(", ")),
                    waited: started.elapsed(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Grows `topic` to `total` partitions (CreatePartitions). Kafka never removes partitions: a `total`
    /// below the current count is refused by the broker (`InvalidPartitions`).
    pub async fn add_partitions(&self, topic: &str, total: usize) -> Result<()> {
        let started = Instant::now();
        let operation = format!("adding partitions to topic `{topic}`");
        let spec = [NewPartitions::new(topic, total)];
        let results = self
            .with_deadline(&operation, self.inner.admin.create_partitions(spec.iter(), &self.admin_options()))
            .await?
            .map_err(|e| self.kafka_error(&operation, &e, started.elapsed()))?;
        let errors = results
            .into_iter()
            .filter_map(|r| r.err())
            .map(|(t, code)| partitions_error(self.label(), &t, code, started.elapsed()))
            .collect();
        crate::error::collect(self.label(), &operation, errors)?;
        self.wait_for_partitions(&[(topic, total)], started).await
    }
}

/// Maps a CreatePartitions answer code for `topic`.
pub(crate) fn partitions_error(label: &str, topic: &str, code: RDKafkaErrorCode, waited: Duration) -> Error {
    match code {
        RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic => {
            Error::TopicNotFound { label: label.to_string(), topic: topic.to_string() }
        }
        code => crate::error::from_code(
            label,
            &format!("adding partitions to topic `{topic}`"),
            code,
            None,
            waited,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// tansu 0.6 does not implement CreatePartitions, so the broker answers Apache Kafka gives are mapped
    /// here; a real Kafka pair (KMIGRATE_TEST_SOURCE/TARGET) exercises the request itself.
    #[test]
    fn create_partitions_answers_are_mapped() {
        let w = Duration::from_secs(1);
        let e = partitions_error("target", "orders", RDKafkaErrorCode::UnknownTopicOrPartition, w);
        assert_eq!(e.to_string(), "topic `orders` does not exist on the target cluster");
        // Fewer partitions than now: Kafka answers INVALID_PARTITIONS.
        let e = partitions_error("target", "orders", RDKafkaErrorCode::InvalidPartitions, w);
        assert!(matches!(&e, Error::Kafka { code: Some(RDKafkaErrorCode::InvalidPartitions), .. }), "{e:?}");
        assert!(e.to_string().contains("adding partitions to topic `orders`"), "{e}");
        let e = partitions_error("target", "orders", RDKafkaErrorCode::TopicAuthorizationFailed, w);
        assert!(matches!(e, Error::NotAuthorized { .. }), "{e:?}");
        let e = partitions_error("target", "orders", RDKafkaErrorCode::UnsupportedVersion, w);
        assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    }
}
