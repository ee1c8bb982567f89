//! `GET /admin/audit`: the most recent audit events (never a secret: none is ever recorded).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::http::admin_console::{console_page, run, Csrf};
use crate::storage::audit;
use crate::web::admin::{AuditLine, AuditPage};
use crate::web::{format_time, render};
use crate::AppState;

/// How many events the page shows.
const SHOWN: i64 = 200;

pub async fn recent(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let found = run(&req, &state, Csrf::NotNeeded, |conn, _, _| {
        audit::recent(conn, SHOWN)
    })
    .await;
    let (admin, events) = match found {
        Ok(found) => found,
        Err(res) => return res,
    };
    let html = render(&AuditPage {
        chrome: admin.chrome,
        events: events
            .into_iter()
            .map(|e| AuditLine {
                at: format_time(e.occurred_at),
                event: e.event,
                actor: e.actor.unwrap_or_default(),
                client_id: e.client_id.unwrap_or_default(),
                user_id: e.user_id.unwrap_or_default(),
                ip: e.ip.unwrap_or_default(),
                detail: if e.detail == "{}" {
                    String::new()
                } else {
                    e.detail
                },
            })
            .collect(),
    });
    console_page(StatusCode::OK, html)
}
