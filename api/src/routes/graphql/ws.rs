//! Subscriptions over WebSocket: `GET /graphql` with `Upgrade: websocket`
//! and the `graphql-transport-ws` subprotocol (the `graphql-ws` library's,
//! spoken by Apollo Client, urql and GraphiQL).
//!
//! async-graphql runs the protocol (`connection_init`/`connection_ack`,
//! `ping`/`pong`, `subscribe`/`next`/`complete`); every operation goes
//! through the same pipeline as over HTTP (limits, arguments, cost). This
//! module keeps what the protocol leaves to the transport:
//!
//! - the protocol's close codes where async-graphql answers otherwise:
//!   4400 for a message that is not one of the protocol's, 4401 for a
//!   `subscribe` before the acknowledgement, 4403 for an invalid or expired
//!   token in `connection_init`, 4408 when no `connection_init` was
//!   acknowledged within `WS_INIT_TIMEOUT_SECS`, 4409 for a second
//!   subscription with an id in use, 4429 for a second `connection_init`;
//!   1009 for a message over `WS_MAX_MESSAGE_BYTES`;
//! - refusals (a bad document, an argument, a limit) as the protocol's
//!   `error` message;
//! - limits: `WS_MAX_CONNECTIONS` per instance (more get 503 before the
//!   upgrade), `WS_MAX_SUBSCRIPTIONS_PER_CONNECTION`;
//! - keep-alive: a `ping` every `WS_KEEPALIVE_SECS`; a client silent for
//!   three of them is closed (1002);
//! - slow consumers: a subscriber more than `EVENT_BACKLOG` writes behind,
//!   or a socket that accepts nothing for two keep-alive periods, is closed
//!   with 1008 instead of buffering;
//! - shutdown: every subscription gets `complete`, then the socket closes
//!   with 1001.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_graphql::http::{
    ClientMessage, WebSocket as Protocol, WebSocketProtocols as Protocols, WsMessage,
};
use async_graphql::parser::types::OperationType;
use async_graphql::{Data, Executor, Request, Response};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response as HttpResponse;
use futures::stream::BoxStream;
use futures::{FutureExt as _, SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::time::{Instant, MissedTickBehavior};

use crate::auth::{Auth, Jwt};
use crate::graphql::db_gate::DbGate;
use crate::graphql::error::{Code, coded};
use crate::graphql::pipeline::{REFUSED_MARK, refusal};
use crate::graphql::subscription::LiveConnection;
use crate::live::Admitted;
use crate::routes::middleware::http_error;
use crate::state::AppState;

/// The subprotocol spoken.
pub const PROTOCOL: &str = "graphql-transport-ws";

/// Messages sent in one write at most (then flushed).
const MAX_WRITE_BATCH: usize = 64;

/// Whether a request asks to become a WebSocket.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
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
pub fn upgrade(state: AppState, ws: WebSocketUpgrade, headers: &HeaderMap) -> HttpResponse {
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
    let max = state.settings.ws_max_message_bytes.max(1_024);
    ws.protocols([PROTOCOL])
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| serve(socket, state, admitted))
}

/// Runs one connection's operations through the pipeline.
#[derive(Clone)]
struct Operations {
    state: AppState,
    connection: Arc<LiveConnection>,
    auth: Arc<OnceLock<Auth>>,
}

const ONLY_SUBSCRIPTIONS: &str =
    "only subscriptions run over the WebSocket; send queries and mutations over HTTP (POST /graphql)";

impl Executor for Operations {
    async fn execute(&self, _request: Request) -> Response {
        Response::from_errors(vec![coded(Code::BadUserInput, ONLY_SUBSCRIPTIONS)])
    }

    fn execute_stream(
        &self,
        request: Request,
        _session: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let this = self.clone();
        futures::stream::once(async move {
            let pipeline = &this.state.pipeline;
            let prepared = match pipeline.prepare(request).await {
                Ok(p) => p,
                Err(refused) => return refusal(refused.errors),
            };
            if prepared.kind != OperationType::Subscription {
                return refusal(vec![coded(Code::BadUserInput, ONLY_SUBSCRIPTIONS)]);
            }
            let auth = this.auth.get().cloned().unwrap_or(Auth::Anonymous);
            let gate = DbGate::new(this.state.settings.db_max_connections_per_request);
            pipeline.subscribe(prepared, &auth, gate, this.connection.clone())
        })
        .flatten()
        .boxed()
    }
}

