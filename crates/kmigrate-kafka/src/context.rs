//! The librdkafka client context: routes librdkafka's logs and errors into `tracing` (redacted), remembers
//! the last connection / authentication error for messages, and keeps the latest request statistics.

use std::sync::Mutex;

use rdkafka::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use tokio::sync::watch;

use crate::cluster_config::Redactor;
use crate::stats::RequestStats;
use crate::tls::{self, TlsSymptom};

/// Context shared by every librdkafka client kmigrate creates for one cluster.
pub(crate) struct KContext {
    label: String,
    redactor: Redactor,
    last_error: Mutex<Option<String>>,
    auth_error: Mutex<Option<String>>,
    /// Transport failures so far: (refused or unresolvable, any other).
    transport: Mutex<(u32, u32)>,
    stats: watch::Sender<Option<RequestStats>>,
}

impl KContext {
    pub(crate) fn new(label: &str, redactor: Redactor) -> Self {
        KContext {
            label: label.to_string(),
            redactor,
            last_error: Mutex::new(None),
            auth_error: Mutex::new(None),
            transport: Mutex::new((0, 0)),
            stats: watch::Sender::new(None),
        }
    }

    pub(crate) fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// The last error librdkafka reported for this cluster's connections (redacted), if any.
    pub(crate) fn last_error(&self) -> Option<String> {
        self.last_error.lock().unwrap().clone()
    }

    /// The last authentication / TLS failure librdkafka reported (redacted), if any: refused SASL
    /// credentials, a TLS handshake error, or a broker refusing the client certificate.
    pub(crate) fn auth_error(&self) -> Option<String> {
        self.auth_error.lock().unwrap().clone()
    }

    /// Whether every transport failure so far was a refused connection or a name that did not
    /// resolve (and there was at least one): nothing listens at the address.
    pub(crate) fn only_refused(&self) -> bool {
        let (refused, other) = *self.transport.lock().unwrap();
        refused > 0 && other == 0
    }

    pub(crate) fn stats(&self) -> watch::Receiver<Option<RequestStats>> {
        self.stats.subscribe()
    }
}

/// Errors that mean "the credentials or the TLS setup were refused".
pub(crate) fn is_auth_code(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::Authentication
            | RDKafkaErrorCode::SaslAuthenticationFailed
            | RDKafkaErrorCode::UnsupportedSASLMechanism
            | RDKafkaErrorCode::IllegalSASLState
            | RDKafkaErrorCode::SSL
    )
}

impl ClientContext for KContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        let message = self.redactor.scrub(log_message);
        let cluster = self.label.as_str();
        match level {
            RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical => {
                tracing::error!(target: "librdkafka", cluster, facility = fac, "{message}")
            }
            RDKafkaLogLevel::Error | RDKafkaLogLevel::Warning => {
                tracing::warn!(target: "librdkafka", cluster, facility = fac, "{message}")
            }
            RDKafkaLogLevel::Notice => {
                tracing::info!(target: "librdkafka", cluster, facility = fac, "{message}")
            }
            RDKafkaLogLevel::Info | RDKafkaLogLevel::Debug => {
                tracing::debug!(target: "librdkafka", cluster, facility = fac, "{message}")
            }
        }
    }

    fn stats_raw(&self, statistics: &[u8]) {
        match RequestStats::from_json(statistics) {
            Some(stats) => {
                self.stats.send_replace(Some(stats));
            }
            None => tracing::debug!(cluster = %self.label, "could not parse librdkafka statistics"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        let reason = self.redactor.scrub(reason).into_owned();
        let code = error.rdkafka_error_code();
        // A broker refusing the client's certificate sends a TLS alert that librdkafka reports as a
        // transport failure (TLS 1.3: after the handshake); it is as final as a refused password.
        let tls_refusal = matches!(
            tls::symptom(&reason),
            Some(TlsSymptom::BrokerCertificateRefused | TlsSymptom::ClientCertificateRefused)
        );
        if code.is_some_and(is_auth_code) || tls_refusal {
            *self.auth_error.lock().unwrap() = Some(reason.clone());
        }
        *self.last_error.lock().unwrap() = Some(reason.clone());
        match code {
            Some(RDKafkaErrorCode::Resolve) => self.transport.lock().unwrap().0 += 1,
            Some(RDKafkaErrorCode::BrokerTransportFailure) if reason.contains("Connection refused") => {
                self.transport.lock().unwrap().0 += 1
            }
            Some(RDKafkaErrorCode::BrokerTransportFailure) => self.transport.lock().unwrap().1 += 1,
            _ => {}
        }
        match code {
            // Connection churn: reported to the caller as a typed error if it makes an operation fail.
            Some(
                RDKafkaErrorCode::BrokerTransportFailure
                | RDKafkaErrorCode::AllBrokersDown
                | RDKafkaErrorCode::Resolve
                // The end of a partition, reported as an error event: not an error.
                | RDKafkaErrorCode::PartitionEOF,
            ) => tracing::debug!(target: "librdkafka", cluster = %self.label, "{reason}"),
            _ => tracing::warn!(target: "librdkafka", cluster = %self.label, "{reason}"),
        }
    }
}

impl ConsumerContext for KContext {}
