//! Secret property values never appear in logs, even with every librdkafka debug context requested.
//!
//! This file holds one test only: it installs a global `tracing` subscriber at TRACE level writing into a
//! buffer (librdkafka's logs arrive on librdkafka's own threads, so a thread-local subscriber would miss them).

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::Buffer;
use kmigrate_kafka::{Cluster, ClusterConfig, TopicPartition};
use kmigrate_testkit::{KafkaOptions, Listener, SaslUser, TestCluster, unique};

const PASSWORD: &str = "kmigrate-secret-marker-5f0b8e21";
const USERNAME: &str = "kmigrate-user-marker-77c1d0";
const KEY_PASSWORD: &str = "kmigrate-key-password-marker-0a4e";

/// Apache Kafka, a broker of the test's own with a SASL_SSL listener: every call kmigrate makes, over
/// plaintext and over SASL_SSL (SCRAM accepted, PLAIN refused) with the CA, a client certificate and
/// its encrypted key inline (PEM) and the key's password, at TRACE with every librdkafka debug context.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_values_never_appear_in_logs() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    // Apache Kafka with a SASL_SSL listener that knows the marker credentials, and a plaintext one.
    let user = SaslUser { name: USERNAME.into(), password: PASSWORD.into() };
    let c = TestCluster::start_kafka(
        "source",
        KafkaOptions { listener: Listener::SaslSsl { users: vec![user] }, ..Default::default() },
    );
    let tls = c.kafka().unwrap().tls().unwrap().clone();
    let (_, encrypted_key) = tls.encrypted_client_key(KEY_PASSWORD).unwrap();
    // Plaintext connection, so the SASL properties are unused but set (the marker must still never be
    // printed), and every debug context requested, including `conf`, which dumps the configuration.
    let cfg = ClusterConfig::new("source", c.seed_bootstrap())
        .with_property("security.protocol", "PLAINTEXT")
        .with_property("sasl.username", USERNAME)
        .with_property("sasl.password", PASSWORD)
        .with_property("debug", "all,conf");
    let k = Cluster::connect(cfg.clone(), Duration::from_secs(10)).await.unwrap();
    let topic = unique("secrets");
    c.create_topic(&topic, 2).await;
    c.produce(&topic, &common::records(0, 3, common::now_ms(), 1)).await;
    let ps = common::partitions(&topic, 2);
    k.metadata().await.unwrap();
    k.offsets_for_time(&ps, 0).await.unwrap();
    k.inspect_timestamps(&ps, 2).await.unwrap();
    let group = unique("secrets-group");
    k.commit_offsets(&group, &BTreeMap::from([(TopicPartition::new(&topic, 0), 1)])).await.unwrap();
    k.committed_offsets(&group, &ps).await.unwrap();
    k.list_groups().await.unwrap();
    drop(k);

    // The SASL_SSL paths too: a session authenticated with the marker credentials (SCRAM-SHA-512),
    // and one refused (PLAIN, the marker user with the marker password reversed). The client key
    // is loaded (and decrypted) though this broker asks for no client certificate.
    let sasl = ClusterConfig::new("target", c.bootstrap())
        .with_property("security.protocol", "SASL_SSL")
        .with_property("sasl.mechanism", "SCRAM-SHA-512")
        .with_property("sasl.username", USERNAME)
        .with_property("sasl.password", PASSWORD)
        .with_property("ssl.ca.pem", &tls.ca_pem)
        .with_property("ssl.certificate.pem", &tls.client_cert_pem)
        .with_property("ssl.key.pem", &encrypted_key)
        .with_property("ssl.key.password", KEY_PASSWORD)
        .with_property("debug", "all");
    let k = Cluster::connect(sasl.clone(), Duration::from_secs(10)).await.unwrap();
    k.metadata().await.unwrap();
    k.committed_offsets(&group, &ps).await.unwrap();
    drop(k);
    let wrong: String = PASSWORD.chars().rev().collect();
    let refused =
        sasl.clone().with_property("sasl.mechanism", "PLAIN").with_property("sasl.password", &wrong);
    let err = Cluster::connect(refused, Duration::from_secs(5)).await.unwrap_err();
    assert!(matches!(err, kmigrate_kafka::Error::AuthenticationFailed { .. }), "{err:?}");

    // Read the logs once every librdkafka client of this test is destroyed (rdkafka traces each
    // creation and destruction): after that, no librdkafka thread logs anything more.
    let read = || String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let logs = loop {
        let logs = read();
        let created = logs.matches("Create new librdkafka client").count();
        let destroyed = logs.matches("Destroyed client:").count();
        if created > 0 && created == destroyed {
            break logs;
        }
        assert!(std::time::Instant::now() < deadline, "{created} clients created, {destroyed} destroyed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(logs.contains("Invalid username or password"), "the refused login's lines were captured");
    let librdkafka_lines = logs.lines().filter(|l| l.contains("librdkafka")).count();
    assert!(
        librdkafka_lines > 50,
        "expected librdkafka debug output to be captured, got {librdkafka_lines} lines:\n{logs}"
    );
    // `conf` was refused (librdkafka's configuration dump starts with "CONF").
    assert!(logs.contains("debug context `conf` is not allowed"), "no warning about debug=conf");
    assert!(!logs.contains("facility=\"CONF\""), "librdkafka dumped its configuration");
    // The key: whole and every line of its body (the last one may be too short to be searched for).
    let key_lines: Vec<&str> =
        encrypted_key.lines().filter(|l| !l.starts_with("-----") && l.len() >= 8).collect();
    assert!(key_lines.len() >= 3, "{encrypted_key}");
    let mut markers = vec![PASSWORD, USERNAME, KEY_PASSWORD, wrong.as_str(), encrypted_key.as_str()];
    markers.extend(key_lines);
    for marker in markers {
        assert!(!logs.contains(marker), "a secret appears in the logs");
        for text in
            [format!("{cfg:?}"), cfg.to_string(), format!("{sasl:?}"), err.to_string(), format!("{err:?}")]
        {
            assert!(!text.contains(marker), "a secret appears in: {text}");
        }
    }
}
