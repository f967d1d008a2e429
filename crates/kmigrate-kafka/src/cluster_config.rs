//! How to reach one cluster, and how that becomes a librdkafka configuration without leaking secrets.
//!
//! Property values are resolved secrets (the plan crate substitutes `${VAR}`), so:
//! - `Debug` and `Display` of [`ClusterConfig`] show property keys only;
//! - the `debug` property can never enable librdkafka's `conf` context (which dumps the configuration): `conf`
//!   is dropped and `all` is expanded to every context except `conf`;
//! - every librdkafka log line and error text passes through a [`Redactor`] that replaces the values of
//!   sensitive properties (passwords, secrets, tokens, keys, user names) by `[redacted]`: whole, and,
//!   for multi-line values such as an inline PEM key, line by line too.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use rdkafka::ClientConfig;

use crate::error::Error;

/// How to reach one cluster.
#[derive(Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// Which side this is in messages: "source" or "target".
    pub label: String,
    /// `host:port[,host:port...]`.
    pub bootstrap_servers: String,
    /// librdkafka client properties, passed as-is (values already resolved; treated as secrets).
    pub properties: BTreeMap<String, String>,
    /// How the plan wrote `bootstrap_servers` when it came from `${VAR}`: shown in every message
    /// instead of the resolved addresses, which are redacted like secrets.
    pub bootstrap_template: Option<String>,
}

impl ClusterConfig {
    pub fn new(label: impl Into<String>, bootstrap_servers: impl Into<String>) -> Self {
        ClusterConfig {
            label: label.into(),
            bootstrap_servers: bootstrap_servers.into(),
            properties: BTreeMap::new(),
            bootstrap_template: None,
        }
    }

    /// Marks the bootstrap servers as resolved from `template` (the plan's `${VAR}` text).
    pub fn with_bootstrap_template(mut self, template: impl Into<String>) -> Self {
        self.bootstrap_template = Some(template.into());
        self
    }

    /// The bootstrap servers as messages show them: the plan's template when they came from one.
    pub fn shown_bootstrap(&self) -> &str {
        self.bootstrap_template.as_deref().unwrap_or(&self.bootstrap_servers)
    }

    /// Adds (or replaces) a client property.
    pub fn with_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
    }

    /// The redactor for this configuration's sensitive values.
    pub(crate) fn redactor(&self) -> Redactor {
        let mut secrets: Vec<&str> =
            self.properties.iter().filter(|(k, _)| is_sensitive_key(k)).map(|(_, v)| v.as_str()).collect();
        if self.bootstrap_template.is_some() {
            // Resolved from the environment: neither the list nor any of its addresses is shown.
            secrets.push(&self.bootstrap_servers);
            secrets.extend(self.bootstrap_servers.split(',').map(str::trim));
        }
        Redactor::new(secrets)
    }

    /// The error of a client that librdkafka refused to create: [`Error::InvalidConfig`] naming the
    /// cluster, redacted, with what to check when the text names a TLS file or key.
    pub(crate) fn creation_error(&self, e: &rdkafka::error::KafkaError) -> Error {
        let mut detail = self.redactor().scrub(&e.to_string()).into_owned();
        if let Some(hint) = crate::tls::config_hint(&detail) {
            detail = format!("{detail} ({hint})");
        }
        Error::InvalidConfig { label: self.label.clone(), detail }
    }

    /// The librdkafka configuration for a client of this cluster. `extra` are kmigrate's own settings for
    /// this client (they win over the user's properties).
    pub(crate) fn client_config(&self, extra: &[(&str, String)]) -> ClientConfig {
        let mut cfg = ClientConfig::new();
        for (key, value) in &self.properties {
            if key == "debug" {
                let (safe, dropped) = sanitize_debug(value);
                if dropped {
                    tracing::warn!(
                        cluster = %self.label,
                        "the librdkafka debug context `conf` is not allowed (it prints the client configuration); dropped it"
                    );
                }
                if !safe.is_empty() {
                    cfg.set("debug", safe);
                }
            } else if key == "bootstrap.servers" || key == "metadata.broker.list" {
                tracing::warn!(
                    cluster = %self.label,
                    "property `{key}` is ignored: the cluster's bootstrap_servers is used"
                );
            } else {
                cfg.set(key, value);
            }
        }
        cfg.set("bootstrap.servers", &self.bootstrap_servers);
        // Never create a topic as a side effect of reading its metadata (librdkafka's producer-type clients,
        // which the admin client is, default to true).
        cfg.set("allow.auto.create.topics", "false");
        if !self.properties.contains_key("client.id") {
            cfg.set("client.id", format!("kmigrate-{}", self.label));
        }
        for (key, value) in extra {
            cfg.set(*key, value);
        }
        cfg
    }
}

