//! The protocol's messages as types, and the state of one connection:
//! whether it was initialised and acknowledged, and which subscriptions are
//! live. Every client message is checked here before anything acts on it;
//! every server message is written from [`ServerMessage`].

use std::collections::HashMap;

use async_graphql::{Request, Response, ServerError};
use futures::stream::AbortHandle;
use serde::Serialize;
use serde_json::Value;

use crate::graphql::engine::Delivery;
use crate::graphql::runtime::error::{Code, coded};

/// What the transport does with a client's message.
pub enum Incoming {
    /// `connection_init` (the first): check the payload's token, then
    /// acknowledge.
    Init(Value),
    /// `ping`: answer `pong`.
    Ping,
    /// `subscribe`: start the operation under `id`.
    Subscribe { id: String, request: Box<Request> },
    /// `complete` of a live subscription: stop it (nothing is sent).
    Stop(AbortHandle),
    /// Answer with this message and go on.
    Reply(String),
    /// Nothing to do (`pong`, `complete` of a subscription already over).
    Ignore,
    /// Close the socket with this code and reason.
    Close(u16, String),
}

impl std::fmt::Debug for Incoming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Incoming::Init(_) => f.write_str("Init"),
            Incoming::Ping => f.write_str("Ping"),
            Incoming::Subscribe { id, .. } => write!(f, "Subscribe({id})"),
            Incoming::Stop(_) => f.write_str("Stop"),
            Incoming::Reply(text) => write!(f, "Reply({text})"),
            Incoming::Ignore => f.write_str("Ignore"),
            Incoming::Close(code, reason) => write!(f, "Close({code}, {reason})"),
        }
    }
}

/// A message of the server, as graphql-transport-ws defines them.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage<'a> {
    ConnectionAck,
    Ping,
    Pong,
    Next {
        id: &'a str,
        payload: &'a Response,
    },
    Error {
        id: &'a str,
        payload: &'a [ServerError],
    },
    Complete {
        id: &'a str,
    },
}

