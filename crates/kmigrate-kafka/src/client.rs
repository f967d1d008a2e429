//! [`Cluster`]: a connection to one cluster, the handle every operation goes through.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::admin::AdminClient;
use rdkafka::consumer::BaseConsumer;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

use crate::cluster_config::ClusterConfig;
use crate::context::{KContext, is_auth_code};
use crate::error::{Error, Result};
use crate::ffi::{FfiError, MainQueuePump};
use crate::stats::RequestStats;
use crate::tls::{self, TlsSymptom};

/// The error code of an rdkafka error (rdkafka's own accessor misses admin operation errors).
pub(crate) fn error_code(e: &KafkaError) -> Option<RDKafkaErrorCode> {
    match e {
        KafkaError::AdminOp(code) => Some(*code),
        other => other.rdkafka_error_code(),
    }
}

/// How to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// How long [`Cluster::connect_with`] waits for the first metadata answer.
    pub timeout: Duration,
    /// Timeout of each later request (admin calls, offset lookups, group calls). Default 30 s.
    pub request_timeout: Duration,
    /// Emit librdkafka statistics at this interval, for [`Cluster::request_stats`] (benchmarks). Default off.
    pub statistics_interval: Option<Duration>,
}

impl ConnectOptions {
    pub fn new(timeout: Duration) -> Self {
        ConnectOptions { timeout, request_timeout: Duration::from_secs(30), statistics_interval: None }
    }

    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    pub fn statistics_interval(mut self, interval: Duration) -> Self {
        self.statistics_interval = Some(interval);
        self
    }
}

/// A connection to one cluster. Cheap to clone (shared); the librdkafka client is closed when the last
/// clone is dropped.
#[derive(Clone)]
pub struct Cluster {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: ClusterConfig,
    pub(crate) admin: AdminClient<KContext>,
    pump: Option<MainQueuePump>,
    pub(crate) request_timeout: Duration,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The pump holds a reference to the client's main queue: release it before the client goes.
        self.pump.take();
    }
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

impl Cluster {
    /// Connects and fetches the cluster's metadata, waiting at most `timeout`.
    ///
    /// Errors: [`Error::Unreachable`] (names the label, the bootstrap servers and how long it waited),
    /// [`Error::AuthenticationFailed`] and [`Error::Tls`] (returned as soon as librdkafka reports them;
    /// a refused broker certificate is explained with OpenSSL's reason: untrusted CA, another host
    /// name, expired), [`Error::InvalidConfig`].
    pub async fn connect(config: ClusterConfig, timeout: Duration) -> Result<Cluster> {
        Cluster::connect_with(config, ConnectOptions::new(timeout)).await
    }

