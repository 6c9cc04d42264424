//! Subscriptions over WebSocket: `GET /graphql` with `Upgrade: websocket`
//! and the `graphql-transport-ws` subprotocol (the `graphql-ws` library's,
//! spoken by Apollo Client, urql and GraphiQL).
//!
//! This module speaks the protocol (`session` holds its messages as types
//! and checks every client message); each `subscribe` goes through the
//! engine's one door for it, [`crate::graphql::engine::Engine::subscribe`],
//! which checks it as any operation is checked (limits, arguments, cost)
//! and yields typed deliveries that this module only encodes. It keeps:
//!
//! - the protocol's close codes: 4400 for a message that is not one of the
//!   protocol's, 4401 for a `subscribe` before the acknowledgement or
//!   `connection_init` without a token under `ANONYMOUS_ACCESS=none`, 4403
//!   for an invalid or expired token in `connection_init`, 4408 when no
//!   `connection_init` was acknowledged within `WS_INIT_TIMEOUT_SECS`, 4409
//!   for a second subscription with an id in use, 4429 for a second
//!   `connection_init`; 1009 for a message over `WS_MAX_MESSAGE_BYTES`;
//! - refusals (a bad document, an argument, a limit) as the protocol's
//!   `error` message;
//! - limits: `WS_MAX_CONNECTIONS` per instance (more get 503 before the
//!   upgrade), `WS_MAX_SUBSCRIPTIONS_PER_CONNECTION`, the caller's
//!   `RATE_LIMIT_PER_SECOND` for each `subscribe` (`rate`);
//! - keep-alive: a `ping` every `WS_KEEPALIVE_SECS`; a client silent for
//!   three of them is closed (1002);
//! - slow consumers: a subscriber more than `EVENT_BACKLOG` writes behind,
//!   or a socket that accepts nothing for two keep-alive periods, is closed
//!   with 1008 instead of buffering;
//! - shutdown: every subscription gets `complete`, then the socket closes
//!   with 1001.

mod init;
mod rate;
mod session;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts as _, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response as HttpResponse;
use futures::stream::{AbortHandle, Abortable, BoxStream, SelectAll};
use futures::{FutureExt as _, SinkExt as _, StreamExt as _};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};

use self::init::auth_of_payload;
use self::rate::over_rate;
use self::session::{Incoming, ServerMessage, Session};
use crate::auth::Auth;
use crate::graphql::engine::Delivery;
use crate::graphql::runtime::LiveConnection;
use crate::graphql::runtime::error::Code;
use crate::live::Admitted;
use crate::routes::middleware::http_error;
use crate::state::AppState;

/// The subprotocol spoken.
pub const PROTOCOL: &str = "graphql-transport-ws";

/// Messages sent in one write at most (then flushed).
const MAX_WRITE_BATCH: usize = 64;

/// A socket's read buffer (it grows for a larger message, up to
/// `WS_MAX_MESSAGE_BYTES`): small, as every idle socket holds one.
const READ_BUFFER_BYTES: usize = 1024;

/// Data a socket gathers before writing it out (a flush writes it anyway).
const WRITE_BUFFER_BYTES: usize = 16 * 1024;

/// Whether a request asks to become a WebSocket.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// `GET /graphql`: a WebSocket upgrade, or else a query over HTTP (or the
/// playground).
pub async fn get(State(state): State<AppState>, request: axum::extract::Request) -> HttpResponse {
    if !is_upgrade(request.headers()) {
        return axum::handler::Handler::call(super::graphql_get, request, state).await;
    }
    let headers = request.headers().clone();
    let (mut parts, _) = request.into_parts();
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0);
    match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(ws) => upgrade(state, ws, &headers, peer),
        Err(rejection) => http_error(
            rejection.status(),
            Code::BadUserInput,
            format!(
                "this is not a valid WebSocket upgrade: {}",
                rejection.body_text()
            ),
        ),
    }
}

fn offers_protocol(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case(PROTOCOL))
}