impl fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("label", &self.label)
            .field("bootstrap_servers", &self.shown_bootstrap())
            .field("properties", &RedactedMap(&self.properties))
            .finish()
    }
}

impl fmt::Display for ClusterConfig {
    /// `source cluster at old-1:9092 (properties: sasl.mechanism, sasl.password)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} cluster at {}", self.label, self.shown_bootstrap())?;
        if !self.properties.is_empty() {
            let keys: Vec<&str> = self.properties.keys().map(String::as_str).collect();
            write!(f, " (properties: {})", keys.join(", "))?;
        }
        Ok(())
    }
}

struct RedactedMap<'a>(&'a BTreeMap<String, String>);

impl fmt::Debug for RedactedMap<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.keys().map(|k| (k, format_args!("<redacted>")))).finish()
    }
}

/// Whether a property's value must never appear in logs or messages.
pub(crate) fn is_sensitive_key(key: &str) -> bool {
    const MARKERS: &[&str] = &[
        "password",
        "secret",
        "token",
        "jaas",
        "oauthbearer",
        "username",
        "credential",
        "key",
        ".pem",
        "keytab",
    ];
    let key = key.to_ascii_lowercase();
    MARKERS.iter().any(|m| key.contains(m))
}

/// Replaces known secret values in text by `[redacted]`.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// Values shorter than this are not searched for (a one-letter "secret" would mangle every line; such a
    /// value is not a credential anyway).
    const MIN_LEN: usize = 3;

    /// Lines of a multi-line secret shorter than this are not searched for on their own (the last,
    /// short line of a PEM body).
    const MIN_LINE_LEN: usize = 8;

    /// A redactor of `secrets`. A multi-line value (PEM: `ssl.key.pem`, a private key inline) is
    /// searched for whole, with its line breaks escaped as `Debug` formatting writes them, and line by
    /// line, since a message may quote one line of it; the `-----BEGIN ...-----` armour lines are
    /// not secret and are left alone.
    pub(crate) fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Redactor {
        let mut out: Vec<String> = Vec::new();
        for value in secrets {
            if value.len() < Self::MIN_LEN {
                continue;
            }
            out.push(value.to_string());
            if value.contains('\n') {
                out.push(value.replace('\r', "\\r").replace('\n', "\\n"));
                out.extend(
                    value
                        .lines()
                        .map(|l| l.trim())
                        .filter(|l| l.len() >= Self::MIN_LINE_LEN && !l.starts_with("-----"))
                        .map(str::to_string),
                );
            }
        }
        // Longest first, so that a secret containing another one is replaced whole.
        out.sort_by_key(|s| std::cmp::Reverse(s.len()));
        out.dedup();
        Redactor { secrets: out }
    }

    pub(crate) fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if !self.secrets.iter().any(|s| text.contains(s.as_str())) {
            return Cow::Borrowed(text);
        }
        let mut out = text.to_string();
        for s in &self.secrets {
            out = out.replace(s.as_str(), "[redacted]");
        }
        Cow::Owned(out)
    }
}

/// Every librdkafka debug context except `conf` (librdkafka 2.12).
const DEBUG_CONTEXTS_WITHOUT_CONF: &[&str] = &[
    "generic",
    "broker",
    "topic",
    "metadata",
    "feature",
    "queue",
    "msg",
    "protocol",
    "cgrp",
    "security",
    "fetch",
    "interceptor",
    "plugin",
    "consumer",
    "admin",
    "eos",
    "mock",
    "assignor",
    "telemetry",
];

