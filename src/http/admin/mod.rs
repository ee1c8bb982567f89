//! The admin JSON API under `/admin/api/` (docs/admin-api.md): clients, their secrets and app
//! identities, signing keys, and the audit log. Bearer admin tokens only; every change is
//! audited; every response is `Cache-Control: no-store`.

pub mod app_identities;
pub mod audit;
pub mod auth;
pub mod clients;
pub mod errors;
pub mod keys;
pub mod resources;

use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::http::BODY_LIMIT;
use errors::ApiError;

/// Registers the admin API routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin/api")
            .service(
                web::resource("/clients")
                    .route(web::get().to(clients::list))
                    .route(web::post().to(clients::create))
                    .default_service(web::to(|| not_allowed("GET, POST"))),
            )
            .service(
                web::resource("/clients/{client_id}")
                    .route(web::get().to(clients::show))
                    .route(web::patch().to(clients::patch))
                    .route(web::delete().to(clients::delete))
                    .default_service(web::to(|| not_allowed("GET, PATCH, DELETE"))),
            )
            .service(
                web::resource("/clients/{client_id}/secret")
                    .route(web::post().to(clients::rotate_secret))
                    .default_service(web::to(|| not_allowed("POST"))),
            )
            .service(
                web::resource("/clients/{client_id}/app-identities")
                    .route(web::get().to(app_identities::list))
                    .route(web::post().to(app_identities::add))
                    .default_service(web::to(|| not_allowed("GET, POST"))),
            )
            .service(
                web::resource("/clients/{client_id}/app-identities/{identity_id}")
                    .route(web::delete().to(app_identities::remove))
                    .default_service(web::to(|| not_allowed("DELETE"))),
            )
            .service(
                web::resource("/keys")
                    .route(web::get().to(keys::list))
                    .default_service(web::to(|| not_allowed("GET"))),
            )
            .service(
                web::resource("/keys/rotate")
                    .route(web::post().to(keys::rotate))
                    .default_service(web::to(|| not_allowed("POST"))),
            )
            .service(
                web::resource("/resources")
                    .route(web::get().to(resources::list))
                    .route(web::post().to(resources::create))
                    .route(web::delete().to(resources::delete))
                    .default_service(web::to(|| not_allowed("GET, POST, DELETE"))),
            )
            .service(
                web::resource("/audit")
                    .route(web::get().to(audit::recent))
                    .default_service(web::to(|| not_allowed("GET"))),
            )
            .default_service(web::to(errors::unknown_route)),
    );
}

async fn not_allowed(allow: &'static str) -> HttpResponse {
    actix_web::ResponseError::error_response(&ApiError::method_not_allowed(allow))
}

/// A JSON response with `Cache-Control: no-store`.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(("Cache-Control", "no-store"))
        .json(body)
}

/// 204 with `Cache-Control: no-store`.
pub fn no_content() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}

/// Which media types a body may have.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// `application/json`.
    Json,
    /// `application/merge-patch+json` or `application/json` (RFC 7396 PATCH).
    MergePatch,
}

fn media_type(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
}

/// Reads a JSON object body: at most [`BODY_LIMIT`] bytes (413), of the right media type
/// (415), well-formed (400), an object (400). `Ok(None)` for an empty body. Handlers carry
/// the result into the authenticated operation, so that a bad token is a 401 whatever the
/// body.
pub async fn read_object(
    req: &HttpRequest,
    mut payload: web::Payload,
    kind: BodyKind,
) -> Result<Option<Fields>, ApiError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT) {
        return Err(ApiError::payload_too_large());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| ApiError::invalid_json("the request body could not be read"))?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(ApiError::payload_too_large());
        }
        body.extend_from_slice(&chunk);
    }
    if body.is_empty() {
        return Ok(None);
    }
    let accepted = matches!(
        (media_type(req).as_deref(), kind),
        (Some("application/json"), _)
            | (Some("application/merge-patch+json"), BodyKind::MergePatch)
    );
    if !accepted {
        return Err(ApiError::unsupported_media_type(match kind {
            BodyKind::Json => "application/json",
            BodyKind::MergePatch => "application/merge-patch+json or application/json",
        }));
    }
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(map)) => Ok(Some(Fields(map))),
        Ok(_) => Err(ApiError::invalid_json("the body must be a JSON object")),
        Err(e) => Err(ApiError::invalid_json(format!("malformed JSON: {e}"))),
    }
}

/// A JSON object read field by field: each field is typed on its own, so that a type error
/// names its field; [`Fields::finish`] refuses whatever is left (unknown fields are an error,
/// never ignored).
#[derive(Debug, Default, Clone)]
pub struct Fields(pub Map<String, Value>);

impl Fields {
    /// Takes a field; absent or `null` is `None`.
    pub fn take<T: DeserializeOwned>(&mut self, name: &str) -> Result<Option<T>, ApiError> {
        match self.0.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => serde_json::from_value(v)
                .map(Some)
                .map_err(|e| ApiError::invalid_field(name, format!("{name}: {e}"))),
        }
    }

    /// Refuses any field not taken.
    pub fn finish(self) -> Result<(), ApiError> {
        match self.0.keys().next() {
            Some(name) => Err(ApiError::invalid_field(
                name.clone(),
                format!("unknown field `{name}`"),
            )),
            None => Ok(()),
        }
    }
}

/// The query string's value for `name` (the last one wins; decoding is lenient because
/// these are filters, not credentials).
pub fn query_param(req: &HttpRequest, name: &str) -> Option<String> {
    form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .last()
}
