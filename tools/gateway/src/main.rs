//! `gateway` binary: read the settings, start serving, log one line, run until Ctrl-C/SIGTERM.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match gateway::Config::from_env_and_args(&args) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("gateway: {message}");
            return ExitCode::from(2);
        }
    };
    let schemas = config.db_schemas.join(",");
    let gateway = match gateway::start(config).await {
        Ok(gateway) => gateway,
        Err(message) => {
            eprintln!("gateway: {message}");
            return ExitCode::from(1);
        }
    };
    println!(
        "gateway: listening on {}/ (schemas: {schemas})",
        gateway.url()
    );
    wait_for_shutdown().await;
    ExitCode::SUCCESS
}

async fn wait_for_shutdown() {
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
