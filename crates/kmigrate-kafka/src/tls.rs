//! Why a TLS connection to a cluster failed, from librdkafka's error texts and OpenSSL's X.509
//! verification errors, with what to change.

use std::fmt;

use crate::ffi::CertRejection;

/// Why the TLS connection to a cluster's brokers failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsProblem {
    /// The broker's certificate does not chain up to a CA the client trusts.
    UntrustedCertificate { reason: String },
    /// The broker's certificate is signed by a trusted CA but does not name the host the client
    /// connected to.
    HostnameMismatch { host: String },
    /// The broker's certificate was refused for another reason (expired, not yet valid, ...).
    InvalidCertificate { reason: String },
    /// The broker refused the client's certificate, or the client sent none (mutual TLS).
    ClientCertificateRejected,
    /// Another handshake failure (librdkafka's text says which).
    Handshake,
}

impl fmt::Display for TlsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsProblem::UntrustedCertificate { reason } => write!(
                f,
                "the broker's certificate is not signed by a CA this client trusts ({reason}); set \
                 ssl.ca.location (or ssl.ca.pem) to the CA certificate that signed the brokers' certificates"
            ),
            TlsProblem::HostnameMismatch { host } => write!(
                f,
                "the broker's certificate does not name `{host}`, the host it was reached at; connect through \
                 a name the certificate lists (in bootstrap_servers and the brokers' advertised listeners) or \
                 reissue the certificate"
            ),
            TlsProblem::InvalidCertificate { reason } => {
                write!(f, "the broker's certificate was refused: {reason}")
            }
            TlsProblem::ClientCertificateRejected => write!(
                f,
                "the broker requires a client certificate (mutual TLS) and refused the one given, or none was \
                 given; set ssl.certificate.location and ssl.key.location (or ssl.certificate.pem and \
                 ssl.key.pem) to a certificate signed by a CA the brokers trust"
            ),
            TlsProblem::Handshake => write!(f, "the TLS handshake failed"),
        }
    }
}

/// What a librdkafka error text says about TLS, before any probing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TlsSymptom {
    /// OpenSSL refused the broker's certificate (librdkafka does not say why).
    BrokerCertificateRefused,
    /// The broker refused the client's certificate (or its absence).
    ClientCertificateRefused,
    /// Another handshake failure.
    Handshake,
}

/// TLS alerts a broker sends about the client's certificate (OpenSSL's texts for them).
const CLIENT_CERTIFICATE_ALERTS: &[&str] = &[
    "alert bad certificate",
    "alert certificate required",
    "alert unknown ca",
    "alert certificate unknown",
    "alert certificate expired",
    "alert certificate revoked",
    "alert unsupported certificate",
];

/// Reads a librdkafka error text (of an error callback or a failed request).
pub(crate) fn symptom(text: &str) -> Option<TlsSymptom> {
    let lower = text.to_ascii_lowercase();
    if lower.contains("certificate verify failed") {
        Some(TlsSymptom::BrokerCertificateRefused)
    } else if CLIENT_CERTIFICATE_ALERTS.iter().any(|a| lower.contains(a))
        // librdkafka's hint when a TLS 1.2 handshake ends with "unexpected message".
        || lower.contains("client ssl authentication might be required")
    {
        Some(TlsSymptom::ClientCertificateRefused)
    } else if lower.contains("ssl handshake failed") {
        Some(TlsSymptom::Handshake)
    } else {
        None
    }
}

/// The problem behind a symptom, with OpenSSL's verdict when a probe learned it.
pub(crate) fn problem(symptom: TlsSymptom, rejection: Option<&CertRejection>) -> TlsProblem {
    match (symptom, rejection) {
        (TlsSymptom::ClientCertificateRefused, _) => TlsProblem::ClientCertificateRejected,
        (TlsSymptom::Handshake, _) => TlsProblem::Handshake,
        (TlsSymptom::BrokerCertificateRefused, None) => {
            TlsProblem::UntrustedCertificate { reason: "certificate verify failed".into() }
        }
        (TlsSymptom::BrokerCertificateRefused, Some(r)) => from_x509(r),
    }
}

/// OpenSSL's `X509_V_ERR_*` codes kmigrate explains (stable across OpenSSL versions).
fn from_x509(r: &CertRejection) -> TlsProblem {
    let reason = x509_reason(r.x509_error);
    match r.x509_error {
        // Hostname / IP address mismatch.
        62 | 64 => TlsProblem::HostnameMismatch { host: host_of(&r.broker) },
        // Unable to get the issuer (locally), self-signed, unable to verify the leaf signature,
        // signature failure (a CA of the same name but another key).
        2 | 7 | 18 | 19 | 20 | 21 => TlsProblem::UntrustedCertificate { reason },
        _ => TlsProblem::InvalidCertificate { reason },
    }
}

