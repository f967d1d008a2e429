//! kmigrate-testkit: real Kafka brokers for kmigrate's tests (a dev-dependency of the other crates).
//!
//! - [`BrokerPair::start`] / [`TestCluster::start`] give a test its source and target clusters. By
//!   default these are Apache Kafka brokers ([`KafkaBroker`]: single-node KRaft, free loopback ports,
//!   a temp directory each) shared by every test of a test binary, started on first use; the jars come
//!   from `scripts/ensure-kafka.sh` (Maven Central, cached outside the clone). Tests that kill, stop or
//!   secure a broker start their own ([`TestCluster::start_kafka`], [`BrokerPair::start_dedicated`]).
//!   If a broker cannot be had the test fails with instructions (it never skips).
//! - `KMIGRATE_TEST_BROKER=tansu` selects tansu 0.6 instead (a broker of each test's own, on the
//!   [`Engine`] the test names; `$KMIGRATE_TANSU` or `scripts/ensure-tansu.sh`).
//! - With `KMIGRATE_TEST_SOURCE` and `KMIGRATE_TEST_TARGET` set (bootstrap addresses, and optionally
//!   `KMIGRATE_TEST_SOURCE_PROPERTIES` / `KMIGRATE_TEST_TARGET_PROPERTIES` as `k=v;k=v`), the same tests run
//!   against that real cluster pair instead. Tests share clusters, so they always use [`unique`] topic
//!   and group names and never delete topics.
//! - Seeding and inspection with plain rdkafka clients, independent of the code under test: create topics,
//!   produce records with keys, values, headers and explicit timestamps, commit group offsets, run a live
//!   group member, read records back.
//! - A Kafka Connect worker in distributed mode ([`ConnectWorker`]) for the MirrorMaker 2 tests.
//! - Kafka's own command-line tools from the same jars ([`tools`]), the independent oracle.

mod cluster;
mod connect;
mod kafka;
mod proxy;
mod seed;
mod tansu;
mod tls;
pub mod tools;

pub use cluster::{
    BrokerKind, BrokerPair, ENV_BROKER, ENV_SOURCE, ENV_SOURCE_PROPERTIES, ENV_TARGET, ENV_TARGET_PROPERTIES,
    SecuredBrokers, TestCluster, broker_kind, external_clusters, parse_properties, unique,
};
pub use connect::ConnectWorker;
pub use kafka::{KAFKA_VERSION, KafkaBroker, KafkaOptions, Listener, SaslUser, kafka_home};
pub use proxy::{NetworkFault, TcpProxy};
pub use seed::{ConsumedRecord, GroupProtocol, LiveMember, SeedRecord, produce_with};
pub use tansu::{Engine, TANSU_VERSION, TansuBroker, tansu_binary};
pub use tls::TlsFiles;

/// The cache root: `$KMIGRATE_CACHE`, `$XDG_CACHE_HOME/kmigrate` or `~/.cache/kmigrate`.
pub(crate) fn cache_root() -> std::path::PathBuf {
    use std::path::PathBuf;
    std::env::var_os("KMIGRATE_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|x| PathBuf::from(x).join("kmigrate")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("kmigrate")))
        .expect("neither KMIGRATE_CACHE, XDG_CACHE_HOME nor HOME is set")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The selected broker starts, answers, and is gone with its directory after drop.
    #[tokio::test]
    async fn broker_starts_and_stops() {
        let (addr, dir) = match broker_kind() {
            BrokerKind::Kafka => {
                let broker = KafkaBroker::start();
                let r = (broker.bootstrap(), broker.dir().to_path_buf());
                assert!(std::net::TcpStream::connect(&r.0).is_ok());
                r
            }
            BrokerKind::Tansu => {
                let broker = TansuBroker::start(Engine::Sqlite);
                let r = (broker.bootstrap(), broker.dir().to_path_buf());
                assert!(std::net::TcpStream::connect(&r.0).is_ok());
                r
            }
        };
        assert!(std::net::TcpStream::connect(&addr).is_err(), "{addr} still answers");
        assert!(!dir.exists(), "{} was not removed", dir.display());
    }

    /// A broker the test process never drops (a shared one) is killed and removed by its reaper
    /// when the process exits: here, the reaper is handed end-of-file as at exit.
    #[test]
    fn the_reaper_removes_a_broker_when_its_process_goes() {
        let mut broker = KafkaBroker::start();
        let dir = broker.dir().to_path_buf();
        let addr = broker.bootstrap();
        broker.close_reaper_stdin_for_test();
        let gone = (0..200).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(50));
            !dir.exists()
        });
        assert!(gone, "{} is still there", dir.display());
        assert!(!broker.is_running(), "the JVM still runs");
        assert!(std::net::TcpStream::connect(&addr).is_err(), "{addr} still answers");
    }

    /// The version the testkit expects is the one scripts/kafka/pom.xml pins.
    #[test]
    fn kafka_version_matches_the_pom() {
        let pom =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/kafka/pom.xml"))
                .unwrap();
        assert!(
            pom.contains(&format!("<kafka.version>{KAFKA_VERSION}</kafka.version>")),
            "pom.xml pins another version"
        );
    }

    /// Seeding round trip: keys, values, headers and timestamps come back as produced.
    #[tokio::test]
    async fn seed_and_read_back() {
        let c = TestCluster::start("source", Engine::Memory);
        let topic = unique("testkit-seed");
        c.create_topic(&topic, 2).await;
        let offsets = c
            .produce(
                &topic,
                &[
                    SeedRecord::new(1).key("k1").value("v1").header("h", "x").timestamp(1_000),
                    SeedRecord::new(1).key("k2").value("v2").timestamp(2_000),
                ],
            )
            .await;
        assert_eq!(offsets, vec![0, 1]);
        let got = c.consume(&topic, 1, 0, 2).await;
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].key.as_deref(), Some(&b"k1"[..]));
        assert_eq!(got[0].value.as_deref(), Some(&b"v1"[..]));
        assert_eq!(got[0].headers, vec![("h".to_string(), b"x".to_vec())]);
        assert_eq!(got[0].timestamp, rdkafka::Timestamp::CreateTime(1_000));
        assert_eq!(got[1].timestamp, rdkafka::Timestamp::CreateTime(2_000));
    }
}
