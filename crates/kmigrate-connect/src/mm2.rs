//! The MirrorMaker 2 connector configs for a migration, as kmigrate submits them to Kafka Connect.
//!
//! - `MirrorSourceConnector` copies exactly the plan's topics (names regex-escaped, anchored by
//!   MirrorMaker's full match) under the same names (`IdentityReplicationPolicy`), bytes as they
//!   are (`ByteArrayConverter` for keys, values and headers), and leaves topic configs, ACLs and
//!   partitions alone: kmigrate's `topic:` steps create the topics first, so MirrorMaker finds
//!   them and creates nothing; topics are listed once (`refresh.topics.enabled=false`). Its offset
//!   syncs go to the target, never written to the source.
//! - `MirrorCheckpointConnector` (when the plan has groups) writes MirrorMaker's own translation
//!   of the groups' offsets to `source.checkpoints.internal` on the target, for comparison; it
//!   never commits them (`sync.group.offsets.enabled=false`): kmigrate positions the groups.
//!
//! Cluster properties arrive in librdkafka's words (the plan's); the Java clients of the
//! connectors get their equivalents ([`java_client`]), and what has none is reported.

use std::collections::BTreeMap;

/// The cluster aliases: MirrorMaker's defaults, which `offset-syncs.topic.location` names.
pub const SOURCE_ALIAS: &str = "source";
pub const TARGET_ALIAS: &str = "target";
pub const SOURCE_CONNECTOR_CLASS: &str = "org.apache.kafka.connect.mirror.MirrorSourceConnector";
pub const CHECKPOINT_CONNECTOR_CLASS: &str = "org.apache.kafka.connect.mirror.MirrorCheckpointConnector";
const IDENTITY_POLICY: &str = "org.apache.kafka.connect.mirror.IdentityReplicationPolicy";
const BYTES: &str = "org.apache.kafka.connect.converters.ByteArrayConverter";

/// The topic MirrorMaker's checkpoint connector writes to on the target.
pub fn checkpoints_topic() -> String {
    format!("{SOURCE_ALIAS}.checkpoints.internal")
}

/// What the connectors are rendered from.
#[derive(Debug, Clone, Copy)]
pub struct Mm2Inputs<'a> {
    /// Connectors are `<prefix>-source` and `<prefix>-checkpoint`.
    pub name_prefix: &'a str,
    pub source_bootstrap: &'a str,
    /// librdkafka client properties of the source, as the plan gives them.
    pub source_properties: &'a BTreeMap<String, String>,
    pub target_bootstrap: &'a str,
    pub target_properties: &'a BTreeMap<String, String>,
    /// The concrete topics to copy.
    pub topics: &'a [String],
    /// The plan's groups; none: no checkpoint connector.
    pub groups: &'a [String],
    /// The source connector's `tasks.max`.
    pub tasks: Option<u32>,
    /// Connector config set last, on both connectors (the plan's `sync.connect.properties`).
    pub overrides: &'a [(String, String)],
}

/// One connector: its name and the config `PUT /connectors/<name>/config` receives.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Connector {
    pub name: String,
    pub config: BTreeMap<String, String>,
}

/// The rendered connectors, and the cluster properties that have no Java client equivalent
/// (`source: ssl.key.location`): set those in the plan's `sync.connect.properties`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rendered {
    pub connectors: Vec<Connector>,
    pub untranslated: Vec<String>,
}

impl Rendered {
    /// The connectors' names, source first.
    pub fn names(&self) -> Vec<String> {
        self.connectors.iter().map(|c| c.name.clone()).collect()
    }
}

pub fn source_name(prefix: &str) -> String {
    format!("{prefix}-source")
}

pub fn checkpoint_name(prefix: &str) -> String {
    format!("{prefix}-checkpoint")
}

