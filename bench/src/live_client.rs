//! The live bench's subscriber: a WebSocket client written for this bench
//! alone, over a plain `TcpStream`. It does the handshake, sends
//! `connection_init` and `subscribe`, and then reads frames straight out of
//! a buffer (many per `read` when they queued), taking only each message's
//! sequence number: no frame or message objects, no UTF-8 check, no JSON.
//! A general client (tokio-tungstenite, as before) spent 4.0–4.4 µs of CPU
//! per delivery on this machine, as much as the server it measured.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Context as _;
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// A masked client text frame (the mask is zero: the server accepts any).
fn text_frame(payload: &[u8]) -> Vec<u8> {
    opcode_frame(0x1, payload)
}

fn opcode_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n if n <= usize::from(u16::MAX) => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(payload);
    frame
}

/// One server frame at the start of `buf`: its opcode, payload range and
/// length in all, or `None` if it has not all arrived.
fn frame_at(buf: &[u8]) -> Option<(u8, std::ops::Range<usize>)> {
    let (&b0, rest) = buf.split_first()?;
    let &b1 = rest.first()?;
    let (len, header) = match b1 & 0x7f {
        126 => (
            usize::from(u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?])),
            4,
        ),
        127 => {
            let bytes: [u8; 8] = buf.get(2..10)?.try_into().ok()?;
            (usize::try_from(u64::from_be_bytes(bytes)).ok()?, 10)
        }
        n => (usize::from(n), 2),
    };
    (buf.len() >= header + len).then_some((b0 & 0x0f, header..header + len))
}

/// The sequence number an order's total encodes (`n` cents), read from the
/// message's bytes (the total is the only `"total"` in it).
fn sequence_of(message: &[u8]) -> Option<usize> {
    const KEY: &[u8] = b"\"total\":\"";
    let at = message.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let mut n = 0usize;
    for &b in &message[at..] {
        match b {
            b'0'..=b'9' => n = n * 10 + usize::from(b - b'0'),
            b'.' => {}
            _ => return Some(n),
        }
    }
    None
}

/// Connects, upgrades, initialises and subscribes with `payload`.
async fn open(origin: &str, payload: serde_json::Value) -> anyhow::Result<(TcpStream, Vec<u8>)> {
    let host = origin.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).await?;
    stream.set_nodelay(true)?;
    let request = format!(
        "GET /graphql HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut buf = Vec::with_capacity(4096);
    let end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        anyhow::ensure!(
            stream.read_buf(&mut buf).await? > 0,
            "closed during the handshake"
        );
    };
    anyhow::ensure!(
        buf.starts_with(b"HTTP/1.1 101"),
        "not upgraded: {}",
        String::from_utf8_lossy(&buf[..end])
    );
    buf.drain(..end);
    let init = json!({ "type": "connection_init" }).to_string();
    stream.write_all(&text_frame(init.as_bytes())).await?;
    // Wait for connection_ack before subscribing, as the protocol asks.
    loop {
        if let Some((_, range)) = frame_at(&buf) {
            let acked = buf[range.clone()]
                .windows(14)
                .any(|w| w == b"connection_ack");
            buf.drain(..range.end);
            if acked {
                break;
            }
            continue;
        }
        anyhow::ensure!(
            stream.read_buf(&mut buf).await? > 0,
            "closed before connection_ack"
        );
    }
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": payload }).to_string();
    stream.write_all(&text_frame(subscribe.as_bytes())).await?;
    Ok((stream, buf))
}

/// One subscriber: connects and subscribes (`customer`'s orders, or all),
/// waits for the others, then records each order's latency (µs, from
/// `sent_at`) until `stop`.
pub async fn subscriber(
    origin: String,
    customer: Option<String>,
    sent_at: Arc<Vec<AtomicU64>>,
    start: Instant,
    ready: Arc<tokio::sync::Barrier>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Vec<u64>> {
    let payload = match &customer {
        None => json!({ "query": super::live::SUBSCRIPTION }),
        Some(c) => json!({ "query": super::live::OF_CUSTOMER, "variables": { "c": c } }),
    };
    let opened = open(&origin, payload).await;
    ready.wait().await;
    let (mut stream, mut buf) = opened.context("a subscriber's socket")?;
    let mut latencies = Vec::new();
    let mut from = 0;
    loop {
        // Every complete frame in the buffer.
        while let Some((opcode, range)) = frame_at(&buf[from..]) {
            let payload = from + range.start..from + range.end;
            from += range.end;
            match opcode {
                0x1 => {
                    let arrived = start.elapsed().as_micros() as u64;
                    let message = &buf[payload];
                    if let Some(n) = sequence_of(message) {
                        let sent = sent_at
                            .get(n)
                            .map(|t| t.load(Ordering::SeqCst))
                            .unwrap_or(0);
                        latencies.push(arrived.saturating_sub(sent));
                    } else if message.windows(6).any(|w| w == b"\"ping\"") {
                        stream.write_all(&text_frame(br#"{"type":"pong"}"#)).await?;
                    }
                }
                0x8 => return Ok(latencies),
                0x9 => {
                    let data = buf[payload].to_vec();
                    stream.write_all(&opcode_frame(0xA, &data)).await?;
                }
                _ => {}
            }
        }
        buf.drain(..from);
        from = 0;
        tokio::select! {
            _ = stop.changed() => return Ok(latencies),
            read = stream.read_buf(&mut buf) => {
                if read? == 0 {
                    return Ok(latencies);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_sequence_numbers_are_read() {
        let message = br#"{"id":"1","type":"next","payload":{"data":{"orderCreated":{"id":"7","total":"12.34","createdAt":"x"}}}}"#;
        assert_eq!(sequence_of(message), Some(1234));
        let mut buf = vec![0x81, message.len() as u8];
        buf.extend_from_slice(message);
        let (opcode, range) = frame_at(&buf).expect("a frame");
        assert_eq!((opcode, &buf[range]), (1, &message[..]));
        assert_eq!(frame_at(&buf[..buf.len() - 1]), None);
        let long = vec![b'a'; 300];
        let mut buf = vec![0x81, 126, 1, 44];
        buf.extend_from_slice(&long);
        assert_eq!(frame_at(&buf).map(|f| f.1.len()), Some(300));
        assert_eq!(text_frame(b"hi"), vec![0x81, 0x82, 0, 0, 0, 0, b'h', b'i']);
    }
}
