//! Topics and groups that belong to Kafka itself or to its tooling (MirrorMaker 2, Kafka Connect,
//! Schema Registry), not to applications: `kmigrate init` leaves them out of the plan and says so.

/// Why a source topic is not proposed for migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tooling {
    /// Kafka's own (`__consumer_offsets`, `__transaction_state`, any `__*`).
    Kafka,
    /// MirrorMaker 2's state: `mm2-*`, `*.internal` (offset syncs, checkpoints), heartbeats.
    MirrorMaker,
    /// A Kafka Connect worker's storage: `connect-configs`, `connect-offsets`, `connect-status`.
    Connect,
    /// Confluent tooling: Schema Registry's `_schemas`, `_confluent*`.
    Confluent,
}

impl Tooling {
    /// What the comment says.
    pub fn describe(self) -> &'static str {
        match self {
            Tooling::Kafka => "Kafka internal",
            Tooling::MirrorMaker => "MirrorMaker 2",
            Tooling::Connect => "Kafka Connect",
            Tooling::Confluent => "Schema Registry / Confluent",
        }
    }
}

/// Whether `topic` is tooling state rather than application data, and whose.
///
/// The rules follow the names these tools create by default: MirrorMaker 2's
/// `mm2-offset-syncs.<alias>.internal`, `<alias>.checkpoints.internal`, `mm2-configs.<alias>.internal`
/// (and `-offsets`, `-status`), `heartbeats` and replicated `<alias>.heartbeats`; a Connect
/// worker's `connect-configs`, `connect-offsets`, `connect-status` (and the `connect-cluster-*` /
/// `*-connect-*` variants some deployments name them by cluster); Schema Registry's `_schemas`.
pub fn tooling_topic(topic: &str) -> Option<Tooling> {
    if topic.starts_with("__") {
        return Some(Tooling::Kafka);
    }
    if topic.starts_with("mm2-")
        || topic.ends_with(".internal")
        || topic == "heartbeats"
        || topic.ends_with(".heartbeats")
    {
        return Some(Tooling::MirrorMaker);
    }
    const CONNECT: [&str; 3] = ["configs", "offsets", "status"];
    if let Some(rest) = topic.strip_prefix("connect-")
        && (CONNECT.contains(&rest) || CONNECT.iter().any(|s| rest.ends_with(&format!("-{s}"))))
    {
        return Some(Tooling::Connect);
    }
    if topic == "_schemas" || topic.starts_with("_confluent") {
        return Some(Tooling::Confluent);
    }
    None
}

/// Whether a consumer group belongs to tooling: Kafka Connect workers and MirrorMaker 2
/// (protocol type `connect`, or an `mm2-` / `__` id). Groups that commit only on tooling topics
/// are recognised by the caller from their commits.
pub fn tooling_group(id: &str, protocol_type: Option<&str>) -> bool {
    protocol_type == Some("connect") || id.starts_with("mm2-") || id.starts_with("__")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tooling_topics_by_name() {
        for (t, who) in [
            ("__consumer_offsets", Tooling::Kafka),
            ("__transaction_state", Tooling::Kafka),
            ("mm2-offset-syncs.old.internal", Tooling::MirrorMaker),
            ("mm2-configs.old.internal", Tooling::MirrorMaker),
            ("old.checkpoints.internal", Tooling::MirrorMaker),
            ("heartbeats", Tooling::MirrorMaker),
            ("old.heartbeats", Tooling::MirrorMaker),
            ("connect-configs", Tooling::Connect),
            ("connect-offsets", Tooling::Connect),
            ("connect-status", Tooling::Connect),
            ("connect-cluster-a-offsets", Tooling::Connect),
            ("_schemas", Tooling::Confluent),
            ("_confluent-metrics", Tooling::Confluent),
        ] {
            assert_eq!(tooling_topic(t), Some(who), "{t}");
        }
        for t in ["orders", "connect-events", "internal.orders", "heartbeat-pings", "schemas", "mm2", "a_b"] {
            assert_eq!(tooling_topic(t), None, "{t}");
        }
    }

    #[test]
    fn tooling_groups() {
        assert!(tooling_group("connect-cluster", Some("connect")));
        assert!(tooling_group("mm2-source", None));
        assert!(!tooling_group("connect-s3-sink", Some("consumer")));
        assert!(!tooling_group("billing", Some("consumer")));
    }
}
