//! `sync.connect`: the Kafka Connect cluster that runs MirrorMaker 2 for `sync.by: mirrormaker2`.

use std::sync::LazyLock;

use regex::Regex;

use crate::codes;
use crate::model::{Connect, DataMode, Loc, Property, SyncBy};
use crate::raw::{Pairs, RawConnect, RawPlan, S};

use super::{Checker, is_secret_key};
use crate::raw::CONNECTOR_PREFIX_PATTERN;

static PREFIX_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(CONNECTOR_PREFIX_PATTERN).expect("static regex"));

/// Connector config kmigrate renders itself: overriding it would break what the migration
/// relies on (topic names kept, exactly the plan's topics, partitions and configs left to the
/// `topic:` steps, both clusters as the plan names them).
pub const RENDERED_KEYS: &[&str] = &[
    "name",
    "connector.class",
    "topics",
    "topics.exclude",
    "replication.policy.class",
    "source.cluster.alias",
    "target.cluster.alias",
    "source.cluster.bootstrap.servers",
    "target.cluster.bootstrap.servers",
    "sync.topic.configs.enabled",
    "sync.topic.acls.enabled",
    "key.converter",
    "value.converter",
    "header.converter",
    "groups",
];

impl Checker<'_> {
    pub(super) fn connect(
        &mut self,
        raw: &RawPlan,
        data: Option<DataMode>,
        name: Option<&str>,
        root: Loc,
    ) -> Option<Connect> {
        let sync = raw.sync.as_ref();
        let connect = sync.and_then(|s| s.value.connect.as_ref());
        let mm2 = data == Some(DataMode::Synced(SyncBy::MirrorMaker2));
        let Some(connect) = connect else {
            if mm2 {
                let loc = sync.map_or(root, |s| self.key_loc("sync", self.loc(s)));
                self.error(
                    loc,
                    codes::SYNC_CONNECT,
                    "`sync.by: mirrormaker2` needs the Kafka Connect cluster that runs it",
                    "add `connect: { url: \"http://connect-1:8083\" }` under `sync` (the REST URL of a \
                     Connect cluster in distributed mode)",
                    "no `connect`",
                );
            }
            return None;
        };
        let cloc = self.key_loc("connect", self.loc(connect));
        if !mm2 {
            if data.is_some() {
                self.error(
                    cloc,
                    codes::SYNC_CONNECT,
                    "`sync.connect` is only used with `sync.by: mirrormaker2`",
                    "remove `connect`, or set `by: mirrormaker2` to have kmigrate run MirrorMaker 2 on \
                     that Connect cluster",
                    "not used",
                );
            }
            return None;
        }
        let c: &RawConnect = &connect.value;
        let url = self.connect_url(c, cloc);
        let name_prefix = self.connector_prefix(c, name);
        let tasks = c.tasks.as_ref().and_then(|t| {
            let v = self.whole_number("tasks", t, 4)?;
            if (1..=10_000).contains(&v) {
                Some(v as u32)
            } else {
                self.error(
                    self.loc(t),
                    codes::SYNC_CONNECT,
                    format!("`tasks: {v}`: the connector needs from 1 to 10000 tasks"),
                    "remove `tasks` to use the Connect cluster's default, or give e.g. `tasks: 4`",
                    "out of range",
                );
                None
            }
        });
        let properties = match &c.properties {
            Some(p) => self.connect_properties(&p.value),
            None => Vec::new(),
        };
        Some(Connect { url: url?, name_prefix: name_prefix?, tasks, properties, loc: cloc })
    }

    fn connect_url(&mut self, c: &RawConnect, cloc: Loc) -> Option<crate::model::Template> {
        let Some(url) = &c.url else {
            self.error(
                cloc,
                codes::SYNC_CONNECT,
                "`sync.connect` has no `url`",
                "add the Connect REST API's URL, e.g. `url: \"http://connect-1:8083\"`",
                "no url",
            );
            return None;
        };
        let mut template = self.template(url);
        let value = url.value.trim();
        if template.is_literal() {
            let rest = value.strip_prefix("http://").or_else(|| value.strip_prefix("https://"));
            let host = rest.map(|r| r.split(['/', ':']).next().unwrap_or_default());
            if host.is_none_or(str::is_empty) || value.contains(char::is_whitespace) {
                self.error(
                    template.loc,
                    codes::SYNC_CONNECT,
                    format!("`{value}` is not a Kafka Connect REST URL"),
                    "write `http://host:port` or `https://host:port`, e.g. `url: \"http://connect-1:8083\"`",
                    "not an http(s) URL",
                );
                return None;
            }
        }
        template.raw = value.trim_end_matches('/').to_owned();
        Some(template)
    }

    fn connector_prefix(&mut self, c: &RawConnect, name: Option<&str>) -> Option<String> {
        let Some(p) = &c.name_prefix else {
            return name.map(|n| format!("kmigrate-{n}"));
        };
        let value = p.value.trim();
        if !PREFIX_RE.is_match(value) {
            self.error(
                self.loc(p),
                codes::SYNC_CONNECT,
                format!("invalid connector name prefix `{value}`"),
                "use letters, digits, `.`, `_` and `-` only (connector names go into REST URLs), e.g. \
                 `name_prefix: orders-mm2`",
                "invalid prefix",
            );
            return None;
        }
        Some(value.to_owned())
    }

    fn connect_properties(&mut self, pairs: &Pairs) -> Vec<Property> {
        let mut out = Vec::new();
        for (k, v) in &pairs.0 {
            let key = k.value.trim();
            let kloc = self.loc(k);
            if key.is_empty() {
                self.error(
                    kloc,
                    codes::PROPERTY_KEY,
                    "empty property name in `sync.connect.properties`",
                    "write the connector config's name, e.g. `producer.override.compression.type: zstd`",
                    "empty key",
                );
                continue;
            }
            if RENDERED_KEYS.contains(&key) {
                self.error(
                    kloc,
                    codes::SYNC_CONNECT,
                    format!("`{key}` is set by kmigrate in the connectors it renders"),
                    "remove it: kmigrate sets it from the plan (`kmigrate plan` shows the connectors' configs)",
                    "set by kmigrate",
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
            let template =
                self.template(&S { value: value.clone(), referenced: v.referenced, defined: v.defined });
            if connect_secret(key) && template.is_literal() && !value.is_empty() {
                let var = format!("CONNECT_{}", key.to_ascii_uppercase().replace(['.', '-'], "_"));
                self.warn(
                    template.loc,
                    codes::PROPERTY_SECRET,
                    format!("`sync.connect.properties.{key}` is a secret written in plain text in the plan"),
                    format!("plans are checked in: reference an environment variable instead, e.g. `{key}: \"${{{var}}}\"`"),
                    "plain-text secret",
                );
            }
            out.push(Property { key: key.to_owned(), value: template });
        }
        out
    }
}

/// A client secret, also under a prefix (`source.cluster.sasl.jaas.config`,
/// `producer.override.ssl.key.password`, ...).
fn connect_secret(key: &str) -> bool {
    is_secret_key(key) || key.match_indices('.').any(|(i, _)| is_secret_key(&key[i + 1..]))
}
