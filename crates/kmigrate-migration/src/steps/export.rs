//! Offset files: the `topic,partition,offset` CSV of `kafka-consumer-groups --reset-offsets
//! --from-file` (read for `from_file`, written for self-stored groups' `export`, with a JSON
//! twin beside it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kmigrate_kafka::TopicPartition;

use crate::executor::write_atomically;

/// Parses `topic,partition,offset` lines; blank lines and `#` comments are skipped; a header
/// line `topic,partition,offset` is accepted.
pub fn parse_csv(text: &str) -> Result<BTreeMap<TopicPartition, i64>, String> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.eq_ignore_ascii_case("topic,partition,offset") {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [topic, partition, offset] = fields[..] else {
            return Err(format!("line {}: expected `topic,partition,offset`, found `{line}`", i + 1));
        };
        let partition: i32 = partition
            .parse()
            .map_err(|_| format!("line {}: partition `{partition}` is not a number", i + 1))?;
        let offset: i64 =
            offset.parse().map_err(|_| format!("line {}: offset `{offset}` is not a number", i + 1))?;
        if offset < 0 || partition < 0 {
            return Err(format!("line {}: partition and offset must not be negative", i + 1));
        }
        if out.insert(TopicPartition::new(topic, partition), offset).is_some() {
            return Err(format!("line {}: {topic}/{partition} is listed twice", i + 1));
        }
    }
    Ok(out)
}

pub fn to_csv(offsets: &BTreeMap<TopicPartition, i64>) -> String {
    offsets.iter().map(|(p, o)| format!("{},{},{}\n", p.topic, p.partition, o)).collect()
}

/// The JSON twin of an export: `offsets/analytics.csv` → `offsets/analytics.json`.
pub fn json_path(csv: &Path) -> PathBuf {
    csv.with_extension("json")
}

/// Writes the CSV and its JSON twin atomically. Returns false when both already hold exactly
/// this content (nothing written).
pub fn write(csv_path: &Path, csv: &str, json: &serde_json::Value) -> std::io::Result<bool> {
    let json_text = serde_json::to_string_pretty(json).expect("JSON serializes") + "\n";
    let same = std::fs::read_to_string(csv_path).is_ok_and(|c| c == csv)
        && std::fs::read_to_string(json_path(csv_path)).is_ok_and(|j| j == json_text);
    if same {
        return Ok(false);
    }
    write_atomically(&json_path(csv_path), json_text.as_bytes())?;
    write_atomically(csv_path, csv.as_bytes())?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trips_and_bad_lines_name_their_number() {
        let text = "# exported\ntopic,partition,offset\norders,0,42\norders,1,0\n\npayments,0,7\n";
        let map = parse_csv(text).unwrap();
        assert_eq!(map.len(), 3);
        assert_eq!(map[&TopicPartition::new("orders", 0)], 42);
        assert_eq!(to_csv(&map), "orders,0,42\norders,1,0\npayments,0,7\n");
        assert_eq!(parse_csv(&to_csv(&map)).unwrap(), map);
        assert!(parse_csv("orders,0\n").unwrap_err().starts_with("line 1:"));
        assert!(parse_csv("orders,0,1\norders,x,1\n").unwrap_err().contains("line 2: partition `x`"));
        assert!(parse_csv("orders,0,1\norders,0,2\n").unwrap_err().contains("twice"));
        assert!(parse_csv("orders,0,-1\n").is_err());
    }

    #[test]
    fn writing_is_atomic_and_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out/a.csv");
        let json = serde_json::json!({"group": "a"});
        assert!(write(&path, "t,0,1\n", &json).unwrap());
        assert!(!write(&path, "t,0,1\n", &json).unwrap());
        assert_eq!(std::fs::read_to_string(json_path(&path)).unwrap(), "{\n  \"group\": \"a\"\n}\n");
        assert!(write(&path, "t,0,2\n", &json).unwrap());
    }
}
