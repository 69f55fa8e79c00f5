//! `origin` binary: read the settings, start serving, log one line per request, run until
//! Ctrl-C/SIGTERM.

use std::process::ExitCode;
use std::sync::Arc;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut config = match origin::Config::from_env_and_args(&args) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("origin: {message}");
            return ExitCode::from(2);
        }
    };
    let auth: Arc<dyn origin::AuthService> = match config.auth.take() {
        None => Arc::new(origin::NoAuthServer),
        Some(settings) => match origin::LocalAuth::start(settings).await {
            Ok(auth) => Arc::new(auth),
            Err(message) => {
                eprintln!("origin: the local Auth cannot start: {message}");
                return ExitCode::from(1);
            }
        },
    };
    let origin = match origin::start(config, auth).await {
        Ok(origin) => origin,
        Err(message) => {
            eprintln!("origin: {message}");
            return ExitCode::from(1);
        }
    };
    println!(
        "origin: listening on {} (/rest/v1, /auth/v1, /functions/v1)",
        origin.url()
    );
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
