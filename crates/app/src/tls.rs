//! TLS termination by the server itself (rustls with the ring provider), from PEM files.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A server configuration for the certificate chain and private key in these PEM files, or
/// one sentence saying what is wrong with them.
pub fn server_config(cert_file: &Path, key_file: &Path) -> Result<rustls::ServerConfig, String> {
    let certificates = CertificateDer::pem_file_iter(cert_file)
        .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("TLS_CERT_FILE {}: {e}", cert_file.display()))?;
    if certificates.is_empty() {
        return Err(format!(
            "TLS_CERT_FILE {} holds no certificate",
            cert_file.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| format!("TLS_KEY_FILE {}: {e}", key_file.display()))?;
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certificates, key)
        .map_err(|e| format!("TLS_CERT_FILE and TLS_KEY_FILE do not make a usable pair: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_files_give_one_sentence() {
        let folder = tempfile::tempdir().expect("folder");
        let missing = folder.path().join("missing.pem");
        let error = server_config(&missing, &missing).expect_err("refused");
        assert!(error.starts_with("TLS_CERT_FILE"), "{error}");
        let empty = folder.path().join("empty.pem");
        std::fs::write(&empty, "").expect("written");
        assert!(
            server_config(&empty, &empty)
                .expect_err("refused")
                .contains("holds no certificate")
        );
    }
}
