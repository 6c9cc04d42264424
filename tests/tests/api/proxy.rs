//! A small fault-injecting TCP proxy for tests, in the spirit of Toxiproxy:
//! it forwards to an upstream until told to cut, then drops every open
//! connection and refuses new ones until restored.

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
                let upstream = *upstream_of_new.lock().expect("upstream");
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut server_read, mut server_write) = server.into_split();
                    let up = tokio::io::copy(&mut client_read, &mut server_write);
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
                        _ = up => {}
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
            accept,
        }
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
