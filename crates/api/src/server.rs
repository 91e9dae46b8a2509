//! The HTTP server around a running engine: the API, the event streams and the screens.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use otklik_domain::{Error, Result};
use otklik_engine::Engine;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running HTTP server around an engine.
pub struct Server {
    pub addr: SocketAddr,
    pub engine: Arc<Engine>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Server {
    /// Binds `listen` (port 0 picks a free one) and serves the API, events and screens.
    pub async fn start(engine: Arc<Engine>, listen: SocketAddr) -> Result<Server> {
        let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
            Error::io(
                format!("cannot listen on {listen} (is another Otklik running?)"),
                e,
            )
        })?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("cannot read the bound address", e))?;
        engine.start().await?;
        let app = crate::router(engine.clone(), addr.ip());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(%e, "the HTTP server stopped");
            }
        });
        tracing::info!(%addr, data_dir = %engine.store.data_dir.display(), "Otklik is serving");
        Ok(Server {
            addr,
            engine,
            stop: Some(stop),
            task,
        })
    }

    /// Stops accepting requests; open event streams are closed.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Event streams never end by themselves; don't wait for them forever.
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut self.task).await;
        self.task.abort();
    }

    /// Waits until the server task ends (it does not by itself).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}
