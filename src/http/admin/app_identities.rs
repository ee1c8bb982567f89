//! `/admin/api/clients/{id}/app-identities`: list, add, remove.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::http::admin::auth::{self, BearerToken};
use crate::http::admin::errors::ApiError;
use crate::http::admin::{json, no_content, read_object, BodyKind};
use crate::oauth::app_identity::IdentitySpec;
use crate::registry::{self, AppIdentityView};
use crate::storage::StorageError;
use crate::AppState;

fn no_client(id: &str) -> impl Fn(StorageError) -> ApiError + '_ {
    move |e| match e {
        StorageError::NotFound => ApiError::not_found(format!("no client {id}")),
        other => other.into(),
    }
}

/// `GET …/app-identities`.
pub async fn list(
    state: web::Data<AppState>,
    token: BearerToken,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let views = auth::run(&state, token, move |conn, _, _| {
        let list = registry::list_app_identities(conn, &id).map_err(no_client(&id))?;
        Ok(list.iter().map(AppIdentityView::of).collect::<Vec<_>>())
    })
    .await?;
    Ok(json(StatusCode::OK, &views))
}

/// `POST …/app-identities` with `{"platform", "app_id", "team_id"?, "cert_sha256": [..]?,
/// "cert_sha1"?}`: 201 with the identity.
pub async fn add(
    state: web::Data<AppState>,
    token: BearerToken,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let body = read_object(&req, payload, BodyKind::Json).await;
    let view = auth::run(&state, token, move |conn, admin, at| {
        let mut fields = body?.ok_or_else(|| ApiError::invalid_json("a JSON body is required"))?;
        let spec = IdentitySpec {
            platform: fields.take("platform")?.unwrap_or_default(),
            app_id: fields.take("app_id")?.unwrap_or_default(),
            team_id: fields.take("team_id")?,
            cert_sha256: fields.take("cert_sha256")?.unwrap_or_default(),
            cert_sha1: fields.take("cert_sha1")?,
        };
        fields.finish()?;
        let identity = registry::add_app_identity(conn, &id, &spec, &admin.actor(), at).map_err(
            |e| match e {
                registry::RegistryError::Storage(StorageError::Conflict(m)) => {
                    ApiError::conflict(m)
                }
                registry::RegistryError::Storage(s) => no_client(&id)(s),
                other => other.into(),
            },
        )?;
        Ok(AppIdentityView::of(&identity))
    })
    .await?;
    Ok(json(StatusCode::CREATED, &view))
}

/// `DELETE …/app-identities/{identity_id}`: 204.
pub async fn remove(
    state: web::Data<AppState>,
    token: BearerToken,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, identity_id) = path.into_inner();
    auth::run(&state, token, move |conn, admin, at| {
        registry::remove_app_identity(conn, &id, &identity_id, &admin.actor(), at).map_err(|e| {
            match e {
                StorageError::NotFound => {
                    ApiError::not_found(format!("no app identity {identity_id} on client {id}"))
                }
                other => other.into(),
            }
        })
    })
    .await?;
    Ok(no_content())
}
