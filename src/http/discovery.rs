//! `GET /.well-known/oauth-authorization-server`, `GET /.well-known/openid-configuration`
//! (the same document, built by `oauth::discovery`) and `GET /jwks.json`. All three are
//! public, served from memory, cacheable for `keys.jwks_max_age_seconds`, and readable
//! cross-origin (no credentials involved, RFC 9700 §2.6 allows CORS here).

use actix_web::{web, HttpResponse};

use crate::http::errors::oauth_json;
use crate::oauth::discovery;
use crate::storage::{now, resources};
use crate::AppState;

fn public_json(state: &AppState, body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            "Cache-Control",
            format!(
                "public, max-age={}",
                state.settings.keys.jwks_max_age_seconds
            ),
        ))
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .body(body)
}

/// The metadata document. Rendered once and reused until it is older than the key poll
/// interval, so that resources registered on any instance appear in `scopes_supported`.
pub async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    let at = now();
    let fresh_after = at - state.settings.keys.poll_interval_seconds as i64;
    if let Some(body) = state.metadata.get(fresh_after) {
        return public_json(&state, web::Bytes::from_owner(body));
    }
    let listed = state.db.run(resources::list).await;
    match listed {
        Ok(list) => {
            let doc = discovery::document(
                &state.issuer,
                list.iter()
                    .flat_map(|r| r.scopes.iter().map(String::as_str)),
            );
            let body: std::sync::Arc<[u8]> =
                serde_json::to_vec(&doc).expect("JSON serialises").into();
            state.metadata.put(at, body.clone());
            public_json(&state, web::Bytes::from_owner(body))
        }
        Err(err) => oauth_json(&err.into()),
    }
}

/// The JWKS of the current key set, pre-rendered by `KeySet::build`.
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    let body = state.keys.current().jwks();
    public_json(&state, web::Bytes::from_owner(body))
}
