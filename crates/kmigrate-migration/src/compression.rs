//! The compression kmigrate's copy writes with: one rule, used by `copy:<t>` (apply) and by the
//! dry run (`kmigrate plan`).
//!
//! 1. `sync.compression` in the plan, for every topic, when given;
//! 2. else the target topic's own `compression.type` (the topic step copies the source topic's,
//!    so a zstd source topic gives a zstd target topic): producing in it spares the broker a
//!    recompression (`uncompressed` means `none`; `producer` states no codec);
//! 3. else [`DEFAULT`], lz4.
//!
//! Why lz4 by default and not `none`: producers of real clusters compress, so the source's batches
//! are compressed, and a copy written uncompressed can take several times the source's disk on the
//! target (and as much more network between clusters, where copies are usually network-bound).
//! lz4 costs the least CPU of the four codecs to compress and to decompress, and every Kafka client
//! since 0.10 reads it (zstd, which packs tighter, needs clients of Kafka 2.1 or later).
//!
//! Whatever the producer sends, a topic whose `compression.type` names a codec is stored in that
//! codec: the broker recompresses batches in any other one. The rule's answer says when that
//! happens (a plan-wide codec that differs from a topic's).

use kmigrate_plan::Compression;
use serde::{Deserialize, Serialize};

/// The codec of the copy when neither the plan nor the target topic names one.
pub const DEFAULT: Compression = Compression::Lz4;

/// Why the copy uses its codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CompressionReason {
    /// `sync.compression` in the plan.
    Plan,
    /// The target topic's `compression.type`.
    TargetTopic,
    /// Neither: [`DEFAULT`].
    Default,
}

/// The codec `copy:<t>` writes with, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyCompression {
    #[serde(serialize_with = "codec_name", deserialize_with = "named_codec")]
    pub codec: Compression,
    pub reason: CompressionReason,
    /// The codec the broker stores instead (the target topic names another one).
    #[serde(serialize_with = "opt_codec_name", deserialize_with = "opt_named_codec", default)]
    pub recompressed_to: Option<Compression>,
}

impl std::fmt::Display for CopyCompression {
    /// `zstd (the target topic's compression.type)`, `lz4 (default)`, `gzip (sync.compression; the
    /// broker recompresses to zstd, the topic's compression.type)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let why = match self.reason {
            CompressionReason::Plan => "sync.compression",
            CompressionReason::TargetTopic => "the target topic's compression.type",
            CompressionReason::Default => "default",
        };
        write!(f, "{} ({why}", self.codec)?;
        if let Some(to) = self.recompressed_to {
            write!(f, "; the broker recompresses to {to}, the topic's compression.type")?;
        }
        f.write_str(")")
    }
}

fn codec_name<S: serde::Serializer>(c: &Compression, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(c.as_str())
}

fn opt_codec_name<S: serde::Serializer>(c: &Option<Compression>, s: S) -> Result<S::Ok, S::Error> {
    match c {
        Some(c) => s.serialize_some(c.as_str()),
        None => s.serialize_none(),
    }
}

fn named_codec<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Compression, D::Error> {
    let name = String::deserialize(d)?;
    Compression::from_name(&name).ok_or_else(|| serde::de::Error::custom(format!("unknown codec {name}")))
}

fn opt_named_codec<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Compression>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|name| {
            Compression::from_name(&name)
                .ok_or_else(|| serde::de::Error::custom(format!("unknown codec {name}")))
        })
        .transpose()
}

/// The codec a topic's `compression.type` stores batches in: `None` for `producer` (whatever the
/// producer sent) or a value this kmigrate does not know.
pub fn topic_codec(compression_type: &str) -> Option<Compression> {
    match compression_type.trim() {
        "uncompressed" => Some(Compression::None),
        "producer" => None,
        other => Compression::from_name(other),
    }
}

/// The rule. `plan`: `sync.compression`; `topic_compression_type`: the target topic's own
/// `compression.type` (as the topic step leaves it), if set.
pub fn copy_compression(plan: Option<Compression>, topic_compression_type: Option<&str>) -> CopyCompression {
    let topic = topic_compression_type.and_then(topic_codec);
    match (plan, topic) {
        (Some(codec), topic) => CopyCompression {
            codec,
            reason: CompressionReason::Plan,
            recompressed_to: topic.filter(|t| *t != codec),
        },
        (None, Some(codec)) => {
            CopyCompression { codec, reason: CompressionReason::TargetTopic, recompressed_to: None }
        }
        (None, None) => {
            CopyCompression { codec: DEFAULT, reason: CompressionReason::Default, recompressed_to: None }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Compression as C;

    #[test]
    fn the_plan_then_the_topic_then_lz4() {
        let c = copy_compression(None, None);
        assert_eq!((c.codec, c.reason), (C::Lz4, CompressionReason::Default));
        assert_eq!(c.to_string(), "lz4 (default)");
        for (value, codec) in [
            ("gzip", C::Gzip),
            ("snappy", C::Snappy),
            ("lz4", C::Lz4),
            ("zstd", C::Zstd),
            ("uncompressed", C::None),
        ] {
            let c = copy_compression(None, Some(value));
            assert_eq!((c.codec, c.reason, c.recompressed_to), (codec, CompressionReason::TargetTopic, None));
        }
        // `producer` names no codec: the default.
        assert_eq!(copy_compression(None, Some("producer")).codec, C::Lz4);
        // The plan wins; a topic codec that differs is recompressed to by the broker.
        let c = copy_compression(Some(C::Gzip), Some("zstd"));
        assert_eq!((c.codec, c.reason, c.recompressed_to), (C::Gzip, CompressionReason::Plan, Some(C::Zstd)));
        assert_eq!(
            c.to_string(),
            "gzip (sync.compression; the broker recompresses to zstd, the topic's compression.type)"
        );
        assert_eq!(copy_compression(Some(C::Zstd), Some("zstd")).recompressed_to, None);
        assert_eq!(copy_compression(Some(C::Snappy), Some("producer")).recompressed_to, None);
        assert_eq!(
            serde_json::to_value(copy_compression(None, Some("zstd"))).unwrap(),
            serde_json::json!({ "codec": "zstd", "reason": "target-topic", "recompressed_to": null })
        );
    }
}
