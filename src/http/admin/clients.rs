//! `/admin/api/clients`: list, create, show, merge-patch, delete, rotate the secret.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use crate::http::admin::auth::{self, BearerToken};
use crate::http::admin::errors::ApiError;
use crate::http::admin::{json, no_content, query_param, read_object, BodyKind, Fields};
use crate::registry::{self, ClientSpec, ClientView};
use crate::storage::{clients, write_tx};
use crate::AppState;

/// Fields an admin may write, as in the client JSON.
const WRITABLE: [&str; 11] = [
    "client_name",
    "application_type",
    "token_endpoint_auth_method",
    "redirect_uris",
    "grant_types",
    "scope",
    "allowed_cors_origins",
    "skip_consent",
    "enabled",
    "signing_alg",
    "require_app_identity",
];

/// Fields of the client JSON that only the server sets.
const READ_ONLY: [&str; 6] = [
    "client_id",
    "client_type",
    "client_id_issued_at",
    "updated_at",
    "client_secret",
    "app_identities",
];

/// Builds a spec from the writable fields; absent or `null` fields take their defaults.
fn spec_from(fields: &mut Fields, client_type: String) -> Result<ClientSpec, ApiError> {
    let spec = ClientSpec {
        client_name: fields.take("client_name")?.unwrap_or_default(),
        client_type,
        application_type: fields.take("application_type")?,
        token_endpoint_auth_method: fields.take("token_endpoint_auth_method")?,
        redirect_uris: fields.take("redirect_uris")?.unwrap_or_default(),
        grant_types: fields.take("grant_types")?.unwrap_or_default(),
        scope: fields.take("scope")?.unwrap_or_default(),
        cors_origins: fields.take("allowed_cors_origins")?.unwrap_or_default(),
        skip_consent: fields.take("skip_consent")?.unwrap_or(false),
        signing_alg: fields.take("signing_alg")?,
        require_app_identity: fields.take("require_app_identity")?.unwrap_or(false),
        enabled: fields.take("enabled")?.unwrap_or(true),
    };
    Ok(spec)
}

fn writable_doc(client: &clients::Client) -> Map<String, Value> {
    let view = serde_json::to_value(ClientView::of(client)).unwrap_or(Value::Null);
    let mut doc = Map::new();
    if let Value::Object(map) = view {
        for (k, v) in map {
            if WRITABLE.contains(&k.as_str()) {
                doc.insert(k, v);
            }
        }
    }
    doc
}

/// `GET /admin/api/clients[?search=…]`: every client (without app identities), oldest first.
pub async fn list(
    state: web::Data<AppState>,
    token: BearerToken,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let search = query_param(&req, "search");
    let views = auth::run(&state, token, move |conn, _, _| {
        let list = clients::list(conn, search.as_deref())?;
        Ok(list.iter().map(ClientView::of).collect::<Vec<_>>())
    })
    .await?;
    Ok(json(StatusCode::OK, &views))
}

/// `POST /admin/api/clients`: 201 with the client JSON, `client_secret` included this once.
pub async fn create(
    state: web::Data<AppState>,
    token: BearerToken,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_object(&req, payload, BodyKind::Json).await;
    let view = auth::run(&state, token, move |conn, admin, at| {
        let mut fields = body?.ok_or_else(|| ApiError::invalid_json("a JSON body is required"))?;
        let client_type = fields.take("client_type")?.unwrap_or_default();
        let spec = spec_from(&mut fields, client_type)?;
        fields.finish()?;
        let (client, secret) = registry::create(conn, &spec, &admin.actor(), at)?;
        Ok(ClientView::of(&client)
            .with_identities(&[])
            .with_secret(secret.as_ref()))
    })
    .await?;
    let mut res = json(StatusCode::CREATED, &view);
    if let Ok(location) = format!("/admin/api/clients/{}", view.client_id).parse() {
        res.headers_mut()
            .insert(actix_web::http::header::LOCATION, location);
    }
    Ok(res)
}

