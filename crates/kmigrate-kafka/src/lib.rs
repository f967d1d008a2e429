//! kmigrate-kafka: every operation kmigrate performs on a Kafka cluster, over rdkafka (librdkafka), async.
//!
//! This crate owns the conversation with the brokers and nothing else (no plan logic, no printing: it logs
//! through `tracing` only):
//!
//! - connecting to a cluster ([`Cluster::connect`]) with a [`ClusterConfig`] whose property values are
//!   treated as secrets: never shown by `Debug`/`Display`, never in librdkafka's logs (which are routed into
//!   `tracing`, redacted, with the configuration-dumping `debug=conf` context refused);
//! - metadata: cluster id, brokers, topics and partitions with leaders (internal topics excluded);
//! - topics: create ([`Cluster::create_topics`]), add partitions, read configs of many topics and tell the
//!   topic overrides from defaults, change configs incrementally;
//! - offsets of many partitions at once: earliest, latest, first offset at or after a time
//!   ([`Cluster::offsets_for_time`]), batched into one request per broker per lookup;
//! - consumer groups: list, describe members, read committed offsets, commit offsets refusing groups with
//!   active members ([`Cluster::commit_offsets`]);
//! - timestamp inspection ([`Cluster::inspect_timestamps`]): whether records carry timestamps a by-time
//!   lookup can use;
//! - request counting per broker and request type from librdkafka statistics ([`RequestStats`]);
//! - what the librdkafka built in can do ([`library_info`]: version, TLS, SASL, OIDC, codecs).
//!
//! Errors are typed ([`Error`]) and name the cluster ("source"/"target") and the topic, partition or group
//! concerned; a refused TLS connection says why ([`TlsProblem`]). All `unsafe` code (librdkafka calls
//! rdkafka's safe API lacks) lives in the private `ffi` module.

mod admin;
mod client;
mod cluster_config;
mod configs;
mod context;
mod copy;
mod error;
mod ffi;
mod groups;
mod library;
mod metadata;
mod offsets;
mod records;
mod scan;
mod stats;
mod timestamps;
mod tls;
mod types;

pub use admin::NewTopicSpec;
pub use client::{Cluster, ConnectOptions};
pub use cluster_config::ClusterConfig;
pub use configs::{ConfigChange, ConfigSource, ConfigValue, TopicConfig};
pub use copy::{CopyEnd, CopyOptions, CopyPipe, CopyProgress, Delivery, Follower, Seen};
pub use error::{Error, GroupMember, Result};
pub use groups::{GroupDescription, GroupListing, GroupState, Membership};
pub use library::{LibraryInfo, library_info};
pub use metadata::{BrokerInfo, ClusterMetadata, PartitionInfo, TopicInfo, is_internal_topic};
pub use offsets::{TimeOffset, Watermarks};
pub use records::{RecordTimestamp, SampledBytes};
pub use scan::{Fields, RecordData, RecordStream, content_digest, timestamp_kept};
pub use stats::{BrokerRequests, RequestStats};
pub use timestamps::{PartitionTimestamps, TimestampKind, classify};
pub use tls::TlsProblem;
pub use types::TopicPartition;

/// The librdkafka error codes carried by some [`Error`] variants.
pub use rdkafka::types::RDKafkaErrorCode;
