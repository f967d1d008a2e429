//! Typed errors of every cluster operation.
//!
//! Every variant names the cluster (`label`: "source" or "target") so that a message read on its own still says
//! where the problem is. Messages never contain client property values (see [`crate::ClusterConfig`]).

use std::fmt;
use std::time::Duration;

use rdkafka::types::RDKafkaErrorCode;

use crate::tls::TlsProblem;
use crate::types::TopicPartition;

/// Result of a cluster operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A member of a consumer group, as reported by the broker's DescribeGroups answer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct GroupMember {
    /// The member id the coordinator assigned.
    pub member_id: String,
    /// The `client.id` the member's client configured.
    pub client_id: String,
    /// The host the member connected from (as the broker saw it, e.g. `/10.0.0.7`).
    pub host: String,
}

impl fmt::Display for GroupMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "member {} (client.id {}, host {})", self.member_id, self.client_id, self.host)
    }
}

/// An error of a cluster operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client configuration was rejected by the Kafka client library (unknown property, invalid value).
    #[error("invalid client configuration for the {label} cluster: {detail}")]
    InvalidConfig { label: String, detail: String },

    /// No broker of the cluster answered in time. `refused`: every attempt was refused or the name
    /// did not resolve (nothing listens there: a wrong address, not a slow network).
    #[error(
        "the {label} cluster is unreachable: no answer from bootstrap servers {bootstrap} after waiting {}{}",
        humantime_like(*waited),
        detail_suffix(detail)
    )]
    Unreachable { label: String, bootstrap: String, waited: Duration, detail: String, refused: bool },

    /// The brokers refused the credentials (SASL).
    #[error("authentication failed on the {label} cluster ({bootstrap}): {detail}")]
    AuthenticationFailed { label: String, bootstrap: String, detail: String },

    /// The TLS connection to the brokers failed: `problem` says why and what to change, `detail` is
    /// librdkafka's text.
    #[error("TLS connection to the {label} cluster ({bootstrap}) failed: {problem}{}", detail_suffix(detail))]
    Tls { label: String, bootstrap: String, problem: TlsProblem, detail: String },

    /// The principal lacks a permission the operation needs.
    #[error("not authorized on the {label} cluster to {operation}: {detail}")]
    NotAuthorized { label: String, operation: String, detail: String },

    /// A topic does not exist.
    #[error("topic `{topic}` does not exist on the {label} cluster")]
    TopicNotFound { label: String, topic: String },

    /// A partition does not exist (the topic does, with fewer partitions).
    #[error("partition {partition} does not exist on the {label} cluster")]
    PartitionNotFound { label: String, partition: TopicPartition },

    /// A consumer group does not exist (the broker does not list it).
    #[error("consumer group `{group}` does not exist on the {label} cluster")]
    GroupNotFound { label: String, group: String },

    /// A topic to create exists already.
    #[error("topic `{topic}` already exists on the {label} cluster")]
    TopicAlreadyExists { label: String, topic: String },

    /// Offsets were not committed because the group has active members (kmigrate checked before committing).
    #[error(
        "refusing to commit offsets for consumer group `{group}` on the {label} cluster: it has {} active member(s): {}; stop these consumers and retry",
        members.len(),
        list(members)
    )]
    GroupHasActiveMembers { label: String, group: String, members: Vec<GroupMember> },

    /// The group is listed in an active state but DescribeGroups does not describe it (a group of
    /// Kafka 4's consumer protocol, KIP-848): kmigrate does not commit into it.
    #[error(
        "refusing to commit offsets for consumer group `{group}` on the {label} cluster: the cluster lists it as {state} (a group of the consumer protocol, KIP-848, whose members DescribeGroups does not show); stop its consumers and retry"
    )]
    GroupActive { label: String, group: String, state: String },

    /// The broker refused the offset commit because the group is active (it has members or is rebalancing).
    #[error(
        "the {label} cluster refused to commit offsets for consumer group `{group}`: the group has active members or is rebalancing ({code:?}); stop its consumers and retry"
    )]
    CommitRefusedGroupActive { label: String, group: String, code: RDKafkaErrorCode },

    /// A by-time lookup would be wrong because records carry no timestamp.
    #[error(
        "offsets cannot be looked up by time on the {label} cluster: these partitions have records without timestamps: {}; give explicit offsets instead (a topic,partition,offset CSV file)",
        list(partitions)
    )]
    TimestampsMissing { label: String, partitions: Vec<TopicPartition> },

    /// The broker does not implement the request (or this version of it).
    #[error("{operation} is not supported by the {label} cluster: {detail}")]
    Unsupported { label: String, operation: String, detail: String },

    /// The operation did not complete in time.
    #[error("{operation} on the {label} cluster timed out after {}", humantime_like(*waited))]
    Timeout { label: String, operation: String, waited: Duration },

    /// The connections to the cluster's brokers were lost (a broker restarting or gone, the
    /// network down) after the cluster had been reached. Passing, as a rule: retried.
    #[error(
        "{operation} on the {label} cluster failed: the connection to its brokers was lost ({detail}); check that they are up and reachable from here"
    )]
    ConnectionLost { label: String, operation: String, detail: String },

    /// Any other error the broker or the client library reported.
    #[error("{operation} on the {label} cluster failed: {detail}")]
    Kafka { label: String, operation: String, code: Option<RDKafkaErrorCode>, detail: String },

    /// Several items of one batched operation failed; each error names its item.
    #[error("{operation} on the {label} cluster failed for {} item(s): {}", errors.len(), list(errors))]
    Several { label: String, operation: String, errors: Vec<Error> },
}

