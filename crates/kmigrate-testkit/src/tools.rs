//! Kafka's own command-line tools, run from the same jars as the test brokers: the independent oracle
//! the tests compare kmigrate's answers with (`kafka-consumer-groups`, `GetOffsetShell`).
//!
//! Each call starts a JVM (about 1.5 s), so tests call them a few times, not per record.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

use crate::cluster::TestCluster;
use crate::kafka::{classpath, java};

/// `kafka-consumer-groups`.
pub const CONSUMER_GROUPS: &str = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand";
/// `kafka-get-offsets`.
pub const GET_OFFSETS: &str = "org.apache.kafka.tools.GetOffsetShell";
/// `kafka-dump-log`.
pub const DUMP_LOG_SEGMENTS: &str = "org.apache.kafka.tools.DumpLogSegments";

/// Runs Kafka tool `class` with `args` against `cluster` (its `--bootstrap-server` and, for a secured
/// cluster, a `--command-config` file of its client properties are added). Panics if it cannot start.
pub fn run(cluster: &TestCluster, class: &str, args: &[&str]) -> Output {
    let config = command_config(cluster);
    let mut cmd = Command::new(java());
    cmd.args(["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
        // Tool logging off: the answer is on stdout, errors on stderr.
        .arg("-Dlog4j2.rootLogger.level=OFF")
        .args(["-cp", &classpath(), class, "--bootstrap-server", cluster.seed_bootstrap()])
        .args(args);
    if let Some(path) = &config {
        cmd.arg("--command-config").arg(path);
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("running {class}: {e}"));
    println!(
        "$ {class} {}\n--- exit {:?}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if let Some(path) = config {
        let _ = std::fs::remove_file(path);
    }
    out
}

/// Kafka's Java producer, run as a single-file program: writes each `(partition, timestamp, key,
/// value)` with exactly that timestamp (`None`: none given, so the producer stamps it). Unlike
/// librdkafka, which takes timestamp 0 to mean "now", the Java client writes 0 as given: the way to
/// seed records stamped 0 (epoch), as some producers do. Panics if it fails.
pub fn produce_at(cluster: &TestCluster, topic: &str, records: &[(i32, Option<i64>, &str, &str)]) {
    const SOURCE: &str = r#"
import java.io.*;
import java.util.Properties;
import org.apache.kafka.clients.producer.*;

public class ProduceAt {
    public static void main(String[] args) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", args[0]);
        p.put("acks", "all");
        p.put("key.serializer", "org.apache.kafka.common.serialization.StringSerializer");
        p.put("value.serializer", "org.apache.kafka.common.serialization.StringSerializer");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            String line;
            while ((line = in.readLine()) != null) {
                String[] f = line.split("\t", 4);
                Long ts = f[1].isEmpty() ? null : Long.parseLong(f[1]);
                producer.send(new ProducerRecord<>(args[1], Integer.parseInt(f[0]), ts, f[2], f[3])).get();
            }
        }
    }
}
"#;
    let dir = std::env::temp_dir().join(crate::unique("kmigrate-produce-at"));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let program = dir.join("ProduceAt.java");
    std::fs::write(&program, SOURCE).expect("writing ProduceAt.java");
    let input: String = records
        .iter()
        .map(|(p, ts, k, v)| format!("{p}\t{}\t{k}\t{v}\n", ts.map(|t| t.to_string()).unwrap_or_default()))
        .collect();
    let mut child = Command::new(java())
        .args(["-Xmx256m", "-XX:+UseSerialGC", "-Dlog4j2.rootLogger.level=OFF", "-cp", &classpath()])
        .arg(&program)
        .args([cluster.seed_bootstrap(), topic])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting java");
    use std::io::Write;
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("writing records");
    let out = child.wait_with_output().expect("running ProduceAt");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "ProduceAt failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// A temp file of `cluster`'s seeding client properties, if it has any.
fn command_config(cluster: &TestCluster) -> Option<PathBuf> {
    if cluster.seed_properties().is_empty() {
        return None;
    }
    let path = std::env::temp_dir().join(format!("kmigrate-tool-{}.properties", crate::unique("cfg")));
    let text: String = cluster.seed_properties().iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    std::fs::write(&path, text).expect("writing a tool config");
    Some(path)
}

/// `kafka-consumer-groups --reset-offsets --dry-run` for `group` on `topic` with the reset spec
/// `spec` (e.g. `["--to-earliest"]`, `["--to-datetime", "2026-11-30T08:00:00.000Z"]`,
/// `["--from-file", path]`): the new offset per partition Kafka's tool would set. Panics with the
/// tool's output when it fails or prints no offsets.
pub fn reset_offsets_dry_run(
    cluster: &TestCluster,
    group: &str,
    topic: &str,
    spec: &[&str],
) -> BTreeMap<i32, i64> {
    let mut args = vec!["--group", group, "--reset-offsets", "--dry-run", "--topic", topic];
    args.extend_from_slice(spec);
    let out = run(cluster, CONSUMER_GROUPS, &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "kafka-consumer-groups failed:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed = parse_reset_table(&stdout, group, topic);
    assert!(!parsed.is_empty(), "kafka-consumer-groups printed no offsets:\n{stdout}");
    parsed
}

/// The `GROUP TOPIC PARTITION NEW-OFFSET` table of `--reset-offsets` (rows of other groups or topics
/// are ignored).
pub fn parse_reset_table(stdout: &str, group: &str, topic: &str) -> BTreeMap<i32, i64> {
    stdout
        .lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            match cols.as_slice() {
                [g, t, p, o] if *g == group && *t == topic => Some((p.parse().ok()?, o.parse().ok()?)),
                _ => None,
            }
        })
        .collect()
}

