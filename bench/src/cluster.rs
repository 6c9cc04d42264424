//! A PostgreSQL primary and a streaming replica of it for the benchmarks,
//! made by `tests/replica/cluster.sh`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;

/// A primary and its replica, stopped and removed when dropped.
pub struct Cluster {
    dir: PathBuf,
    pub primary_port: u16,
    pub replica_port: u16,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/replica/cluster.sh")
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Cluster {
    /// Starts both; the replica applies each commit `delay_ms` late.
    pub fn start(delay_ms: u64) -> anyhow::Result<Cluster> {
        let cluster = Cluster {
            dir: std::env::temp_dir().join(format!("bench-replicas-{}", std::process::id())),
            primary_port: free_port()?,
            replica_port: free_port()?,
        };
        let status = std::process::Command::new(script())
            .arg("start")
            .arg(&cluster.dir)
            .arg(cluster.primary_port.to_string())
            .arg(cluster.replica_port.to_string())
            .arg(delay_ms.to_string())
            .status()
            .context("running tests/replica/cluster.sh")?;
        anyhow::ensure!(status.success(), "cluster.sh start failed");
        Ok(cluster)
    }

    pub fn url(port: u16) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/postgres")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::process::Command::new(script())
            .arg("stop")
            .arg(&self.dir)
            .status();
    }
}

/// Waits until the replica has replayed everything the primary has now.
pub async fn caught_up(primary: &str, replica: &str) -> anyhow::Result<()> {
    use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
    let lsn = |url: String, sql: &'static str| async move {
        let db = Database::connect(url.as_str()).await?;
        let row = db
            .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
            .await?
            .context("no row")?;
        let lsn: i64 = row.try_get("", "lsn")?;
        db.close().await.ok();
        anyhow::Ok(lsn)
    };
    let target = lsn(
        primary.to_owned(),
        "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint AS lsn",
    )
    .await?;
    for _ in 0..600 {
        let replayed = lsn(
            replica.to_owned(),
            "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint AS lsn",
        )
        .await?;
        if replayed >= target {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the replica did not catch up within a minute")
}
