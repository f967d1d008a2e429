//! The `source` and `target` clusters: brokers, client properties, secrets.

use crate::codes;
use crate::diagnostics::Severity;
use crate::model::{Cluster, Loc, Property, Template};
use crate::raw::{Pairs, RawCluster, S};

use super::Checker;

/// Client properties that hold secrets: written literally in a checked-in plan they leak
/// (validate warns, [`crate::codes::PROPERTY_SECRET`]; `kmigrate init` asks for a `${VAR}`).
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.ends_with("password")
        || k.ends_with("passphrase")
        || k.contains("secret")
        || k == "sasl.jaas.config"
        || k == "ssl.key.pem"
        || k == "ssl.keystore.key"
        || k == "sasl.oauthbearer.assertion.private.key.pem"
}

impl Checker<'_> {
    pub(super) fn cluster(&mut self, which: &str, c: Option<&S<RawCluster>>, root: Loc) -> Option<Cluster> {
        let Some(c) = c else {
            self.error(
                root,
                codes::MISSING_KEY,
                format!("the plan has no `{which}` cluster"),
                format!("add `{which}:` with at least `bootstrap_servers: \"host1:9092,host2:9092\"`"),
                &format!("`{which}` missing"),
            );
            return None;
        };
        let section = self.key_loc(which, self.loc(c));
        let properties = match &c.value.properties {
            Some(p) => self.properties(which, &p.value),
            None => Vec::new(),
        };
        let Some(bs) = &c.value.bootstrap_servers else {
            self.error(
                section,
                codes::CLUSTER_BOOTSTRAP,
                format!("`{which}` has no `bootstrap_servers`"),
                format!("add `bootstrap_servers: \"host1:9092,host2:9092\"` under `{which}`"),
                "no bootstrap_servers",
            );
            return None;
        };
        let template = self.template(bs);
        let ok = self.bootstrap(which, bs, &template);
        let cluster = Cluster { bootstrap_servers: template, properties, loc: section };
        ok.then_some(cluster)
    }

    pub(super) fn bootstrap(&mut self, which: &str, bs: &S<String>, template: &Template) -> bool {
        let loc = self.loc(bs);
        let value = bs.value.trim();
        if value.is_empty() {
            self.error(
                loc,
                codes::CLUSTER_BOOTSTRAP,
                format!("`{which}.bootstrap_servers` is empty"),
                "list the cluster's brokers as `host:port`, comma-separated, e.g. `\"old-1:9092,old-2:9092\"`",
                "empty",
            );
            return false;
        }
        if !template.is_literal() || bs.value.contains("${") {
            // Checked once resolved, by whoever resolves it.
            return true;
        }
        let mut ok = true;
        for entry in bs.value.split(',') {
            let entry = entry.trim();
            if let Err((message, help)) = check_broker_address(entry) {
                self.error(
                    loc,
                    codes::CLUSTER_BOOTSTRAP,
                    format!("`{which}.bootstrap_servers`: {message}"),
                    help,
                    "invalid broker address",
                );
                ok = false;
            }
        }
        ok
    }

    pub(super) fn same_cluster(&mut self, s_raw: &S<String>, t_raw: &S<String>) {
        if s_raw.value.contains("${") || t_raw.value.contains("${") {
            return;
        }
        let norm = |v: &str| -> Vec<String> {
            v.split(',')
                .map(|e| {
                    let e = e.trim();
                    let e = e.split_once("://").map_or(e, |(_, rest)| rest);
                    e.to_ascii_lowercase()
                })
                .filter(|e| !e.is_empty())
                .collect()
        };
        let source = norm(&s_raw.value);
        let shared: Vec<String> = norm(&t_raw.value).into_iter().filter(|a| source.contains(a)).collect();
        if let Some(first) = shared.first() {
            let d = self
                .diag(
                    Severity::Error,
                    self.loc(t_raw),
                    codes::CLUSTER_SAME,
                    format!(
                        "target and source are the same cluster: `{first}` is in both `bootstrap_servers`"
                    ),
                    "the target must be the new cluster; check for a copy-paste mistake",
                )
                .with_label("target brokers")
                .with_secondary(self.loc(s_raw), "source brokers");
            self.push(d);
        }
    }

    pub(super) fn properties(&mut self, which: &str, pairs: &Pairs) -> Vec<Property> {
        let mut out = Vec::new();
        for (k, v) in &pairs.0 {
            let key = k.value.trim();
            let kloc = self.loc(k);
            if key.is_empty() {
                self.error(
                    kloc,
                    codes::PROPERTY_KEY,
                    format!("empty property name in `{which}.properties`"),
                    "write the Kafka client property's name, e.g. `security.protocol: SASL_SSL`",
                    "empty key",
                );
                continue;
            }
            if key == "bootstrap.servers" || key == "metadata.broker.list" {
                self.error(
                    kloc,
                    codes::PROPERTY_KEY,
                    format!("`{key}` must not be set in `{which}.properties`"),
                    format!(
                        "put the brokers in `{which}.bootstrap_servers` (one level up), which kmigrate checks and uses"
                    ),
                    "use bootstrap_servers",
                );
                continue;
            }
            let Some(value) = &v.value else {
                self.error(
                    kloc,
                    codes::PROPERTY_VALUE,
                    format!("property `{key}` has no value"),
                    format!("write a value after `{key}:`; quote it to pass an empty string: `{key}: \"\"`"),
                    "no value",
                );
                continue;
            };
            let vloc = self.loc(v);
            let template = S { value: value.clone(), referenced: v.referenced, defined: v.defined };
            let template = self.template(&template);
            if is_secret_key(key) && template.is_literal() && !value.is_empty() {
                let var = format!(
                    "{}_{}",
                    which.to_ascii_uppercase(),
                    key.to_ascii_uppercase().replace(['.', '-'], "_")
                );
                self.warn(
                    vloc,
                    codes::PROPERTY_SECRET,
                    format!("`{which}.properties.{key}` is a secret written in plain text in the plan"),
                    format!(
                        "plans are checked in: reference an environment variable instead, e.g. `{key}: \"${{{var}}}\"`"
                    ),
                    "plain-text secret",
                );
            }
            out.push(Property { key: key.to_owned(), value: template });
        }
        out
    }
}

