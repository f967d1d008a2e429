//! Certificates for TLS test brokers, generated per broker (rcgen): a CA, a broker certificate for
//! the hosts the test names (by default `localhost` and `127.0.0.1`), and a client certificate for
//! mutual TLS. Written as PEM files (Kafka's `ssl.keystore.type=PEM`; librdkafka's `ssl.*.location`).

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};

/// The PEM files of one TLS broker.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The CA certificate: the broker's truststore, and what clients set as `ssl.ca.location`.
    pub ca_cert: PathBuf,
    /// The broker's private key (PKCS#8) followed by its certificate: Kafka's PEM keystore.
    pub broker_keystore: PathBuf,
    /// A client certificate signed by the CA (`ssl.certificate.location`).
    pub client_cert: PathBuf,
    /// Its private key, unencrypted PKCS#8 (`ssl.key.location`).
    pub client_key: PathBuf,
    /// The client key and certificate as PEM text, for inline `ssl.key.pem` / `ssl.certificate.pem`.
    pub client_key_pem: String,
    pub client_cert_pem: String,
    /// The CA certificate as PEM text (`ssl.ca.pem`).
    pub ca_pem: String,
}

impl TlsFiles {
    /// Generates a CA, a broker certificate for `hosts` and a client certificate into `dir`.
    pub fn generate(dir: &Path, hosts: &[&str]) -> Result<TlsFiles, String> {
        Self::try_generate(dir, hosts).map_err(|e| e.to_string())
    }

    fn try_generate(dir: &Path, hosts: &[&str]) -> Result<TlsFiles, Box<dyn std::error::Error>> {
        std::fs::create_dir_all(dir)?;
        let ca_key = KeyPair::generate()?;
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, "kmigrate test CA");
        let ca_cert = ca.self_signed(&ca_key)?;

        let broker_key = KeyPair::generate()?;
        let mut broker = CertificateParams::new(hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>())?;
        broker.distinguished_name.push(DnType::CommonName, hosts.first().copied().unwrap_or("broker"));
        broker.extended_key_usages =
            vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        let broker_cert = broker.signed_by(&broker_key, &ca_cert, &ca_key)?;

        let client_key = KeyPair::generate()?;
        let mut client = CertificateParams::new(Vec::<String>::new())?;
        client.distinguished_name.push(DnType::CommonName, "kmigrate-test-client");
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_cert = client.signed_by(&client_key, &ca_cert, &ca_key)?;

        let files = TlsFiles {
            ca_cert: dir.join("ca.pem"),
            broker_keystore: dir.join("broker-keystore.pem"),
            client_cert: dir.join("client.pem"),
            client_key: dir.join("client-key.pem"),
            client_key_pem: client_key.serialize_pem(),
            client_cert_pem: client_cert.pem(),
            ca_pem: ca_cert.pem(),
        };
        std::fs::write(&files.ca_cert, &files.ca_pem)?;
        std::fs::write(
            &files.broker_keystore,
            format!("{}{}", broker_key.serialize_pem(), broker_cert.pem()),
        )?;
        std::fs::write(&files.client_cert, &files.client_cert_pem)?;
        std::fs::write(&files.client_key, &files.client_key_pem)?;
        Ok(files)
    }

    /// The client key encrypted with `password` (PKCS#8, AES-256-CBC, by the `openssl` command), for
    /// `ssl.key.location` + `ssl.key.password`: written beside the plain key; returns its path and
    /// its PEM text.
    pub fn encrypted_client_key(&self, password: &str) -> Result<(PathBuf, String), String> {
        let out = self.client_key.with_file_name("client-key-encrypted.pem");
        let status = std::process::Command::new("openssl")
            .args(["pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in"])
            .arg(&self.client_key)
            .arg("-out")
            .arg(&out)
            .arg("-passout")
            .arg(format!("pass:{password}"))
            .status()
            .map_err(|e| format!("running openssl (needed to encrypt a test key): {e}"))?;
        if !status.success() {
            return Err(format!("openssl pkcs8 failed: {status}"));
        }
        let pem = std::fs::read_to_string(&out).map_err(|e| e.to_string())?;
        if !pem.contains("BEGIN ENCRYPTED PRIVATE KEY") {
            return Err(format!("openssl wrote no encrypted key:\n{pem}"));
        }
        Ok((out, pem))
    }
}
