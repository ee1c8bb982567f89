//! `/admin/api/audit?limit=N`: the most recent audit events, newest first.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json as j, Value};

use crate::http::admin::auth::{self, BearerToken};
use crate::http::admin::errors::ApiError;
use crate::http::admin::{json, query_param};
use crate::storage::audit;
use crate::AppState;

/// The most events one request returns.
const MAX_LIMIT: i64 = 500;

pub async fn recent(
    state: web::Data<AppState>,
    token: BearerToken,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let limit = query_param(&req, "limit");
    let events = auth::run(&state, token, move |conn, _, _| {
        let limit = match limit {
            None => 50,
            Some(s) => s
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid_field("limit", format!("limit: 1 to {MAX_LIMIT}"))
                })?,
        };
        let events = audit::recent(conn, limit)?;
        Ok(events
            .into_iter()
            .map(|e| {
                j!({
                    "event_id": e.event_id,
                    "occurred_at": e.occurred_at,
                    "event": e.event,
                    "actor": e.actor,
                    "client_id": e.client_id,
                    "user_id": e.user_id,
                    "ip": e.ip,
                    "detail": serde_json::from_str::<Value>(&e.detail).unwrap_or(Value::Null),
                })
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(json(StatusCode::OK, &events))
}
