//! What the Kafka client library built into this binary can do: librdkafka's version and its
//! `builtin.features` (compression codecs, TLS, SASL mechanisms, OIDC), for `kmigrate version -v`
//! and for bug reports.

/// librdkafka as built into this binary.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LibraryInfo {
    /// `rd_kafka_version_str()`, e.g. `2.12.1`.
    pub version: String,
    /// librdkafka's global property `builtin.features`, in its order: `gzip`, `snappy`, `ssl`,
    /// `sasl_scram`, `sasl_oauthbearer`, `zstd`, `oidc`, ...
    pub features: Vec<String>,
}

impl LibraryInfo {
    /// Whether the library has feature `name` (librdkafka's spelling, e.g. `sasl_scram`).
    pub fn has(&self, name: &str) -> bool {
        self.features.iter().any(|f| f == name)
    }
}

/// librdkafka's version and built-in features.
///
/// `sasl_gssapi` is listed only when kmigrate-kafka is built with its `gssapi` feature: librdkafka's
/// CMake build defines `WITH_SASL_CYRUS` as 0 without Cyrus SASL, and `builtin.features` (which
/// tests whether the macro is defined, not its value) then names a mechanism the client refuses
/// ("No provider for SASL mechanism GSSAPI").
pub fn library_info() -> LibraryInfo {
    let (_, version) = rdkafka::util::get_rdkafka_version();
    let features = rdkafka::ClientConfig::new()
        .create_native_config()
        .and_then(|c| c.get("builtin.features"))
        .unwrap_or_default();
    let features = features
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .filter(|f| *f != "sasl_gssapi" || cfg!(feature = "gssapi"))
        .map(str::to_string)
        .collect();
    LibraryInfo { version, features }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What production clusters need is in the build: TLS, SCRAM, OAUTHBEARER with OIDC (libcurl),
    /// and every compression codec Kafka has.
    #[test]
    fn the_build_has_what_secured_compressed_clusters_need() {
        let info = library_info();
        assert!(info.version.starts_with("2."), "{info:?}");
        for f in [
            "ssl",
            "sasl_plain",
            "sasl_scram",
            "sasl_oauthbearer",
            "oidc",
            "http",
            "gzip",
            "snappy",
            "lz4",
            "zstd",
        ] {
            assert!(info.has(f), "librdkafka lacks `{f}`: {:?}", info.features);
        }
    }

    /// `sasl_gssapi` is listed exactly when a GSSAPI client can be created.
    #[test]
    fn gssapi_is_listed_only_when_it_works() {
        let created: Result<rdkafka::producer::BaseProducer, _> = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", "127.0.0.1:1")
            .set("security.protocol", "SASL_PLAINTEXT")
            .set("sasl.mechanism", "GSSAPI")
            // Never run kinit (Cyrus SASL runs it when the client starts).
            .set("sasl.kerberos.min.time.before.relogin", "0")
            .set("log_level", "0")
            .create();
        assert_eq!(library_info().has("sasl_gssapi"), created.is_ok(), "{:?}", created.err());
    }
}
