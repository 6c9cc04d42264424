//! A small fault-injecting TCP proxy for tests, in the spirit of Toxiproxy:
//! it forwards to an upstream until told to cut, then drops every open
//! connection and refuses new ones until restored. It also counts the
//! round trips PostgreSQL clients make through it.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct FaultProxy {
    pub addr: SocketAddr,
    down: watch::Sender<bool>,
    /// Where new connections go; bumping `switched` drops the open ones.
    upstream: std::sync::Arc<std::sync::Mutex<SocketAddr>>,
    switched: watch::Sender<u64>,
    /// Delay added to every chunk the upstream sends back, in milliseconds.
    latency_ms: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Messages after which a PostgreSQL client waits for the server.
    round_trips: std::sync::Arc<std::sync::atomic::AtomicU64>,
    accept: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (down, _) = watch::channel(false);
        let down_rx = down.subscribe();
        let latency_ms = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let latency = latency_ms.clone();
        let round_trips = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = round_trips.clone();
        let target = std::sync::Arc::new(std::sync::Mutex::new(upstream));
        let upstream_of_new = target.clone();
        let (switched, _) = watch::channel(0u64);
        let switched_rx = switched.subscribe();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                if *down_rx.borrow() {
                    drop(client);
                    continue;
                }
                let mut cut = down_rx.clone();
                let mut moved = switched_rx.clone();
                moved.mark_unchanged();
                let latency = latency.clone();
                let counted = counted.clone();
                let upstream = *upstream_of_new.lock().expect("upstream");
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut server_read, mut server_write) = server.into_split();
                    let up = async {
                        let mut buf = vec![0u8; 64 * 1024];
                        let mut messages = PgMessages::default();
                        loop {
                            let n = match client_read.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            let waits = messages.feed(&buf[..n]);
                            counted.fetch_add(waits, std::sync::atomic::Ordering::SeqCst);
                            if server_write.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    };
                    let down = async {
                        let mut buf = vec![0u8; 64 * 1024];
                        loop {
                            let n = match server_read.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            let ms = latency.load(std::sync::atomic::Ordering::Relaxed);
                            if ms > 0 {
                                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                            }
                            if client_write.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    };
                    tokio::select! {
                        () = up => {}
                        () = down => {}
                        _ = cut.wait_for(|down| *down) => {}
                        _ = moved.changed() => {}
                    }
                });
            }
        });
        FaultProxy {
            addr,
            down,
            upstream: target,
            switched,
            latency_ms,
            round_trips,
            accept,
        }
    }

    /// Round trips PostgreSQL clients made through the proxy so far: the
    /// `Sync` and simple `Query` messages they sent (each waits for the
    /// server's `ReadyForQuery`: a statement of the extended protocol, a
    /// transaction command, or a ping).
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Drops every connection and refuses new ones.
    pub fn cut(&self) {
        self.down.send_replace(true);
    }

    /// Forwards again.
    pub fn restore(&self) {
        self.down.send_replace(false);
    }

    /// Sends new connections to `upstream` and drops the open ones (as a
    /// balancer failing over to another server would).
    pub fn switch_to(&self, upstream: SocketAddr) {
        *self.upstream.lock().expect("upstream") = upstream;
        self.switched.send_modify(|n| *n += 1);
    }

    /// Delays every answer of the upstream by `latency`.
    pub fn set_latency(&self, latency: std::time::Duration) {
        self.latency_ms.store(
            u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
            std::sync::atomic::Ordering::Relaxed,
        );
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Splits what a PostgreSQL client sends into messages: the untyped
/// startup packets first (`SSLRequest`, `GSSENCRequest`, then the startup
/// message), then messages of a type byte and a length.
#[derive(Default)]
struct PgMessages {
    started: bool,
    header: Vec<u8>,
    /// Bytes of the current message's body still to come.
    skip: usize,
}

impl PgMessages {
    /// Reads one chunk; returns how many round-trip messages it completed
    /// the header of.
    fn feed(&mut self, mut data: &[u8]) -> u64 {
        const SSL_REQUEST: u32 = 80_877_103;
        const GSSENC_REQUEST: u32 = 80_877_104;
        let mut waits = 0;
        while !data.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(data.len());
                self.skip -= n;
                data = &data[n..];
                continue;
            }
            let need = if self.started { 5 } else { 8 };
            let n = (need - self.header.len()).min(data.len());
            self.header.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.header.len() < need {
                break;
            }
            let word = |at: usize| {
                u32::from_be_bytes([
                    self.header[at],
                    self.header[at + 1],
                    self.header[at + 2],
                    self.header[at + 3],
                ])
            };
            let (length, header) = if self.started {
                if matches!(self.header[0], b'S' | b'Q') {
                    waits += 1;
                }
                (word(1), 4)
            } else {
                let code = word(4);
                self.started = code != SSL_REQUEST && code != GSSENC_REQUEST;
                (word(0), 8)
            };
            self.skip = usize::try_from(length).unwrap_or(0).saturating_sub(header);
            self.header.clear();
        }
        waits
    }
}

/// The `host:port` of a URL's authority (`scheme://user:pw@host:port/...`).
pub fn authority(url: &str) -> (usize, usize) {
    let start = url.find("://").map(|i| i + 3).unwrap_or(0);
    let end = url[start..]
        .find(['/', '?'])
        .map(|i| i + start)
        .unwrap_or(url.len());
    let host_start = url[start..end]
        .rfind('@')
        .map(|i| i + start + 1)
        .unwrap_or(start);
    (host_start, end)
}

/// `url` rewritten to connect through `proxy`.
pub fn route_through(url: &str, proxy: SocketAddr) -> String {
    let (s, e) = authority(url);
    format!("{}{}{}", &url[..s], proxy, &url[e..])
}

/// The address `url` connects to (`default_port` when it names none).
pub async fn upstream_of(url: &str, default_port: u16) -> SocketAddr {
    let (s, e) = authority(url);
    let hostport = &url[s..e];
    let target = if hostport.contains(':') && !hostport.ends_with(']') {
        hostport.to_owned()
    } else {
        format!("{hostport}:{default_port}")
    };
    tokio::net::lookup_host(target)
        .await
        .expect("resolve upstream")
        .next()
        .expect("an upstream address")
}
