//! Request counts per broker and per request type, from librdkafka's statistics.
//!
//! With statistics enabled (see [`crate::ConnectOptions::statistics_interval`]) librdkafka emits a JSON
//! document every interval; its `brokers.<handle>.req` object counts the requests sent on that broker
//! connection by protocol API name (`"ListOffsets"`, `"Metadata"`, ...). This module keeps the latest
//! document's counts so that a benchmark can measure how many requests an operation sent to each broker.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Requests sent on one broker connection (one librdkafka broker handle).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerRequests {
    /// The broker's node id; -1 for a bootstrap connection whose id is not known yet.
    pub node_id: i32,
    /// `configured` (bootstrap), `learned` (from metadata) or `logical` (e.g. the group coordinator handle).
    pub source: String,
    /// Requests sent, by protocol API name.
    pub requests: BTreeMap<String, u64>,
}

/// A snapshot of the request counters of every broker connection of one client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestStats {
    /// By librdkafka broker handle name (e.g. `127.0.0.1:9092/1`).
    pub brokers: BTreeMap<String, BrokerRequests>,
}

impl RequestStats {
    /// Parses librdkafka's statistics JSON. Returns `None` if it is not valid JSON of the expected shape.
    pub fn from_json(json: &[u8]) -> Option<RequestStats> {
        let value: serde_json::Value = serde_json::from_slice(json).ok()?;
        let brokers = value.get("brokers")?.as_object()?;
        let mut out = RequestStats::default();
        for (name, b) in brokers {
            let node_id = b.get("nodeid").and_then(|v| v.as_i64()).unwrap_or(-1) as i32;
            let source = b.get("source").and_then(|v| v.as_str()).unwrap_or_default().to_string();
            let requests = b
                .get("req")
                .and_then(|v| v.as_object())
                .map(|req| req.iter().filter_map(|(api, n)| Some((api.clone(), n.as_u64()?))).collect())
                .unwrap_or_default();
            out.brokers.insert(name.clone(), BrokerRequests { node_id, source, requests });
        }
        Some(out)
    }

    /// The counts added since `earlier` (counters only grow; a handle missing in `earlier` counts from 0).
    pub fn since(&self, earlier: &RequestStats) -> RequestStats {
        let mut out = RequestStats::default();
        for (name, b) in &self.brokers {
            let before = earlier.brokers.get(name);
            let requests = b
                .requests
                .iter()
                .map(|(api, n)| {
                    let was = before.and_then(|e| e.requests.get(api)).copied().unwrap_or(0);
                    (api.clone(), n.saturating_sub(was))
                })
                .collect();
            out.brokers.insert(
                name.clone(),
                BrokerRequests { node_id: b.node_id, source: b.source.clone(), requests },
            );
        }
        out
    }

    /// Requests of protocol API `api` per broker node id (handles of the same node are summed; handles
    /// without a node id are reported under -1).
    pub fn per_node(&self, api: &str) -> BTreeMap<i32, u64> {
        let mut out = BTreeMap::new();
        for b in self.brokers.values() {
            let n = b.requests.get(api).copied().unwrap_or(0);
            *out.entry(b.node_id).or_insert(0) += n;
        }
        out.retain(|node, n| *node >= 0 || *n > 0);
        out
    }

    /// Total requests of protocol API `api` over all brokers.
    pub fn total(&self, api: &str) -> u64 {
        self.per_node(api).values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
      "name": "kmigrate-source#producer-1", "type": "producer",
      "brokers": {
        "127.0.0.1:9092/bootstrap": {"name": "127.0.0.1:9092/bootstrap", "nodeid": -1, "source": "configured",
                                     "req": {"Metadata": 2, "ApiVersion": 1}},
        "127.0.0.1:9092/1": {"name": "127.0.0.1:9092/1", "nodeid": 1, "source": "learned",
                             "req": {"ListOffsets": 3, "Metadata": 1}},
        "GroupCoordinator": {"name": "GroupCoordinator", "nodeid": 1, "source": "logical",
                             "req": {"OffsetFetch": 1}}
      }
    }"#;

    #[test]
    fn parses_and_diffs() {
        let s = RequestStats::from_json(SAMPLE.as_bytes()).unwrap();
        assert_eq!(s.per_node("ListOffsets"), BTreeMap::from([(1, 3)]));
        assert_eq!(s.per_node("Metadata"), BTreeMap::from([(-1, 2), (1, 1)]));
        assert_eq!(s.total("OffsetFetch"), 1);

        let mut later = s.clone();
        *later.brokers.get_mut("127.0.0.1:9092/1").unwrap().requests.get_mut("ListOffsets").unwrap() = 5;
        assert_eq!(later.since(&s).per_node("ListOffsets"), BTreeMap::from([(1, 2)]));
        assert!(RequestStats::from_json(b"not json").is_none());
    }
}
