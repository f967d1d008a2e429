//! Connecting, metadata, and connection errors.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use kmigrate_kafka::{Cluster, ClusterConfig, Error};
use kmigrate_testkit::{Engine, KafkaOptions, Listener, SaslUser, TestCluster, unique};

/// Metadata: cluster id, brokers, topics with partition counts and leaders; internal topics excluded.
/// SQLite engine: nothing here depends on the engine; SQLite is the closest to a real broker.
#[tokio::test]
async fn metadata_lists_brokers_and_topics_without_internal_ones() {
    let c = TestCluster::start("source", Engine::Sqlite);
    let a = unique("meta-a");
    let b = unique("meta-b");
    c.create_topic(&a, 3).await;
    c.create_topic(&b, 1).await;
    // A committed offset makes Apache Kafka create __consumer_offsets (an internal topic).
    c.commit_group_offsets(&unique("meta-group"), &[(&a, 0, 0)]).await;
    // An "__" topic of our own (tansu has no internal topics; Kafka flags its own "__" topics
    // internal), and one with a single "_" (e.g. a schema registry's `_schemas`), which is not.
    let internal = format!("__{}", unique("kmigrate-internal"));
    c.create_topic(&internal, 1).await;
    let underscore = format!("_{}", unique("schemas"));
    c.create_topic(&underscore, 1).await;

    // The broker's unfiltered list, read first (topics are never deleted: all are still there).
    let unfiltered = c.all_topic_names().await;
    assert!(unfiltered.contains(&internal) && unfiltered.contains(&underscore), "{unfiltered:?}");
    if !c.is_tansu() {
        assert!(unfiltered.contains("__consumer_offsets"), "{unfiltered:?}");
    }
    let k = c.connect().await;
    let md = k.metadata().await.unwrap();

    assert!(md.cluster_id.as_deref().is_some_and(|id| !id.is_empty()), "{md:?}");
    assert!(!md.brokers.is_empty());
    if c.is_tansu() {
        let (host, port) = c.bootstrap().split_once(':').unwrap();
        assert_eq!(md.brokers.len(), 1);
        assert_eq!(md.brokers[0].host, host);
        assert_eq!(md.brokers[0].port.to_string(), port);
    }
    let broker_ids: Vec<i32> = md.brokers.iter().map(|b| b.id).collect();

    assert_eq!(md.topics[&a].partition_count(), 3);
    assert_eq!(md.topics[&b].partition_count(), 1);
    for p in &md.topics[&a].partitions {
        assert!(broker_ids.contains(&p.leader), "leader {} of {a}/{} is not a broker", p.leader, p.id);
    }
    assert_eq!(md.topics[&a].partitions.iter().map(|p| p.id).collect::<Vec<_>>(), vec![0, 1, 2]);
    // Exactly the "__" topics are left out.
    for t in &unfiltered {
        assert_eq!(md.topics.contains_key(t), !t.starts_with("__"), "{t}: {:?}", md.topics.keys());
    }
    assert!(md.topics.contains_key(&underscore));

    // The metadata of named topics; a missing one is a distinct error naming it.
    let some = k.topics(&[&a, &b]).await.unwrap();
    assert_eq!(some.len(), 2);
    let missing = unique("meta-missing");
    match k.topics(&[&a, &missing]).await {
        Err(Error::TopicNotFound { label, topic }) => {
            assert_eq!((label.as_str(), topic.as_str()), ("source", missing.as_str()));
        }
        other => panic!("expected TopicNotFound, got {other:?}"),
    }
    match k.topics(&[&missing]).await {
        Err(e @ Error::TopicNotFound { .. }) => {
            assert_eq!(e.to_string(), format!("topic `{missing}` does not exist on the source cluster"));
        }
        other => panic!("expected TopicNotFound, got {other:?}"),
    }
}

/// Nothing listens: the error names the label, the bootstrap address and how long it waited.
#[tokio::test]
async fn unreachable_cluster_error_names_address_and_wait() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let bootstrap = format!("127.0.0.1:{port}");
    let started = Instant::now();
    let err =
        Cluster::connect(ClusterConfig::new("target", &bootstrap), Duration::from_secs(1)).await.unwrap_err();
    let elapsed = started.elapsed();
    match &err {
        Error::Unreachable { label, bootstrap: b, waited, .. } => {
            assert_eq!(label, "target");
            assert_eq!(b, &bootstrap);
            assert!(*waited >= Duration::from_millis(900), "waited {waited:?}");
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    let text = err.to_string();
    // The wait itself is checked above; its rendering may be "999ms" or "1s" depending on where
    // the last slice of the deadline ended.
    assert!(
        text.starts_with(&format!(
            "the target cluster is unreachable: no answer from bootstrap servers {bootstrap} after waiting "
        )),
        "{text}"
    );
}

/// A broker that requires SASL refuses wrong credentials: a clear "authentication failed", reported as
/// soon as librdkafka knows (not after the whole timeout), for PLAIN and SCRAM alike; the right ones
/// connect. Apache Kafka with a SASL_PLAINTEXT listener of its own (the test's broker).
#[tokio::test]
async fn authentication_failure_is_reported_clearly() {
    let user = SaslUser { name: "alice".into(), password: "alice-secret".into() };
    let c = TestCluster::start_kafka(
        "source",
        KafkaOptions {
            listener: Listener::SaslPlaintext { users: vec![user.clone()] },
            ..Default::default()
        },
    );
    let sasl = |mechanism: &str, password: &str| {
        ClusterConfig::new("source", c.bootstrap())
            .with_property("security.protocol", "SASL_PLAINTEXT")
            .with_property("sasl.mechanism", mechanism)
            .with_property("sasl.username", &user.name)
            .with_property("sasl.password", password)
    };
    for mechanism in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] {
        let started = Instant::now();
        let err = Cluster::connect(sasl(mechanism, "not-the-password-4711"), Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5), "{mechanism}: took {:?}", started.elapsed());
        match &err {
            Error::AuthenticationFailed { label, bootstrap, .. } => {
                assert_eq!(label, "source");
                assert_eq!(bootstrap, c.bootstrap());
            }
            other => panic!("{mechanism}: expected AuthenticationFailed, got {other:?}\n{}", c.log_tail(20)),
        }
        let text = err.to_string();
        assert!(text.starts_with("authentication failed on the source cluster"), "{text}");
        assert!(!text.contains("not-the-password-4711"), "{text}");

        let k = Cluster::connect(sasl(mechanism, &user.password), Duration::from_secs(10)).await.unwrap();
        assert!(!k.metadata().await.unwrap().brokers.is_empty());
    }
}

/// A property librdkafka does not know is a configuration error naming the cluster; values never appear.
#[tokio::test]
async fn invalid_property_is_a_config_error() {
    let cfg = ClusterConfig::new("source", "127.0.0.1:1").with_property(
        "sasl.jaas.config",
        "org.apache.kafka.common.security.plain.PlainLoginModule password=\"s3cr3t-value\"",
    );
    let err = Cluster::connect(cfg, Duration::from_secs(1)).await.unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("source cluster") && text.contains("sasl.jaas.config"), "{text}");
    assert!(!text.contains("s3cr3t-value"), "{text}");
}
