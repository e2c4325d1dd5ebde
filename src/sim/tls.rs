//! The simulator's self-signed certificate, as real PVE nodes have out of the box.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::SimError;

pub struct Identity {
    pub acceptor: tokio_rustls::TlsAcceptor,
    pub fingerprint: String,
    pub cert_pem: String,
}

/// Generates a certificate for localhost/127.0.0.1 (and `extra_name`, the listen host).
pub fn generate(extra_name: &str) -> Result<Identity, SimError> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    if !names.iter().any(|n| n == extra_name) && !extra_name.is_empty() && extra_name != "0.0.0.0" {
        names.push(extra_name.to_string());
    }
    let ck = rcgen::generate_simple_self_signed(names).map_err(|e| SimError::Tls(e.to_string()))?;
    let cert_der = ck.cert.der().clone();
    let fingerprint = fingerprint_of(&cert_der);
    let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(ck.key_pair.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SimError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(vec![cert_der], key_der)
        .map_err(|e| SimError::Tls(e.to_string()))?;
    Ok(Identity { acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)), fingerprint, cert_pem: ck.cert.pem() })
}

/// `AB:CD:...`: SHA-256 of the DER, as PVE shows certificate fingerprints.
pub fn fingerprint_of(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    digest.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}
