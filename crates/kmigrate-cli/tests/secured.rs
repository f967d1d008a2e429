//! Migrations between secured Apache Kafka clusters, through the `kmigrate` binary: the README's
//! SASL_SSL + SCRAM-SHA-512 source with `${VAR}` secrets, and a mutual-TLS target with the client
//! certificate and key as files, or inline PEM with an encrypted key. Each ends with exactly the
//! source's records on the target and the group's exact offsets; each refusal (wrong password,
//! untrusted CA, another host's certificate, no client certificate) names the cluster and the
//! cause and changes nothing. No secret reaches the output, the `-vv` / `RUST_LOG=trace` logs or
//! the state file.
//!
//! Brokers: three of this binary's own, started together on first use and shared by its tests
//! (unique topic and group names): SASL_SSL, mutual TLS, and mutual TLS with a certificate for
//! another host. The plaintext side of a migration is the plaintext listener of the other secured
//! broker (every testkit broker has one), so no fourth broker is needed.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::{PARTITIONS, all_files, now_ms};
use kmigrate_kafka::{Cluster, ClusterConfig, TopicPartition};
use kmigrate_testkit::{SaslUser, SecuredBrokers, SeedRecord, TestCluster, TlsFiles, unique};

const USER: &str = "migrator";
const PASSWORD: &str = "secured-e2e-password-91d7";
const KEY_PASSWORD: &str = "secured-e2e-key-password-5b20";
const OLD: usize = 5;
const DURING: usize = 3;

fn brokers() -> &'static SecuredBrokers {
    static BROKERS: OnceLock<SecuredBrokers> = OnceLock::new();
    BROKERS.get_or_init(|| SecuredBrokers::start(SaslUser { name: USER.into(), password: PASSWORD.into() }))
}

fn tls(c: &TestCluster) -> TlsFiles {
    c.tls_files()
}

/// A cluster side of a plan: its address and its `properties:` lines (YAML, indented by 4).
struct Side {
    bootstrap: String,
    properties: String,
}

impl Side {
    /// The plaintext listener of a testkit broker.
    fn plaintext(c: &TestCluster) -> Side {
        Side { bootstrap: c.seed_bootstrap().to_string(), properties: String::new() }
    }

    /// The README's headline: SASL_SSL, SCRAM-SHA-512, secrets from the environment.
    fn sasl_ssl(c: &TestCluster, ca: &Path) -> Side {
        Side {
            bootstrap: c.bootstrap().to_string(),
            properties: format!(
                "    security.protocol: SASL_SSL\n    sasl.mechanism: SCRAM-SHA-512\n    sasl.username: \"${{SRC_USER}}\"\n    sasl.password: \"${{SRC_PASSWORD}}\"\n    ssl.ca.location: \"{}\"\n",
                ca.display()
            ),
        }
    }

    /// Mutual TLS with the client certificate and key as files.
    fn mtls_files(c: &TestCluster, files: &TlsFiles) -> Side {
        Side {
            bootstrap: c.bootstrap().to_string(),
            properties: format!(
                "    security.protocol: SSL\n    ssl.ca.location: \"{}\"\n    ssl.certificate.location: \"{}\"\n    ssl.key.location: \"{}\"\n",
                files.ca_cert.display(),
                files.client_cert.display(),
                files.client_key.display()
            ),
        }
    }
}

/// One migration: a topic and a drained group on the source, a plan in a directory of its own.
struct Migration {
    dir: tempfile::TempDir,
    topic: String,
    group: String,
    plan: String,
}

impl Migration {
    fn new(source: &Side, target: &Side) -> Migration {
        let dir = tempfile::tempdir().unwrap();
        let (topic, group) = (unique("secured"), unique("secured-billing"));
        let props = |s: &Side| {
            if s.properties.is_empty() { String::new() } else { format!("  properties:\n{}", s.properties) }
        };
        let yaml = format!(
            "version: 1\nname: e2e\nsource:\n  bootstrap_servers: \"{}\"\n{}target:\n  bootstrap_servers: \"{}\"\n{}topics:\n  - {topic}\ndata: synced\nsync: {{ by: kmigrate }}\ncutover: {{ manual: true }}\nconsumers:\n  groups:\n    - id: {group}\n      loss: strict\n",
            source.bootstrap,
            props(source),
            target.bootstrap,
            props(target)
        );
        let plan = dir.path().join("plan.yaml");
        std::fs::write(&plan, yaml).unwrap();
        Migration { dir, topic, group, plan: plan.to_str().unwrap().to_string() }
    }

