//! `portcullis serve`: the HTTP server.

use crate::cli::CliError;
use crate::config::Settings;
use crate::AppState;

pub fn run(settings: Settings) -> Result<(), CliError> {
    let bind = settings.bind_addr()?;
    let workers = settings.workers;
    let state = AppState::init(settings)?;
    tracing::info!(issuer = %state.issuer, bind = %bind, "portcullis starting");
    actix_web::rt::System::new().block_on(async move {
        actix_web::rt::spawn(crate::signing::reload_loop(state.clone()));
        actix_web::rt::spawn(crate::cli::cleanup::background(
            state.db.clone(),
            state.settings.clone(),
        ));
        let app_state = state.clone();
        let mut server =
            actix_web::HttpServer::new(move || crate::http::build_app(app_state.clone()))
                .shutdown_timeout(10);
        if workers > 0 {
            server = server.workers(workers);
        }
        // HttpServer handles SIGINT and SIGTERM: it stops accepting, lets in-flight requests
        // finish (up to the shutdown timeout), then returns.
        let server = server
            .bind(bind)
            .map_err(|e| CliError::failed(format!("cannot listen on {bind} (bind): {e}")))?
            .run();
        server
            .await
            .map_err(|e| CliError::failed(format!("server error: {e}")))?;
        tracing::info!("portcullis stopped");
        Ok(())
    })
}