impl ServerMessage<'_> {
    /// The message as the text frame's content.
    pub fn text(&self) -> String {
        // Serializing these types cannot fail: every map key is a string.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The state of one connection.
#[derive(Debug, Default)]
pub struct Session {
    initialised: bool,
    pub acked: bool,
    /// The live subscriptions, each with what stops it.
    pub active: HashMap<String, AbortHandle>,
    max_subscriptions: usize,
}

fn invalid(why: impl std::fmt::Display) -> Incoming {
    Incoming::Close(4400, format!("Invalid message received: {why}"))
}

impl Session {
    pub fn new(max_subscriptions: usize) -> Self {
        Session {
            max_subscriptions: max_subscriptions.max(1),
            ..Session::default()
        }
    }

    /// Checks a client's text message against the protocol and this
    /// connection's state.
    pub fn incoming(&mut self, text: &str) -> Incoming {
        let Ok(mut value) = serde_json::from_str::<Value>(text) else {
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
                let payload = match value.get_mut("payload").map(Value::take) {
                    Some(Value::Null) | None => Value::Object(Default::default()),
                    Some(payload) => payload,
                };
                Incoming::Init(payload)
            }
            "ping" | "pong" => {
                if !payload_ok {
                    return invalid(format!("the payload of `{kind}` must be an object"));
                }
                if kind == "ping" {
                    Incoming::Ping
                } else {
                    Incoming::Ignore
                }
            }
            "subscribe" => {
                if !self.acked {
                    return Incoming::Close(4401, "Unauthorized".into());
                }
                let Some(id) = id.filter(|id| !id.is_empty()) else {
                    return invalid("`subscribe` needs an `id`");
                };
                if self.active.contains_key(&id) {
                    return Incoming::Close(4409, format!("Subscriber for {id} already exists"));
                }
                let Some(payload) = value.get_mut("payload").filter(|p| p.is_object()) else {
                    return invalid("the payload of `subscribe` must be an object");
                };
                let request = match serde_json::from_value::<Request>(payload.take()) {
                    Ok(request) => request,
                    Err(e) => return invalid(e),
                };
                if self.active.len() >= self.max_subscriptions {
                    let errors = [coded(
                        Code::BadUserInput,
                        format!(
                            "this connection already runs {} subscriptions (WS_MAX_SUBSCRIPTIONS_PER_CONNECTION): complete one first, or open another connection",
                            self.active.len()
                        ),
                    )];
                    return Incoming::Reply(
                        ServerMessage::Error {
                            id: &id,
                            payload: &errors,
                        }
                        .text(),
                    );
                }
                Incoming::Subscribe {
                    id,
                    request: Box::new(request),
                }
            }
            "complete" => {
                let Some(id) = id else {
                    return invalid("`complete` needs an `id`");
                };
                // Already over (or never started): nothing to stop.
                self.active
                    .remove(&id)
                    .map_or(Incoming::Ignore, Incoming::Stop)
            }
            other => invalid(format!("unexpected type `{other}`")),
        }
    }

    /// A subscription started under `id`; `stop` ends it.
    pub fn started(&mut self, id: String, stop: AbortHandle) {
        self.active.insert(id, stop);
    }

    /// The text to send for a subscription's delivery (`None`: nothing).
    pub fn encode(&mut self, id: &str, delivery: Option<Delivery>) -> Option<String> {
        match delivery {
            Some(Delivery::Next(response)) => self.active.contains_key(id).then(|| {
                ServerMessage::Next {
                    id,
                    payload: &response,
                }
                .text()
            }),
            // The audience's payload as it was encoded once: the same bytes
            // as the message above would hold.
            Some(Delivery::Shared(payload)) => self.active.contains_key(id).then(|| {
                let id = serde_json::to_string(id).unwrap_or_default();
                format!("{{\"type\":\"next\",\"id\":{id},\"payload\":{payload}}}")
            }),
            // A refused subscription ends with its `error`, without `complete`.
            Some(Delivery::Refused(errors)) => self.ended(id).then(|| {
                ServerMessage::Error {
                    id,
                    payload: &errors,
                }
                .text()
            }),
            // One the client completed ends without a word.
            None => self
                .ended(id)
                .then(|| ServerMessage::Complete { id }.text()),
        }
    }

    /// A subscription ended (by itself, or refused): whether it was still
    /// live, i.e. whether the client must hear of it.
    pub fn ended(&mut self, id: &str) -> bool {
        self.active.remove(id).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acked() -> Session {
        let mut s = Session::new(2);
        assert!(matches!(
            s.incoming(r#"{"type":"connection_init"}"#),
            Incoming::Init(_)
        ));
        s.acked = true;
        s
    }

    fn closed_with(incoming: Incoming) -> u16 {
        match incoming {
            Incoming::Close(code, _) => code,
            other => panic!("expected a close, got {other:?}"),
        }
    }

    fn subscribe(s: &mut Session, text: &str) {
        match s.incoming(text) {
            Incoming::Subscribe { id, .. } => s.started(id, AbortHandle::new_pair().0),
            other => panic!("expected a subscription, got {other:?}"),
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
        assert_eq!(
            closed_with(s.incoming(r#"{"type":"connection_init"}"#)),
            4429
        );
        let text = r#"{"type":"subscribe","id":"a","payload":{"query":"subscription { orderCreated { id } }"}}"#;
        subscribe(&mut s, text);
        assert_eq!(closed_with(s.incoming(text)), 4409);
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
            subscribe(&mut s, &msg);
        }
        let third = r#"{"type":"subscribe","id":"c","payload":{"query":"subscription { orderCreated { id } }"}}"#;
        match s.incoming(third) {
            Incoming::Reply(text) => {
                let v: Value = serde_json::from_str(&text).expect("JSON");
                assert_eq!(v["type"], "error");
                assert_eq!(v["id"], "c");
                assert_eq!(v["payload"][0]["extensions"]["code"], "BAD_USER_INPUT");
            }
            other => panic!("expected an error reply, got {other:?}"),
        }
        // Completing one makes room.
        assert!(matches!(
            s.incoming(r#"{"type":"complete","id":"a"}"#),
            Incoming::Stop(_)
        ));
        subscribe(&mut s, third);
    }

    #[test]
    fn a_subscription_ends_once_for_the_client() {
        let mut s = acked();
        subscribe(
            &mut s,
            r#"{"type":"subscribe","id":"x","payload":{"query":"subscription { nope }"}}"#,
        );
        assert!(s.ended("x"), "the first end is told");
        assert!(!s.ended("x"), "a second is not");
        // One the client completed is not told either.
        subscribe(
            &mut s,
            r#"{"type":"subscribe","id":"y","payload":{"query":"subscription { nope }"}}"#,
        );
        assert!(matches!(
            s.incoming(r#"{"type":"complete","id":"y"}"#),
            Incoming::Stop(_)
        ));
        assert!(!s.ended("y"));
        assert!(matches!(
            s.incoming(r#"{"type":"complete","id":"y"}"#),
            Incoming::Ignore
        ));
    }

    #[test]
    fn a_refused_subscription_gets_error_and_no_complete() {
        let mut s = acked();
        subscribe(
            &mut s,
            r#"{"type":"subscribe","id":"x","payload":{"query":"subscription { nope }"}}"#,
        );
        let refused = Delivery::Refused(vec![coded(Code::BadUserInput, "bad")]);
        let text = s.encode("x", Some(refused)).expect("an error message");
        let v: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(v["type"], "error");
        assert_eq!(v["id"], "x");
        assert_eq!(v["payload"][0]["message"], "bad");
        assert_eq!(v["payload"][0]["extensions"]["code"], "BAD_USER_INPUT");
        assert_eq!(s.encode("x", None), None, "no complete after an error");
        // One that ends by itself gets its complete.
        subscribe(
            &mut s,
            r#"{"type":"subscribe","id":"y","payload":{"query":"subscription { orderCreated { id } }"}}"#,
        );
        let next = Response::new(async_graphql::Value::Null);
        assert!(s.encode("y", Some(Delivery::Next(next))).is_some());
        assert_eq!(
            s.encode("y", None).as_deref(),
            Some(r#"{"type":"complete","id":"y"}"#)
        );
    }

    #[test]
    fn server_messages_are_the_protocols() {
        let response = Response::new(async_graphql::Value::Null);
        let next: Value = serde_json::from_str(
            &ServerMessage::Next {
                id: "1",
                payload: &response,
            }
            .text(),
        )
        .expect("JSON");
        assert_eq!(next["type"], "next");
        assert_eq!(next["id"], "1");
        assert!(next["payload"].get("data").is_some(), "{next}");
        assert_eq!(
            ServerMessage::ConnectionAck.text(),
            r#"{"type":"connection_ack"}"#
        );
        assert_eq!(ServerMessage::Pong.text(), r#"{"type":"pong"}"#);
        assert_eq!(
            ServerMessage::Complete { id: "7" }.text(),
            r#"{"type":"complete","id":"7"}"#
        );
    }
}
