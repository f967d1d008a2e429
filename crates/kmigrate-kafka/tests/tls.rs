//! Secured Apache Kafka: SASL_SSL with SCRAM, and mutual TLS with the client's certificate and key
//! as files, inline PEM, or an encrypted key; every refusal is a typed error that names the
//! cluster and the cause, returned at once.
//!
//! Brokers: three of this binary's own, started together on first use and shared by its tests
//! (unique topic names): SASL_SSL, mutual TLS, and mutual TLS with a certificate for another host.

mod common;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use kmigrate_kafka::{Cluster, ClusterConfig, Error, TlsProblem};
use kmigrate_testkit::{SaslUser, SecuredBrokers, TestCluster, TlsFiles, unique};

const USER: &str = "migrator";
const PASSWORD: &str = "tls-test-password-3c9d";

fn brokers() -> &'static SecuredBrokers {
    static BROKERS: OnceLock<SecuredBrokers> = OnceLock::new();
    BROKERS.get_or_init(|| SecuredBrokers::start(SaslUser { name: USER.into(), password: PASSWORD.into() }))
}

fn tls(c: &TestCluster) -> TlsFiles {
    c.tls_files()
}

/// The README's SASL_SSL + SCRAM-SHA-512 properties.
fn sasl_ssl(c: &TestCluster, password: &str, ca: &std::path::Path) -> ClusterConfig {
    ClusterConfig::new("source", c.bootstrap())
        .with_property("security.protocol", "SASL_SSL")
        .with_property("sasl.mechanism", "SCRAM-SHA-512")
        .with_property("sasl.username", USER)
        .with_property("sasl.password", password)
        .with_property("ssl.ca.location", ca.display().to_string())
}

fn mtls(c: &TestCluster) -> ClusterConfig {
    ClusterConfig::new("target", c.bootstrap())
        .with_property("security.protocol", "SSL")
        .with_property("ssl.ca.location", tls(c).ca_cert.display().to_string())
}

/// Connects, then reads what kmigrate reads: metadata, end offsets of a seeded topic, groups.
async fn connect_and_read(c: &TestCluster, config: ClusterConfig) {
    let topic = unique("tls");
    c.create_topic(&topic, 2).await;
    c.produce(&topic, &common::records(1, 3, common::now_ms(), 1)).await;
    let k = Cluster::connect(config, Duration::from_secs(20))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", c.log_tail(30)));
    assert!(k.metadata().await.unwrap().topics.contains_key(&topic));
    let ends = k.latest_offsets(&common::partitions(&topic, 2)).await.unwrap();
    assert_eq!(ends.values().copied().collect::<Vec<_>>(), vec![0, 3]);
    k.list_groups().await.unwrap();
}

/// Connects with `config`, which must fail quickly.
async fn refused(config: ClusterConfig) -> Error {
    let started = Instant::now();
    let err =
        Cluster::connect(config, Duration::from_secs(20)).await.expect_err("the connection must be refused");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?} to fail: {err}", started.elapsed());
    err
}

