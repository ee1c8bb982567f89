//! `/admin/api/keys`: signing keys and their rotation.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::crypto::keys::Alg;
use crate::http::admin::auth::{self, BearerToken};
use crate::http::admin::errors::ApiError;
use crate::http::admin::{json, read_object, BodyKind};
use crate::signing::{self, KeyState};
use crate::storage::{signing_keys, StorageError};
use crate::AppState;

/// `GET /admin/api/keys`: every key with its state (`pending`, `active`, `retired`).
pub async fn list(
    state: web::Data<AppState>,
    token: BearerToken,
) -> Result<HttpResponse, ApiError> {
    let views = auth::run(&state, token, move |conn, _, at| {
        let rows = signing_keys::list(conn)?;
        Ok(signing::key_states(&rows, at))
    })
    .await?;
    Ok(json(StatusCode::OK, &views))
}

/// `POST /admin/api/keys/rotate` with `{"alg": "ES256"|"RS256", "now": bool}` (both
/// optional): publishes a new key (201) and reloads this instance's key ring at once; other
/// instances pick it up at their next poll, before it signs (unless `now`).
pub async fn rotate(
    state: web::Data<AppState>,
    token: BearerToken,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_object(&req, payload, BodyKind::Json).await;
    let (master, settings) = (state.master.clone(), state.settings.clone());
    let (view, set) = auth::run(&state, token, move |conn, admin, _at| {
        let mut fields = body?.unwrap_or_default();
        let alg: String = fields.take("alg")?.unwrap_or_else(|| "ES256".into());
        let immediately: bool = fields.take("now")?.unwrap_or(false);
        fields.finish()?;
        let alg = Alg::parse(&alg)
            .ok_or_else(|| ApiError::invalid_field("alg", "alg: must be `ES256` or `RS256`"))?;
        let row = signing::rotate(conn, &master, &settings, alg, immediately, &admin.actor())?;
        // One clock reading after the rotation for both the key set and the reported state
        // (the request's `at` is older: an immediate key could look pending).
        let now = crate::storage::now();
        let set = signing::load(conn, &master, &settings, now).map_err(StorageError::Other)?;
        let view = KeyState {
            kid: row.kid,
            alg: row.alg,
            created_at: row.created_at,
            activates_at: row.activates_at,
            state: if row.activates_at <= now {
                "active"
            } else {
                "pending"
            },
        };
        Ok((view, set))
    })
    .await?;
    state.keys.replace(set);
    Ok(json(StatusCode::CREATED, &view))
}
