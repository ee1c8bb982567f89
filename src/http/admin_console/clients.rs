//! Console pages for clients: list/search, create, view, edit, enable/disable, delete.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::http::admin_console::implausible;
use crate::http::admin_console::{
    client_form, client_page, console_page, message, no_client, plausible_id, presented, read_form,
    run, Admin, Csrf,
};
use crate::http::session::see_other;
use crate::oauth::params::Params;
use crate::registry::{self, ClientSpec, ClientView, FieldError, RegistryError};
use crate::storage::clients::{self as client_rows, Client};
use crate::storage::StorageError;
use crate::web::admin::{
    ClientForm, ClientFormPage, ClientLine, ClientListPage, ClientPage, DeletePage, FormError,
    SecretPage,
};
use crate::web::{format_time, render};
use crate::AppState;

/// Longest search text.
const MAX_SEARCH: usize = 200;

/// What a change found.
pub enum Change<T> {
    Done(T),
    Invalid(FieldError),
    NotFound,
}

/// Sorts a registry result into a [`Change`]; storage failures stay errors.
pub fn change<T>(result: Result<T, RegistryError>) -> Result<Change<T>, StorageError> {
    match result {
        Ok(v) => Ok(Change::Done(v)),
        Err(RegistryError::Invalid(e)) => Ok(Change::Invalid(e)),
        Err(RegistryError::Storage(StorageError::NotFound)) => Ok(Change::NotFound),
        Err(RegistryError::Storage(e)) => Err(e),
    }
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

impl ClientForm {
    /// The form as the admin sent it.
    fn read(form: &Params) -> Self {
        let text = |name: &str| form.get(name).unwrap_or_default().to_string();
        let checked = |name: &str| form.get(name).is_some();
        ClientForm {
            client_name: text("client_name"),
            client_type: text("client_type"),
            application_type: text("application_type"),
            token_endpoint_auth_method: text("token_endpoint_auth_method"),
            redirect_uris: text("redirect_uris"),
            scope: text("scope"),
            cors_origins: text("cors_origins"),
            grant_authorization_code: checked("grant_authorization_code"),
            grant_refresh_token: checked("grant_refresh_token"),
            grant_client_credentials: checked("grant_client_credentials"),
            skip_consent: checked("skip_consent"),
            require_app_identity: checked("require_app_identity"),
            enabled: checked("enabled"),
            signing_alg: text("signing_alg"),
        }
    }

    /// The form showing an existing client.
    fn of(client: &Client) -> Self {
        let spec = ClientSpec::of(client);
        let has = |g: &str| spec.grant_types.iter().any(|x| x == g);
        ClientForm {
            client_name: spec.client_name.clone(),
            client_type: spec.client_type.clone(),
            application_type: spec.application_type.clone().unwrap_or_default(),
            token_endpoint_auth_method: spec.token_endpoint_auth_method.clone().unwrap_or_default(),
            redirect_uris: spec.redirect_uris.join("\n"),
            scope: spec.scope.split(' ').collect::<Vec<_>>().join("\n"),
            cors_origins: spec.cors_origins.join("\n"),
            grant_authorization_code: has("authorization_code"),
            grant_refresh_token: has("refresh_token"),
            grant_client_credentials: has("client_credentials"),
            skip_consent: spec.skip_consent,
            require_app_identity: spec.require_app_identity,
            enabled: spec.enabled,
            signing_alg: spec.signing_alg.clone().unwrap_or_default(),
        }
    }

    /// The form of a new client: a public web client with the code flow, enabled.
    fn blank() -> Self {
        ClientForm {
            client_type: "public".into(),
            application_type: "web".into(),
            scope: "openid".into(),
            grant_authorization_code: true,
            grant_refresh_token: true,
            enabled: true,
            signing_alg: "ES256".into(),
            ..ClientForm::default()
        }
    }

    /// What the registry is asked for; `registry::validate` judges it.
    fn spec(&self) -> ClientSpec {
        let optional = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let mut grant_types = Vec::new();
        for (on, name) in [
            (self.grant_authorization_code, "authorization_code"),
            (self.grant_refresh_token, "refresh_token"),
            (self.grant_client_credentials, "client_credentials"),
        ] {
            if on {
                grant_types.push(name.to_string());
            }
        }
        ClientSpec {
            client_name: self.client_name.clone(),
            client_type: self.client_type.clone(),
            application_type: optional(&self.application_type),
            token_endpoint_auth_method: optional(&self.token_endpoint_auth_method),
            redirect_uris: lines(&self.redirect_uris),
            grant_types,
            scope: self.scope.split_whitespace().collect::<Vec<_>>().join(" "),
            cors_origins: lines(&self.cors_origins),
            skip_consent: self.skip_consent,
            signing_alg: optional(&self.signing_alg),
            require_app_identity: self.require_app_identity,
            enabled: self.enabled,
        }
    }
}

fn form_page(
    admin: &Admin,
    status: StatusCode,
    client_id: &str,
    form: ClientForm,
    error: Option<FieldError>,
) -> HttpResponse {
    let error = error
        .map(|e| FormError {
            field: e.field.to_string(),
            message: e.message,
        })
        .unwrap_or_default();
    console_page(
        status,
        render(&ClientFormPage {
            chrome: admin.chrome.clone(),
            client_id: client_id.to_string(),
            form,
            error,
        }),
    )
}

/// `GET /admin?q=…`: the clients, filtered by id or name.
pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let query = Params::parse(req.query_string()).unwrap_or_default();
    let q: String = query
        .get("q")
        .unwrap_or_default()
        .trim()
        .chars()
        .take(MAX_SEARCH)
        .collect();
    let needle = q.clone();
    let found = run(&req, &state, Csrf::NotNeeded, move |conn, _, _| {
        client_rows::list(conn, Some(&needle))
    })
    .await;
    let (admin, clients) = match found {
        Ok(found) => found,
        Err(res) => return res,
    };
    let html = render(&ClientListPage {
        chrome: admin.chrome,
        q,
        clients: clients
            .iter()
            .map(|c| ClientLine {
                client_id: c.row.client_id.clone(),
                client_name: c.row.client_name.clone(),
                client_type: c.row.client_type.clone(),
                application_type: c.row.application_type.clone(),
                enabled: c.row.enabled,
                redirect_count: c.redirect_uris.len(),
                created: format_time(c.row.created_at),
            })
            .collect(),
    });
    console_page(StatusCode::OK, html)
}

