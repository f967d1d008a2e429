//! Test clusters: Apache Kafka brokers started by the testkit (shared per test binary, or a test's own),
//! tansu brokers when selected, or a real cluster pair given by environment variables.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kmigrate_kafka::{Cluster, ClusterConfig};

use crate::kafka::{KafkaBroker, KafkaOptions};
use crate::tansu::{Engine, TansuBroker};

/// Bootstrap address of a real source cluster to test against instead of tansu.
pub const ENV_SOURCE: &str = "KMIGRATE_TEST_SOURCE";
/// Bootstrap address of a real target cluster.
pub const ENV_TARGET: &str = "KMIGRATE_TEST_TARGET";
/// Client properties for the real source cluster: `k=v;k=v`.
pub const ENV_SOURCE_PROPERTIES: &str = "KMIGRATE_TEST_SOURCE_PROPERTIES";
/// Client properties for the real target cluster: `k=v;k=v`.
pub const ENV_TARGET_PROPERTIES: &str = "KMIGRATE_TEST_TARGET_PROPERTIES";

/// Which broker the tests start (`KMIGRATE_TEST_BROKER`): `kafka` (Apache Kafka, the default) or
/// `tansu` (tansu 0.6, with the engine each test names).
pub const ENV_BROKER: &str = "KMIGRATE_TEST_BROKER";

/// The broker kind the tests start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerKind {
    Kafka,
    Tansu,
}

/// `KMIGRATE_TEST_BROKER`, checked: an unknown value fails the test rather than silently testing
/// something else.
pub fn broker_kind() -> BrokerKind {
    match std::env::var(ENV_BROKER).as_deref() {
        Err(_) | Ok("") | Ok("kafka") => BrokerKind::Kafka,
        Ok("tansu") => BrokerKind::Tansu,
        Ok(other) => panic!("{ENV_BROKER}={other}: expected `kafka` (the default) or `tansu`"),
    }
}

/// What a test cluster runs on.
enum Backing {
    /// A real cluster named by `KMIGRATE_TEST_SOURCE` / `_TARGET`.
    External,
    /// An Apache Kafka broker: shared by the test binary, or the test's own.
    Kafka(Arc<Mutex<KafkaBroker>>),
    Tansu(Mutex<TansuBroker>, Engine),
}

/// One cluster of a test.
pub struct TestCluster {
    label: String,
    /// What the code under test is given.
    bootstrap: String,
    properties: BTreeMap<String, String>,
    /// What the testkit's own clients use (a plaintext listener of a secured Kafka broker).
    seed_bootstrap: String,
    seed_properties: BTreeMap<String, String>,
    backing: Backing,
}

impl std::fmt::Debug for TestCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCluster")
            .field("label", &self.label)
            .field("bootstrap", &self.bootstrap)
            .field("engine", &self.engine())
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

/// The Kafka broker this test binary shares for `label` ("source" or anything else: "target"),
/// started on first use. Never dropped: its reaper removes it when the process exits.
fn shared_kafka(label: &str) -> Arc<Mutex<KafkaBroker>> {
    static SOURCE: OnceLock<Arc<Mutex<KafkaBroker>>> = OnceLock::new();
    static TARGET: OnceLock<Arc<Mutex<KafkaBroker>>> = OnceLock::new();
    let cell = if label == "source" { &SOURCE } else { &TARGET };
    cell.get_or_init(|| Arc::new(Mutex::new(KafkaBroker::start()))).clone()
}

impl TestCluster {
    /// The cluster of side `label` ("source"/"target"): the Kafka pair named by `KMIGRATE_TEST_SOURCE`
    /// and `KMIGRATE_TEST_TARGET` when set; else this test binary's shared Apache Kafka broker for that
    /// side (tests use [`unique`] names, so they share it safely); with `KMIGRATE_TEST_BROKER=tansu`, a
    /// tansu broker of its own on `engine` (`engine` matters only for tansu).
    pub fn start(label: &str, engine: Engine) -> TestCluster {
        if external_clusters() {
            let (addr, props) = if label == "target" {
                (ENV_TARGET, ENV_TARGET_PROPERTIES)
            } else {
                (ENV_SOURCE, ENV_SOURCE_PROPERTIES)
            };
            let bootstrap = std::env::var(addr).expect("set");
            let properties = std::env::var(props).map(|p| parse_properties(&p)).unwrap_or_default();
            return TestCluster {
                label: label.to_string(),
                seed_bootstrap: bootstrap.clone(),
                seed_properties: properties.clone(),
                bootstrap,
                properties,
                backing: Backing::External,
            };
        }
        match broker_kind() {
            BrokerKind::Kafka => Self::on_kafka(label, shared_kafka(label)),
            BrokerKind::Tansu => Self::start_tansu(label, engine),
        }
    }