/// The caller named by a `connection_init` payload: `Authorization` (any
/// case) at its top level, or under `headers`.
fn auth_of_payload(payload: &Value, jwt: &Jwt) -> Auth {
    let find = |object: &serde_json::Map<String, Value>| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .map(|(_, v)| v.clone())
    };
    let found = payload.as_object().and_then(|o| {
        find(o).or_else(|| o.get("headers").and_then(Value::as_object).and_then(find))
    });
    match found {
        None | Some(Value::Null) => Auth::Anonymous,
        Some(Value::String(value)) => Auth::from_authorization(&value, jwt),
        Some(_) => Auth::Invalid(
            "`Authorization` in connection_init must be a string `Bearer <token>`".into(),
        ),
    }
}

/// What the transport does with a client's message.
enum Incoming {
    Forward(Box<ClientMessage>),
    Reply(String),
    Ignore,
    Close(u16, String),
}

impl std::fmt::Debug for Incoming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Incoming::Forward(_) => f.write_str("Forward"),
            Incoming::Reply(text) => write!(f, "Reply({text})"),
            Incoming::Ignore => f.write_str("Ignore"),
            Incoming::Close(code, reason) => write!(f, "Close({code}, {reason})"),
        }
    }
}

/// The protocol state async-graphql does not keep for us.
#[derive(Debug, Default)]
struct Session {
    initialised: bool,
    acked: bool,
    active: HashSet<String>,
    max_subscriptions: usize,
}

fn invalid(why: impl std::fmt::Display) -> Incoming {
    Incoming::Close(4400, format!("Invalid message received: {why}"))
}

impl Session {
    fn new(max_subscriptions: usize) -> Self {
        Session {
            max_subscriptions: max_subscriptions.max(1),
            ..Session::default()
        }
    }

    fn incoming(&mut self, text: &str) -> Incoming {
        let Ok(value) = serde_json::from_str::<Value>(text) else {
            return invalid("not a JSON object");
        };
        let Some(kind) = value.get("type").and_then(Value::as_str).map(str::to_owned) else {
            return invalid("no `type`");
        };
        let payload_ok = match value.get("payload") {
            None | Some(Value::Null | Value::Object(_)) => true,
            Some(_) => false,
        };
        let id = value.get("id").and_then(Value::as_str).map(str::to_owned);
        match kind.as_str() {
            "connection_init" => {
                if self.initialised {
                    return Incoming::Close(4429, "Too many initialisation requests".into());
                }
                if !payload_ok {
                    return invalid("the payload of `connection_init` must be an object");
                }
                self.initialised = true;
            }
            "ping" | "pong" => {
                if !payload_ok {
                    return invalid(format!("the payload of `{kind}` must be an object"));
                }
            }
            "subscribe" => {
                if !self.acked {
                    return Incoming::Close(4401, "Unauthorized".into());
                }
                let Some(id) = id.as_deref().filter(|id| !id.is_empty()) else {
                    return invalid("`subscribe` needs an `id`");
                };
                if self.active.contains(id) {
                    return Incoming::Close(4409, format!("Subscriber for {id} already exists"));
                }
                if !matches!(value.get("payload"), Some(Value::Object(_))) {
                    return invalid("the payload of `subscribe` must be an object");
                }
                if self.active.len() >= self.max_subscriptions {
                    let error = json!({
                        "id": id,
                        "type": "error",
                        "payload": [{
                            "message": format!(
                                "this connection already runs {} subscriptions (WS_MAX_SUBSCRIPTIONS_PER_CONNECTION): complete one first, or open another connection",
                                self.active.len()
                            ),
                            "extensions": { "code": Code::BadUserInput.as_str() },
                        }],
                    });
                    return Incoming::Reply(error.to_string());
                }
            }
            "complete" => {
                let Some(id) = id.as_deref() else {
                    return invalid("`complete` needs an `id`");
                };
                if !self.active.remove(id) {
                    // Already over (or never started): nothing to stop.
                    return Incoming::Ignore;
                }
            }
            other => return invalid(format!("unexpected type `{other}`")),
        }
        match serde_json::from_value::<ClientMessage>(value) {
            Ok(message) => {
                if kind == "subscribe"
                    && let Some(id) = id
                {
                    self.active.insert(id);
                }
                Incoming::Forward(Box::new(message))
            }
            Err(e) => invalid(e),
        }
    }

