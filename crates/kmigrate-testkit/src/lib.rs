//! kmigrate-testkit: real Kafka-protocol brokers for kmigrate's tests (a dev-dependency of the other crates).
//!
//! - [`BrokerPair::start`] / [`TestCluster::start`] start tansu brokers (an Apache-Kafka-compatible broker)
//!   on loopback ports, each in a temp directory of its own, killed when dropped. The binary is found
//!   through `$KMIGRATE_TANSU` or the cache `scripts/ensure-tansu.sh` installs into; if it is missing the
//!   test fails with instructions (it never skips).
//! - With `KMIGRATE_TEST_SOURCE` and `KMIGRATE_TEST_TARGET` set (bootstrap addresses, and optionally
//!   `KMIGRATE_TEST_SOURCE_PROPERTIES` / `KMIGRATE_TEST_TARGET_PROPERTIES` as `k=v;k=v`), the same tests run
//!   against that real cluster pair instead. Tests must therefore always use [`unique`] topic and group
//!   names, and never delete topics (tansu's DeleteTopics deletes every topic).
//! - Seeding and inspection with plain rdkafka clients, independent of the code under test: create topics,
//!   produce records with keys, values, headers and explicit timestamps, commit group offsets, run a live
//!   group member, read records back.
//!
//! Pick the tansu [`Engine`] per test by the behaviour the test needs (see its documentation): offsets and
//! by-time lookups need `Sqlite`; group membership (DescribeGroups) and bulk data need `Memory`.

mod broker;
mod cluster;
mod seed;

pub use broker::{Engine, TANSU_VERSION, TansuBroker, tansu_binary};
pub use cluster::{
    BrokerPair, ENV_SOURCE, ENV_SOURCE_PROPERTIES, ENV_TARGET, ENV_TARGET_PROPERTIES, TestCluster,
    external_clusters, parse_properties, unique,
};
pub use seed::{ConsumedRecord, LiveMember, SeedRecord, produce_with};

#[cfg(test)]
mod tests {
    use super::*;

    /// The broker starts, answers, and is gone after drop.
    #[tokio::test]
    async fn tansu_starts_and_stops() {
        for engine in [Engine::Sqlite, Engine::Memory] {
            let broker = TansuBroker::start(engine);
            let addr = broker.bootstrap();
            assert!(std::net::TcpStream::connect(&addr).is_ok());
            let dir = broker.dir().to_path_buf();
            drop(broker);
            assert!(std::net::TcpStream::connect(&addr).is_err(), "{addr} still answers");
            assert!(!dir.exists(), "{} was not removed", dir.display());
        }
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
