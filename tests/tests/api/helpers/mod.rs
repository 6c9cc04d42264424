//! `spawn_app()`: the real application on a random port with its own
//! database (and its own Redis key prefix when `REDIS_URL` is set).

mod app;
mod db;
mod tokens;

pub use app::*;
pub use db::*;
pub use tokens::*;

use std::sync::Once;
use std::time::Duration;

use api::auth::{Jwt, Role};
use api::settings::Settings;
use api::startup::{Application, BuildOptions};
use api::state::AppState;
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use serde_json::{Value, json};

pub const JWT_SECRET: &str = "integration-test-secret";

static TRACING: Once = Once::new();

/// Logs are silent unless `TEST_LOG` is set.
fn init_tracing() {
    TRACING.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            api::telemetry::init_tracing(false);
        }
    });
}

/// A name no other test (in this or a concurrent run) uses.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A path in the temporary directory no other test uses: `stem…`.`extension`.
pub fn temp_path(stem: &str, extension: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("{}.{extension}", unique_name(stem)))
}

/// A variable an ignored test needs; its absence fails the test (it was
/// asked to run, so it must not pass without testing).
pub fn require_env(name: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| panic!("this test needs {name}; see .ci/run"))
}
