//! `POST /admin/clients/{id}/secret`: rotates a confidential client's secret. The new secret
//! is on the response page only (`Cache-Control: no-store`), never in a URL, log or audit
//! event.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::http::admin_console::clients::{change, Change};
use crate::http::admin_console::{client_form, console_page, message, no_client, presented, run};
use crate::registry;
use crate::storage::clients as client_rows;
use crate::web::admin::SecretPage;
use crate::web::{format_time, render};
use crate::AppState;

pub async fn rotate(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> HttpResponse {
    let (id, form) = match client_form(&req, &mut payload, path).await {
        Ok(read) => read,
        Err(res) => return res,
    };
    // Absent means "at once"; anything else must be a number the registry accepts.
    let grace = match form.get("grace_seconds") {
        None => Some(0),
        Some(v) => v.parse::<i64>().ok(),
    };
    let target = id.clone();
    let done = run(&req, &state, presented(&form), move |conn, admin, now| {
        let Some(grace) = grace else {
            return Ok(None);
        };
        let Some(client) = client_rows::find(conn, &target)? else {
            return Ok(Some(Change::NotFound));
        };
        let rotated = change(registry::rotate_secret(
            conn,
            &target,
            &admin.email,
            now,
            grace,
        ))?;
        Ok(Some(match rotated {
            Change::Done(secret) => {
                let until = (grace > 0).then(|| format_time(now + grace));
                Change::Done((client.row.client_name, secret, until))
            }
            Change::Invalid(e) => Change::Invalid(e),
            Change::NotFound => Change::NotFound,
        }))
    })
    .await;
    match done {
        Err(res) => res,
        Ok((admin, None)) => message(
            &admin,
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The grace period is not valid. Nothing was changed.",
        ),
        Ok((admin, Some(Change::NotFound))) => no_client(&admin, &id),
        Ok((admin, Some(Change::Invalid(e)))) => message(
            &admin,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Secret not rotated",
            &e.to_string(),
        ),
        Ok((admin, Some(Change::Done((client_name, secret, until))))) => console_page(
            StatusCode::OK,
            render(&SecretPage {
                chrome: admin.chrome,
                client_id: id,
                client_name,
                secret: secret.expose().to_string(),
                created: false,
                previous_until: until,
            }),
        ),
    }
}
