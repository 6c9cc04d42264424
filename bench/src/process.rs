//! The release server as a child process: for the benchmarks that need its
//! own memory, its own signals and its own log.

use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;

use crate::harness;

/// The server process.
pub struct Child {
    pub process: tokio::process::Child,
    pub pid: u32,
    /// `http://127.0.0.1:<port>`.
    pub origin: String,
    /// Where its log goes.
    pub stderr_path: std::path::PathBuf,
}

/// Resident memory of process `pid` in MiB (Linux), if known.
pub fn rss_of(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// CPU time (user and system) process `pid` used so far, in seconds
/// (Linux; `None` for the bench's own process: use "self").
pub fn cpu_seconds_of(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name (which may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime: fields 14 and 15 of the line, in clock ticks
    // (USER_HZ, 100 on Linux).
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Starts the release `api serve` next to this binary on a free port, with
/// `redis_url` if given and the variables `env`, and waits until it is
/// healthy.
pub async fn spawn_server(
    database_url: &str,
    redis_url: Option<&str>,
    env: &[(&str, String)],
) -> anyhow::Result<Child> {
    let exe = std::env::current_exe()?
        .parent()
        .map(|d| d.join("api"))
        .context("no directory for the api binary")?;
    anyhow::ensure!(
        exe.exists(),
        "{} is missing: run `cargo build --release -p api` first",
        exe.display()
    );
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let stderr_path = std::env::temp_dir().join(format!("attack-server-{port}.log"));
    let log = std::fs::File::create(&stderr_path)?;
    let mut cmd = tokio::process::Command::new(exe);
    cmd.arg("serve")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("JWT_SECRET", harness::SECRET)
        .env("RUST_LOG", "warn")
        .env("SHUTDOWN_GRACE_SECS", "10")
        .env(
            "REDIS_KEY_PREFIX",
            format!("attack_{}:", std::process::id()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    if let Some(redis) = redis_url.filter(|u| !u.is_empty()) {
        cmd.env("REDIS_URL", redis);
    }
    let process = cmd.spawn().context("starting the server")?;
    let pid = process.id().context("no pid")?;
    let origin = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if client
            .get(format!("{origin}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(Child {
                process,
                pid,
                origin,
                stderr_path,
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!(
        "the server did not become healthy; see {}",
        stderr_path.display()
    )
}

impl Child {
    /// Stops it with SIGTERM and waits for it (at most 30 s).
    pub async fn stop(mut self) {
        let _ = tokio::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await;
        let _ = tokio::time::timeout(Duration::from_secs(30), self.process.wait()).await;
        let _ = std::fs::remove_file(&self.stderr_path);
    }

    /// A counter of its `/metrics` (summed over labels), if it has one.
    pub async fn counter(&self, name: &str) -> Option<f64> {
        let text = reqwest::get(format!("{}/metrics", self.origin))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        let values: Vec<f64> = text
            .lines()
            .filter(|l| l.starts_with(name) && !l.starts_with('#'))
            .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
            .collect();
        (!values.is_empty()).then(|| values.iter().sum())
    }
}
