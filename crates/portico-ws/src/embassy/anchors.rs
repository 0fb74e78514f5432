//! Several trust anchors (a CA bundle) for the device's TLS client.
//!
//! embedded-tls's verifier checks a chain against one CA. Given a bundle — DER
//! certificates one after the other, as `--upstream-ca` or `PORTICO_UPSTREAM_CA` turn a
//! PEM file into — [`BundleVerifier`] picks, for the chain the server sent, the CA whose
//! subject is the issuer named by one of the chain's certificates, and lets the crate's
//! verifier check the chain against it; a bundle where no CA names the issuer falls back
//! to the first CA, which then fails the check as a lone wrong CA would. Picking by name
//! is what path building does (RFC 5280 §6.1: the anchor is found by the issuer name);
//! the signature check is still the crate's, so a CA with the right name but another key
//! is refused.
//!
//! The DER walking here reads only lengths and the fixed order of `TBSCertificate`'s
//! first fields (RFC 5280 §4.1); it never trusts what it reads: a malformed bundle
//! yields no anchor, and the link reports `wss://` without a CA to trust.

use embedded_tls::pki::CertVerifier;
use embedded_tls::{
    Certificate, CertificateEntryRef, CertificateRef, CertificateVerifyRef, NoClock,
    TlsCipherSuite, TlsError, TlsVerifier,
};

/// One DER element: its tag, its whole encoding, and its contents.
struct Element<'a> {
    tag: u8,
    whole: &'a [u8],
    contents: &'a [u8],
}

/// The first DER element of `der`, and what follows it.
fn element(der: &[u8]) -> Option<(Element<'_>, &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        // Long form: the low bits count the length's bytes (at most 4 here: a
        // certificate is never 4 GiB, and a longer one is malformed for us).
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (bytes, rest) = rest.split_at(n);
        (
            bytes.iter().fold(0usize, |a, &b| (a << 8) | usize::from(b)),
            rest,
        )
    };
    if rest.len() < len {
        return None;
    }
    let header = der.len() - rest.len();
    let (contents, after) = rest.split_at(len);
    Some((
        Element {
            tag,
            whole: &der[..header + len],
            contents,
        },
        after,
    ))
}

const SEQUENCE: u8 = 0x30;
/// `[0] EXPLICIT Version` in `TBSCertificate`.
const VERSION: u8 = 0xa0;

/// The encoded issuer and subject names of a DER certificate.
fn names(cert: &[u8]) -> Option<(&[u8], &[u8])> {
    let (certificate, _) = element(cert)?;
    let (tbs, _) = element(certificate.contents)?;
    if certificate.tag != SEQUENCE || tbs.tag != SEQUENCE {
        return None;
    }
    let mut fields = tbs.contents;
    let mut next = || -> Option<Element<'_>> {
        let (e, rest) = element(fields)?;
        fields = rest;
        Some(e)
    };
    // [version], serialNumber, signature, issuer, validity, subject.
    if next()?.tag == VERSION {
        let _serial = next()?;
    }
    let _signature = next()?;
    let issuer = next()?;
    let _validity = next()?;
    let subject = next()?;
    (issuer.tag == SEQUENCE && subject.tag == SEQUENCE).then_some((issuer.whole, subject.whole))
}

/// The certificates of a bundle: DER certificates one after the other. Stops at the
/// first thing that is not one.
pub fn certificates(bundle: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = bundle;
    core::iter::from_fn(move || {
        let (e, after) = element(rest)?;
        (e.tag == SEQUENCE).then(|| {
            rest = after;
            e.whole
        })
    })
}

/// The CA of `bundle` for `chain`: the first whose subject is the issuer of one of the
/// chain's certificates, else the bundle's first (which the check then refuses).
pub fn anchor_for<'b>(bundle: &'b [u8], chain: &CertificateRef<'_>) -> Option<&'b [u8]> {
    let issuers = || {
        chain.entries.iter().filter_map(|e| match e {
            CertificateEntryRef::X509(der) => names(der).map(|(issuer, _)| issuer),
            _ => None,
        })
    };
    certificates(bundle)
        .find(|ca| names(ca).is_some_and(|(_, subject)| issuers().any(|i| i == subject)))
        .or_else(|| certificates(bundle).next())
}

/// A verifier over a CA bundle: chooses the CA when the server's certificate arrives
/// and hands the checks to embedded-tls's own verifier for that CA.
pub struct BundleVerifier<'a, S: TlsCipherSuite, const CERT: usize> {
    bundle: &'a [u8],
    host: Option<&'a str>,
    chosen: Option<CertVerifier<'a, S, NoClock, CERT>>,
}

impl<'a, S: TlsCipherSuite, const CERT: usize> BundleVerifier<'a, S, CERT> {
    /// Trusts each certificate of `bundle`; the server's names are checked against
    /// `host`.
    pub fn new(bundle: &'a [u8], host: &'a str) -> Self {
        BundleVerifier {
            bundle,
            host: Some(host),
            chosen: None,
        }
    }
}

