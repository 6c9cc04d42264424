//! A small fault-injecting TCP proxy for tests, in the spirit of Toxiproxy:
//! it forwards to an upstream until told to cut, then drops every open
//! connection and refuses new ones until restored.

use std::net::SocketAddr;

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct FaultProxy {
    pub addr: SocketAddr,
    down: watch::Sender<bool>,
    accept: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (down, _) = watch::channel(false);
        let down_rx = down.subscribe();
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
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let mut client = client;
                    tokio::select! {
                        _ = copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.wait_for(|down| *down) => {}
                    }
                });
            }
        });
        FaultProxy { addr, down, accept }
    }

    /// Drops every connection and refuses new ones.
    pub fn cut(&self) {
        self.down.send_replace(true);
    }

    /// Forwards again.
    pub fn restore(&self) {
        self.down.send_replace(false);
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