/// Answers an upgrade request: 400 without the subprotocol, 503 when the
/// instance has no room (or is stopping), else the socket.
pub fn upgrade(
    state: AppState,
    ws: WebSocketUpgrade,
    headers: &HeaderMap,
    peer: Option<std::net::SocketAddr>,
) -> HttpResponse {
    if !offers_protocol(headers) {
        return http_error(
            StatusCode::BAD_REQUEST,
            Code::BadUserInput,
            format!(
                "WebSockets on /graphql speak the `{PROTOCOL}` subprotocol: offer it in Sec-WebSocket-Protocol"
            ),
        );
    }
    let Some(admitted) = state.live.admit() else {
        let mut response = http_error(
            StatusCode::SERVICE_UNAVAILABLE,
            Code::ServiceUnavailable,
            format!(
                "this instance has no room for another WebSocket ({} open, WS_MAX_CONNECTIONS) or is stopping; retry shortly",
                state.live.open()
            ),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        return response;
    };
    let max = state.ws.max_message_bytes.max(1_024);
    // tungstenite allocates its whole read buffer for every socket (128 KiB
    // by default): most sockets here are idle subscribers.
    ws.protocols([PROTOCOL])
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| serve(socket, state, admitted, peer))
}

/// How a connection ends.
struct Closing {
    code: u16,
    reason: String,
}

fn closing(code: u16, reason: impl Into<String>) -> Option<Closing> {
    Some(Closing {
        code,
        reason: reason.into(),
    })
}

/// A close frame's reason holds at most 123 bytes.
fn short(reason: &str) -> String {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_owned()
}

/// A subscription's deliveries tagged with its id; `None` once it ended.
type Tagged = BoxStream<'static, (Arc<str>, Option<Delivery>)>;

/// Whether a read failed because the client's message was over the limit.
fn too_long(error: axum::Error) -> bool {
    error
        .into_inner()
        .downcast_ref::<WsError>()
        .is_some_and(|e| matches!(e, WsError::Capacity(CapacityError::MessageTooLong { .. })))
}