    /// What to send for a message async-graphql produced (`None`: nothing).
    fn outgoing(&mut self, text: String) -> Option<String> {
        if text.starts_with(r#"{"type":"connection_ack""#) {
            self.acked = true;
            return Some(text);
        }
        if text.starts_with(r#"{"type":"complete""#) {
            let id = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_owned))?;
            // A subscription the client completed, or one refused with
            // `error`, ends without a `complete` from us.
            return self.active.remove(&id).then_some(text);
        }
        if text.contains(REFUSED_MARK)
            && let Ok(value) = serde_json::from_str::<Value>(&text)
            && value.pointer(&format!("/payload/extensions/{REFUSED_MARK}"))
                == Some(&Value::Bool(true))
        {
            let id = value.get("id").and_then(Value::as_str).unwrap_or_default();
            self.active.remove(id);
            let errors = value
                .pointer("/payload/errors")
                .cloned()
                .unwrap_or_else(|| json!([]));
            return Some(json!({ "id": id, "type": "error", "payload": errors }).to_string());
        }
        Some(text)
    }
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

async fn serve(socket: WebSocket, state: AppState, admitted: Admitted) {
    let settings = state.settings.clone();
    let keepalive = Duration::from_secs(settings.ws_keepalive_secs.max(1));
    let stall = keepalive * 2;
    let connection = Arc::new(LiveConnection::default());
    let auth = Arc::new(OnceLock::new());
    let operations = Operations {
        state: state.clone(),
        connection: connection.clone(),
        auth: auth.clone(),
    };
    let jwt = state.jwt.clone();
    let on_init = move |payload: Value| async move {
        match auth_of_payload(&payload, &jwt) {
            Auth::Invalid(reason) => Err(async_graphql::Error::new(reason)),
            caller => {
                let _ = auth.set(caller);
                Ok(Data::default())
            }
        }
    };
    let (input, mut forwarded) = tokio::sync::mpsc::channel::<serde_json::Result<ClientMessage>>(16);
    let messages = futures::stream::poll_fn(move |cx| forwarded.poll_recv(cx));
    let mut protocol = Box::pin(
        Protocol::from_message_stream(operations, messages, Protocols::GraphQLWS)
            .on_connection_init(on_init),
    );
    let (mut sink, mut source) = socket.split();
    let mut session = Session::new(settings.ws_max_subscriptions_per_connection);
    let init_deadline = tokio::time::sleep(Duration::from_secs(settings.ws_init_timeout_secs.max(1)));
    tokio::pin!(init_deadline);
    let mut pings = tokio::time::interval_at(Instant::now() + keepalive, keepalive);
    pings.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    let mut stopping = state.live.stopping();
    let ending = loop {
        tokio::select! {
            biased;
            () = async { let _ = stopping.wait_for(|s| *s).await; } => {
                for id in session.active.drain() {
                    let complete = json!({ "id": id, "type": "complete" }).to_string();
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
                let ping = Message::Text(r#"{"type":"ping"}"#.into());
                if tokio::time::timeout(stall, sink.send(ping)).await.is_err() {
                    metrics::counter!("ws_slow_consumer_disconnects_total").increment(1);
                    break closing(1008, "slow consumer: the socket accepts no data");
                }
            }
            frame = source.next(), if input.capacity() > 0 => {
                last_heard = Instant::now();
                match frame {
                    None => break None,
                    Some(Err(e)) => {
                        let text = e.to_string();
                        break if text.contains("too long") || text.contains("too big") {
                            closing(1009, format!("messages are at most {} bytes (WS_MAX_MESSAGE_BYTES)", settings.ws_max_message_bytes))
                        } else {
                            None
                        };
                    }
                    Some(Ok(Message::Text(text))) => match session.incoming(text.as_str()) {
                        Incoming::Forward(message) => {
                            let _ = input.try_send(Ok(*message));
                        }
                        Incoming::Reply(reply) => {
                            if sink.send(Message::Text(reply.into())).await.is_err() {
                                break None;
                            }
                        }
                        Incoming::Ignore => {}
                        Incoming::Close(code, reason) => break closing(code, reason),
                    },
                    Some(Ok(Message::Binary(_))) => {
                        break closing(4400, "Invalid message received: binary frames are not part of the protocol");
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) => break None,
                }
            }
            out = protocol.next() => {
                let mut next = out;
                let mut fed = 0;
                let mut end = None;
                loop {
                    match next {
                        None => {
                            end = closing(1000, "");
                            break;
                        }
                        Some(WsMessage::Close(code, reason)) => {
                            // async-graphql closes with 1002 only when
                            // `connection_init` was refused (every message
                            // it reads was checked above).
                            let code = if code == 1002 { 4403 } else { code };
                            end = closing(code, if code == 4403 { format!("Forbidden: {reason}") } else { reason });
                            break;
                        }
                        Some(WsMessage::Text(text)) => {
                            if let Some(text) = session.outgoing(text) {
                                if sink.feed(Message::Text(text.into())).await.is_err() {
                                    return;
                                }
                                fed += 1;
                            }
                        }
                    }
                    if fed >= MAX_WRITE_BATCH {
                        break;
                    }
                    match protocol.next().now_or_never() {
                        Some(more) => next = more,
                        None => break,
                    }
                }
                match tokio::time::timeout(stall, sink.flush()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => break None,
                    Err(_) => {
                        metrics::counter!("ws_slow_consumer_disconnects_total").increment(1);
                        break closing(1008, "slow consumer: the socket accepts no data");
                    }
                }
                if end.is_some() {
                    break end;
                }
            }
        }
    };
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
    drop(protocol);
    drop(admitted);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acked() -> Session {
        let mut s = Session::new(2);
        assert!(matches!(
            s.incoming(r#"{"type":"connection_init"}"#),
            Incoming::Forward(_)
        ));
        assert!(s.outgoing(r#"{"type":"connection_ack"}"#.into()).is_some());
        s
    }

    fn closed_with(incoming: Incoming) -> u16 {
        match incoming {
            Incoming::Close(code, _) => code,
            other => panic!("expected a close, got {other:?}"),
        }
    }

    #[test]
    fn protocol_violations_get_the_protocols_close_codes() {
        let mut s = Session::new(2);
        assert_eq!(closed_with(s.incoming("not json")), 4400);
        assert_eq!(closed_with(s.incoming(r#"{"id":"1"}"#)), 4400);
        assert_eq!(
            closed_with(s.incoming(r#"{"type":"subscribe","id":"1","payload":{"query":"subscription { orderCreated { id } }"}}"#)),
            4401
        );
        let mut s = acked();
        assert_eq!(closed_with(s.incoming(r#"{"type":"connection_init"}"#)), 4429);
        let subscribe = r#"{"type":"subscribe","id":"a","payload":{"query":"subscription { orderCreated { id } }"}}"#;
        assert!(matches!(s.incoming(subscribe), Incoming::Forward(_)));
        assert_eq!(closed_with(s.incoming(subscribe)), 4409);
        assert_eq!(closed_with(s.incoming(r#"{"type":"next","id":"a"}"#)), 4400);
        assert_eq!(
            closed_with(s.incoming(r#"{"type":"subscribe","id":"b","payload":"x"}"#)),
            4400
        );
    }

    #[test]
    fn subscriptions_past_the_limit_get_an_error_message() {
        let mut s = acked();
        for id in ["a", "b"] {
            let msg = format!(
                r#"{{"type":"subscribe","id":"{id}","payload":{{"query":"subscription {{ orderCreated {{ id }} }}"}}}}"#
            );
            assert!(matches!(s.incoming(&msg), Incoming::Forward(_)));
        }
        let third = r#"{"type":"subscribe","id":"c","payload":{"query":"subscription { orderCreated { id } }"}}"#;
        match s.incoming(third) {
            Incoming::Reply(text) => {
                let v: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(v["type"], "error");
                assert_eq!(v["id"], "c");
                assert_eq!(v["payload"][0]["extensions"]["code"], "BAD_USER_INPUT");
            }
            other => panic!("expected an error reply, got {other:?}"),
        }
        // Completing one makes room.
        assert!(matches!(
            s.incoming(r#"{"type":"complete","id":"a"}"#),
            Incoming::Forward(_)
        ));
        assert!(matches!(s.incoming(third), Incoming::Forward(_)));
    }

    #[test]
    fn refusals_become_error_messages_without_complete() {
        let mut s = acked();
        let subscribe =
            r#"{"type":"subscribe","id":"x","payload":{"query":"subscription { nope }"}}"#;
        assert!(matches!(s.incoming(subscribe), Incoming::Forward(_)));
        let next = format!(
            r#"{{"type":"next","id":"x","payload":{{"data":null,"errors":[{{"message":"bad"}}],"extensions":{{"{REFUSED_MARK}":true}}}}}}"#
        );
        let out: Value = serde_json::from_str(&s.outgoing(next).unwrap()).unwrap();
        assert_eq!(
            out,
            json!({"id": "x", "type": "error", "payload": [{"message": "bad"}]})
        );
        assert_eq!(s.outgoing(r#"{"type":"complete","id":"x"}"#.into()), None);
        // A value that merely contains the mark passes unchanged.
        assert!(matches!(s.incoming(subscribe), Incoming::Forward(_)));
        let next = format!(
            r#"{{"type":"next","id":"x","payload":{{"data":{{"name":"{REFUSED_MARK}"}}}}}}"#
        );
        assert_eq!(s.outgoing(next.clone()), Some(next));
    }
}
