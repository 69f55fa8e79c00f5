//! `auth` binary: reads the `AUTH_*` settings, serves the local Auth on `AUTH_PORT` (default
//! 9999, GoTrue's port) at `/auth/v1/*` and at `/*`, and runs until Ctrl-C or SIGTERM.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match auth::Settings::from_env() {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("auth: {message}");
            return ExitCode::from(2);
        }
    };
    let port = match std::env::var("AUTH_PORT")
        .ok()
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u16>())
    {
        None => 9999,
        Some(Ok(port)) => port,
        Some(Err(_)) => {
            eprintln!("auth: AUTH_PORT must be a port number");
            return ExitCode::from(2);
        }
    };
    let host = std::env::var("AUTH_HOST").unwrap_or_else(|_| "127.0.0.1".to_string());
    let server = match auth::server::serve(settings, &host, port).await {
        Ok(server) => server,
        Err(message) => {
            eprintln!("auth: {message}");
            return ExitCode::from(1);
        }
    };
    println!("auth: listening on http://{}/auth/v1", server.address);
    wait_for_shutdown().await;
    ExitCode::SUCCESS
}

async fn wait_for_shutdown() {
    let Ok(mut terminate) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
