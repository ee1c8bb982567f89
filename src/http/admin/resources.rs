//! `/admin/api/resources`: the resource servers (RFC 8707 audiences) and the scopes they own.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::http::admin::auth::{self, BearerToken};
use crate::http::admin::errors::ApiError;
use crate::http::admin::{json, no_content, query_param, read_object, BodyKind};
use crate::registry::{self, RegistryError};
use crate::storage::{resources, StorageError};
use crate::AppState;

/// `GET /admin/api/resources`.
pub async fn list(
    state: web::Data<AppState>,
    token: BearerToken,
) -> Result<HttpResponse, ApiError> {
    let list = auth::run(&state, token, |conn, _, _| Ok(resources::list(conn)?)).await?;
    Ok(json(StatusCode::OK, &list))
}

/// `POST /admin/api/resources` with `{"audience", "scope", "introspection_client_id"?}`: 201.
pub async fn create(
    state: web::Data<AppState>,
    token: BearerToken,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_object(&req, payload, BodyKind::Json).await;
    let issuer = state.issuer.clone();
    let resource = auth::run(&state, token, move |conn, admin, at| {
        let mut fields = body?.ok_or_else(|| ApiError::invalid_json("a JSON body is required"))?;
        let audience: String = fields.take("audience")?.unwrap_or_default();
        let scope: String = fields.take("scope")?.unwrap_or_default();
        let introspection_client_id: Option<String> = fields.take("introspection_client_id")?;
        fields.finish()?;
        registry::create_resource(
            conn,
            &issuer,
            &audience,
            &scope,
            introspection_client_id,
            &admin.actor(),
            at,
        )
        .map_err(|e| match e {
            RegistryError::Storage(StorageError::Conflict(m)) => ApiError::conflict(m),
            other => other.into(),
        })
    })
    .await?;
    Ok(json(StatusCode::CREATED, &resource))
}

/// `DELETE /admin/api/resources?audience=URI`: 204 (the audience is a URI, so it travels in
/// the query rather than as a path segment).
pub async fn delete(
    state: web::Data<AppState>,
    token: BearerToken,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let audience = query_param(&req, "audience");
    auth::run(&state, token, move |conn, admin, at| {
        let audience = audience.filter(|a| !a.is_empty()).ok_or_else(|| {
            ApiError::invalid_field("audience", "the audience query parameter is required")
        })?;
        resources::delete(conn, &audience, &admin.actor(), at).map_err(|e| match e {
            StorageError::NotFound => ApiError::not_found(format!("no resource {audience}")),
            other => other.into(),
        })
    })
    .await?;
    Ok(no_content())
}