/// `GET /admin/api/clients/{id}`: the client with its app identities.
pub async fn show(
    state: web::Data<AppState>,
    token: BearerToken,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let view = auth::run(&state, token, move |conn, _, _| {
        let client = clients::find(conn, &id)?.ok_or_else(|| no_client(&id))?;
        let identities = clients::list_app_identities(conn, &id)?;
        Ok(ClientView::of(&client).with_identities(&identities))
    })
    .await?;
    Ok(json(StatusCode::OK, &view))
}

fn no_client(id: &str) -> ApiError {
    ApiError::not_found(format!("no client {id}"))
}

/// `PATCH /admin/api/clients/{id}`: an RFC 7396 merge patch of the client JSON's writable
/// fields. A member set to `null` removes the value (lists empty, flags and options take their
/// defaults); read-only members are accepted only with their current value.
pub async fn patch(
    state: web::Data<AppState>,
    token: BearerToken,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let body = read_object(&req, payload, BodyKind::MergePatch).await;
    let view = auth::run(&state, token, move |conn, admin, at| {
        let patch =
            body?.ok_or_else(|| ApiError::invalid_json("a JSON merge patch is required"))?;
        // Read, merge and write in one write transaction: two concurrent patches apply one
        // after the other instead of the second silently undoing the first.
        write_tx(conn, |conn| {
            let current = clients::find(conn, &id)?.ok_or_else(|| no_client(&id))?;
            let identities = clients::list_app_identities(conn, &id)?;
            let current_view =
                serde_json::to_value(ClientView::of(&current).with_identities(&identities))
                    .unwrap_or(Value::Null);
            let mut doc = writable_doc(&current);
            for (name, value) in patch.0 {
                if READ_ONLY.contains(&name.as_str()) {
                    if current_view.get(&name) != Some(&value) {
                        return Err(ApiError::invalid_field(
                            name.clone(),
                            format!("`{name}` is read-only"),
                        ));
                    }
                } else if !WRITABLE.contains(&name.as_str()) {
                    return Err(ApiError::invalid_field(
                        name.clone(),
                        format!("unknown field `{name}`"),
                    ));
                } else if value.is_null() {
                    // RFC 7396 §2: a null member removes the target member.
                    doc.remove(&name);
                } else {
                    // Every writable member is a scalar or an array, which a merge patch
                    // replaces whole (RFC 7396 §2).
                    doc.insert(name, value);
                }
            }
            let mut fields = Fields(doc);
            let spec = spec_from(&mut fields, current.row.client_type.clone())?;
            fields.finish()?;
            let client = registry::update(conn, &id, &spec, &admin.actor(), at)?;
            Ok(ClientView::of(&client).with_identities(&identities))
        })
    })
    .await?;
    Ok(json(StatusCode::OK, &view))
}

/// `DELETE /admin/api/clients/{id}`: 204; the client's codes, tokens and consents go with it.
pub async fn delete(
    state: web::Data<AppState>,
    token: BearerToken,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    auth::run(&state, token, move |conn, admin, at| {
        registry::delete(conn, &id, &admin.actor(), at).map_err(|e| match e {
            crate::storage::StorageError::NotFound => no_client(&id),
            other => other.into(),
        })
    })
    .await?;
    Ok(no_content())
}

/// `POST /admin/api/clients/{id}/secret` (body optional: `{"grace_seconds": N}`): the client
/// JSON with the new `client_secret`, shown this once.
pub async fn rotate_secret(
    state: web::Data<AppState>,
    token: BearerToken,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let body = read_object(&req, payload, BodyKind::Json).await;
    let view = auth::run(&state, token, move |conn, admin, at| {
        let mut fields = body?.unwrap_or_default();
        let grace: i64 = fields.take("grace_seconds")?.unwrap_or(0);
        fields.finish()?;
        write_tx(conn, |conn| {
            if !clients::exists(conn, &id)? {
                return Err(no_client(&id));
            }
            let secret = registry::rotate_secret(conn, &id, &admin.actor(), at, grace)?;
            let client = clients::find(conn, &id)?.ok_or_else(|| no_client(&id))?;
            let identities = clients::list_app_identities(conn, &id)?;
            Ok(ClientView::of(&client)
                .with_identities(&identities)
                .with_secret(Some(&secret)))
        })
    })
    .await?;
    Ok(json(StatusCode::OK, &view))
}