/// `GET /admin/clients/{id}`.
pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> HttpResponse {
    let id = path.into_inner();
    if !plausible_id(&id) {
        return implausible();
    }
    let lookup = id.clone();
    let found = run(&req, &state, Csrf::NotNeeded, move |conn, _, _| {
        let Some(client) = client_rows::find(conn, &lookup)? else {
            return Ok(None);
        };
        let identities = client_rows::list_app_identities(conn, &lookup)?;
        Ok(Some((client, identities)))
    })
    .await;
    let (admin, found) = match found {
        Ok(found) => found,
        Err(res) => return res,
    };
    let Some((client, identities)) = found else {
        return no_client(&admin, &id);
    };
    let view = ClientView::of(&client).with_identities(&identities);
    let html = render(&ClientPage {
        chrome: admin.chrome,
        created: format_time(client.row.created_at),
        updated: format_time(client.row.updated_at),
        identities: view.app_identities.clone().unwrap_or_default(),
        client: view,
    });
    console_page(StatusCode::OK, html)
}

/// `GET /admin/clients/new`.
pub async fn new_form(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match run(&req, &state, Csrf::NotNeeded, |_, _, _| Ok(())).await {
        Ok((admin, ())) => form_page(&admin, StatusCode::OK, "", ClientForm::blank(), None),
        Err(res) => res,
    }
}

/// `POST /admin/clients`: creates the client; a confidential client's secret is shown once.
pub async fn create(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let form = match read_form(&req, &mut payload).await {
        Ok(form) => form,
        Err(res) => return res,
    };
    let input = ClientForm::read(&form);
    let spec = input.spec();
    let done = run(&req, &state, presented(&form), move |conn, admin, now| {
        change(registry::create(conn, &spec, &admin.email, now))
    })
    .await;
    let (admin, outcome) = match done {
        Ok(done) => done,
        Err(res) => return res,
    };
    match outcome {
        Change::Done((client, Some(secret))) => console_page(
            StatusCode::OK,
            render(&SecretPage {
                chrome: admin.chrome,
                client_id: client.row.client_id.clone(),
                client_name: client.row.client_name.clone(),
                secret: secret.expose().to_string(),
                created: true,
                previous_until: None,
            }),
        ),
        Change::Done((client, None)) => {
            see_other(&format!("/admin/clients/{}", client.row.client_id)).finish()
        }
        Change::Invalid(e) => {
            form_page(&admin, StatusCode::UNPROCESSABLE_ENTITY, "", input, Some(e))
        }
        Change::NotFound => no_client(&admin, ""),
    }
}

