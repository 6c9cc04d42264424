//! The process-wide logging set-up, in a child process (it cannot be
//! tested inside a test process whose subscriber is already installed):
//! with `LOG_FORMAT=json` and traces exported, a request's log lines carry
//! the `trace_id` of the trace it continued and its own `span_id`.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The server as a child process, killed when dropped.
struct Server {
    child: Child,
    dir: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port nothing listens on: the collector is down, which changes nothing
/// in the logs.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts `api serve` on the embedded database in a directory of its own;
/// its stdout lines arrive on the returned channel.
fn start() -> (Server, mpsc::Receiver<String>) {
    let dir = std::env::temp_dir().join(format!(
        "json-logs-{}-{}",
        std::process::id(),
        closed_port()
    ));
    std::fs::create_dir_all(&dir).expect("a directory");
    let mut child = Command::new(env!("CARGO_BIN_EXE_api"))
        .args(["serve", "--listen-addr", "127.0.0.1:0"])
        .current_dir(&dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{}", closed_port()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the api binary");
    let stdout = child.stdout.take().expect("stdout");
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    (Server { child, dir }, received)
}

/// The next line (within 60 s) that `wanted` picks, parsed.
fn line_where(
    lines: &mpsc::Receiver<String>,
    wanted: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("the server's log line");
        let parsed: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        if wanted(&parsed) {
            return parsed;
        }
    }
}

/// POSTs a query with `traceparent` and `x-request-id` (HTTP/1.1 by hand:
/// nothing more is needed here).
fn post(port: u16, traceparent: &str, request_id: &str) -> String {
    let body = r#"{"query":"{ customers(first: 1) { nodes { id } } }"}"#;
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        stream,
        "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         traceparent: {traceparent}\r\nx-request-id: {request_id}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("answer");
    response
}

/// A field of a log line: on the line, or on the request's span.
fn field<'a>(line: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    line.get(name)
        .or_else(|| line.get("span")?.get(name))
        .and_then(serde_json::Value::as_str)
}

#[test]
fn a_requests_json_log_lines_carry_its_trace_and_span_ids() {
    let (_server, lines) = start();
    let ready = line_where(&lines, |l| {
        field(l, "message").is_some_and(|m| m.starts_with("GraphiQL playground"))
    });
    let message = field(&ready, "message").expect("message");
    let port: u16 = message
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("a port in {message}"));

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let callers_span = "00f067aa0ba902b7";
    let response = post(port, &format!("00-{trace_id}-{callers_span}-01"), "logs-1");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"customers\""), "{response}");

    let finished = line_where(&lines, |l| {
        field(l, "message") == Some("request finished") && field(l, "request_id") == Some("logs-1")
    });
    assert_eq!(field(&finished, "trace_id"), Some(trace_id), "{finished}");
    let span_id = field(&finished, "span_id").expect("a span id");
    // The server's own span of the request, under the caller's.
    assert_eq!(span_id.len(), 16, "{finished}");
    assert!(span_id.bytes().all(|b| b.is_ascii_hexdigit()), "{finished}");
    assert_ne!(span_id, callers_span);
    assert_ne!(span_id, "0000000000000000");
}
