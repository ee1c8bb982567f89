//! Client authentication at the token, introspection and revocation endpoints
//! (RFC 6749 §2.3, OAuth 2.1 §2.4): `client_secret_basic`, `client_secret_post`, or `none`
//! for public clients, exactly one per request, and the one the client registered.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::crypto::secrets::SecretHash;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::params::Params;
use crate::storage::clients::{self, Client};
use crate::storage::{Conn, StorageError};

/// How the client presented itself.
#[derive(Clone, PartialEq, Eq)]
pub enum Presented {
    /// `Authorization: Basic` with form-urlencoded id and secret (RFC 6749 §2.3.1).
    Basic { client_id: String, secret: String },
    /// `client_id` and `client_secret` in the form body.
    Post { client_id: String, secret: String },
    /// A public client: `client_id` only.
    None { client_id: String },
}

impl std::fmt::Debug for Presented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        write!(f, "Presented({} {})", self.method(), self.client_id())
    }
}

impl Presented {
    pub fn client_id(&self) -> &str {
        match self {
            Presented::Basic { client_id, .. }
            | Presented::Post { client_id, .. }
            | Presented::None { client_id } => client_id,
        }
    }

    /// The RFC 7591 name of the method used.
    pub fn method(&self) -> &'static str {
        match self {
            Presented::Basic { .. } => "client_secret_basic",
            Presented::Post { .. } => "client_secret_post",
            Presented::None { .. } => "none",
        }
    }
}

fn invalid_client(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClient, description)
}

/// Reads the client's credentials from the `Authorization` header and the form. Other
/// authorization schemes (a bearer token, say) are not client authentication and are ignored.
pub fn extract(authorization: Option<&str>, params: &Params) -> Result<Presented, OAuthError> {
    for name in ["client_id", "client_secret"] {
        if params.is_duplicated(name) {
            return Err(OAuthError::invalid_request(format!("{name} is repeated")));
        }
    }
    let basic = match authorization {
        Some(value) => parse_basic(value)?,
        None => None,
    };
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    match (basic, body_id, body_secret) {
        (Some(_), _, Some(_)) => Err(OAuthError::invalid_request(
            "more than one client authentication method was used",
        )),
        (Some((client_id, secret)), body_id, None) => {
            if body_id.is_some_and(|id| id != client_id) {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the authenticated client",
                ));
            }
            Ok(Presented::Basic { client_id, secret })
        }
        (None, Some(id), Some(secret)) => Ok(Presented::Post {
            client_id: id.to_string(),
            secret: secret.to_string(),
        }),
        (None, Some(id), None) => Ok(Presented::None {
            client_id: id.to_string(),
        }),
        (None, None, Some(_)) => Err(invalid_client("client_secret without client_id")),
        (None, None, None) => Err(invalid_client("client authentication is required")),
    }
}

/// Parses `Basic base64(urlencode(id):urlencode(secret))`. Returns `None` for other schemes.
fn parse_basic(value: &str) -> Result<Option<(String, String)>, OAuthError> {
    let Some((scheme, rest)) = value.trim().split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let malformed = || invalid_client("malformed Basic credentials");
    let decoded = STANDARD.decode(rest.trim()).map_err(|_| malformed())?;
    let text = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = text.split_once(':').ok_or_else(malformed)?;
    // RFC 6749 §2.3.1: the id and secret are form-urlencoded before Basic encoding.
    let id = form_decode(id).ok_or_else(malformed)?;
    let secret = form_decode(secret).ok_or_else(malformed)?;
    if id.is_empty() {
        return Err(malformed());
    }
    Ok(Some((id, secret)))
}

fn form_decode(s: &str) -> Option<String> {
    let params = Params::parse(&format!("v={s}")).ok()?;
    Some(params.get("v").unwrap_or("").to_string())
}

/// Checks presented credentials against the registered client. Unknown, disabled, wrong
/// method and wrong secret all answer the same `invalid_client` (no enumeration). Secrets are
/// compared as SHA-256 hashes in constant time; the previous secret is accepted until its
/// grace period ends.
pub fn authenticate(
    presented: &Presented,
    client: Option<&Client>,
    now: i64,
) -> Result<(), OAuthError> {
    let failed = || invalid_client("client authentication failed");
    let client = client.filter(|c| c.row.enabled).ok_or_else(failed)?;
    if client.row.token_endpoint_auth_method != presented.method() {
        return Err(failed().with_source(format!(
            "client {} registered {} but used {}",
            client.id(),
            client.row.token_endpoint_auth_method,
            presented.method()
        )));
    }
    match presented {
        Presented::None { .. } => {
            // A public client: nothing to verify, and nothing it sends is a secret.
            if client.is_confidential() {
                return Err(failed());
            }
            Ok(())
        }
        Presented::Basic { secret, .. } | Presented::Post { secret, .. } => {
            let presented_hash = SecretHash::of(secret.as_bytes());
            let current = client
                .row
                .secret_hash
                .as_deref()
                .is_some_and(|h| presented_hash.matches(h));
            let previous = client
                .row
                .previous_secret_expires_at
                .is_some_and(|t| t > now)
                && client
                    .row
                    .previous_secret_hash
                    .as_deref()
                    .is_some_and(|h| presented_hash.matches(h));
            if current | previous {
                Ok(())
            } else {
                Err(failed())
            }
        }
    }
}

/// Loads the client a request names and authenticates it (introspection, revocation): the
/// outer error is storage, the inner one the OAuth refusal. On success `origins` receives the
/// client's registered CORS origins.
pub fn authenticate_caller(
    conn: &mut Conn,
    presented: &Presented,
    now: i64,
    origins: &mut Vec<String>,
) -> Result<Result<(), OAuthError>, StorageError> {
    let client = clients::find(conn, presented.client_id())?;
    if let Err(err) = authenticate(presented, client.as_ref(), now) {
        return Ok(Err(err));
    }
    if let Some(client) = client {
        *origins = client.cors_origins;
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(s: &str) -> Params {
        Params::parse(s).unwrap()
    }

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let p = extract(Some(&basic("cli_1", "a%2Bb%3Ac")), &params("grant_type=x")).unwrap();
        assert_eq!(
            p,
            Presented::Basic {
                client_id: "cli_1".into(),
                secret: "a+b:c".into()
            }
        );
    }

    #[test]
    fn two_methods_at_once_are_an_invalid_request() {
        let err = extract(
            Some(&basic("a", "b")),
            &params("client_id=a&client_secret=b"),
        )
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn bad_input_is_refused() {
        let cases = [
            (Some("Basic !!!"), "", ErrorCode::InvalidClient),
            (Some("Basic Zm9v"), "", ErrorCode::InvalidClient),
            (None, "", ErrorCode::InvalidClient),
            (None, "client_secret=x", ErrorCode::InvalidClient),
            (None, "client_id=a&client_id=b", ErrorCode::InvalidRequest),
        ];
        for (header, body, code) in cases {
            assert_eq!(
                extract(header, &params(body)).unwrap_err().code,
                code,
                "{header:?} {body}"
            );
        }
        let mismatch = extract(Some(&basic("a", "s")), &params("client_id=b")).unwrap_err();
        assert_eq!(mismatch.code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn a_bearer_header_is_not_client_authentication() {
        let p = extract(Some("Bearer abc"), &params("client_id=pub")).unwrap();
        assert_eq!(
            p,
            Presented::None {
                client_id: "pub".into()
            }
        );
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let p = extract(Some(&basic("a", "topsecret")), &params("")).unwrap();
        assert!(!format!("{p:?}").contains("topsecret"));
    }
}
