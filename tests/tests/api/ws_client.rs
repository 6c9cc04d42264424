//! A `graphql-transport-ws` client over a real socket, as the `graphql-ws`
//! library speaks it: the subprotocol header, `connection_init`, answers to
//! the server's pings.

use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};

/// How long a test waits for something it expects.
pub const PATIENCE: Duration = Duration::from_secs(15);

pub struct Ws {
    stream: WebSocketStream<TcpStream>,
}

/// What the server sent.
#[derive(Debug)]
pub enum Received {
    Json(Value),
    Closed(u16, String),
    /// The socket ended without a close frame.
    Ended,
}

/// The `ws://` URL of an app's `/graphql`.
pub fn url_of(address: &str) -> String {
    format!("{}/graphql", address.replacen("http://", "ws://", 1))
}

/// Opens a socket offering `protocol`; `Err` holds the HTTP status when the
/// server refused the upgrade.
pub async fn open(address: &str, protocol: Option<&str>) -> Result<Ws, u16> {
    open_with_buffer(address, protocol, None).await
}

/// As [`open`], with the client's receive buffer set (to make a client that
/// stops reading fill up quickly).
pub async fn open_with_buffer(
    address: &str,
    protocol: Option<&str>,
    receive_buffer: Option<u32>,
) -> Result<Ws, u16> {
    let mut request = url_of(address).into_client_request().expect("request");
    if let Some(p) = protocol {
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_str(p).expect("header"),
        );
    }
    let host = address.trim_start_matches("http://");
    let addr: std::net::SocketAddr = host.parse().expect("address");
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    if let Some(size) = receive_buffer {
        socket.set_recv_buffer_size(size).expect("buffer size");
    }
    let tcp = socket.connect(addr).await.expect("connect");
    match tokio_tungstenite::client_async(request, tcp).await {
        Ok((stream, response)) => {
            if protocol.is_some() {
                assert_eq!(
                    response
                        .headers()
                        .get("sec-websocket-protocol")
                        .and_then(|v| v.to_str().ok()),
                    Some("graphql-transport-ws"),
                    "the server selects the subprotocol"
                );
            }
            Ok(Ws { stream })
        }
        Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("WebSocket handshake failed: {e}"),
    }
}

impl Ws {
    /// Opens a socket and has it acknowledged with `payload`.
    pub async fn connect(address: &str, payload: Value) -> Ws {
        let mut ws = open(address, Some("graphql-transport-ws"))
            .await
            .expect("upgrade accepted");
        ws.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        match ws.recv().await {
            Received::Json(msg) if msg["type"] == "connection_ack" => ws,
            other => panic!("expected connection_ack, got {other:?}"),
        }
    }

    pub async fn send(&mut self, message: Value) {
        self.send_text(&message.to_string()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.stream
            .send(Message::Text(text.into()))
            .await
            .expect("send");
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.stream
            .send(Message::Binary(bytes.into()))
            .await
            .expect("send");
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({
            "id": id,
            "type": "subscribe",
            "payload": { "query": query, "variables": variables },
        }))
        .await;
    }

    /// The next message (answering pings on the way), or how the socket ended.
    pub async fn recv(&mut self) -> Received {
        self.recv_within(PATIENCE)
            .await
            .unwrap_or_else(|| panic!("nothing arrived within {PATIENCE:?}"))
    }

    /// As [`Ws::recv`], `None` when nothing arrives within `wait`.
    pub async fn recv_within(&mut self, wait: Duration) -> Option<Received> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()?;
            match frame {
                None | Some(Err(_)) => return Some(Received::Ended),
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(text.as_str()).expect("JSON message");
                    if value["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return Some(Received::Json(value));
                }
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((u16::from(CloseCode::Status), String::new()));
                    return Some(Received::Closed(code, reason));
                }
                Some(Ok(_)) => {}
            }
        }
    }

    /// The next message, which must be JSON.
    pub async fn message(&mut self) -> Value {
        match self.recv().await {
            Received::Json(v) => v,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// The payload of the next `next` message for `id`.
    pub async fn next_of(&mut self, id: &str) -> Value {
        let msg = self.message().await;
        assert_eq!(msg["type"], "next", "expected next for {id}: {msg}");
        assert_eq!(msg["id"], id, "{msg}");
        msg["payload"].clone()
    }

    /// The close code and reason the server ends with (skipping messages).
    pub async fn closed(&mut self) -> (u16, String) {
        loop {
            match self.recv().await {
                Received::Closed(code, reason) => return (code, reason),
                Received::Ended => panic!("the socket ended without a close frame"),
                Received::Json(_) => {}
            }
        }
    }

    /// Asserts that no message (other than pings) arrives within `wait`.
    pub async fn silent_for(&mut self, wait: Duration) {
        if let Some(got) = self.recv_within(wait).await {
            panic!("expected nothing within {wait:?}, got {got:?}");
        }
    }
}