pub fn render(i: &Mm2Inputs<'_>) -> Rendered {
    let mut untranslated = Vec::new();
    let mut common = BTreeMap::new();
    for (alias, bootstrap, props) in [
        (SOURCE_ALIAS, i.source_bootstrap, i.source_properties),
        (TARGET_ALIAS, i.target_bootstrap, i.target_properties),
    ] {
        common.insert(format!("{alias}.cluster.alias"), alias.to_string());
        common.insert(format!("{alias}.cluster.bootstrap.servers"), bootstrap.to_string());
        let (java, left) = java_client(props);
        for (k, v) in java {
            common.insert(format!("{alias}.cluster.{k}"), v);
        }
        untranslated.extend(left.into_iter().map(|k| format!("{alias}: {k}")));
    }
    let topics = i.topics.iter().map(|t| escape_regex(t)).collect::<Vec<_>>().join(",");
    for (k, v) in [
        ("replication.policy.class", IDENTITY_POLICY),
        ("key.converter", BYTES),
        ("value.converter", BYTES),
        ("header.converter", BYTES),
        ("topics", &topics),
        // MirrorMaker excludes `*.internal`, `*-internal`, `*.replica` and `__*` by default; the
        // plan's topics are copied whatever their names.
        ("topics.exclude", ""),
    ] {
        common.insert(k.to_string(), v.to_string());
    }
    if !i.groups.is_empty() {
        // Offset syncs (what the checkpoints translate through) on the target, not the source;
        // the broker's default.replication.factor for the small topics MirrorMaker creates for
        // them. Without groups there are none (MirrorMaker refuses the location without them).
        common.insert("offset-syncs.topic.location".into(), TARGET_ALIAS.into());
        common.insert("offset-syncs.topic.replication.factor".into(), "-1".into());
    }

    let mut source = common.clone();
    source.insert("name".into(), source_name(i.name_prefix));
    source.insert("connector.class".into(), SOURCE_CONNECTOR_CLASS.into());
    source.insert("sync.topic.configs.enabled".into(), "false".into());
    source.insert("sync.topic.acls.enabled".into(), "false".into());
    source.insert("refresh.topics.enabled".into(), "false".into());
    source.insert("emit.offset-syncs.enabled".into(), (!i.groups.is_empty()).to_string());
    if let Some(t) = i.tasks {
        source.insert("tasks.max".into(), t.to_string());
    }
    let mut connectors = vec![Connector { name: source_name(i.name_prefix), config: source }];
    if !i.groups.is_empty() {
        let mut checkpoint = common;
        checkpoint.insert("name".into(), checkpoint_name(i.name_prefix));
        checkpoint.insert("connector.class".into(), CHECKPOINT_CONNECTOR_CLASS.into());
        let groups: Vec<String> = i.groups.iter().map(|g| escape_regex(g)).collect();
        checkpoint.insert("groups".into(), groups.join(","));
        checkpoint.insert("groups.exclude".into(), String::new());
        checkpoint.insert("sync.group.offsets.enabled".into(), "false".into());
        checkpoint.insert("emit.checkpoints.enabled".into(), "true".into());
        checkpoint.insert("checkpoints.topic.replication.factor".into(), "-1".into());
        connectors.push(Connector { name: checkpoint_name(i.name_prefix), config: checkpoint });
    }
    for c in &mut connectors {
        for (k, v) in i.overrides {
            c.config.insert(k.clone(), v.clone());
        }
    }
    Rendered { connectors, untranslated }
}

/// A Java regular expression matching exactly `text` (MirrorMaker matches whole names). Commas
/// separate the list's entries, so a comma is written `\x2C`.
pub fn escape_regex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$' | '-'
            | '&' | '#' | '~' | ' ' => {
                out.push('\\');
                out.push(c);
            }
            ',' => out.push_str("\\x2C"),
            c => out.push(c),
        }
    }
    out
}

/// The Java client's equivalents of librdkafka properties, and the keys that have none.
pub fn java_client(props: &BTreeMap<String, String>) -> (BTreeMap<String, String>, Vec<String>) {
    let mut out = BTreeMap::new();
    let mut left = Vec::new();
    let mechanism = props.get("sasl.mechanism").or_else(|| props.get("sasl.mechanisms"));
    for (k, v) in props {
        match k.as_str() {
            "security.protocol" => {
                out.insert(k.clone(), v.to_ascii_uppercase());
            }
            "sasl.mechanism" | "sasl.mechanisms" => {
                out.insert("sasl.mechanism".into(), v.clone());
            }
            "sasl.username" | "sasl.password" => {}
            "ssl.ca.location" => {
                out.insert("ssl.truststore.type".into(), "PEM".into());
                out.insert("ssl.truststore.location".into(), v.clone());
            }
            "ssl.ca.pem" => {
                out.insert("ssl.truststore.type".into(), "PEM".into());
                out.insert("ssl.truststore.certificates".into(), v.clone());
            }
            "ssl.endpoint.identification.algorithm" => {
                let v = if v == "none" { String::new() } else { v.clone() };
                out.insert(k.clone(), v);
            }
            "client.id"
            | "sasl.kerberos.service.name"
            | "request.timeout.ms"
            | "socket.connection.setup.timeout.ms"
            | "reconnect.backoff.ms"
            | "reconnect.backoff.max.ms"
            | "retry.backoff.ms" => {
                out.insert(k.clone(), v.clone());
            }
            _ => left.push(k.clone()),
        }
    }
    if let (Some(user), Some(password)) = (props.get("sasl.username"), props.get("sasl.password")) {
        let module = match mechanism.map(|m| m.to_ascii_uppercase()) {
            Some(m) if m.starts_with("SCRAM-") => {
                Some("org.apache.kafka.common.security.scram.ScramLoginModule")
            }
            Some(m) if m == "PLAIN" => Some("org.apache.kafka.common.security.plain.PlainLoginModule"),
            _ => None,
        };
        match module {
            Some(module) => {
                out.insert(
                    "sasl.jaas.config".into(),
                    format!("{module} required username=\"{}\" password=\"{}\";", jaas(user), jaas(password)),
                );
            }
            None => left.extend(["sasl.username".to_string(), "sasl.password".to_string()]),
        }
    }
    left.sort();
    (out, left)
}