    /// [`Cluster::connect`] with options.
    pub async fn connect_with(config: ClusterConfig, options: ConnectOptions) -> Result<Cluster> {
        let started = Instant::now();
        let mut extra = Vec::new();
        if let Some(interval) = options.statistics_interval {
            extra.push(("statistics.interval.ms", interval.as_millis().max(1).to_string()));
        }
        let admin: AdminClient<KContext> = config
            .client_config(&extra)
            .create_with_context(KContext::new(&config.label, config.redactor()))
            .map_err(|e| config.creation_error(&e))?;
        let pump = MainQueuePump::start(admin.inner());
        let cluster = Cluster {
            inner: Arc::new(Inner {
                config,
                admin,
                pump: Some(pump),
                request_timeout: options.request_timeout,
            }),
        };
        let deadline = started + options.timeout;
        // Ask in slices, watching for an authentication failure in between: librdkafka keeps retrying a
        // refused login until the timeout, and a blocking call still running would hold the client (and the
        // process, at runtime shutdown) for the whole timeout.
        let result = loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let slice = remaining.min(Duration::from_millis(500));
            let result = cluster
                .blocking(move |inner| inner.admin.inner().fetch_metadata(None, slice).map(|_| ()))
                .await;
            if let Some(detail) = cluster.context().auth_error() {
                return Err(cluster.explain(cluster.auth_failed(detail)).await);
            }
            match result {
                Err(e)
                    if matches!(
                        error_code(&e),
                        // A timed-out slice, or a dropped connection that ends the request early.
                        Some(RDKafkaErrorCode::OperationTimedOut | RDKafkaErrorCode::BrokerTransportFailure)
                    ) && deadline.saturating_duration_since(Instant::now())
                        > Duration::from_millis(20) =>
                {
                    if error_code(&e) == Some(RDKafkaErrorCode::BrokerTransportFailure) {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                other => break other,
            }
        };
        match result {
            Ok(()) => {
                tracing::debug!(cluster = %cluster.label(), elapsed = ?started.elapsed(), "connected");
                Ok(cluster)
            }
            Err(e) => {
                // librdkafka's own timeout ends a hair before ours: it waited the whole timeout.
                let waited = if error_code(&e) == Some(RDKafkaErrorCode::OperationTimedOut) {
                    started.elapsed().max(options.timeout)
                } else {
                    started.elapsed()
                };
                Err(cluster.explain(cluster.connect_error(&e, waited)).await)
            }
        }
    }

    /// "source" / "target".
    pub fn label(&self) -> &str {
        &self.inner.config.label
    }

    /// The bootstrap servers this cluster was reached through.
    /// The bootstrap servers as messages show them (the plan's `${VAR}` text when templated).
    pub fn bootstrap_servers(&self) -> &str {
        self.inner.config.shown_bootstrap()
    }

    /// The configuration this cluster was connected with.
    pub fn config(&self) -> &ClusterConfig {
        &self.inner.config
    }

    /// The request counters of the latest statistics librdkafka emitted for this connection's admin client
    /// (which sends every request of this crate except those of short-lived consumers). `None` until the
    /// first statistics, or if statistics are off (see [`ConnectOptions::statistics_interval`]).
    pub fn request_stats(&self) -> Option<RequestStats> {
        self.context().stats().borrow().clone()
    }

    /// Waits for statistics generated after this call (so they count every request completed before it),
    /// at most `timeout`. Waits for the second statistics event from now: the first one may have been
    /// generated just before the call and still be on its way.
    pub async fn fresh_request_stats(&self, timeout: Duration) -> Option<RequestStats> {
        let mut rx = self.context().stats();
        rx.mark_unchanged();
        let wait = async {
            for _ in 0..2 {
                rx.changed().await.ok()?;
            }
            rx.borrow().clone()
        };
        tokio::time::timeout(timeout, wait).await.ok().flatten()
    }

    pub(crate) fn context(&self) -> &Arc<KContext> {
        self.inner.admin.inner().context()
    }

    pub(crate) fn request_timeout(&self) -> Duration {
        self.inner.request_timeout
    }

    /// Runs blocking librdkafka work on tokio's blocking pool.
    pub(crate) async fn blocking<T, F>(&self, f: F) -> T
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> T + Send + 'static,
    {
        let inner = self.inner.clone();
        match tokio::task::spawn_blocking(move || f(&inner)).await {
            Ok(v) => v,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("blocking librdkafka task was cancelled: {e}"),
        }
    }

    /// A short-lived consumer of this cluster (no subscription, no auto commit), for reading records.
    pub(crate) fn consumer(&self, group: Option<&str>) -> Result<BaseConsumer<KContext>> {
        // Brokers answer a fetch when data is there; tansu waits the full fetch.wait.max.ms every time.
        self.reader(group.map(str::to_string), false, &[("fetch.wait.max.ms", "100".to_string())])
    }

    /// The one builder of kmigrate's consumers (record reads, scans, the copy): assigned
    /// partitions, never subscribed, nothing committed or stored, committed records only, and an
    /// error instead of a silent jump when an offset is gone. `group` names the consumer (librdkafka's
    /// assign() needs a group id even when nothing is committed and no group is joined; default
    /// `kmigrate-reader-<label>`); `partition_eof` reports each partition's end; `tuning` adds the
    /// caller's fetch and queue sizes.
    pub(crate) fn reader(
        &self,
        group: Option<String>,
        partition_eof: bool,
        tuning: &[(&str, String)],
    ) -> Result<BaseConsumer<KContext>> {
        let config = &self.inner.config;
        let mut extra = vec![
            ("group.id", group.unwrap_or_else(|| format!("kmigrate-reader-{}", config.label))),
            ("enable.auto.commit", "false".to_string()),
            ("enable.auto.offset.store", "false".to_string()),
            ("enable.partition.eof", partition_eof.to_string()),
            // Committed records only, whatever the plan's properties say: what a copy holds, and
            // records of aborted transactions are never copied.
            ("isolation.level", "read_committed".to_string()),
            // A resume offset the source no longer holds is an error, never a silent jump.
            ("auto.offset.reset", "error".to_string()),
        ];
        extra.extend(tuning.iter().cloned());
        config
            .client_config(&extra)
            .create_with_context(KContext::new(&config.label, config.redactor()))
            .map_err(|e| config.creation_error(&e))
    }

    /// A refused login or TLS connection: [`Error::Tls`] when librdkafka's text shows TLS.
    fn auth_failed(&self, detail: String) -> Error {
        let (label, bootstrap) = (self.label().to_string(), self.bootstrap_servers().to_string());
        match tls::symptom(&detail) {
            Some(symptom) => Error::Tls { label, bootstrap, problem: tls::problem(symptom, None), detail },
            None => Error::AuthenticationFailed { label, bootstrap, detail },
        }
    }

    /// Refines an error caused by OpenSSL refusing a broker's certificate with OpenSSL's reason,
    /// which librdkafka's text leaves out (a wrong CA and another host name read the same): one
    /// more connection, as strict as the failed one, with a verification callback.
    async fn explain(&self, e: Error) -> Error {
        let Error::Tls { label, bootstrap, detail, .. } = &e else { return e };
        let Some(symptom @ TlsSymptom::BrokerCertificateRefused) = tls::symptom(detail) else { return e };
        let config = self.inner.config.client_config(&[]);
        let rejection = tokio::task::spawn_blocking(move || {
            crate::ffi::probe_certificate(&config, Duration::from_secs(5))
        })
        .await
        .ok()
        .flatten();
        tracing::debug!(cluster = %label, ?rejection, "broker certificate probed");
        Error::Tls {
            label: label.clone(),
            bootstrap: bootstrap.clone(),
            problem: tls::problem(symptom, rejection.as_ref()),
            detail: detail.clone(),
        }
    }

    /// Maps the failure of the first metadata request.
    fn connect_error(&self, e: &KafkaError, waited: Duration) -> Error {
        if let Some(detail) = self.context().auth_error() {
            return self.auth_failed(detail);
        }
        let code = error_code(e);
        if code.is_some_and(is_auth_code) {
            return self.auth_failed(self.scrub(&e.to_string()));
        }
        match code {
            Some(
                RDKafkaErrorCode::OperationTimedOut
                | RDKafkaErrorCode::RequestTimedOut
                | RDKafkaErrorCode::BrokerTransportFailure
                | RDKafkaErrorCode::AllBrokersDown
                | RDKafkaErrorCode::Resolve,
            )
            | None => Error::Unreachable {
                label: self.label().to_string(),
                bootstrap: self.bootstrap_servers().to_string(),
                waited,
                detail: self.context().last_error().unwrap_or_else(|| self.scrub(&e.to_string())),
                refused: self.context().only_refused(),
            },
            Some(code) => crate::error::from_code(
                self.label(),
                "fetching metadata",
                code,
                Some(&self.scrub(&e.to_string())),
                waited,
            ),
        }
    }

    pub(crate) fn scrub(&self, text: &str) -> String {
        self.context().redactor().scrub(text).into_owned()
    }

    /// Maps an error of a librdkafka call that has no item-specific meaning.
    pub(crate) fn kafka_error(&self, operation: &str, e: &KafkaError, waited: Duration) -> Error {
        match error_code(e) {
            Some(code) if is_auth_code(code) => self.auth_failed(self.scrub(&e.to_string())),
            Some(code) => crate::error::from_code(
                self.label(),
                operation,
                code,
                Some(&self.scrub(&e.to_string())),
                waited,
            ),
            None => Error::Kafka {
                label: self.label().to_string(),
                operation: operation.to_string(),
                code: None,
                detail: self.scrub(&e.to_string()),
            },
        }
    }

    /// Maps an error of one of the `ffi` admin calls.
    pub(crate) fn ffi_error(&self, operation: &str, e: &FfiError) -> Error {
        if is_auth_code(e.code) {
            return self.auth_failed(self.scrub(&e.message));
        }
        crate::error::from_code(
            self.label(),
            operation,
            e.code,
            Some(&self.scrub(&e.message)),
            self.request_timeout(),
        )
    }
}
