//! A TLS front for a plaintext PostgreSQL, so tests can check a client that verifies
//! certificates (Spin's, and the repository's host) against a server whose certificate
//! comes from a CA made here.
//!
//! It answers the client's `SSLRequest` with `S`, terminates TLS with a certificate for
//! 127.0.0.1 signed by a fresh CA (rcgen), and passes the plaintext protocol on to the
//! PostgreSQL behind it. A client that does not ask for TLS is closed.

use std::net::SocketAddr;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// The `SSLRequest` message: length 8, code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// A running front. It serves until the runtime that started it ends.
pub struct PgTlsFront {
    /// Where clients connect (127.0.0.1, a free port).
    pub addr: SocketAddr,
    /// The CA that signed the front's certificate, PEM: what a client must trust.
    pub ca_pem: String,
}

impl PgTlsFront {
    /// Starts a front for the PostgreSQL at `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> std::io::Result<Self> {
        let (ca_pem, identity) = pki().map_err(std::io::Error::other)?;
        let acceptor = tokio_native_tls::TlsAcceptor::from(
            native_tls::TlsAcceptor::new(identity).map_err(std::io::Error::other)?,
        );
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let upstream = upstream.to_owned();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, acceptor.clone(), upstream.clone()));
            }
        });
        Ok(Self { addr, ca_pem })
    }
}

/// One client: TLS on our side, plaintext to `upstream`.
async fn relay(mut client: TcpStream, acceptor: tokio_native_tls::TlsAcceptor, upstream: String) {
    let mut request = [0u8; 8];
    if client.read_exact(&mut request).await.is_err() || request != SSL_REQUEST {
        return;
    }
    if client.write_all(b"S").await.is_err() {
        return;
    }
    let Ok(mut tls) = acceptor.accept(client).await else {
        return;
    };
    let Ok(mut server) = TcpStream::connect(&upstream).await else {
        return;
    };
    let _ = tokio::io::copy_bidirectional(&mut tls, &mut server).await;
}

/// A fresh CA (PEM) and the front's identity: a key and a certificate for 127.0.0.1 that
/// the CA signed.
fn pki() -> Result<(String, native_tls::Identity), Box<dyn std::error::Error + Send + Sync>> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "usersbypage test CA");
    let ca = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate()?;
    let certificate =
        CertificateParams::new(vec!["127.0.0.1".to_owned()])?.signed_by(&key, &issuer)?;
    let identity = native_tls::Identity::from_pkcs8(
        certificate.pem().as_bytes(),
        key.serialize_pem().as_bytes(),
    )?;
    Ok((ca.pem(), identity))
}
