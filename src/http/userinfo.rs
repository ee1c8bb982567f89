//! `GET/POST /userinfo` (OIDC Core §5.3). The access token comes in the `Authorization:
//! Bearer` header only: in the query string it would land in logs and histories (OAuth 2.1
//! §5.1 MUST NOT), and we do not take the form-body method either. Failures follow RFC 6750
//! §3: every 401 carries a `WWW-Authenticate: Bearer` challenge, with no error code when no
//! token was sent at all.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::http::cors;
use crate::http::errors::REALM;
use crate::http::form;
use crate::storage::{clients, families, now, users, StorageError};
use crate::verify::token::{self, Expectations};
use crate::AppState;

/// A refusal rendered as an RFC 6750 §3 challenge.
struct BearerError {
    status: StatusCode,
    /// `None`: no token was sent; the challenge carries only the realm.
    error: Option<&'static str>,
    description: &'static str,
    scope: Option<&'static str>,
}

impl BearerError {
    fn missing() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: None,
            description: "",
            scope: None,
        }
    }

    fn invalid_request(description: &'static str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error: Some("invalid_request"),
            description,
            scope: None,
        }
    }

    fn invalid_token(description: &'static str) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: Some("invalid_token"),
            description,
            scope: None,
        }
    }

    fn render(&self) -> HttpResponse {
        let mut challenge = format!("Bearer realm=\"{REALM}\"");
        if let Some(error) = self.error {
            challenge.push_str(&format!(
                ", error=\"{error}\", error_description=\"{}\"",
                self.description
            ));
        }
        if let Some(scope) = self.scope {
            challenge.push_str(&format!(", scope=\"{scope}\""));
        }
        let mut res = HttpResponse::build(self.status);
        res.insert_header(("WWW-Authenticate", challenge))
            .insert_header(("Cache-Control", "no-store"));
        match self.error {
            Some(error) => res.json(serde_json::json!({
                "error": error,
                "error_description": self.description,
            })),
            None => res.finish(),
        }
    }
}

fn unavailable(err: StorageError) -> HttpResponse {
    crate::http::errors::oauth_json(&err.into())
}

#[derive(Serialize)]
struct UserInfo {
    sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email_verified: Option<bool>,
}

/// Finds the bearer token of the request, refusing every other way of sending one.
fn bearer_token(
    req: &HttpRequest,
    body: Option<&crate::oauth::params::Params>,
) -> Result<String, BearerError> {
    let in_query = crate::oauth::params::Params::parse(req.query_string())
        .map(|p| p.names().any(|n| n == "access_token"))
        .unwrap_or(true);
    if in_query {
        return Err(BearerError::invalid_request(
            "access tokens are not accepted in the URI",
        ));
    }
    if body.is_some_and(|p| p.names().any(|n| n == "access_token")) {
        return Err(BearerError::invalid_request(
            "send the access token in the Authorization header",
        ));
    }
    let mut headers = req
        .headers()
        .get_all(actix_web::http::header::AUTHORIZATION);
    let Some(value) = headers.next() else {
        return Err(BearerError::missing());
    };
    if headers.next().is_some() {
        return Err(BearerError::invalid_request(
            "more than one Authorization header",
        ));
    }
    let value = value.to_str().unwrap_or("");
    match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => {
            let token = rest.trim();
            if token.is_empty() || token.contains(' ') {
                Err(BearerError::invalid_request("malformed Bearer credentials"))
            } else {
                Ok(token.to_string())
            }
        }
        _ => Err(BearerError::missing()),
    }
}

pub async fn userinfo_get(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    answer(state, req, None).await
}

pub async fn userinfo_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Option<form::OAuthForm>,
) -> HttpResponse {
    // A form body is read only to refuse a token sent in it.
    answer(state, req, body.map(|form::OAuthForm(p)| p)).await
}

/// CORS (issue 6): `Vary: Origin` always; the origin is allowed only when the token's client
/// registered it.
async fn answer(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Option<crate::oauth::params::Params>,
) -> HttpResponse {
    let origin = cors::origin(&req);
    cors::finish(origin.as_deref(), respond(state, req, body).await)
}

async fn respond(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Option<crate::oauth::params::Params>,
) -> (HttpResponse, Vec<String>) {
    let token = match bearer_token(&req, body.as_ref()) {
        Ok(t) => t,
        Err(e) => return (e.render(), Vec::new()),
    };
    let at = now();
    let keys = state.keys.current().verifying_keys();
    // The token must be ours, alive, and meant for the issuer: `openid` puts the issuer in
    // `aud` (oauth::audience::resolve).
    let expect = Expectations {
        issuer: &state.issuer,
        audience: Some(&state.issuer),
        now: at,
        leeway: 0,
    };
    let claims = match token::check(&token, &keys, &expect) {
        Ok(c) => c,
        Err(_) => {
            return (
                BearerError::invalid_token("the access token is not valid").render(),
                Vec::new(),
            )
        }
    };
    // OIDC Core §5.3: the UserInfo endpoint needs an access token granted `openid`.
    if !claims.has_scope("openid") {
        let refusal = BearerError {
            status: StatusCode::FORBIDDEN,
            error: Some("insufficient_scope"),
            description: "the access token was not granted openid",
            scope: Some("openid"),
        };
        return (refusal.render(), Vec::new());
    }
    let (jti, sub) = (claims.jti.clone(), claims.sub.clone());
    let client_id = claims.client_id.clone();
    // One round trip: the revocation list, the user, and the token client's CORS origins.
    let looked_up = state
        .db
        .run(move |conn| {
            let origins = clients::find(conn, &client_id)?
                .filter(|c| c.row.enabled)
                .map(|c| c.cors_origins)
                .unwrap_or_default();
            if families::access_token_revoked(conn, &jti)? {
                return Ok((None, origins));
            }
            Ok((users::find(conn, &sub)?, origins))
        })
        .await;
    let (user, origins) = match looked_up {
        Ok((Some(user), origins)) if user.enabled => (user, origins),
        Ok((_, origins)) => {
            return (
                BearerError::invalid_token("the access token is not valid").render(),
                origins,
            )
        }
        Err(err) => return (unavailable(err), Vec::new()),
    };
    let with_email = claims.has_scope("email");
    let res = HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Pragma", "no-cache"))
        .json(UserInfo {
            sub: user.user_id,
            email: with_email.then_some(user.email),
            email_verified: with_email.then_some(user.email_verified),
        });
    (res, origins)
}