pub(super) fn bootstrap_of(c: Option<&S<RawCluster>>) -> Option<&S<String>> {
    c?.value.bootstrap_servers.as_ref()
}

/// Checks one `host:port` entry of a literal bootstrap list.
fn check_broker_address(entry: &str) -> Result<(), (String, String)> {
    if entry.is_empty() {
        return Err((
            "empty broker address in the list (a stray comma?)".to_owned(),
            "separate `host:port` entries with single commas, e.g. `\"old-1:9092,old-2:9092\"`".to_owned(),
        ));
    }
    let addr = entry.split_once("://").map_or(entry, |(_, rest)| rest);
    if addr.contains(char::is_whitespace) {
        return Err((
            format!("`{entry}` contains a space"),
            "separate `host:port` entries with commas, e.g. `\"old-1:9092,old-2:9092\"`".to_owned(),
        ));
    }
    let Some((host, port)) = addr.rsplit_once(':') else {
        return Err((format!("`{entry}` has no port"), format!("write `host:port`, e.g. `{entry}:9092`")));
    };
    if host.is_empty() || host == "[]" {
        return Err((
            format!("`{entry}` has no host"),
            "write `host:port`, e.g. `kafka-1.internal:9092`".to_owned(),
        ));
    }
    if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
        return Err((
            format!("`{entry}`: an IPv6 address needs brackets"),
            "write e.g. `[2001:db8::1]:9092`".to_owned(),
        ));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err((
            format!("`{entry}` has an invalid port `{port}`"),
            "the port is a number from 1 to 65535, usually 9092 (or 9093/9094 for TLS listeners)".to_owned(),
        )),
    }
}
