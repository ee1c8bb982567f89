//! Console pages for a client's app identities (app key hashes): add and remove. Hashes are
//! accepted in every format `oauth::app_identity` decodes.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::http::admin_console::clients::{change, Change};
use crate::http::admin_console::{
    client_form, client_page, console_page, implausible, no_client, plausible_id, presented,
    read_form, run, Admin,
};
use crate::http::session::see_other;
use crate::oauth::app_identity::IdentitySpec;
use crate::registry::{self, FieldError, RegistryError};
use crate::storage::clients as client_rows;
use crate::storage::StorageError;
use crate::web::admin::{FormError, IdentityForm, IdentityFormPage};
use crate::web::render;
use crate::AppState;

fn form_page(
    admin: Admin,
    status: StatusCode,
    client_id: &str,
    client_name: String,
    form: IdentityForm,
    error: Option<FieldError>,
) -> HttpResponse {
    console_page(
        status,
        render(&IdentityFormPage {
            chrome: admin.chrome,
            client_id: client_id.to_string(),
            client_name,
            form,
            error: error
                .map(|e| FormError {
                    field: e.field.to_string(),
                    message: e.message,
                })
                .unwrap_or_default(),
        }),
    )
}

/// `GET /admin/clients/{id}/app-identities/new`.
pub async fn new_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> HttpResponse {
    client_page(&req, &state, path, |admin, id, client| {
        form_page(
            admin,
            StatusCode::OK,
            id,
            client.row.client_name,
            IdentityForm {
                platform: "android".into(),
                ..IdentityForm::default()
            },
            None,
        )
    })
    .await
}

/// `POST /admin/clients/{id}/app-identities`.
pub async fn add(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> HttpResponse {
    let (id, form) = match client_form(&req, &mut payload, path).await {
        Ok(read) => read,
        Err(res) => return res,
    };
    let text = |name: &str| form.get(name).unwrap_or_default().to_string();
    let input = IdentityForm {
        platform: text("platform"),
        app_id: text("app_id"),
        team_id: text("team_id"),
        cert_sha256: text("cert_sha256"),
        cert_sha1: text("cert_sha1"),
    };
    let spec = IdentitySpec {
        platform: input.platform.clone(),
        app_id: input.app_id.trim().to_string(),
        team_id: Some(input.team_id.trim().to_string()).filter(|t| !t.is_empty()),
        cert_sha256: input
            .cert_sha256
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        cert_sha1: Some(input.cert_sha1.trim().to_string()).filter(|t| !t.is_empty()),
    };
    let target = id.clone();
    let done = run(&req, &state, presented(&form), move |conn, admin, now| {
        let Some(client) = client_rows::find(conn, &target)? else {
            return Ok((Change::NotFound, String::new()));
        };
        let added = match registry::add_app_identity(conn, &target, &spec, &admin.email, now) {
            // The same app twice on one client: shown beside the app id.
            Err(RegistryError::Storage(StorageError::Conflict(m))) => Change::Invalid(FieldError {
                field: "app_id",
                message: m,
            }),
            other => change(other)?,
        };
        Ok((added, client.row.client_name))
    })
    .await;
    match done {
        Err(res) => res,
        Ok((_, (Change::Done(_), _))) => see_other(&format!("/admin/clients/{id}")).finish(),
        Ok((admin, (Change::NotFound, _))) => no_client(&admin, &id),
        Ok((admin, (Change::Invalid(e), name))) => form_page(
            admin,
            StatusCode::UNPROCESSABLE_ENTITY,
            &id,
            name,
            input,
            Some(e),
        ),
    }
}

/// `POST /admin/clients/{id}/app-identities/{identity_id}/delete`.
pub async fn remove(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (id, identity_id) = path.into_inner();
    if !plausible_id(&id) || !plausible_id(&identity_id) {
        return implausible();
    }
    let form = match read_form(&req, &mut payload).await {
        Ok(form) => form,
        Err(res) => return res,
    };
    let target = id.clone();
    let done = run(&req, &state, presented(&form), move |conn, admin, now| {
        match registry::remove_app_identity(conn, &target, &identity_id, &admin.email, now) {
            Ok(()) => Ok(true),
            Err(StorageError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    })
    .await;
    match done {
        Err(res) => res,
        Ok((_, true)) => see_other(&format!("/admin/clients/{id}")).finish(),
        Ok((admin, false)) => crate::http::admin_console::message(
            &admin,
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such app identity on this client.",
        ),
    }
}
