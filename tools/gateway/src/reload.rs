//! Keeps the schema cache fresh: a dedicated connection LISTENs on `pgrst`, and
//! `NOTIFY pgrst, 'reload schema'` (or an empty payload) reloads the cache, as in PostgREST.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::handler::AppState;
use crate::schema;

pub async fn reload_schema_cache(state: &AppState) -> Result<(), String> {
    let client = state.pool.get().await.map_err(|e| e.to_string())?;
    let cache = schema::load(&client, &state.config.db_schemas)
        .await
        .map_err(|e| e.to_string())?;
    if let Ok(mut slot) = state.cache.write() {
        *slot = Arc::new(cache);
    }
    // Plans prepared against the old schema may no longer apply.
    state.pool.manager().statement_caches.clear();
    state.prepared.forget_all();
    Ok(())
}

/// Runs until the process ends, reconnecting when the listening connection drops.
pub async fn listen_for_reloads(state: Arc<AppState>) {
    let mut first = true;
    loop {
        match listen_once(&state, first).await {
            Ok(()) => eprintln!("gateway: schema listener connection closed; reconnecting"),
            Err(e) => eprintln!("gateway: schema listener failed: {e}; retrying in 1s"),
        }
        first = false;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn listen_once(state: &Arc<AppState>, first: bool) -> Result<(), String> {
    let (client, mut connection) = tokio_postgres::connect(&state.config.db_uri, NoTls)
        .await
        .map_err(|e| e.to_string())?;
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let pump = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) if n.channel() == "pgrst" => {
                    if sender.send(n.payload().to_string()).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    client
        .batch_execute("listen pgrst")
        .await
        .map_err(|e| e.to_string())?;
    if !first {
        // Changes made while the listener was away would otherwise be missed.
        reload_schema_cache(state).await?;
    }
    while let Some(payload) = receiver.recv().await {
        if payload.is_empty() || payload == "reload schema" {
            match reload_schema_cache(state).await {
                Ok(()) => eprintln!("gateway: schema cache reloaded"),
                Err(e) => eprintln!("gateway: schema cache reload failed: {e}"),
            }
        }
    }
    pump.abort();
    Ok(())
}