    /// An Apache Kafka broker of the test's own (ignores `KMIGRATE_TEST_*`), for tests that stop,
    /// kill or reconfigure a broker; `options` say how its client listener is secured.
    pub fn start_kafka(label: &str, options: KafkaOptions) -> TestCluster {
        Self::on_kafka(label, Arc::new(Mutex::new(KafkaBroker::start_with(options))))
    }

    fn on_kafka(label: &str, broker: Arc<Mutex<KafkaBroker>>) -> TestCluster {
        let (bootstrap, seed_bootstrap) = {
            let b = broker.lock().unwrap();
            (b.bootstrap(), b.internal_bootstrap())
        };
        TestCluster {
            label: label.to_string(),
            bootstrap,
            properties: BTreeMap::new(),
            seed_bootstrap,
            seed_properties: BTreeMap::new(),
            backing: Backing::Kafka(broker),
        }
    }

    /// A tansu broker always (ignores `KMIGRATE_TEST_*`): for tests of tansu-specific behaviour.
    pub fn start_tansu(label: &str, engine: Engine) -> TestCluster {
        let broker = TansuBroker::start(engine);
        TestCluster {
            label: label.to_string(),
            bootstrap: broker.bootstrap(),
            properties: BTreeMap::new(),
            seed_bootstrap: broker.bootstrap(),
            seed_properties: BTreeMap::new(),
            backing: Backing::Tansu(Mutex::new(broker), engine),
        }
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// `host:port` the code under test is given.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// Client properties for this cluster (empty for a local plaintext broker).
    pub fn properties(&self) -> &BTreeMap<String, String> {
        &self.properties
    }

    /// Sets a client property the code under test is given (e.g. the SASL credentials of a secured
    /// broker); the testkit's own clients keep using the broker's plaintext listener.
    pub fn set_property(&mut self, key: &str, value: &str) {
        self.properties.insert(key.to_string(), value.to_string());
    }

    /// The tansu engine, or `None` for Apache Kafka or a cluster given by the environment.
    pub fn engine(&self) -> Option<Engine> {
        match &self.backing {
            Backing::Tansu(_, e) => Some(*e),
            _ => None,
        }
    }

    /// Whether this is a tansu broker (as opposed to Apache Kafka or another real cluster).
    pub fn is_tansu(&self) -> bool {
        matches!(self.backing, Backing::Tansu(..))
    }

    /// The Apache Kafka broker the testkit started (`None` for tansu or an external cluster).
    pub fn kafka(&self) -> Option<std::sync::MutexGuard<'_, KafkaBroker>> {
        match &self.backing {
            Backing::Kafka(b) => Some(b.lock().unwrap_or_else(|e| e.into_inner())),
            _ => None,
        }
    }

    /// The proxy between the code under test and the broker (a broker started with
    /// [`KafkaOptions::proxied`]); panics otherwise.
    pub fn proxy(&self) -> crate::TcpProxy {
        self.kafka().and_then(|b| b.proxy()).expect("a broker started with KafkaOptions { proxied: true }")
    }

