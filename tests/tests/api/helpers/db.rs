//! A database of its own per test (PostgreSQL when `DATABASE_URL` is set, else a SQLite file).

use super::*;

/// A database of its own for one test, removed when dropped.
pub struct TestDb {
    pub url: String,
    pub backend: DbBackend,
    admin_url: Option<String>,
    name: String,
}

impl TestDb {
    pub async fn create() -> TestDb {
        let name = unique_name("test");
        match std::env::var("DATABASE_URL")
            .ok()
            .filter(|u| u.starts_with("postgres"))
        {
            Some(base) => {
                let admin = Database::connect(base.as_str())
                    .await
                    .expect("connect to PostgreSQL");
                admin
                    .execute_raw(Statement::from_string(
                        DbBackend::Postgres,
                        format!("CREATE DATABASE \"{name}\""),
                    ))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                TestDb {
                    url: api::settings::with_database_name(&base, &name),
                    backend: DbBackend::Postgres,
                    admin_url: Some(base),
                    name,
                }
            }
            None => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                TestDb {
                    url: format!("sqlite://{}?mode=rwc", path.display()),
                    backend: DbBackend::Sqlite,
                    admin_url: None,
                    name: path.display().to_string(),
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.admin_url {
            Some(admin) => {
                let admin = admin.clone();
                let name = self.name.clone();
                // Drop may run inside a runtime: use a thread with its own.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime");
                    rt.block_on(async move {
                        if let Ok(db) = Database::connect(admin.as_str()).await {
                            let _ = db
                                .execute_raw(Statement::from_string(
                                    DbBackend::Postgres,
                                    format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
                                ))
                                .await;
                            let _ = db.close().await;
                        }
                    });
                })
                .join();
            }
            None => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", self.name));
                }
            }
        }
    }
}
