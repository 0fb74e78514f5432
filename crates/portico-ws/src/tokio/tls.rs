//! `wss://` on the host: rustls with the bundled webpki roots, plus optional extra CAs.
//! Certificate verification is always on; trust a private server by adding its CA.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

/// Why a TLS configuration could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsConfigError {
    /// The extra CA PEM held no certificate or could not be parsed.
    BadPem,
    /// A certificate was refused by the root store.
    BadCertificate,
}

impl std::fmt::Display for TlsConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TlsConfigError::BadPem => "extra CA PEM is malformed or empty",
            TlsConfigError::BadCertificate => "extra CA certificate refused",
        })
    }
}

impl std::error::Error for TlsConfigError {}

/// Trust settings.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    /// Trust the Mozilla roots bundled by `webpki-roots`.
    pub webpki_roots: bool,
    /// Extra CA certificates in PEM (a private server, a test CA).
    pub extra_ca_pem: Option<Vec<u8>>,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            webpki_roots: true,
            extra_ca_pem: None,
        }
    }
}

impl TlsConfig {
    /// Builds the rustls client configuration.
    pub fn build(&self) -> Result<Arc<rustls::ClientConfig>, TlsConfigError> {
        let mut roots = rustls::RootCertStore::empty();
        if self.webpki_roots {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        if let Some(pem) = &self.extra_ca_pem {
            let mut any = false;
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|_| TlsConfigError::BadPem)?;
                roots
                    .add(cert)
                    .map_err(|_| TlsConfigError::BadCertificate)?;
                any = true;
            }
            if !any {
                return Err(TlsConfigError::BadPem);
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let cfg = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|_| TlsConfigError::BadCertificate)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(cfg))
    }
}