fn jaas(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Whether a connector config key holds a secret (also under a prefix such as
/// `source.cluster.` or `producer.override.`).
pub fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.ends_with("password")
        || k.ends_with("passphrase")
        || k.contains("secret")
        || k.ends_with("sasl.jaas.config")
        || k.ends_with("ssl.key.pem")
        || k.ends_with("ssl.keystore.key")
        || k.ends_with("private.key.pem")
}

/// A config as `kmigrate plan` shows it: a secret's value is `[redacted]` unless it is a single
/// `${VAR}` reference (then the reference shows).
pub fn masked(config: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    config
        .iter()
        .map(|(k, v)| {
            let single_ref = v.starts_with("${") && v.ends_with('}') && v.matches("${").count() == 1;
            let shown =
                if is_secret(k) && !single_ref && !v.is_empty() { "[redacted]".into() } else { v.clone() };
            (k.clone(), shown)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_source_connector_copies_exactly_the_plan_s_topics_under_their_names() {
        let source = props(&[
            ("security.protocol", "sasl_ssl"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.username", "alice"),
            ("sasl.password", "p\"w"),
            ("ssl.ca.location", "/etc/ca.pem"),
            ("ssl.key.location", "/etc/key.pem"),
        ]);
        let target = props(&[]);
        let topics = ["orders".to_string(), "audit.eu-1".to_string()];
        let overrides = [("producer.override.acks".to_string(), "all".to_string())];
        let r = render(&Mm2Inputs {
            name_prefix: "m",
            source_bootstrap: "a:9092",
            source_properties: &source,
            target_bootstrap: "b:9092",
            target_properties: &target,
            topics: &topics,
            groups: &[],
            tasks: Some(3),
            overrides: &overrides,
        });
        assert_eq!(r.names(), ["m-source"], "no groups: no checkpoint connector");
        let c = &r.connectors[0].config;
        assert_eq!(c["connector.class"], SOURCE_CONNECTOR_CLASS);
        assert_eq!(c["topics"], r"orders,audit\.eu\-1");
        assert_eq!(c["replication.policy.class"], IDENTITY_POLICY);
        assert_eq!(
            (c["sync.topic.configs.enabled"].as_str(), c["sync.topic.acls.enabled"].as_str()),
            ("false", "false")
        );
        assert_eq!(c["tasks.max"], "3");
        assert_eq!(c["source.cluster.bootstrap.servers"], "a:9092");
        assert_eq!(c["target.cluster.bootstrap.servers"], "b:9092");
        assert_eq!(c["source.cluster.security.protocol"], "SASL_SSL");
        assert_eq!(
            c["source.cluster.sasl.jaas.config"],
            "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"alice\" password=\"p\\\"w\";"
        );
        assert_eq!(c["source.cluster.ssl.truststore.location"], "/etc/ca.pem");
        assert_eq!(c["producer.override.acks"], "all");
        assert_eq!(c["emit.offset-syncs.enabled"], "false");
        // MirrorMaker refuses an offset-syncs location when it emits none.
        assert!(!c.contains_key("offset-syncs.topic.location"));
        assert_eq!(r.untranslated, ["source: ssl.key.location"]);
        // Shown by `kmigrate plan`: the password never.
        let shown = masked(c);
        assert_eq!(shown["source.cluster.sasl.jaas.config"], "[redacted]");
        assert_eq!(masked(&props(&[("x.password", "${PW}")]))["x.password"], "${PW}");
    }

    #[test]
    fn groups_add_a_checkpoint_connector_that_commits_nothing() {
        let none = BTreeMap::new();
        let r = render(&Mm2Inputs {
            name_prefix: "kmigrate-p",
            source_bootstrap: "a:9092",
            source_properties: &none,
            target_bootstrap: "b:9092",
            target_properties: &none,
            topics: &["t".to_string()],
            groups: &["billing".to_string(), "a.b,c".to_string()],
            tasks: None,
            overrides: &[],
        });
        assert_eq!(r.names(), ["kmigrate-p-source", "kmigrate-p-checkpoint"]);
        let c = &r.connectors[1].config;
        assert_eq!(c["connector.class"], CHECKPOINT_CONNECTOR_CLASS);
        assert_eq!(c["groups"], r"billing,a\.b\x2Cc");
        assert_eq!(c["sync.group.offsets.enabled"], "false");
        assert_eq!(c["offset-syncs.topic.location"], "target");
        assert_eq!(r.connectors[0].config["offset-syncs.topic.location"], "target");
        assert!(!r.connectors[0].config.contains_key("tasks.max"));
        assert_eq!(checkpoints_topic(), "source.checkpoints.internal");
    }
}
