//! A TCP proxy in front of a store (PostgreSQL, Redis) that stalls on cue: the first
//! client bytes containing a pattern, and everything after them on their connection,
//! reach the server only after a hold. Order is kept, so a command sent behind the held
//! one (a delete after a write) arrives after it, as it would on a slow network. What the
//! server answers passes unheld.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What to stall next.
struct Cue {
    pattern: Vec<u8>,
    hold: Duration,
}

#[derive(Default)]
struct State {
    cue: Option<Cue>,
    stalls: usize,
}

/// The proxy; it stops with the test's runtime.
pub struct StallingProxy {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl StallingProxy {
    /// A proxy on a free loopback port forwarding to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy port");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        relay(client, server, state).await;
                    }
                });
            }
        });
        Self { addr, state }
    }

    /// Holds the next client bytes that contain `pattern` (and what follows them on that
    /// connection) for `hold`.
    pub fn stall_next(&self, pattern: &str, hold: Duration) {
        self.state.lock().expect("proxy state").cue = Some(Cue {
            pattern: pattern.as_bytes().to_vec(),
            hold,
        });
    }

    /// How many stalls have happened.
    pub fn stalls(&self) -> usize {
        self.state.lock().expect("proxy state").stalls
    }
}

async fn relay(client: TcpStream, server: TcpStream, state: Arc<Mutex<State>>) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upstream = async move {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let read = match client_read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => read,
            };
            let chunk = &buffer[..read];
            let hold = {
                let mut state = state.lock().expect("proxy state");
                let matches = state.cue.as_ref().is_some_and(|cue| {
                    chunk
                        .windows(cue.pattern.len())
                        .any(|window| window == cue.pattern.as_slice())
                });
                if matches {
                    state.stalls += 1;
                    state.cue.take().map(|cue| cue.hold)
                } else {
                    None
                }
            };
            if let Some(hold) = hold {
                // Reading stops too, so what the client sends meanwhile queues behind.
                tokio::time::sleep(hold).await;
            }
            if server_write.write_all(chunk).await.is_err() {
                break;
            }
        }
        let _ = server_write.shutdown().await;
    };
    let downstream = async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    };
    tokio::join!(upstream, downstream);
}