impl Error {
    /// Whether trying the same operation again soon may succeed: a timeout, a cluster that did not
    /// answer (but not one whose address refused every connection or did not resolve: retrying a
    /// mistyped address only delays the error), a coordinator or leader that is moving.
    pub fn is_transient(&self) -> bool {
        use RDKafkaErrorCode as C;
        match self {
            Error::Unreachable { refused, .. } => !refused,
            Error::Timeout { .. } | Error::ConnectionLost { .. } => true,
            // Every item failed for a passing reason (a leader moving for each partition).
            Error::Several { errors, .. } => !errors.is_empty() && errors.iter().all(Error::is_transient),
            _ => self.code().is_some_and(|c| {
                matches!(
                    c,
                    C::NotCoordinator
                        | C::CoordinatorNotAvailable
                        | C::CoordinatorLoadInProgress
                        | C::LeaderNotAvailable
                        | C::NotLeaderForPartition
                        | C::RequestTimedOut
                        | C::BrokerNotAvailable
                        | C::NetworkException
                        | C::UnknownTopicOrPartition
                        // Leadership moving (a broker restarted, a partition reassigned).
                        | C::FencedLeaderEpoch
                        | C::UnknownLeaderEpoch
                        | C::NotController
                        | C::NotEnoughReplicas
                        | C::KafkaStorageError
                        // librdkafka: "Failed to query partition leaders: No leaders found", right
                        // after a topic was created.
                        | C::NoEnt
                )
            }),
        }
    }

    /// The librdkafka / Kafka protocol error code behind this error, where there is one.
    pub fn code(&self) -> Option<RDKafkaErrorCode> {
        match self {
            Error::Kafka { code, .. } => *code,
            Error::CommitRefusedGroupActive { code, .. } => Some(*code),
            _ => None,
        }
    }
}

fn list<T: fmt::Display>(items: &[T]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() { String::new() } else { format!(" (last error: {detail})") }
}