#[tokio::test(flavor = "multi_thread")]
async fn sasl_ssl_with_scram_works_with_a_ca_file_or_inline_pem() {
    let b = brokers();
    let files = tls(&b.sasl_ssl);
    connect_and_read(&b.sasl_ssl, sasl_ssl(&b.sasl_ssl, PASSWORD, &files.ca_cert)).await;
    let inline = sasl_ssl(&b.sasl_ssl, PASSWORD, &files.ca_cert)
        .with_property("sasl.mechanism", "SCRAM-SHA-256")
        .with_property("ssl.ca.location", "")
        .with_property("ssl.ca.pem", &files.ca_pem);
    let mut inline = inline;
    inline.properties.remove("ssl.ca.location");
    connect_and_read(&b.sasl_ssl, inline).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mutual_tls_works_with_files_inline_pem_and_an_encrypted_key() {
    let b = brokers();
    let files = tls(&b.mtls);
    let with_files = mtls(&b.mtls)
        .with_property("ssl.certificate.location", files.client_cert.display().to_string())
        .with_property("ssl.key.location", files.client_key.display().to_string());
    connect_and_read(&b.mtls, with_files).await;

    let inline = mtls(&b.mtls)
        .with_property("ssl.certificate.pem", &files.client_cert_pem)
        .with_property("ssl.key.pem", &files.client_key_pem);
    connect_and_read(&b.mtls, inline).await;

    let key_password = "key-password-81f2";
    let (encrypted, encrypted_pem) = files.encrypted_client_key(key_password).unwrap();
    let encrypted_file = mtls(&b.mtls)
        .with_property("ssl.certificate.location", files.client_cert.display().to_string())
        .with_property("ssl.key.location", encrypted.display().to_string())
        .with_property("ssl.key.password", key_password);
    connect_and_read(&b.mtls, encrypted_file.clone()).await;
    let encrypted_inline = mtls(&b.mtls)
        .with_property("ssl.certificate.pem", &files.client_cert_pem)
        .with_property("ssl.key.pem", &encrypted_pem)
        .with_property("ssl.key.password", key_password);
    connect_and_read(&b.mtls, encrypted_inline).await;

    // A wrong key password: the client cannot be configured; the error says so and names the
    // cluster, without the password.
    let wrong = encrypted_file.with_property("ssl.key.password", "not-the-key-password");
    match refused(wrong).await {
        e @ Error::InvalidConfig { .. } => {
            let text = e.to_string();
            assert!(text.starts_with("invalid client configuration for the target cluster"), "{text}");
            assert!(text.contains("ssl.key.location failed"), "names the key: {text}");
            assert!(text.contains("if it is encrypted, that ssl.key.password is its password"), "{text}");
            assert!(!text.contains("not-the-key-password"), "{text}");
        }
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_over_tls_is_an_authentication_error() {
    let b = brokers();
    let err = refused(sasl_ssl(&b.sasl_ssl, "not-the-password-4711", &tls(&b.sasl_ssl).ca_cert)).await;
    assert!(matches!(&err, Error::AuthenticationFailed { label, .. } if label == "source"), "{err:?}");
    let text = err.to_string();
    assert!(text.starts_with("authentication failed on the source cluster"), "{text}");
    assert!(text.contains("SCRAM-SHA-512") && text.contains("invalid credentials"), "{text}");
    assert!(!text.contains("not-the-password-4711"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_broker_certificate_names_the_ca() {
    let b = brokers();
    // A CA of the same name as the broker's, with another key.
    let dir = tempfile::tempdir().unwrap();
    let stranger = TlsFiles::generate(dir.path(), &["localhost", "127.0.0.1"]).unwrap();
    let err = refused(sasl_ssl(&b.sasl_ssl, PASSWORD, &stranger.ca_cert)).await;
    match &err {
        Error::Tls { label, problem: TlsProblem::UntrustedCertificate { reason }, .. } => {
            assert_eq!(label, "source");
            // OpenSSL's reason, learned by the probe (librdkafka's text has none).
            assert_ne!(reason, "certificate verify failed");
        }
        other => panic!("expected an untrusted certificate, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "TLS connection to the source cluster ({}) failed",
            b.sasl_ssl.bootstrap()
        ))
    );
    assert!(
        text.contains("not signed by a CA this client trusts") && text.contains("ssl.ca.location"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_for_another_host_is_a_hostname_mismatch() {
    let b = brokers();
    let files = tls(&b.other_host);
    let config = mtls(&b.other_host)
        .with_property("ssl.certificate.location", files.client_cert.display().to_string())
        .with_property("ssl.key.location", files.client_key.display().to_string());
    let err = refused(config).await;
    match &err {
        Error::Tls { label, problem: TlsProblem::HostnameMismatch { host }, .. } => {
            assert_eq!((label.as_str(), host.as_str()), ("target", "127.0.0.1"));
        }
        other => panic!("expected a hostname mismatch, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains("does not name `127.0.0.1`"), "{text}");
    assert!(!text.contains("not signed by a CA"), "the CA is right: {text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn mutual_tls_without_or_with_a_foreign_client_certificate_is_refused() {
    let b = brokers();
    let dir = tempfile::tempdir().unwrap();
    let stranger = TlsFiles::generate(dir.path(), &["localhost"]).unwrap();
    let foreign = mtls(&b.mtls)
        .with_property("ssl.certificate.location", stranger.client_cert.display().to_string())
        .with_property("ssl.key.location", stranger.client_key.display().to_string());
    for config in [mtls(&b.mtls), foreign] {
        let err = refused(config).await;
        assert!(
            matches!(&err, Error::Tls { label, problem: TlsProblem::ClientCertificateRejected, .. } if label == "target"),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains("requires a client certificate") && text.contains("ssl.certificate.location"),
            "{text}"
        );
    }
}
