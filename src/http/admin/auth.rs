//! Admin API authentication: `Authorization: Bearer <admin token>` only — never a query
//! parameter (a URL ends up in logs and Referer headers; RFC 6750 §5.3).

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, FromRequest, HttpRequest};

use crate::crypto::secrets::PlainSecret;
use crate::http::admin::errors::ApiError;
use crate::storage::admin_tokens::{self, TokenCheck};
use crate::storage::{now, Conn};
use crate::AppState;

/// The bearer token as presented; checked against the database by [`run`], in the same
/// `db.run` as the operation.
pub struct BearerToken(PlainSecret);

/// An authenticated admin.
#[derive(Debug, Clone)]
pub struct Admin {
    pub token_id: String,
    pub user_id: String,
    pub email: String,
}

impl Admin {
    /// The audit actor: who (the user) and through what (the token id), never the token.
    pub fn actor(&self) -> String {
        format!("{} via {}", self.email, self.token_id)
    }
}

fn is_b64token(s: &str) -> bool {
    // RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    let body = s.trim_end_matches('=');
    !body.is_empty()
        && s.len() <= 512
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

impl FromRequest for BearerToken {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let mut values = req.headers().get_all(AUTHORIZATION);
        let result = match (values.next(), values.next()) {
            (None, _) => Err(ApiError::missing_token()),
            (Some(_), Some(_)) => Err(ApiError::invalid_token()),
            (Some(value), None) => {
                let value = value.to_str().unwrap_or("");
                match value.split_once(' ') {
                    // The scheme is case-insensitive (RFC 9110 §11.1).
                    Some((scheme, token))
                        if scheme.eq_ignore_ascii_case("bearer") && is_b64token(token) =>
                    {
                        Ok(BearerToken(PlainSecret::from_presented(token)))
                    }
                    Some((scheme, _)) if !scheme.eq_ignore_ascii_case("bearer") => {
                        Err(ApiError::missing_token())
                    }
                    _ => Err(ApiError::invalid_token()),
                }
            }
        };
        ready(result)
    }
}

/// Checks the token: 401 when unknown or revoked, 403 when its user is not (or no longer) an
/// enabled admin.
pub fn check(conn: &mut Conn, token: &BearerToken, at: i64) -> Result<Admin, ApiError> {
    match admin_tokens::check(conn, &token.0.hash(), at)? {
        TokenCheck::Invalid => Err(ApiError::invalid_token()),
        TokenCheck::Forbidden { .. } => Err(ApiError::forbidden(
            "the token's user is not an enabled admin",
        )),
        TokenCheck::Admin {
            token_id,
            user_id,
            email,
        } => Ok(Admin {
            token_id,
            user_id,
            email,
        }),
    }
}

/// Authenticates and runs `op` in one `db.run`: one trip to the database threads per request.
pub async fn run<T, F>(
    state: &web::Data<AppState>,
    token: BearerToken,
    op: F,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut Conn, &Admin, i64) -> Result<T, ApiError> + Send + 'static,
{
    let result = state
        .db
        .run(move |conn| {
            let at = now();
            Ok(check(conn, &token, at).and_then(|admin| op(conn, &admin, at)))
        })
        .await;
    result.map_err(ApiError::from)?
}