async fn serve(
    socket: WebSocket,
    state: AppState,
    admitted: Admitted,
    peer: Option<std::net::SocketAddr>,
) {
    let settings = state.ws.clone();
    let keepalive = Duration::from_secs(settings.keepalive_secs.max(1));
    let stall = keepalive * 2;
    let connection = Arc::new(LiveConnection::default());
    let mut auth = Auth::Anonymous;
    let mut subscriptions: SelectAll<Tagged> = SelectAll::new();
    let (mut sink, mut source) = socket.split();
    let mut session = Session::new(settings.max_subscriptions_per_connection);
    let init_deadline = tokio::time::sleep(Duration::from_secs(settings.init_timeout_secs.max(1)));
    tokio::pin!(init_deadline);
    let mut pings = tokio::time::interval_at(Instant::now() + keepalive, keepalive);
    pings.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    let mut stopping = state.live.stopping();
    let ending = loop {
        tokio::select! {
            biased;
            () = async { let _ = stopping.wait_for(|s| *s).await; } => {
                for (id, stop) in session.active.drain() {
                    stop.abort();
                    let complete = ServerMessage::Complete { id: &id }.text();
                    let _ = sink.feed(Message::Text(complete.into())).await;
                }
                break closing(1001, "the server is shutting down");
            }
            () = connection.behind() => {
                metrics::counter!("ws_slow_consumer_disconnects_total").increment(1);
                break closing(1008, format!("slow consumer: more than {} writes behind (EVENT_BACKLOG); query the current state, then subscribe again", settings.event_backlog));
            }
            () = &mut init_deadline, if !session.acked => {
                break closing(4408, "Connection initialisation timeout");
            }
            _ = pings.tick(), if session.acked => {
                if last_heard.elapsed() > keepalive * 3 {
                    break closing(1002, "no answer to the server's pings");
                }
                let ping = Message::Text(ServerMessage::Ping.text().into());
                if tokio::time::timeout(stall, sink.send(ping)).await.is_err() {
                    metrics::counter!("ws_slow_consumer_disconnects_total").increment(1);
                    break closing(1008, "slow consumer: the socket accepts no data");
                }
            }
            frame = source.next() => {
                last_heard = Instant::now();
                let reply = match frame {
                    None => break None,
                    Some(Err(e)) => {
                        break too_long(e).then(|| Closing {
                            code: 1009,
                            reason: format!("messages are at most {} bytes (WS_MAX_MESSAGE_BYTES)", settings.max_message_bytes),
                        });
                    }
                    Some(Ok(Message::Text(text))) => match session.incoming(text.as_str()) {
                        Incoming::Init(payload) => match auth_of_payload(&payload, &state.jwt) {
                            Auth::Invalid(reason) => break closing(4403, format!("Forbidden: {reason}")),
                            Auth::Anonymous if !state.engine.anonymous_reads => {
                                break closing(4401, "Unauthorized: this server needs a token in connection_init (ANONYMOUS_ACCESS=none)");
                            }
                            caller => {
                                auth = caller;
                                session.acked = true;
                                Some(ServerMessage::ConnectionAck.text())
                            }
                        },
                        Incoming::Ping => Some(ServerMessage::Pong.text()),
                        Incoming::Subscribe { id, request } => 'subscribe: {
                            if let Some(refused) = over_rate(&state, &auth, peer, &id) {
                                break 'subscribe Some(refused);
                            }
                            let (stop, registration) = AbortHandle::new_pair();
                            let id: Arc<str> = Arc::from(id);
                            session.started(id.to_string(), stop);
                            let engine = state.engine.clone();
                            let caller = auth.clone();
                            let connection = connection.clone();
                            // Boxed: large, and done after its first poll.
                            let deliveries = futures::stream::once(Box::pin(async move {
                                engine.subscribe(*request, &caller, connection).await
                            }))
                            .flatten();
                            let tag = id.clone();
                            let tagged = Abortable::new(deliveries, registration)
                                .map(move |d| (tag.clone(), Some(d)))
                                .chain(futures::stream::once(async move { (id, None) }));
                            subscriptions.push(tagged.boxed());
                            None
                        }
                        Incoming::Stop(stop) => {
                            stop.abort();
                            None
                        }
                        Incoming::Reply(text) => Some(text),
                        Incoming::Ignore => None,
                        Incoming::Close(code, reason) => break closing(code, reason),
                    },
                    Some(Ok(Message::Binary(_))) => {
                        break closing(4400, "Invalid message received: binary frames are not part of the protocol");
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => None,
                    Some(Ok(Message::Close(_))) => break None,
                };
                if let Some(reply) = reply
                    && sink.send(Message::Text(reply.into())).await.is_err()
                {
                    break None;
                }
            }
            Some((id, delivery)) = subscriptions.next(), if !subscriptions.is_empty() => {
                let mut next = Some((id, delivery));
                let mut fed = 0;
                while let Some((id, delivery)) = next.take() {
                    if let Some(text) = session.encode(&id, delivery) {
                        if sink.feed(Message::Text(text.into())).await.is_err() {
                            return;
                        }
                        fed += 1;
                    }
                    if fed >= MAX_WRITE_BATCH {
                        break;
                    }
                    next = subscriptions.next().now_or_never().flatten();
                }
                match tokio::time::timeout(stall, sink.flush()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => break None,
                    Err(_) => {
                        metrics::counter!("ws_slow_consumer_disconnects_total").increment(1);
                        break closing(1008, "slow consumer: the socket accepts no data");
                    }
                }
            }
        }
    };
    for (_, stop) in session.active.drain() {
        stop.abort();
    }
    if let Some(Closing { code, reason }) = ending {
        let frame = CloseFrame {
            code,
            reason: short(&reason).into(),
        };
        tracing::debug!(code, reason = %frame.reason.as_str(), "closing a WebSocket");
        let closed = async {
            sink.send(Message::Close(Some(frame))).await?;
            // Wait (briefly) for the client's close, so it reads ours.
            while let Some(frame) = source.next().await {
                if matches!(frame, Ok(Message::Close(_)) | Err(_)) {
                    break;
                }
            }
            Ok::<_, axum::Error>(())
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), closed).await;
    }
    drop(subscriptions);
    drop(admitted);
}
