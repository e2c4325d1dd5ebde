//! TLS for the client: public roots (plus `ca_file`) by default, a SHA-256 pin of the node's
//! certificate (the usual choice for PVE's self-signed certificates), or no checks when asked.

use super::config::{Fingerprint, TlsMode};
use super::error::Error;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Applies `mode` to a reqwest builder.
pub fn configure(builder: reqwest::ClientBuilder, mode: &TlsMode) -> Result<reqwest::ClientBuilder, Error> {
    match mode {
        TlsMode::Verified { ca_file: None } => Ok(builder),
        TlsMode::Verified { ca_file: Some(path) } => {
            let pem = std::fs::read(path)
                .map_err(|e| Error::Config(format!("ca_file {}: cannot read: {e}", path.display())))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| Error::Config(format!("ca_file {}: not a PEM certificate bundle: {e}", path.display())))?;
            if certs.is_empty() {
                return Err(Error::Config(format!("ca_file {}: holds no certificate", path.display())));
            }
            Ok(certs.into_iter().fold(builder, |b, c| b.add_root_certificate(c)))
        }
        TlsMode::Pinned(fp) => {
            Ok(builder.use_preconfigured_tls(rustls_config(Arc::new(PinnedVerifier::new(Some(*fp))))))
        }
        TlsMode::Insecure => {
            tracing::warn!("TLS certificate verification is disabled (insecure = true): anyone on the path can read and change the traffic");
            Ok(builder.use_preconfigured_tls(rustls_config(Arc::new(PinnedVerifier::new(None)))))
        }
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn rustls_config(verifier: Arc<dyn ServerCertVerifier>) -> rustls::ClientConfig {
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    cfg
}

/// The SHA-256 fingerprint of a DER certificate, as PVE shows it.
pub fn cert_fingerprint(der: &[u8]) -> Fingerprint {
    Fingerprint(Sha256::digest(der).into())
}

/// Accepts exactly the leaf certificate whose SHA-256 is pinned, or any certificate when there is
/// no pin (`insecure = true`); the handshake signatures are checked either way, so the server
/// must hold the key of the certificate it shows.
#[derive(Debug)]
struct PinnedVerifier {
    pin: Option<Fingerprint>,
    provider: Arc<CryptoProvider>,
}

impl PinnedVerifier {
    fn new(pin: Option<Fingerprint>) -> Self {
        PinnedVerifier { pin, provider: provider() }
    }
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(pin) = self.pin else { return Ok(ServerCertVerified::assertion()) };
        let got = cert_fingerprint(end_entity.as_ref());
        if got == pin {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "the server's certificate fingerprint {got} does not match the pinned fingerprint {pin}"
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
