//! The protocol state async-graphql leaves to the transport: whether the
//! connection was initialised and acknowledged, which subscription ids are
//! live; what to do with each client message, and with each message
//! async-graphql produces.

use std::collections::HashSet;

use async_graphql::http::ClientMessage;
use serde_json::{Value, json};

use crate::graphql::error::Code;
use crate::graphql::pipeline::REFUSED_MARK;

/// What the transport does with a client's message.
pub enum Incoming {
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
pub struct Session {
    initialised: bool,
    pub acked: bool,
    pub active: HashSet<String>,
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

    pub fn incoming(&mut self, text: &str) -> Incoming {
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
    pub fn outgoing(&mut self, text: String) -> Option<String> {
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
        assert_eq!(
            closed_with(s.incoming(r#"{"type":"connection_init"}"#)),
            4429
        );
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
        let out: Value = serde_json::from_str(&s.outgoing(next).expect("a message")).expect("JSON");
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