/// `kafka-get-offsets --topic T --time TIME` (`-1` latest, `-2` earliest, or ms since the epoch):
/// the offset per partition. A partition with no answer (no record at or after the time) is absent.
pub fn get_offsets(cluster: &TestCluster, topic: &str, time: &str) -> BTreeMap<i32, i64> {
    let out = run(cluster, GET_OFFSETS, &["--topic", topic, "--time", time]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "GetOffsetShell failed:\n{stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
        .lines()
        .filter_map(|l| {
            // topic:partition:offset; the topic may hold ':' no more than Kafka allows (it does not).
            let mut it = l.rsplitn(3, ':');
            let offset = it.next()?.trim();
            let partition = it.next()?.trim();
            let t = it.next()?;
            (t == topic).then(|| Some((partition.parse().ok()?, offset.parse().ok()?)))?
        })
        .collect()
}

/// `kafka-dump-log` on the segments of `topic`/`partition` of a Kafka broker the testkit started:
/// the compression codec of every stored record batch, in offset order (`none`, `gzip`, `snappy`,
/// `lz4`, `zstd`). What the broker stored, whatever clients say. Panics for other clusters.
pub fn stored_codecs(cluster: &TestCluster, topic: &str, partition: i32) -> Vec<String> {
    let dir = cluster.kafka().expect("a Kafka broker the testkit started").dir().join("data");
    let dir = dir.join(format!("{topic}-{partition}"));
    let mut segments: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    segments.sort();
    let files: Vec<String> = segments.iter().map(|p| p.display().to_string()).collect();
    let out = Command::new(java())
        .args(["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Dlog4j2.rootLogger.level=OFF"])
        .args(["-cp", &classpath(), DUMP_LOG_SEGMENTS, "--files", &files.join(",")])
        .output()
        .unwrap_or_else(|e| panic!("running {DUMP_LOG_SEGMENTS}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "kafka-dump-log failed:\n{stdout}{}", String::from_utf8_lossy(&out.stderr));
    parse_codecs(&stdout)
}

/// The `compresscodec:` of every batch line (`baseOffset: ...`) of kafka-dump-log's output.
pub fn parse_codecs(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| l.starts_with("baseOffset:"))
        .filter_map(|l| l.split("compresscodec:").nth(1)?.split_whitespace().next().map(str::to_lowercase))
        .collect()
}

/// Milliseconds since the epoch as `--to-datetime` takes them (`yyyy-MM-ddTHH:mm:ss.SSS`, UTC).
pub fn datetime(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .expect("a representable time")
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_table_parses() {
        let out = "\nGROUP  TOPIC  PARTITION  NEW-OFFSET\ng1     t1     0          5\ng1     t1     1          7\ng2     t1     0          9\n";
        assert_eq!(parse_reset_table(out, "g1", "t1"), BTreeMap::from([(0, 5), (1, 7)]));
    }

    #[test]
    fn dump_log_codecs_parse() {
        let out = "Dumping /d/t-0/00000000000000000000.log\nLog starting offset: 0\nbaseOffset: 0 lastOffset: 4 count: 5 baseSequence: 0 lastSequence: 4 producerId: 0 producerEpoch: 0 partitionLeaderEpoch: 0 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty position: 0 CreateTime: 1000 size: 120 magic: 2 compresscodec: zstd crc: 1 isvalid: true\nbaseOffset: 5 lastOffset: 5 count: 1 position: 120 CreateTime: 2000 size: 70 magic: 2 compresscodec: none crc: 2 isvalid: true\n";
        assert_eq!(parse_codecs(out), ["zstd", "none"]);
    }

    #[test]
    fn datetimes_are_utc() {
        assert_eq!(datetime(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(datetime(1_764_490_500_123), "2025-11-30T08:15:00.123Z");
        assert_eq!(datetime(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}
