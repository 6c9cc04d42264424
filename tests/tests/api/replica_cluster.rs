//! A primary and a streaming replica of it, made by `tests/replica/cluster.sh`
//! in a temporary directory, with a real apply delay; removed when dropped.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};

pub struct Cluster {
    dir: PathBuf,
    pub primary_port: u16,
    pub replica_port: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("replica/cluster.sh")
}

fn run(args: &[&str]) {
    let output = Command::new(script())
        .args(args)
        .output()
        .expect("run tests/replica/cluster.sh");
    assert!(
        output.status.success(),
        "cluster.sh {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Cluster {
    /// Starts both, the replica applying commits `delay_ms` late.
    pub async fn start(delay_ms: u64) -> Cluster {
        let dir = std::env::temp_dir().join(crate::helpers::unique_name("replica"));
        let cluster = Cluster {
            dir,
            primary_port: free_port(),
            replica_port: free_port(),
        };
        let args = [
            "start".to_owned(),
            cluster.dir.display().to_string(),
            cluster.primary_port.to_string(),
            cluster.replica_port.to_string(),
            delay_ms.to_string(),
        ];
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run(&args);
        })
        .await
        .expect("cluster start");
        cluster
    }

    pub fn primary_url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.primary_port)
    }

    pub fn replica_url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.replica_port)
    }

    /// Creates database `name` on the primary and waits until the replica
    /// has it too.
    pub async fn create_database(&self, name: &str) {
        let admin = Database::connect(self.primary_url("postgres"))
            .await
            .expect("connect to the fixture's primary");
        admin
            .execute_raw(Statement::from_string(
                DbBackend::Postgres,
                format!("CREATE DATABASE \"{name}\""),
            ))
            .await
            .expect("create database");
        admin.close().await.ok();
        for _ in 0..200 {
            if let Ok(db) = Database::connect(self.replica_url(name)).await {
                db.close().await.ok();
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the replica never got database {name}");
    }

    /// Starts a second replica (applying commits at once); returns its port.
    pub async fn add_replica(&self) -> u16 {
        let port = free_port();
        let args = [
            "add-replica".to_owned(),
            self.dir.display().to_string(),
            port.to_string(),
        ];
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run(&args);
        })
        .await
        .expect("add replica");
        port
    }

    pub async fn stop_replica(&self) {
        let dir = self.dir.display().to_string();
        tokio::task::spawn_blocking(move || run(&["stop-replica", &dir]))
            .await
            .expect("stop replica");
    }

    /// Stops the replica as a crash would: it recovers from its last
    /// restart point when started again.
    pub async fn crash_replica(&self) {
        let dir = self.dir.display().to_string();
        tokio::task::spawn_blocking(move || run(&["crash-replica", &dir]))
            .await
            .expect("crash replica");
    }

    pub async fn start_replica(&self) {
        let dir = self.dir.display().to_string();
        tokio::task::spawn_blocking(move || run(&["start-replica", &dir]))
            .await
            .expect("start replica");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(script())
            .args(["stop", &self.dir.display().to_string()])
            .output();
    }
}
