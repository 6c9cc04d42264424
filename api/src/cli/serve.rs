//! `serve`: the HTTP server until Ctrl-C or SIGTERM.

use crate::settings::Settings;
use crate::startup::{Application, BuildOptions};

pub(super) async fn serve(mut settings: Settings, migrate: bool) -> anyhow::Result<()> {
    // Connections past the kernel's open-file limit would fail to accept
    // (and no idle one would be closed to make room): the connection caps
    // follow the limit, leaving room for the pools, Redis and new clients.
    if let Some(files) = crate::server::raise_open_file_limit() {
        let pools = u64::from(settings.database.max_connections)
            * if settings.database.read_url.is_some() {
                2
            } else {
                1
            };
        let asked = (settings.http.max_connections, settings.ws.max_connections);
        let caps = crate::server::connection_caps(asked, files, pools);
        if caps != asked {
            tracing::warn!(
                open_files = files,
                http_max_connections = caps.0,
                ws_max_connections = caps.1,
                "HTTP_MAX_CONNECTIONS and WS_MAX_CONNECTIONS lowered to fit the open-file limit with the pools and a reserve; raise the limit (ulimit -n, systemd LimitNOFILE) for more"
            );
        } else {
            tracing::info!(open_files = files, "open-file limit");
        }
        (settings.http.max_connections, settings.ws.max_connections) = caps;
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
