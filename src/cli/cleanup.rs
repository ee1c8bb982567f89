//! `portcullis cleanup`: deletes expired codes, sessions, refresh tokens, families and
//! deny-listed access tokens once, as the background job of `serve` does.

use crate::cli::{open_db, print_json, CliError};
use crate::config::Settings;
use crate::storage::{cleanup, now, Db};

pub fn run(settings: Settings, json: bool) -> Result<(), CliError> {
    let db = open_db(&settings)?;
    let counts = db.run_blocking(|conn| {
        cleanup::run(
            conn,
            now(),
            settings.cleanup.retention_seconds,
            settings.cleanup.batch_size,
        )
    })?;
    if json {
        print_json(&counts);
    } else {
        println!(
            "deleted {} authorization code(s), {} session(s), {} refresh token(s), \
             {} refresh famil(ies), {} revoked access token id(s)",
            counts.authorization_codes,
            counts.sessions,
            counts.refresh_tokens,
            counts.refresh_families,
            counts.revoked_access_tokens
        );
    }
    Ok(())
}

/// Runs the cleanup every `cleanup.interval_seconds` (0 disables it) for the life of the
/// server. Several instances may run it at once (see `storage::cleanup`).
pub async fn background(db: Db, settings: std::sync::Arc<Settings>) {
    let interval = settings.cleanup.interval_seconds;
    if interval == 0 {
        return;
    }
    loop {
        actix_web::rt::time::sleep(std::time::Duration::from_secs(interval)).await;
        let (retention, batch) = (
            settings.cleanup.retention_seconds,
            settings.cleanup.batch_size,
        );
        match db
            .run(move |conn| cleanup::run(conn, now(), retention, batch))
            .await
        {
            Ok(counts) if counts.total() > 0 => {
                tracing::info!(
                    cleanup.codes = counts.authorization_codes,
                    cleanup.sessions = counts.sessions,
                    cleanup.refresh_tokens = counts.refresh_tokens,
                    cleanup.families = counts.refresh_families,
                    cleanup.revoked_jtis = counts.revoked_access_tokens,
                    "cleanup deleted expired rows"
                );
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "cleanup failed"),
        }
    }
}