impl<S: TlsCipherSuite, const CERT: usize> TlsVerifier<S> for BundleVerifier<'_, S, CERT> {
    fn set_hostname_verification(&mut self, hostname: &str) -> Result<(), TlsError> {
        // The host is given at construction (it must outlive the chosen verifier); a
        // different one here would be a caller's mistake.
        match self.host {
            Some(h) if h == hostname => Ok(()),
            _ => Err(TlsError::InvalidCertificate),
        }
    }

    fn verify_certificate(
        &mut self,
        transcript: &S::Hash,
        cert: CertificateRef<'_>,
    ) -> Result<(), TlsError> {
        let ca = anchor_for(self.bundle, &cert).ok_or(TlsError::InvalidCertificate)?;
        let mut v = CertVerifier::new(Certificate::X509(ca));
        if let Some(host) = self.host {
            v.set_hostname_verification(host)?;
        }
        v.verify_certificate(transcript, cert)?;
        self.chosen = Some(v);
        Ok(())
    }

    fn verify_signature(&mut self, verify: CertificateVerifyRef<'_>) -> Result<(), TlsError> {
        self.chosen
            .as_mut()
            .ok_or(TlsError::InvalidCertificate)?
            .verify_signature(verify)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal certificate: `SEQUENCE { SEQUENCE tbs { [0] v3, serial, sigalg, issuer,
    /// validity, subject } }` with names `CN=<issuer>` / `CN=<subject>`.
    fn cert(issuer: &str, subject: &str, version: bool) -> std::vec::Vec<u8> {
        fn tlv(tag: u8, body: &[u8]) -> std::vec::Vec<u8> {
            let mut v = std::vec![tag];
            if body.len() < 0x80 {
                v.push(body.len() as u8);
            } else {
                v.extend_from_slice(&[0x82, (body.len() >> 8) as u8, body.len() as u8]);
            }
            v.extend_from_slice(body);
            v
        }
        let name = |cn: &str| {
            let atv = [tlv(0x06, &[0x55, 0x04, 0x03]), tlv(0x0c, cn.as_bytes())].concat();
            tlv(SEQUENCE, &tlv(0x31, &tlv(SEQUENCE, &atv)))
        };
        let mut tbs = std::vec::Vec::new();
        if version {
            tbs.extend(tlv(VERSION, &tlv(0x02, &[2])));
        }
        tbs.extend(tlv(0x02, &[7]));
        tbs.extend(tlv(SEQUENCE, &tlv(0x06, &[0x2a, 0x86, 0x48])));
        tbs.extend(name(issuer));
        tbs.extend(tlv(SEQUENCE, &[0u8; 200])); // validity, long enough for the long form
        tbs.extend(name(subject));
        tlv(SEQUENCE, &tlv(SEQUENCE, &tbs))
    }

    #[test]
    fn names_are_read_with_and_without_a_version() {
        for version in [true, false] {
            let c = cert("Root", "leaf.example", version);
            let (issuer, subject) = names(&c).expect("names");
            assert!(issuer.ends_with(b"Root"), "{issuer:?}");
            assert!(subject.ends_with(b"leaf.example"), "{subject:?}");
        }
    }

    #[test]
    fn a_bundle_is_split_into_its_certificates_and_stops_at_garbage() {
        let (a, b) = (cert("A", "A", true), cert("B", "B", true));
        let bundle = [a.clone(), b.clone(), std::vec![0x04, 0x01, 0xff]].concat();
        let got: std::vec::Vec<&[u8]> = certificates(&bundle).collect();
        assert_eq!(got, [&a[..], &b[..]]);
        assert_eq!(certificates(&[]).count(), 0);
        assert_eq!(certificates(b"-----BEGIN CERTIFICATE-----").count(), 0);
    }

    #[test]
    fn the_anchor_is_the_ca_the_chain_names_as_issuer() {
        let (other, right) = (
            cert("Other CA", "Other CA", true),
            cert("Right CA", "Right CA", true),
        );
        let leaf = cert("Right CA", "server", true);
        let mut chain = CertificateRef::with_context(&[]);
        chain.add(CertificateEntryRef::X509(&leaf)).unwrap();
        let bundle = [other.clone(), right.clone()].concat();
        assert_eq!(anchor_for(&bundle, &chain), Some(&right[..]));
        // None names the issuer: the first, which the signature check then refuses.
        let stranger = cert("Nobody", "server", true);
        let mut chain = CertificateRef::with_context(&[]);
        chain.add(CertificateEntryRef::X509(&stranger)).unwrap();
        assert_eq!(anchor_for(&bundle, &chain), Some(&other[..]));
        assert_eq!(anchor_for(&[], &chain), None);
    }

    #[test]
    fn truncated_or_overlong_input_is_no_certificate() {
        let c = cert("A", "A", true);
        for n in 0..c.len() {
            assert!(names(&c[..n]).is_none() || certificates(&c[..n]).count() == 0);
        }
        assert!(element(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_none());
    }
}