    /// The kmigrate configuration of this cluster.
    pub fn config(&self) -> ClusterConfig {
        ClusterConfig {
            label: self.label.clone(),
            bootstrap_servers: self.bootstrap.clone(),
            properties: self.properties.clone(),
            bootstrap_template: None,
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
        match &self.backing {
            Backing::Tansu(b, _) => {
                format!("tansu output (last {lines} lines):\n{}", b.lock().unwrap().log_tail(lines))
            }
            Backing::Kafka(b) => {
                let b = b.lock().unwrap_or_else(|e| e.into_inner());
                format!("Kafka log {} (last {lines} lines):\n{}", b.log_path().display(), b.log_tail(lines))
            }
            Backing::External => String::new(),
        }
    }

    /// Whether the broker process is still running (always true for an external cluster).
    pub fn is_running(&self) -> bool {
        match &self.backing {
            Backing::Tansu(b, _) => b.lock().unwrap().is_running(),
            Backing::Kafka(b) => b.lock().unwrap_or_else(|e| e.into_inner()).is_running(),
            Backing::External => true,
        }
    }

    /// rdkafka client properties for the testkit's own clients.
    pub(crate) fn rd_config(&self) -> rdkafka::ClientConfig {
        let mut c = rdkafka::ClientConfig::new();
        for (k, v) in &self.seed_properties {
            c.set(k, v);
        }
        c.set("bootstrap.servers", &self.seed_bootstrap);
        c
    }

    /// The address and properties of the testkit's own clients (for Kafka's command-line tools).
    pub fn seed_bootstrap(&self) -> &str {
        &self.seed_bootstrap
    }

    pub fn seed_properties(&self) -> &BTreeMap<String, String> {
        &self.seed_properties
    }
}

/// A source and a target cluster.
#[derive(Debug)]
pub struct BrokerPair {
    pub source: TestCluster,
    pub target: TestCluster,
}

impl BrokerPair {
    /// The test binary's shared Apache Kafka pair (started concurrently on first use), the real pair
    /// given by `KMIGRATE_TEST_SOURCE` / `KMIGRATE_TEST_TARGET`, or, with `KMIGRATE_TEST_BROKER=tansu`,
    /// two tansu brokers of the test's own on `engine`.
    pub fn start(engine: Engine) -> BrokerPair {
        let target = std::thread::spawn(move || TestCluster::start("target", engine));
        let source = TestCluster::start("source", engine);
        let target = target.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        BrokerPair { source, target }
    }

    /// Two Apache Kafka brokers of the test's own (for tests that kill or restart one).
    pub fn start_dedicated() -> BrokerPair {
        let target = std::thread::spawn(|| TestCluster::start_kafka("target", KafkaOptions::default()));
        let source = TestCluster::start_kafka("source", KafkaOptions::default());
        let target = target.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        BrokerPair { source, target }
    }
}

/// The secured Apache Kafka brokers of the TLS and SASL tests, started concurrently: a `SASL_SSL`
/// source knowing `user` (SCRAM and PLAIN), a mutual-TLS target, and a mutual-TLS target whose
/// certificate names another host (`broker.kmigrate.invalid`: a hostname mismatch). A test binary
/// keeps them in a static, so its tests share them.
#[derive(Debug)]
pub struct SecuredBrokers {
    pub sasl_ssl: TestCluster,
    pub mtls: TestCluster,
    pub other_host: TestCluster,
}

impl SecuredBrokers {
    pub fn start(user: crate::SaslUser) -> SecuredBrokers {
        use crate::Listener;
        let sasl_ssl = std::thread::spawn(move || {
            TestCluster::start_kafka(
                "source",
                KafkaOptions { listener: Listener::SaslSsl { users: vec![user] }, ..Default::default() },
            )
        });
        let other_host = std::thread::spawn(|| {
            TestCluster::start_kafka(
                "target",
                KafkaOptions {
                    listener: Listener::MutualTls,
                    cert_hosts: vec!["broker.kmigrate.invalid".into()],
                    ..Default::default()
                },
            )
        });
        let mtls = TestCluster::start_kafka(
            "target",
            KafkaOptions { listener: Listener::MutualTls, ..Default::default() },
        );
        let join = |h: std::thread::JoinHandle<TestCluster>| {
            h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
        };
        SecuredBrokers { sasl_ssl: join(sasl_ssl), mtls, other_host: join(other_host) }
    }
}

impl TestCluster {
    /// The generated CA, broker and client certificates of a TLS Kafka broker the testkit started.
    pub fn tls_files(&self) -> crate::TlsFiles {
        self.kafka().expect("a Kafka broker").tls().expect("a TLS broker").clone()
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