/// Returns the `debug` value without `conf` (with `all` expanded to all other contexts), and whether `conf`
/// (or `all`) had to be removed.
pub(crate) fn sanitize_debug(value: &str) -> (String, bool) {
    let mut out: Vec<String> = Vec::new();
    let mut dropped = false;
    for token in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let lower = token.to_ascii_lowercase();
        match lower.as_str() {
            "conf" => dropped = true,
            "all" => out.extend(DEBUG_CONTEXTS_WITHOUT_CONF.iter().map(|s| s.to_string())),
            _ => out.push(lower),
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|t| seen.insert(t.clone()));
    (out.join(","), dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ClusterConfig {
        ClusterConfig::new("source", "old-1:9092")
            .with_property("security.protocol", "SASL_SSL")
            .with_property("sasl.username", "alice-user")
            .with_property("sasl.password", "hunter2-secret-value")
    }

    #[test]
    fn debug_and_display_show_keys_only() {
        let c = cfg();
        let debug = format!("{c:?}");
        let display = c.to_string();
        for text in [&debug, &display] {
            assert!(!text.contains("hunter2"), "{text}");
            assert!(!text.contains("alice-user"), "{text}");
            assert!(!text.contains("SASL_SSL"), "{text}");
            assert!(text.contains("sasl.password"), "{text}");
        }
        assert_eq!(
            display,
            "source cluster at old-1:9092 (properties: sasl.password, sasl.username, security.protocol)"
        );
    }

    #[test]
    fn debug_conf_is_never_enabled() {
        assert_eq!(sanitize_debug("broker,conf"), ("broker".into(), true));
        let (all, dropped) = sanitize_debug("ALL");
        assert!(!dropped);
        assert!(!all.split(',').any(|t| t == "conf" || t == "all"), "{all}");
        assert!(all.contains("security") && all.contains("protocol"));
        assert_eq!(sanitize_debug(" broker , broker,").0, "broker");

        let c = cfg().with_property("debug", "all,conf");
        let rd = c.client_config(&[]);
        let debug = rd.get("debug").unwrap();
        assert!(!debug.contains("conf") && !debug.contains("all"), "{debug}");
    }

    #[test]
    fn redactor_scrubs_sensitive_values_only() {
        let r = cfg().redactor();
        assert_eq!(
            r.scrub("auth as alice-user with hunter2-secret-value over SASL_SSL"),
            "auth as [redacted] with [redacted] over SASL_SSL"
        );
        assert!(matches!(r.scrub("nothing here"), Cow::Borrowed(_)));
    }

    /// A private key inline (PEM, several lines) is redacted whole, escaped, and line by line; its
    /// armour lines are not secrets.
    #[test]
    fn multi_line_pem_values_are_redacted_whole_and_by_line() {
        let body = [
            "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj",
            "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu",
            "Zm9v",
        ];
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", body.join("\n"));
        let c = ClusterConfig::new("target", "b:9093")
            .with_property("ssl.key.pem", &pem)
            .with_property("ssl.key.password", "key-pass-123");
        let r = c.redactor();
        assert_eq!(r.scrub(&format!("key: {pem} end")), "key: [redacted] end");
        assert_eq!(r.scrub(&format!("{pem:?}")), "\"[redacted]\"");
        assert_eq!(r.scrub(&format!("line 2 is {}, ok", body[1])), "line 2 is [redacted], ok");
        // With Windows line ends too.
        let crlf = pem.replace('\n', "\r\n");
        let r = c.with_property("ssl.key.pem", &crlf).redactor();
        assert_eq!(r.scrub(&crlf), "[redacted]");
        assert_eq!(r.scrub(&format!("at {}", body[0])), "at [redacted]");
        // Armour lines and a short last line stay readable.
        assert_eq!(r.scrub("no -----BEGIN PRIVATE KEY----- found"), "no -----BEGIN PRIVATE KEY----- found");
        assert_eq!(r.scrub("Zm9v"), "Zm9v");
        assert_eq!(r.scrub("wrong key-pass-123"), "wrong [redacted]");
    }

    #[test]
    fn client_config_sets_bootstrap_and_client_id() {
        let c = cfg().with_property("bootstrap.servers", "elsewhere:1");
        let rd = c.client_config(&[("group.id", "g".to_string())]);
        assert_eq!(rd.get("bootstrap.servers"), Some("old-1:9092"));
        assert_eq!(rd.get("client.id"), Some("kmigrate-source"));
        assert_eq!(rd.get("group.id"), Some("g"));
        assert!(is_sensitive_key("ssl.key.pem"));
        assert!(is_sensitive_key("ssl.key.password"));
        assert!(is_sensitive_key("ssl.keystore.password"));
        assert!(is_sensitive_key("sasl.oauthbearer.assertion.private.key.pem"));
        assert!(is_sensitive_key("sasl.oauthbearer.client.secret"));
        assert!(!is_sensitive_key("security.protocol"));
    }
}