/// OpenSSL's text for the codes above (`X509_verify_cert_error_string`).
fn x509_reason(code: i32) -> String {
    match code {
        2 => "unable to get issuer certificate".into(),
        7 => "certificate signature failure".into(),
        9 => "certificate is not yet valid".into(),
        10 => "certificate has expired".into(),
        18 => "self-signed certificate".into(),
        19 => "self-signed certificate in certificate chain".into(),
        20 => "unable to get local issuer certificate".into(),
        21 => "unable to verify the first certificate".into(),
        23 => "certificate revoked".into(),
        26 => "unsupported certificate purpose".into(),
        62 => "hostname mismatch".into(),
        64 => "IP address mismatch".into(),
        other => format!("X.509 verification error {other}"),
    }
}

/// `host` of librdkafka's broker name `host:port` (`[v6]:port` too).
fn host_of(broker: &str) -> String {
    let host = match broker.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => broker,
    };
    host.trim_start_matches('[').trim_end_matches(']').to_string()
}

/// What to check when librdkafka could not load a TLS file or key (its text says which property
/// failed, then OpenSSL's terse reason, e.g. "PEM lib" for a wrong key password).
pub(crate) fn config_hint(text: &str) -> Option<&'static str> {
    if text.contains("ssl.key.location failed") || text.contains("ssl.key.pem failed") {
        Some(
            "the client's private key could not be read: check that ssl.key.location (or ssl.key.pem) is a \
             PEM private key and, if it is encrypted, that ssl.key.password is its password",
        )
    } else if text.contains("ssl.certificate.location failed") || text.contains("ssl.certificate.pem failed")
    {
        Some("the client certificate could not be read: check that it is a PEM certificate")
    } else if text.contains("ssl.ca.location failed") {
        Some(
            "the CA certificates could not be read: check that ssl.ca.location is a PEM file or a directory of them",
        )
    } else if text.contains("Private key check failed") {
        Some("the private key does not belong to the client certificate")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejection(code: i32) -> CertRejection {
        CertRejection { x509_error: code, depth: 0, broker: "broker-1.example:9093".into() }
    }

    /// librdkafka's own texts, as Apache Kafka 4.3 and OpenSSL 3 produce them.
    #[test]
    fn librdkafka_texts_are_read() {
        let verify = "ssl://127.0.0.1:36057/bootstrap: SSL handshake failed: error:0A000086:SSL routines::certificate verify failed: broker certificate could not be verified, verify that ssl.ca.location is correctly configured";
        let no_cert = "ssl://127.0.0.1:33403/bootstrap: Receive failed: error:0A000412:SSL routines::ssl/tls alert bad certificate: SSL alert number 42";
        let tls12 = "SSL handshake failed: error:0A0000F4:SSL routines::unexpected message: client SSL authentication might be required (see ssl.key.location and ssl.certificate.location and consult the broker logs for more information)";
        let plaintext = "SSL handshake failed: Disconnected: connecting to a PLAINTEXT broker listener?";
        assert_eq!(symptom(verify), Some(TlsSymptom::BrokerCertificateRefused));
        assert_eq!(symptom(no_cert), Some(TlsSymptom::ClientCertificateRefused));
        assert_eq!(symptom(tls12), Some(TlsSymptom::ClientCertificateRefused));
        assert_eq!(symptom(plaintext), Some(TlsSymptom::Handshake));
        assert_eq!(symptom("SASL authentication error: Authentication failed"), None);
        assert_eq!(symptom("Connect to ipv4#127.0.0.1:1 failed: Connection refused"), None);
    }

    #[test]
    fn x509_errors_name_the_cause() {
        let refused = TlsSymptom::BrokerCertificateRefused;
        assert_eq!(
            problem(refused, Some(&rejection(64))),
            TlsProblem::HostnameMismatch { host: "broker-1.example".into() }
        );
        assert!(matches!(problem(refused, Some(&rejection(20))), TlsProblem::UntrustedCertificate { .. }));
        assert_eq!(
            problem(refused, Some(&rejection(10))),
            TlsProblem::InvalidCertificate { reason: "certificate has expired".into() }
        );
        // Without a verdict, the likeliest cause: the CA.
        assert!(matches!(problem(refused, None), TlsProblem::UntrustedCertificate { .. }));
        assert_eq!(host_of("[::1]:9093"), "::1");
        assert_eq!(host_of("10.0.0.7:9093"), "10.0.0.7");
    }

    #[test]
    fn unreadable_keys_are_explained() {
        let wrong_password =
            "Client creation error: ssl.key.location failed: error:0A080009:SSL routines::PEM lib";
        assert!(config_hint(wrong_password).is_some_and(|h| h.contains("ssl.key.password")));
        assert!(
            config_hint("ssl.ca.location failed: No such file")
                .is_some_and(|h| h.contains("ssl.ca.location"))
        );
        assert_eq!(config_hint("No such configuration property: \"sasl.mechanisms2\""), None);
    }

    #[test]
    fn messages_say_what_to_set() {
        let text = TlsProblem::ClientCertificateRejected.to_string();
        assert!(text.contains("ssl.certificate.location") && text.contains("ssl.key.pem"), "{text}");
        let text = TlsProblem::UntrustedCertificate { reason: "x".into() }.to_string();
        assert!(text.contains("ssl.ca.location"), "{text}");
        let text = TlsProblem::HostnameMismatch { host: "127.0.0.1".into() }.to_string();
        assert!(text.contains("`127.0.0.1`") && text.contains("bootstrap_servers"), "{text}");
    }
}
