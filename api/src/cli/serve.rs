//! `serve`: the HTTP server until Ctrl-C or SIGTERM.

use crate::settings::Settings;
use crate::startup::{Application, BuildOptions};

pub(super) async fn serve(settings: Settings, migrate: bool) -> anyhow::Result<()> {
    // Connections past the kernel's open-file limit would fail to accept;
    // the connection cap should decide instead.
    if let Some(files) = crate::server::raise_open_file_limit() {
        let needed = settings.http.max_connections as u64
            + u64::from(settings.database.max_connections)
            + 256;
        if files < needed {
            tracing::warn!(
                open_files = files,
                http_max_connections = settings.http.max_connections,
                "the open-file limit is below HTTP_MAX_CONNECTIONS plus the pool and a reserve; lower HTTP_MAX_CONNECTIONS or raise the hard limit (ulimit -Hn)"
            );
        } else {
            tracing::info!(open_files = files, "open-file limit");
        }
    }
    let app = Application::build(
        settings,
        BuildOptions {
            migrate,
            record_sql: false,
        },
    )
    .await?;
    let addr = &app.state().http.listen_addr;
    let host = addr.rsplit_once(':').map(|(h, _)| h).unwrap_or("127.0.0.1");
    let host = if host == "0.0.0.0" || host == "[::]" {
        "127.0.0.1"
    } else {
        host
    };
    tracing::info!(
        "GraphiQL playground: http://{host}:{}/graphql  (metrics: /metrics, health: /healthz, /readyz)",
        app.port()
    );
    app.run_until(shutdown_signal()).await
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
