//! A private PgBouncer (Debian's `pgbouncer`) in transaction mode on a free
//! port, in front of the PostgreSQL of `DATABASE_URL`; stopped when dropped.

use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct PgBouncer {
    pub port: u16,
    dir: PathBuf,
    child: Child,
    /// The user and host of the server it leads to.
    user: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The uid and gid of the `postgres` OS user: PgBouncer refuses to run as root.
fn postgres_user() -> (u32, u32) {
    let id = |flag: &str| {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .expect("run id");
        assert!(out.status.success(), "no postgres OS user (see .ci/run)");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<u32>()
            .expect("a numeric id")
    };
    (id("-u"), id("-g"))
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl PgBouncer {
    /// Starts one before `DATABASE_URL`'s server, `pool_size` server
    /// connections per database and user, `pool_mode = transaction`.
    pub async fn start(pool_size: u32) -> PgBouncer {
        let upstream = crate::helpers::require_env("DATABASE_URL");
        let url = reqwest::Url::parse(&upstream).expect("DATABASE_URL is a URL");
        let user = match url.username() {
            "" => "postgres",
            u => u,
        };
        let host = url.host_str().unwrap_or("127.0.0.1");
        Self::before(host, url.port().unwrap_or(5432), user, pool_size).await
    }

    /// Starts one before the PostgreSQL at `host:upstream_port`, for `user`.
    pub async fn before(host: &str, upstream_port: u16, user: &str, pool_size: u32) -> PgBouncer {
        let user = user.to_owned();
        let dir = std::env::temp_dir().join(crate::helpers::unique_name("pgbouncer"));
        std::fs::create_dir_all(&dir).expect("pgbouncer's directory");
        let port = free_port();
        std::fs::write(dir.join("users.txt"), format!("\"{user}\" \"\"\n")).expect("users");
        let ini = format!(
            "[databases]\n\
             * = host={host} port={upstream_port}\n\
             [pgbouncer]\n\
             listen_addr = 127.0.0.1\n\
             listen_port = {port}\n\
             unix_socket_dir =\n\
             auth_type = trust\n\
             auth_file = {users}\n\
             pool_mode = transaction\n\
             default_pool_size = {pool_size}\n\
             max_client_conn = 2000\n\
             ignore_startup_parameters = extra_float_digits,options\n\
             logfile = {log}\n",
            users = dir.join("users.txt").display(),
            log = dir.join("pgbouncer.log").display(),
        );
        let config = dir.join("pgbouncer.ini");
        std::fs::write(&config, ini).expect("pgbouncer.ini");
        let mut command = Command::new("pgbouncer");
        command
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if running_as_root() {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777))
                .expect("pgbouncer's directory open to it");
            let (uid, gid) = postgres_user();
            command.uid(uid).gid(gid);
        }
        let child = command
            .spawn()
            .expect("start pgbouncer (Debian's pgbouncer package; see .ci/run)");
        let bouncer = PgBouncer {
            port,
            dir,
            child,
            user,
        };
        bouncer.wait_ready().await;
        bouncer
    }

    /// The URL of database `name` through it.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://{}@127.0.0.1:{}/{name}", self.user, self.port)
    }

    async fn wait_ready(&self) {
        for _ in 0..250 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "pgbouncer did not start on port {}: {}",
            self.port,
            std::fs::read_to_string(self.dir.join("pgbouncer.log")).unwrap_or_default()
        );
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
