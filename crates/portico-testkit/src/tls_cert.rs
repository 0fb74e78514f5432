//! Certificates for TLS tests (feature `tls-cert`): a private CA made fresh per test and
//! a server certificate it signed, as a ready rustls server configuration.
//!
//! One way to make them for every TLS test, host or device: the device's TLS 1.3 stack
//! (embedded-tls) matches the URL's host against the certificate's DNS names and common
//! name, and wants P-256 keys; rustls wants the DNS name. A certificate that satisfies
//! both lets one helper serve the host client, the provider's link and the simulation.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// A private CA and a rustls server configuration whose certificate it signed.
pub struct TestPki {
    /// The CA certificate, DER: what a device client must trust.
    pub ca: Vec<u8>,
    /// The same CA certificate in PEM: what a host client (or `--upstream-ca`) is given.
    pub ca_pem: String,
    /// The server's configuration: its certificate, then the CA's, and its key.
    pub server: Arc<rustls::ServerConfig>,
}

impl TestPki {
    /// Makes a CA and a server certificate for `name`, written as a DNS name and as the
    /// common name (even an IP address such as `10.0.0.200`: embedded-tls compares the
    /// URL's host as text), with fresh P-256 keys (rcgen's default).
    pub fn new(name: &str) -> TestPki {
        Self::with_ca_name(name, "portico test CA")
    }

    /// As [`TestPki::new`], with the CA named `ca_name`: two of them with different
    /// names make a bundle whose right CA a verifier must pick by issuer.
    pub fn with_ca_name(name: &str, ca_name: &str) -> TestPki {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, ca_name);
        let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
        let key = KeyPair::generate().expect("server key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.subject_alt_names = vec![SanType::DnsName(name.try_into().expect("a DNS name"))];
        let cert = params
            .signed_by(&key, &ca, &ca_key)
            .expect("server certificate");
        // The ring provider by name: the test process may have no default installed.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone(), ca.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .expect("server configuration");
        TestPki {
            ca: ca.der().to_vec(),
            ca_pem: ca.pem(),
            server: Arc::new(server),
        }
    }
}