/// `GET /admin/clients/{id}/edit`.
pub async fn edit_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> HttpResponse {
    client_page(&req, &state, path, |admin, id, client| {
        form_page(&admin, StatusCode::OK, id, ClientForm::of(&client), None)
    })
    .await
}

/// `POST /admin/clients/{id}/edit`: replaces the client's settings (redirect URIs, scopes and
/// CORS origins are whole lists); a validation error re-renders the form with the input kept.
pub async fn update(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> HttpResponse {
    let (id, form) = match client_form(&req, &mut payload, path).await {
        Ok(read) => read,
        Err(res) => return res,
    };
    let input = ClientForm::read(&form);
    let mut spec = input.spec();
    let target = id.clone();
    let done = run(&req, &state, presented(&form), move |conn, admin, now| {
        // The edit form does not offer the type (it cannot change): keep the stored one.
        let Some(client) = client_rows::find(conn, &target)? else {
            return Ok((Change::NotFound, String::new()));
        };
        spec.client_type = client.row.client_type.clone();
        let out = change(registry::update(conn, &target, &spec, &admin.email, now))?;
        Ok((out, client.row.client_type))
    })
    .await;
    match done {
        Err(res) => res,
        Ok((_, (Change::Done(_), _))) => see_other(&format!("/admin/clients/{id}")).finish(),
        Ok((admin, (Change::NotFound, _))) => no_client(&admin, &id),
        Ok((admin, (Change::Invalid(e), client_type))) => {
            let mut input = input;
            input.client_type = client_type;
            form_page(
                &admin,
                StatusCode::UNPROCESSABLE_ENTITY,
                &id,
                input,
                Some(e),
            )
        }
    }
}

/// `POST /admin/clients/{id}/enabled` with `enabled=true|false`. Disabling also revokes the
/// client's refresh tokens (`registry::update`).
pub async fn set_enabled(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> HttpResponse {
    let (id, form) = match client_form(&req, &mut payload, path).await {
        Ok(read) => read,
        Err(res) => return res,
    };
    let enabled = match form.get("enabled") {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => None,
    };
    let target = id.clone();
    let done = run(&req, &state, presented(&form), move |conn, admin, now| {
        let Some(enabled) = enabled else {
            return Ok(None);
        };
        let Some(client) = client_rows::find(conn, &target)? else {
            return Ok(Some(Change::NotFound));
        };
        let mut spec = ClientSpec::of(&client);
        spec.enabled = enabled;
        change(registry::update(conn, &target, &spec, &admin.email, now)).map(Some)
    })
    .await;
    match done {
        Err(res) => res,
        Ok((admin, None)) => message(
            &admin,
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The form is not valid. Nothing was changed.",
        ),
        Ok((_, Some(Change::Done(_)))) => see_other(&format!("/admin/clients/{id}")).finish(),
        Ok((admin, Some(Change::NotFound))) => no_client(&admin, &id),
        Ok((admin, Some(Change::Invalid(e)))) => message(
            &admin,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Not changed",
            &format!("{e}. Edit the client to fix it first."),
        ),
    }
}

fn delete_page(admin: Admin, status: StatusCode, client: &Client) -> HttpResponse {
    console_page(
        status,
        render(&DeletePage {
            chrome: admin.chrome,
            client_id: client.row.client_id.clone(),
            client_name: client.row.client_name.clone(),
        }),
    )
}

/// `GET /admin/clients/{id}/delete`: the confirmation page.
pub async fn confirm_delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> HttpResponse {
    client_page(&req, &state, path, |admin, _, client| {
        delete_page(admin, StatusCode::OK, &client)
    })
    .await
}

/// `POST /admin/clients/{id}/delete`: deletes only with `confirm=yes` (sent by the
/// confirmation page); without it the confirmation page is shown and nothing changes.
pub async fn delete(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> HttpResponse {
    let (id, form) = match client_form(&req, &mut payload, path).await {
        Ok(read) => read,
        Err(res) => return res,
    };
    let confirmed = form.get("confirm") == Some("yes");
    let target = id.clone();
    let done = run(&req, &state, presented(&form), move |conn, admin, now| {
        if !confirmed {
            return Ok(client_rows::find(conn, &target)?.map(Err));
        }
        match registry::delete(conn, &target, &admin.email, now) {
            Ok(()) => Ok(Some(Ok(()))),
            Err(StorageError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    })
    .await;
    match done {
        Err(res) => res,
        Ok((_, Some(Ok(())))) => see_other("/admin").finish(),
        Ok((admin, Some(Err(client)))) => delete_page(admin, StatusCode::BAD_REQUEST, &client),
        Ok((admin, None)) => no_client(&admin, &id),
    }
}
