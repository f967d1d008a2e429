//! Topic config values a Kafka broker rejects, found without asking it (a dry run must not send
//! CreateTopics or AlterConfigs): the types of Apache Kafka's topic configs, and, when the target
//! lists every config of its topics (Apache Kafka does, tansu 0.6 does not), the names it knows.

use std::collections::{BTreeMap, BTreeSet};

use kmigrate_kafka::TopicConfig;

/// What a config's value must be.
enum Kind {
    /// A whole number of milliseconds, at least `min`.
    Millis {
        min: i64,
    },
    /// A whole number of bytes, at least `min`.
    Bytes {
        min: i64,
    },
    /// A whole number, at least `min`.
    Long {
        min: i64,
    },
    /// A number between 0 and 1.
    Ratio,
    Bool,
    /// One of these values.
    OneOf(&'static [&'static str]),
    /// A comma-separated list of these values.
    ListOf(&'static [&'static str]),
}

/// Apache Kafka's topic configs whose values have a fixed type (LogConfig), as of Kafka 3.x/4.x.
fn kind(name: &str) -> Option<Kind> {
    use Kind::*;
    Some(match name {
        "retention.ms" => Millis { min: -1 },
        "local.retention.ms" => Millis { min: -2 },
        "segment.ms" | "max.compaction.lag.ms" => Millis { min: 1 },
        "segment.jitter.ms"
        | "delete.retention.ms"
        | "min.compaction.lag.ms"
        | "file.delete.delay.ms"
        | "flush.ms"
        | "message.timestamp.difference.max.ms"
        | "message.timestamp.before.max.ms"
        | "message.timestamp.after.max.ms" => Millis { min: 0 },
        "retention.bytes" => Bytes { min: -1 },
        "local.retention.bytes" => Bytes { min: -2 },
        "segment.bytes" => Bytes { min: 14 },
        "segment.index.bytes" => Bytes { min: 4 },
        "max.message.bytes" | "index.interval.bytes" => Bytes { min: 0 },
        "min.insync.replicas" | "flush.messages" => Long { min: 1 },
        "min.cleanable.dirty.ratio" => Ratio,
        "unclean.leader.election.enable"
        | "preallocate"
        | "message.downconversion.enable"
        | "remote.storage.enable" => Bool,
        "compression.type" => OneOf(&["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]),
        "message.timestamp.type" => OneOf(&["CreateTime", "LogAppendTime"]),
        "cleanup.policy" => ListOf(&["compact", "delete"]),
        _ => return None,
    })
}

/// Why a broker rejects `name = value`, if it does.
pub(super) fn value_problem(name: &str, value: &str) -> Option<String> {
    let v = value.trim();
    let whole = |min: i64, unit: &str| -> Option<String> {
        match v.parse::<i64>() {
            Ok(n) if n >= min => None,
            Ok(n) => Some(format!("{name} = {n} is below the smallest value Kafka accepts ({min})")),
            Err(_) => Some(format!("{name} = {value:?} is not a whole number{unit}")),
        }
    };
    let mut hint = None;
    let problem = match kind(name)? {
        Kind::Millis { min } => {
            if let Ok(d) = humantime::parse_duration(v) {
                hint = Some(format!("; write \"{}\" ({v})", d.as_millis()));
            }
            whole(min, " of milliseconds")
        }
        Kind::Bytes { min } => whole(min, " of bytes"),
        Kind::Long { min } => whole(min, ""),
        Kind::Ratio => match v.parse::<f64>() {
            Ok(r) if (0.0..=1.0).contains(&r) => None,
            _ => Some(format!("{name} = {value:?} is not a number between 0 and 1")),
        },
        Kind::Bool => (!matches!(v.to_ascii_lowercase().as_str(), "true" | "false"))
            .then(|| format!("{name} = {value:?} is neither true nor false")),
        Kind::OneOf(allowed) => (!allowed.iter().any(|a| a.eq_ignore_ascii_case(v)))
            .then(|| format!("{name} = {value:?} is not one of {}", allowed.join(", "))),
        Kind::ListOf(allowed) => {
            let bad: Vec<&str> = v
                .split(',')
                .map(str::trim)
                .filter(|item| !allowed.iter().any(|a| a.eq_ignore_ascii_case(item)))
                .collect();
            (!bad.is_empty()).then(|| {
                format!("{name} = {value:?}: {} is not one of {}", bad.join(", "), allowed.join(", "))
            })
        }
    }?;
    Some(format!("{problem}, so the target rejects it{}", hint.unwrap_or_default()))
}

/// Configs that every Apache Kafka broker lists for every topic. An answer holding all of them is
/// taken as the full list of the names the target knows (tansu 0.6 lists only the configs set at
/// creation, so its names are never taken as complete).
const ALWAYS_LISTED: [&str; 4] = ["cleanup.policy", "retention.ms", "segment.bytes", "max.message.bytes"];

/// The topic config names the target knows, when one of its DescribeConfigs answers is complete.
pub(super) fn known_names(described: &BTreeMap<String, TopicConfig>) -> Option<BTreeSet<String>> {
    described
        .values()
        .find(|c| ALWAYS_LISTED.iter().all(|n| c.entries.contains_key(*n)))
        .map(|c| c.entries.keys().cloned().collect())
}

/// `min.insync.replicas` of the configs, if set to a number.
pub(super) fn min_insync(configs: &BTreeMap<String, String>) -> Option<usize> {
    configs.get("min.insync.replicas")?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_kafka_rejects() {
        assert_eq!(value_problem("retention.ms", "604800000"), None);
        assert_eq!(value_problem("retention.ms", "-1"), None);
        let p = value_problem("retention.ms", "7d").unwrap();
        assert_eq!(
            p,
            "retention.ms = \"7d\" is not a whole number of milliseconds, so the target rejects it; write \"604800000\" (7d)"
        );
        assert!(value_problem("segment.ms", "0").unwrap().contains("below the smallest value"));
        assert!(value_problem("retention.bytes", "1GB").unwrap().contains("whole number of bytes"));
        assert_eq!(value_problem("retention.bytes", "107374182400"), None);
        assert_eq!(value_problem("cleanup.policy", "compact,delete"), None);
        assert!(
            value_problem("cleanup.policy", "compact,forever").unwrap().contains("forever is not one of")
        );
        assert_eq!(value_problem("compression.type", "zstd"), None);
        assert!(value_problem("compression.type", "brotli").is_some());
        assert!(value_problem("min.cleanable.dirty.ratio", "1.5").is_some());
        assert!(value_problem("unclean.leader.election.enable", "yes").is_some());
        // Configs kmigrate does not know the type of are left to the broker.
        assert_eq!(value_problem("some.future.config", "anything"), None);
    }

    #[test]
    fn only_a_complete_listing_names_the_known_configs() {
        use kmigrate_kafka::{ConfigSource, ConfigValue};
        let entry = || ConfigValue {
            value: Some("1".into()),
            source: ConfigSource::Default,
            is_default: true,
            is_read_only: false,
            is_sensitive: false,
        };
        let topic = |names: &[&str]| TopicConfig {
            entries: names.iter().map(|n| (n.to_string(), entry())).collect(),
        };
        let partial: BTreeMap<String, TopicConfig> = [("a".to_string(), topic(&["retention.ms"]))].into();
        assert_eq!(known_names(&partial), None);
        let mut full = partial.clone();
        full.insert("b".into(), topic(&[&ALWAYS_LISTED[..], &["segment.ms"]].concat()));
        assert!(known_names(&full).unwrap().contains("segment.ms"));
        assert_eq!(min_insync(&[("min.insync.replicas".to_string(), "2".to_string())].into()), Some(2));
    }
}