    /// `OLD` records per partition with keys, headers and old timestamps; the group has read them all.
    async fn seed(&self, source: &TestCluster) {
        source.create_topic(&self.topic, PARTITIONS).await;
        let base = now_ms() - 3_600_000;
        for p in 0..PARTITIONS {
            let records: Vec<SeedRecord> = (0..OLD)
                .map(|i| {
                    SeedRecord::new(p)
                        .key(format!("k{i}"))
                        .value(format!("old-{p}-{i}"))
                        .header("trace", format!("t{i}"))
                        .timestamp(base + i as i64)
                })
                .collect();
            source.produce(&self.topic, &records).await;
        }
        let ends: Vec<(&str, i32, i64)> =
            (0..PARTITIONS).map(|p| (self.topic.as_str(), p, OLD as i64)).collect();
        source.commit_group_offsets(&self.group, &ends).await;
    }

    /// Runs the binary at the highest verbosity with the secrets in its environment.
    fn kmigrate(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kmigrate"));
        cmd.args(args).arg("-vv").current_dir(self.dir.path()).env("NO_COLOR", "1").env("RUST_LOG", "trace");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("running kmigrate");
        // stdout only (shown when a test fails); trace logs are long.
        println!(
            "$ kmigrate {} -vv\n--- exit {:?}\n{}",
            args.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stdout)
        );
        out
    }

    /// apply up to the gate, producers switch (new records on the target), approve: done.
    async fn apply(&self, target: &TestCluster, env: &[(&str, &str)]) -> String {
        let first = self.kmigrate(&["apply", &self.plan], env);
        assert_eq!(first.status.code(), Some(3), "apply pauses at the cutover gate:\n{}", text(&first));
        let during: Vec<SeedRecord> =
            (0..DURING).map(|i| SeedRecord::new(0).value(format!("during-{i}"))).collect();
        target.produce(&self.topic, &during).await;
        let second = self.kmigrate(&["apply", &self.plan, "--approve", "cutover"], env);
        assert_eq!(second.status.code(), Some(0), "apply finishes:\n{}", text(&second));
        format!("{}{}", text(&first), text(&second))
    }

    /// Every source record is on the target at the same offset, identical; the group starts on the
    /// target exactly after the copied records (before the switched producers' ones).
    async fn assert_exact(&self, source: &TestCluster, target: &TestCluster) {
        for p in 0..PARTITIONS {
            let on_source = source.consume(&self.topic, p, 0, OLD as i64).await;
            let on_target = target.consume(&self.topic, p, 0, OLD as i64).await;
            assert_eq!(on_target, on_source, "partition {p}: key, value, headers, timestamp, offset");
        }
        let parts: Vec<TopicPartition> =
            (0..PARTITIONS).map(|p| TopicPartition::new(self.topic.clone(), p)).collect();
        let committed = plaintext(target).await.committed_offsets(&self.group, &parts).await.unwrap();
        let committed: Vec<Option<i64>> = committed.into_values().collect();
        assert_eq!(committed, vec![Some(OLD as i64); PARTITIONS as usize]);
        let ends = plaintext(target).await.latest_offsets(&parts).await.unwrap();
        assert_eq!(ends[&parts[0]], (OLD + DURING) as i64, "the switched producers' records are there");
    }

    /// A refused apply: exit 1, the message names the cluster and the cause; nothing was created
    /// on the target.
    async fn assert_refused(&self, target: &TestCluster, env: &[(&str, &str)], expected: &[&str]) {
        for command in ["plan", "apply"] {
            let out = self.kmigrate(&[command, &self.plan], env);
            let all = text(&out);
            assert_eq!(out.status.code(), Some(1), "{command}:\n{all}");
            for e in expected {
                assert!(all.contains(e), "{command}: `{e}` is not in:\n{all}");
            }
            assert!(!all.contains("retrying"), "{command}: a refusal is final, not retried:\n{all}");
        }
        let topics = plaintext(target).await.metadata().await.unwrap().topics;
        assert!(!topics.contains_key(&self.topic), "the target is untouched");
    }
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// kmigrate-kafka on the plaintext listener of a testkit broker (for checks).
async fn plaintext(c: &TestCluster) -> Cluster {
    Cluster::connect(ClusterConfig::new("check", c.seed_bootstrap()), std::time::Duration::from_secs(20))
        .await
        .unwrap()
}

fn assert_no_secret(seen: &str, files: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!seen.contains(s), "a secret appears in the output or the logs");
        assert!(!files.contains(s), "a secret appears in the state");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn from_a_sasl_ssl_scram_source_with_secrets_from_the_environment() {
    let b = brokers();
    let m =
        Migration::new(&Side::sasl_ssl(&b.sasl_ssl, &tls(&b.sasl_ssl).ca_cert), &Side::plaintext(&b.mtls));
    m.seed(&b.sasl_ssl).await;
    let env = [("SRC_USER", USER), ("SRC_PASSWORD", PASSWORD)];
    let seen = m.apply(&b.mtls, &env).await;
    m.assert_exact(&b.sasl_ssl, &b.mtls).await;
    assert!(seen.contains("TRACE") || seen.contains("DEBUG"), "logs were captured");
    let files = all_files(m.dir.path());
    assert!(files.contains("\"status\": \"done\""), "the state was read");
    assert_no_secret(&seen, &files, &[PASSWORD]);
}

