//! Compressed topics through the `kmigrate` binary: sources stored in gzip, snappy, lz4 and zstd
//! are copied record for record (`apply`, whose `verify` step compares every partition), and the
//! copy writes the codec the rule picks: the plan's `sync.compression`, else the target topic's
//! `compression.type` (copied from the source's), else lz4. `kmigrate plan` says which, and
//! Kafka's own `kafka-dump-log` shows what the brokers stored.
//!
//! Brokers: the test binary's shared pair. The stored-codec checks need a broker the testkit
//! started (its log directory); against other clusters the rest still runs.

mod common;

use std::path::Path;

use common::{PARTITIONS, now_ms};
use kmigrate_kafka::{Cluster, ClusterConfig};
use kmigrate_testkit::{BrokerPair, Engine, SeedRecord, TestCluster, tools, unique};

const RECORDS: usize = 300;

/// Compressible records with keys, headers and old timestamps, in every partition.
async fn seed(source: &TestCluster, topic: &str, configs: &[(&str, &str)]) {
    source.create_topic_with(topic, PARTITIONS, configs).await;
    let base = now_ms() - 3_600_000;
    for p in 0..PARTITIONS {
        let records: Vec<SeedRecord> = (0..RECORDS)
            .map(|i| {
                SeedRecord::new(p)
                    .key(format!("key-{i}"))
                    .value(format!(
                        "{{\"order\":{i},\"partition\":{p},\"status\":\"shipped\",\"note\":\"{}\"}}",
                        "x".repeat(i % 50)
                    ))
                    .header("trace", format!("t{i}"))
                    .timestamp(base + i as i64)
            })
            .collect();
        source.produce(topic, &records).await;
    }
}

/// A plan copying `topics` (YAML list items) with `sync`, cutover already past: one apply does it all.
fn write_plan(dir: &Path, pair: &BrokerPair, topics: &str, sync: &str) -> String {
    let at = chrono::DateTime::from_timestamp_millis(now_ms() - 60_000).unwrap().to_rfc3339();
    let yaml = format!(
        "version: 1\nname: e2e\nsource:\n  bootstrap_servers: \"{}\"\ntarget:\n  bootstrap_servers: \"{}\"\ntopics:\n{topics}data: synced\nsync: {sync}\ncutover:\n  at: \"{at}\"\n",
        pair.source.bootstrap(),
        pair.target.bootstrap()
    );
    let plan = dir.join("plan.yaml");
    std::fs::write(&plan, yaml).unwrap();
    plan.to_str().unwrap().to_string()
}

fn stdout_of(dir: &Path, args: &[&str], code: i32) -> String {
    let out = common::kmigrate(dir, args);
    assert_eq!(out.status.code(), Some(code), "{args:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The copy is exact and `verify` said so.
async fn assert_copied_exactly(dir: &Path, pair: &BrokerPair, plan: &str, topic: &str) {
    for p in 0..PARTITIONS {
        let on_source = pair.source.consume(topic, p, 0, RECORDS as i64).await;
        let on_target = pair.target.consume(topic, p, 0, RECORDS as i64).await;
        assert_eq!(on_target, on_source, "{topic}/{p}: key, value, headers, timestamp, offset");
    }
    let status: serde_json::Value =
        serde_json::from_str(&stdout_of(dir, &["status", plan, "--output", "json"], 0)).unwrap();
    let verify = status["steps"].as_array().unwrap().iter().find(|s| s["step"] == "verify").unwrap();
    assert_eq!(verify["status"], "done", "{verify}");
}

/// Every batch of every partition was stored in `codec`.
fn assert_stored(c: &TestCluster, topic: &str, codec: &str) {
    if c.kafka().is_none() {
        return; // Not a broker the testkit started: its log directory is not here.
    }
    for p in 0..PARTITIONS {
        let codecs = tools::stored_codecs(c, topic, p);
        assert!(!codecs.is_empty(), "{topic}/{p} on {}: no batches", c.label());
        assert!(
            codecs.iter().all(|s| s == codec),
            "{topic}/{p} on {}: {codecs:?}, expected {codec}",
            c.label()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_codec_is_copied_exactly_and_written_in_the_target_topic_s_codec() {
    let pair = BrokerPair::start(Engine::Sqlite);
    let dir = tempfile::tempdir().unwrap();
    let codecs = ["gzip", "snappy", "lz4", "zstd"];
    let topics: Vec<String> = codecs.iter().map(|c| unique(&format!("codec-{c}"))).collect();
    for (topic, codec) in topics.iter().zip(codecs) {
        seed(&pair.source, topic, &[("compression.type", codec)]).await;
    }
    // A topic that keeps what its producers send (Kafka's default), sent uncompressed.
    let plain = unique("codec-producer");
    seed(&pair.source, &plain, &[]).await;
    let list: String = topics.iter().chain([&plain]).map(|t| format!("  - {t}\n")).collect();
    let plan = write_plan(dir.path(), &pair, &list, "{ by: kmigrate }");

    let preview = stdout_of(dir.path(), &["plan", &plan], 0);
    for (topic, codec) in topics.iter().zip(codecs) {
        let line = format!("copy:{topic}");
        let block: String = preview.lines().skip_while(|l| !l.contains(&line)).take(2).collect();
        assert!(
            block.contains(&format!("compressed with {codec} (the target topic's compression.type)")),
            "{preview}"
        );
    }
    assert!(preview.contains("compressed with lz4 (default)"), "{preview}");

    stdout_of(dir.path(), &["apply", &plan], 0);
    let target = Cluster::connect(
        ClusterConfig::new("target", pair.target.seed_bootstrap()),
        std::time::Duration::from_secs(20),
    )
    .await
    .unwrap();
    for (topic, codec) in topics.iter().zip(codecs) {
        assert_copied_exactly(dir.path(), &pair, &plan, topic).await;
        let configs = target.describe_topic_configs(&[topic]).await.unwrap();
        assert_eq!(configs[topic].overrides().get("compression.type").map(String::as_str), Some(codec));
        assert_stored(&pair.source, topic, codec);
        assert_stored(&pair.target, topic, codec);
    }
    assert_copied_exactly(dir.path(), &pair, &plan, &plain).await;
    assert_stored(&pair.source, &plain, "none");
    // The target topic keeps what the copy sends: lz4, the default.
    assert_stored(&pair.target, &plain, "lz4");
}

/// `sync.compression` is what the copy writes, whatever the source's codec: on target topics
/// that keep the producer's codec, the stored batches show it.
#[tokio::test(flavor = "multi_thread")]
async fn sync_compression_is_the_codec_the_copy_writes() {
    let pair = BrokerPair::start(Engine::Sqlite);
    for codec in ["gzip", "snappy", "zstd"] {
        let dir = tempfile::tempdir().unwrap();
        let topic = unique(&format!("sync-{codec}"));
        seed(&pair.source, &topic, &[("compression.type", "lz4")]).await;
        let list = format!("  - name: {topic}\n    config: {{ compression.type: producer }}\n");
        let plan = write_plan(dir.path(), &pair, &list, &format!("{{ by: kmigrate, compression: {codec} }}"));
        let preview = stdout_of(dir.path(), &["plan", &plan], 0);
        assert!(preview.contains(&format!("compressed with {codec} (sync.compression)")), "{preview}");
        stdout_of(dir.path(), &["apply", &plan], 0);
        assert_copied_exactly(dir.path(), &pair, &plan, &topic).await;
        assert_stored(&pair.source, &topic, "lz4");
        assert_stored(&pair.target, &topic, codec);
    }
}