/// `1.5s`, `250ms`, `20s`: short, exact enough for messages.
pub(crate) fn humantime_like(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// Maps a librdkafka / protocol error code of operation `operation` to a typed error (timeouts, authorization
/// and unsupported requests get their own variants; "not found" codes are mapped by the callers, which know the
/// item's name).
pub(crate) fn from_code(
    label: &str,
    operation: &str,
    code: RDKafkaErrorCode,
    detail: Option<&str>,
    waited: Duration,
) -> Error {
    let detail = match detail {
        Some(d) if !d.is_empty() => d.to_string(),
        _ => code.to_string(),
    };
    use RDKafkaErrorCode as C;
    match code {
        C::OperationTimedOut | C::RequestTimedOut => {
            Error::Timeout { label: label.into(), operation: operation.into(), waited }
        }
        C::TopicAuthorizationFailed
        | C::GroupAuthorizationFailed
        | C::ClusterAuthorizationFailed
        | C::TransactionalIdAuthorizationFailed
        | C::DelegationTokenAuthorizationFailed => {
            Error::NotAuthorized { label: label.into(), operation: operation.into(), detail }
        }
        C::UnsupportedVersion | C::UnsupportedFeature => {
            Error::Unsupported { label: label.into(), operation: operation.into(), detail }
        }
        // (After the cluster was reached: an address nothing listens on fails the connect as
        // `Unreachable`.)
        C::BrokerTransportFailure | C::AllBrokersDown => {
            Error::ConnectionLost { label: label.into(), operation: operation.into(), detail }
        }
        _ => Error::Kafka { label: label.into(), operation: operation.into(), code: Some(code), detail },
    }
}

/// Collapses per-item errors: none → Ok, one → that error, several → [`Error::Several`].
pub(crate) fn collect(label: &str, operation: &str, mut errors: Vec<Error>) -> Result<()> {
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => Err(Error::Several { label: label.into(), operation: operation.into(), errors }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_names_label_address_and_wait() {
        let e = Error::Unreachable {
            label: "source".into(),
            bootstrap: "127.0.0.1:1".into(),
            waited: Duration::from_millis(1500),
            detail: "Connection refused".into(),
            refused: true,
        };
        assert!(!e.is_transient(), "a refused address is not retried");
        assert_eq!(
            e.to_string(),
            "the source cluster is unreachable: no answer from bootstrap servers 127.0.0.1:1 after waiting 1.5s (last error: Connection refused)"
        );
    }

    #[test]
    fn a_restarting_broker_and_moving_leaders_are_transient_and_so_are_batches_of_them() {
        let kafka = |code| Error::Kafka {
            label: "target".into(),
            operation: "looking up latest offsets".into(),
            code: Some(code),
            detail: String::new(),
        };
        for code in [RDKafkaErrorCode::FencedLeaderEpoch, RDKafkaErrorCode::NotLeaderForPartition] {
            assert!(kafka(code).is_transient(), "{code:?}");
        }
        let lost = from_code(
            "target",
            "fetching metadata",
            RDKafkaErrorCode::BrokerTransportFailure,
            Some("Meta data fetch error: BrokerTransportFailure (Local: Broker transport failure)"),
            Duration::ZERO,
        );
        assert!(lost.is_transient());
        assert_eq!(
            lost.to_string(),
            "fetching metadata on the target cluster failed: the connection to its brokers was lost (Meta data fetch error: BrokerTransportFailure (Local: Broker transport failure)); check that they are up and reachable from here"
        );
        assert!(!kafka(RDKafkaErrorCode::TopicAuthorizationFailed).is_transient());
        let several = |codes: &[RDKafkaErrorCode]| Error::Several {
            label: "target".into(),
            operation: "looking up latest offsets".into(),
            errors: codes.iter().map(|c| kafka(*c)).collect(),
        };
        assert!(several(&[RDKafkaErrorCode::FencedLeaderEpoch; 2]).is_transient());
        assert!(
            !several(&[RDKafkaErrorCode::FencedLeaderEpoch, RDKafkaErrorCode::TopicAuthorizationFailed])
                .is_transient(),
            "one lasting failure makes the batch fail"
        );
    }

    #[test]
    fn active_members_are_listed() {
        let e = Error::GroupHasActiveMembers {
            label: "target".into(),
            group: "billing".into(),
            members: vec![GroupMember {
                member_id: "m-1".into(),
                client_id: "billing-app".into(),
                host: "/10.0.0.7".into(),
            }],
        };
        let s = e.to_string();
        assert!(s.contains("member m-1 (client.id billing-app, host /10.0.0.7)"), "{s}");
        assert!(s.contains("1 active member(s)"), "{s}");
    }

    #[test]
    fn codes_map_to_typed_variants() {
        let w = Duration::from_secs(2);
        assert!(matches!(
            from_code("source", "x", RDKafkaErrorCode::GroupAuthorizationFailed, None, w),
            Error::NotAuthorized { .. }
        ));
        assert!(matches!(
            from_code("source", "x", RDKafkaErrorCode::OperationTimedOut, None, w),
            Error::Timeout { .. }
        ));
        assert!(matches!(
            from_code("source", "x", RDKafkaErrorCode::UnsupportedVersion, None, w),
            Error::Unsupported { .. }
        ));
        assert_eq!(humantime_like(Duration::from_millis(250)), "250ms");
        assert_eq!(humantime_like(Duration::from_secs(20)), "20s");
    }
}