#[tokio::test(flavor = "multi_thread")]
async fn to_a_mutual_tls_target_with_certificate_and_key_files() {
    let b = brokers();
    let m = Migration::new(&Side::plaintext(&b.sasl_ssl), &Side::mtls_files(&b.mtls, &tls(&b.mtls)));
    m.seed(&b.sasl_ssl).await;
    m.apply(&b.mtls, &[]).await;
    m.assert_exact(&b.sasl_ssl, &b.mtls).await;
}

/// The certificate inline in the plan (a YAML block), the encrypted key inline from the environment
/// with its password, every librdkafka debug context on: no line of the key in any output.
#[tokio::test(flavor = "multi_thread")]
async fn to_a_mutual_tls_target_with_inline_pem_and_an_encrypted_key() {
    let b = brokers();
    let files = tls(&b.mtls);
    let (_, key_pem) = files.encrypted_client_key(KEY_PASSWORD).unwrap();
    let block = |pem: &str| pem.lines().map(|l| format!("      {l}\n")).collect::<String>();
    let target = Side {
        bootstrap: b.mtls.bootstrap().to_string(),
        properties: format!(
            "    security.protocol: SSL\n    ssl.ca.pem: |\n{}    ssl.certificate.pem: |\n{}    ssl.key.pem: \"${{TARGET_KEY_PEM}}\"\n    ssl.key.password: \"${{TARGET_KEY_PASSWORD}}\"\n    debug: all\n",
            block(&files.ca_pem),
            block(&files.client_cert_pem)
        ),
    };
    let m = Migration::new(&Side::plaintext(&b.sasl_ssl), &target);
    m.seed(&b.sasl_ssl).await;
    let env = [("TARGET_KEY_PEM", key_pem.as_str()), ("TARGET_KEY_PASSWORD", KEY_PASSWORD)];
    let seen = m.apply(&b.mtls, &env).await;
    m.assert_exact(&b.sasl_ssl, &b.mtls).await;
    assert!(seen.contains("librdkafka"), "librdkafka's debug logs were captured");
    let mut secrets = vec![KEY_PASSWORD, key_pem.as_str()];
    secrets.extend(key_pem.lines().filter(|l| !l.starts_with("-----") && l.len() >= 8));
    assert_no_secret(&seen, &all_files(m.dir.path()), &secrets);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_is_refused_naming_the_source() {
    let b = brokers();
    let m =
        Migration::new(&Side::sasl_ssl(&b.sasl_ssl, &tls(&b.sasl_ssl).ca_cert), &Side::plaintext(&b.mtls));
    m.seed(&b.sasl_ssl).await;
    let wrong = "not-the-password-6d1e";
    let env = [("SRC_USER", USER), ("SRC_PASSWORD", wrong)];
    m.assert_refused(&b.mtls, &env, &["authentication failed on the source cluster", "invalid credentials"])
        .await;
    let out = m.kmigrate(&["apply", &m.plan], &env);
    assert_no_secret(&text(&out), &all_files(m.dir.path()), &[wrong]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_ca_is_refused_naming_the_source() {
    let b = brokers();
    let dir = tempfile::tempdir().unwrap();
    let stranger = TlsFiles::generate(dir.path(), &["localhost", "127.0.0.1"]).unwrap();
    let m = Migration::new(&Side::sasl_ssl(&b.sasl_ssl, &stranger.ca_cert), &Side::plaintext(&b.mtls));
    m.seed(&b.sasl_ssl).await;
    let env = [("SRC_USER", USER), ("SRC_PASSWORD", PASSWORD)];
    let expected =
        ["TLS connection to the source cluster", "not signed by a CA this client trusts", "ssl.ca.location"];
    m.assert_refused(&b.mtls, &env, &expected).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_for_another_host_is_refused_naming_the_target() {
    let b = brokers();
    let m =
        Migration::new(&Side::plaintext(&b.sasl_ssl), &Side::mtls_files(&b.other_host, &tls(&b.other_host)));
    m.seed(&b.sasl_ssl).await;
    let expected = ["TLS connection to the target cluster", "does not name `127.0.0.1`"];
    m.assert_refused(&b.other_host, &[], &expected).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_client_certificate_is_refused_naming_the_target() {
    let b = brokers();
    let target = Side {
        bootstrap: b.mtls.bootstrap().to_string(),
        properties: format!(
            "    security.protocol: SSL\n    ssl.ca.location: \"{}\"\n",
            tls(&b.mtls).ca_cert.display()
        ),
    };
    let m = Migration::new(&Side::plaintext(&b.sasl_ssl), &target);
    m.seed(&b.sasl_ssl).await;
    let expected =
        ["TLS connection to the target cluster", "requires a client certificate", "ssl.certificate.location"];
    m.assert_refused(&b.mtls, &[], &expected).await;
}
