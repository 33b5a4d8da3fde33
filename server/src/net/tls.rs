//! TLS from the PEM files the config names (rustls, ring provider): the RESP TLS port's
//! acceptor (`tls-port`, `tls-auth-clients`) and node-to-node mutual TLS (`tls-cluster`).
//! Every file is read and checked at start, so a bad one stops the server with its name.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;
use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

use crate::config::{Config, TlsAuthClients};
use crate::raft::auth::GrpcTls;

/// A TLS setting that cannot be used; the message names the option and the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{option} {path}: {error}")]
    Read { option: &'static str, path: String, error: std::io::Error },
    #[error("{option} {path}: {what}")]
    Invalid { option: &'static str, path: String, what: String },
    #[error("TLS: {0}")]
    Config(String),
}

/// A PEM file's bytes and the certificates or key in it.
struct Pem {
    option: &'static str,
    path: String,
    bytes: Vec<u8>,
}

impl Pem {
    fn read(option: &'static str, path: &Path) -> Result<Pem, TlsError> {
        let path_s = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|error| TlsError::Read { option, path: path_s.clone(), error })?;
        Ok(Pem { option, path: path_s, bytes })
    }

    fn invalid(&self, what: impl std::fmt::Display) -> TlsError {
        TlsError::Invalid { option: self.option, path: self.path.clone(), what: what.to_string() }
    }

    fn certs(&self) -> Result<Vec<CertificateDer<'static>>, TlsError> {
        let certs = CertificateDer::pem_slice_iter(&self.bytes).collect::<Result<Vec<_>, _>>();
        match certs.map_err(|e| self.invalid(e))? {
            c if c.is_empty() => Err(self.invalid("no PEM certificate in the file")),
            c => Ok(c),
        }
    }

    fn key(&self) -> Result<PrivateKeyDer<'static>, TlsError> {
        PrivateKeyDer::from_pem_slice(&self.bytes).map_err(|e| self.invalid(format!("no usable PEM private key ({e})")))
    }

    fn roots(&self) -> Result<Arc<RootCertStore>, TlsError> {
        let mut roots = RootCertStore::empty();
        for c in self.certs()? {
            roots.add(c).map_err(|e| self.invalid(e))?;
        }
        Ok(Arc::new(roots))
    }
}

/// The files named by the config: certificate, key and (if given) CA.
struct Files {
    cert: Pem,
    key: Pem,
    ca: Option<Pem>,
}

fn files(c: &Config) -> Result<Files, TlsError> {
    let need = |p: &Option<std::path::PathBuf>, o: &'static str| {
        p.clone().ok_or_else(|| TlsError::Config(format!("{o} is not set")))
    };
    let cert = Pem::read("tls-cert-file", &need(&c.tls_cert_file, "tls-cert-file")?)?;
    let key = Pem::read("tls-key-file", &need(&c.tls_key_file, "tls-key-file")?)?;
    let ca = c.tls_ca_cert_file.as_deref().map(|p| Pem::read("tls-ca-cert-file", p)).transpose()?;
    Ok(Files { cert, key, ca })
}

/// A rustls server config presenting `f`'s certificate; client certificates are verified
/// against the CA as `auth` says (without a CA none is asked for).
fn server_config(f: &Files, auth: TlsAuthClients) -> Result<ServerConfig, TlsError> {
    let provider = Arc::new(ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let builder = match (&f.ca, auth) {
        (None, _) | (_, TlsAuthClients::No) => builder.with_no_client_auth(),
        (Some(ca), auth) => {
            let verifier = WebPkiClientVerifier::builder_with_provider(ca.roots()?, provider);
            let verifier = match auth {
                TlsAuthClients::Optional => verifier.allow_unauthenticated(),
                _ => verifier,
            };
            builder.with_client_cert_verifier(verifier.build().map_err(|e| ca.invalid(e))?)
        }
    };
    // Also checks that the key belongs to the certificate.
    builder
        .with_single_cert(f.cert.certs()?, f.key.key()?)
        .map_err(|e| f.key.invalid(format!("cannot be used with tls-cert-file {} ({e})", f.cert.path)))
}

/// The RESP TLS port's acceptor, when `tls-port` is set.
pub fn resp_acceptor(c: &Config) -> Result<Option<TlsAcceptor>, TlsError> {
    if c.tls_port == 0 {
        return Ok(None);
    }
    let f = files(c)?;
    Ok(Some(TlsAcceptor::from(Arc::new(server_config(&f, c.tls_auth_clients)?))))
}

/// Node-to-node mutual TLS, when `tls-cluster` is set: every node presents its certificate
/// and accepts only peers whose certificate chains to the CA.
pub fn grpc(c: &Config) -> Result<Option<GrpcTls>, TlsError> {
    if !c.tls_cluster {
        return Ok(None);
    }
    let f = files(c)?;
    let ca = f.ca.as_ref().ok_or_else(|| TlsError::Config("tls-cluster needs tls-ca-cert-file".into()))?;
    // Checked here with rustls: tonic parses the PEM only when it first serves or dials.
    server_config(&f, TlsAuthClients::Yes)?;
    let identity = Identity::from_pem(&f.cert.bytes, &f.key.bytes);
    let ca_cert = Certificate::from_pem(&ca.bytes);
    Ok(Some(GrpcTls {
        server: ServerTlsConfig::new().identity(identity.clone()).client_ca_root(ca_cert.clone()),
        client: ClientTlsConfig::new().identity(identity).ca_certificate(ca_cert),
    }))
}
