//! PostgreSQL over TLS as Spin connects: the certificate chain and host name are verified
//! unless the address says `sslmode=disable`, against the system's roots plus the CA root a
//! guest passes to `connection-builder.set-ca-root`.
//!
//! The verified path needs a server whose certificate names 127.0.0.1 and comes from a CA the
//! test controls: a TLS front in front of the machine's PostgreSQL, which answers the
//! client's `SSLRequest`, terminates TLS with a certificate from a CA made here (rcgen), and
//! passes the plaintext protocol on to 127.0.0.1:5432.

use std::net::SocketAddr;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{Options, TestApp, q};

/// The `SSLRequest` message: length 8, code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// A CA, and a server certificate it signed for 127.0.0.1, all PEM.
struct Pki {
    ca: String,
    server_cert: String,
    server_key: String,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "usersbypage test CA");
    let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().expect("server key");
    let server = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .expect("server params")
        .signed_by(&server_key, &issuer)
        .expect("server certificate");
    Pki {
        ca: ca.pem(),
        server_cert: server.pem(),
        server_key: server_key.serialize_pem(),
    }
}

/// Starts the TLS front; its address.
async fn tls_front(pki: &Pki) -> SocketAddr {
    let identity =
        native_tls::Identity::from_pkcs8(pki.server_cert.as_bytes(), pki.server_key.as_bytes())
            .expect("server identity");
    let acceptor = tokio_native_tls::TlsAcceptor::from(
        native_tls::TlsAcceptor::new(identity).expect("TLS acceptor"),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
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
                let Ok(mut server) = TcpStream::connect("127.0.0.1:5432").await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut server).await;
            });
        }
    });
    address
}

/// The fixture app, its PostgreSQL at `address`, which `allowed_outbound_hosts` permits as
/// `host` (`host:port`).
async fn app_for(address: &str, host: &str) -> TestApp {
    TestApp::start_with(Options {
        variables: [
            ("pg_address".to_owned(), address.to_owned()),
            ("pg_host".to_owned(), host.to_owned()),
        ]
        .into(),
        ..Options::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_root_from_the_guest_verifies_the_server() {
    let pki = pki();
    let front = tls_front(&pki).await;
    let app = app_for(
        &format!("postgres://postgres@{front}/test"),
        &front.to_string(),
    )
    .await;

    let trusted = app
        .json(&format!("/all/pg?sql={}&ca={}", q("SELECT 1"), q(&pki.ca)))
        .await;
    let untrusted = app.json(&format!("/all/pg?sql={}", q("SELECT 1"))).await;
    let required = app_for(
        &format!("postgres://postgres@{front}/test?sslmode=require"),
        &front.to_string(),
    )
    .await
    .json(&format!("/all/pg?sql={}&ca={}", q("SELECT 1"), q(&pki.ca)))
    .await;

    assert_eq!(trusted, serde_json::json!({ "rows": [[1]] }));
    assert_eq!(required, serde_json::json!({ "rows": [[1]] }));
    let error = untrusted["open_error"].as_str().unwrap_or_default();
    assert!(error.contains("certificate verify failed"), "{untrusted}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_name_is_refused_even_from_a_trusted_ca() {
    let pki = pki();
    let front = tls_front(&pki).await;
    // The certificate names 127.0.0.1; the address names localhost.
    let host = format!("localhost:{}", front.port());
    let app = app_for(&format!("postgres://postgres@{host}/test"), &host).await;

    let body = app
        .json(&format!("/all/pg?sql={}&ca={}", q("SELECT 1"), q(&pki.ca)))
        .await;

    let error = body["open_error"].as_str().unwrap_or_default();
    assert!(error.contains("certificate verify failed"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_ca_root_is_refused() {
    let app = TestApp::start().await;

    let body = app
        .json(&format!(
            "/all/pg?sql={}&ca={}",
            q("SELECT 1"),
            q("not a certificate")
        ))
        .await;

    let error = body["open_error"].as_str().unwrap_or_default();
    assert!(error.contains("invalid root certificate"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_disable_connects_in_plain_text() {
    // The test manifest's default address: the machine's PostgreSQL with sslmode=disable.
    let app = TestApp::start().await;

    let body = app.json(&format!("/all/pg?sql={}", q("SELECT 1"))).await;

    assert_eq!(body, serde_json::json!({ "rows": [[1]] }));
}
