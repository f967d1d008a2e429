//! Test clusters: a tansu broker started for the test, or a real cluster given by environment variables.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kmigrate_kafka::{Cluster, ClusterConfig};

use crate::broker::{Engine, TansuBroker};

/// Bootstrap address of a real source cluster to test against instead of tansu.
pub const ENV_SOURCE: &str = "KMIGRATE_TEST_SOURCE";
/// Bootstrap address of a real target cluster.
pub const ENV_TARGET: &str = "KMIGRATE_TEST_TARGET";
/// Client properties for the real source cluster: `k=v;k=v`.
pub const ENV_SOURCE_PROPERTIES: &str = "KMIGRATE_TEST_SOURCE_PROPERTIES";
/// Client properties for the real target cluster: `k=v;k=v`.
pub const ENV_TARGET_PROPERTIES: &str = "KMIGRATE_TEST_TARGET_PROPERTIES";

/// One cluster of a test.
pub struct TestCluster {
    label: String,
    bootstrap: String,
    properties: BTreeMap<String, String>,
    // `Mutex` only for `is_running` (needs `&mut Child`); `None` for an external cluster.
    broker: Option<Mutex<TansuBroker>>,
    engine: Option<Engine>,
}

impl std::fmt::Debug for TestCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCluster")
            .field("label", &self.label)
            .field("bootstrap", &self.bootstrap)
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

/// Parses `k=v;k=v` (empty items ignored). Panics on an item without `=`.
pub fn parse_properties(s: &str) -> BTreeMap<String, String> {
    s.split(';')
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(|item| {
            let (k, v) = item
                .split_once('=')
                .unwrap_or_else(|| panic!("property `{item}` is not of the form key=value"));
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect()
}

/// Whether the tests run against the real clusters given by `KMIGRATE_TEST_SOURCE`/`_TARGET`.
pub fn external_clusters() -> bool {
    std::env::var_os(ENV_SOURCE).is_some() && std::env::var_os(ENV_TARGET).is_some()
}

impl TestCluster {
    /// Starts a tansu broker for `label` ("source"/"target"), or, if `KMIGRATE_TEST_SOURCE` and
    /// `KMIGRATE_TEST_TARGET` are set, uses the real cluster of that side (`engine` is then ignored).
    pub fn start(label: &str, engine: Engine) -> TestCluster {
        if external_clusters() {
            let (addr, props) = if label == "target" {
                (ENV_TARGET, ENV_TARGET_PROPERTIES)
            } else {
                (ENV_SOURCE, ENV_SOURCE_PROPERTIES)
            };
            return TestCluster {
                label: label.to_string(),
                bootstrap: std::env::var(addr).expect("set"),
                properties: std::env::var(props).map(|p| parse_properties(&p)).unwrap_or_default(),
                broker: None,
                engine: None,
            };
        }
        let broker = TansuBroker::start(engine);
        TestCluster {
            label: label.to_string(),
            bootstrap: broker.bootstrap(),
            properties: BTreeMap::new(),
            broker: Some(Mutex::new(broker)),
            engine: Some(engine),
        }
    }

    /// A tansu broker always (ignores `KMIGRATE_TEST_*`): for tests of tansu-specific behaviour.
    pub fn start_tansu(label: &str, engine: Engine) -> TestCluster {
        let broker = TansuBroker::start(engine);
        TestCluster {
            label: label.to_string(),
            bootstrap: broker.bootstrap(),
            properties: BTreeMap::new(),
            broker: Some(Mutex::new(broker)),
            engine: Some(engine),
        }
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// `host:port`.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// Client properties for this cluster (empty for tansu).
    pub fn properties(&self) -> &BTreeMap<String, String> {
        &self.properties
    }

    /// The tansu engine, or `None` for a real cluster given by the environment.
    pub fn engine(&self) -> Option<Engine> {
        self.engine
    }

    /// Whether this is a tansu broker (as opposed to a real Kafka cluster).
    pub fn is_tansu(&self) -> bool {
        self.engine.is_some()
    }

    /// The kmigrate configuration of this cluster.
    pub fn config(&self) -> ClusterConfig {
        ClusterConfig {
            label: self.label.clone(),
            bootstrap_servers: self.bootstrap.clone(),
            properties: self.properties.clone(),
        }
    }

    /// Connects kmigrate to this cluster (panics with the broker's log on failure).
    pub async fn connect(&self) -> Cluster {
        match Cluster::connect(self.config(), Duration::from_secs(10)).await {
            Ok(c) => c,
            Err(e) => {
                panic!("connecting to the {} test cluster failed: {e}\n{}", self.label, self.log_tail(40))
            }
        }
    }

    /// The last lines of the broker's output ("" for an external cluster).
    pub fn log_tail(&self, lines: usize) -> String {
        match &self.broker {
            Some(b) => format!("tansu output (last {lines} lines):\n{}", b.lock().unwrap().log_tail(lines)),
            None => String::new(),
        }
    }

    /// Whether the broker process is still running (always true for an external cluster).
    pub fn is_running(&self) -> bool {
        self.broker.as_ref().is_none_or(|b| b.lock().unwrap().is_running())
    }

    /// rdkafka client properties for the testkit's own clients.
    pub(crate) fn rd_config(&self) -> rdkafka::ClientConfig {
        let mut c = rdkafka::ClientConfig::new();
        for (k, v) in &self.properties {
            c.set(k, v);
        }
        c.set("bootstrap.servers", &self.bootstrap);
        c
    }
}

/// A source and a target cluster.
#[derive(Debug)]
pub struct BrokerPair {
    pub source: TestCluster,
    pub target: TestCluster,
}

impl BrokerPair {
    /// Starts two tansu brokers (concurrently), or uses the real pair given by `KMIGRATE_TEST_SOURCE` /
    /// `KMIGRATE_TEST_TARGET`.
    pub fn start(engine: Engine) -> BrokerPair {
        let target = std::thread::spawn(move || TestCluster::start("target", engine));
        let source = TestCluster::start("source", engine);
        let target = target.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        BrokerPair { source, target }
    }
}

/// A name no other test (or earlier run against a real cluster) uses: `prefix-<nanos>-<counter>`.
///
/// Always name topics and groups with this: tests share real clusters, and tansu's DeleteTopics deletes
/// every topic, so tests never delete topics and never reuse names.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("{prefix}-{:x}-{}", nanos & 0xffff_ffff_ffff, COUNTER.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_parse() {
        let p = parse_properties("security.protocol=SASL_SSL; sasl.mechanism=PLAIN;;sasl.password=a=b");
        assert_eq!(p["security.protocol"], "SASL_SSL");
        assert_eq!(p["sasl.mechanism"], "PLAIN");
        assert_eq!(p["sasl.password"], "a=b");
        assert!(parse_properties("").is_empty());
    }

    #[test]
    fn names_are_unique() {
        let a = unique("t");
        let b = unique("t");
        assert_ne!(a, b);
        assert!(a.starts_with("t-"));
    }
}
