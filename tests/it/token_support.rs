//! Fixtures for the token endpoint tests: users, clients and codes made through the real
//! repositories, requests through the real app, and JWT checks with jsonwebtoken against the
//! published JWKS.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test;
use base64::Engine;
use diesel::prelude::*;
use portcullis::account::users::new_user;
use portcullis::crypto::secrets::{prefixed_id, PlainSecret};
use portcullis::oauth::params::Params;
use portcullis::oauth::pkce;
use portcullis::oauth::token::{self, Exchange, TokenContext};
use portcullis::registry::{self, ClientSpec};
use portcullis::storage::clients::Client;
use portcullis::storage::codes::{self, CodeRow};
use portcullis::storage::{now, users};
use serde_json::Value;

use crate::support::TestApp;

pub const REDIRECT: &str = "https://app.example/cb";
pub const ORIGIN: &str = "https://app.example";

/// A registered client and its secret (confidential clients only).
pub struct TestClient {
    pub client: Client,
    pub secret: Option<PlainSecret>,
}

impl TestClient {
    pub fn id(&self) -> &str {
        self.client.id()
    }

    /// `Authorization: Basic …` with the form-encoded id and secret (RFC 6749 §2.3.1).
    pub fn basic(&self) -> String {
        let secret = self.secret.as_ref().expect("a confidential client");
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                self.id(),
                secret.expose()
            ))
        )
    }

    /// The credentials to add to the body (`client_secret_post` or `none`).
    pub fn body_credentials(&self) -> String {
        match &self.secret {
            Some(s) => format!("client_id={}&client_secret={}", self.id(), s.expose()),
            None => format!("client_id={}", self.id()),
        }
    }
}

/// A public web client allowed the code and refresh grants, with a CORS origin.
pub fn public_spec() -> ClientSpec {
    ClientSpec {
        client_name: "Web App".into(),
        client_type: "public".into(),
        redirect_uris: vec![REDIRECT.into()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scope: "openid profile offline_access api:read api:write".into(),
        cors_origins: vec![ORIGIN.into()],
        enabled: true,
        ..ClientSpec::default()
    }
}

/// A confidential client (Basic by default) allowed every grant.
pub fn confidential_spec() -> ClientSpec {
    ClientSpec {
        client_name: "Backend".into(),
        client_type: "confidential".into(),
        redirect_uris: vec![REDIRECT.into()],
        grant_types: vec![
            "authorization_code".into(),
            "refresh_token".into(),
            "client_credentials".into(),
        ],
        scope: "openid profile api:read api:write".into(),
        enabled: true,
        ..ClientSpec::default()
    }
}

pub fn create_client(app: &TestApp, spec: ClientSpec) -> TestClient {
    let (client, secret) =
        app.with_conn(|conn| registry::create(conn, &spec, "test", now()).map_err(Into::into));
    TestClient { client, secret }
}

/// Creates an enabled user and returns its id.
pub fn create_user(app: &TestApp) -> String {
    let email = format!("{}@example.com", prefixed_id::<6>("u"));
    let row = new_user(&email, "correct horse battery staple", false, now()).expect("user");
    app.with_conn(|conn| users::insert(conn, &row));
    row.user_id
}

/// Records the user's consent for the client. The consents repository is written by the
/// consent flow (another branch); until it lands this uses diesel's query builder on the
/// shared schema.
pub fn grant_consent(app: &TestApp, user_id: &str, client_id: &str, scope: &str) {
    use portcullis::storage::schema::consents;
    app.with_conn(|conn| {
        diesel::insert_into(consents::table)
            .values((
                consents::user_id.eq(user_id),
                consents::client_id.eq(client_id),
                consents::scope.eq(scope),
                consents::created_at.eq(now()),
                consents::updated_at.eq(now()),
            ))
            .execute(conn)?;
        Ok(())
    });
}

pub fn revoke_consent(app: &TestApp, user_id: &str, client_id: &str) {
    use portcullis::storage::schema::consents;
    app.with_conn(|conn| {
        diesel::delete(
            consents::table
                .filter(consents::user_id.eq(user_id))
                .filter(consents::client_id.eq(client_id)),
        )
        .execute(conn)?;
        Ok(())
    });
}

/// An authorization code as /authorize would store it.
pub struct TestCode {
    pub code: String,
    pub verifier: String,
    pub family_id: String,
}

pub fn verifier() -> String {
    PlainSecret::generate().expose().to_string()
}

pub fn issue_code(
    app: &TestApp,
    client_id: &str,
    user_id: &str,
    scope: &str,
    nonce: Option<&str>,
    expires_at: i64,
) -> TestCode {
    issue_code_in_session(app, client_id, user_id, scope, nonce, expires_at, None)
}

/// A code issued inside an SSO session (its refresh family is bound to that session).
pub fn issue_code_in_session(
    app: &TestApp,
    client_id: &str,
    user_id: &str,
    scope: &str,
    nonce: Option<&str>,
    expires_at: i64,
    session_hash: Option<Vec<u8>>,
) -> TestCode {
    let code = PlainSecret::generate();
    let verifier = verifier();
    let family_id = prefixed_id::<16>("fam_");
    let at = now();
    let row = CodeRow {
        code_hash: code.hash().to_vec(),
        client_id: client_id.to_string(),
        user_id: user_id.to_string(),
        session_hash,
        redirect_uri: REDIRECT.to_string(),
        scope: scope.to_string(),
        resource: None,
        code_challenge: pkce::s256(&verifier),
        code_challenge_method: "S256".into(),
        nonce: nonce.map(str::to_string),
        auth_time: at - 5,
        app_identity_id: None,
        family_id: family_id.clone(),
        created_at: at,
        expires_at,
        used_at: None,
    };
    app.with_conn(|conn| codes::insert(conn, &row));
    TestCode {
        code: code.expose().to_string(),
        verifier,
        family_id,
    }
}

/// The body of a code exchange.
pub fn code_body(code: &TestCode) -> String {
    format!(
        "grant_type=authorization_code&code={}&code_verifier={}&redirect_uri={}",
        code.code,
        code.verifier,
        urlencode(REDIRECT)
    )
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The result of one HTTP call.
pub struct Reply {
    pub status: u16,
    pub headers: actix_web::http::header::HeaderMap,
    pub json: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }

    pub fn error(&self) -> &str {
        self.json["error"].as_str().unwrap_or("")
    }

    /// Asserts an OAuth error response with this status and code.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.error()),
            (status, code),
            "unexpected reply: {}",
            self.json
        );
        assert_eq!(self.header("cache-control"), "no-store");
    }

    pub fn str(&self, field: &str) -> String {
        self.json[field]
            .as_str()
            .unwrap_or_else(|| panic!("{field} missing in {}", self.json))
            .to_string()
    }
}

pub async fn call<S, B>(svc: &S, req: actix_http::Request) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = test::call_service(svc, req).await;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = test::read_body(res).await;
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        json,
    }
}

/// `POST /token` with a form body, an optional Authorization header and Origin.
pub fn token_request(
    body: &str,
    authorization: Option<&str>,
    origin: Option<&str>,
) -> actix_http::Request {
    let mut req = test::TestRequest::post()
        .uri("/token")
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .set_payload(body.to_string());
    if let Some(a) = authorization {
        req = req.insert_header(("authorization", a.to_string()));
    }
    if let Some(o) = origin {
        req = req.insert_header(("origin", o.to_string()));
    }
    req.to_request()
}

pub async fn post_token<S, B>(svc: &S, body: &str, authorization: Option<&str>) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    call(svc, token_request(body, authorization, None)).await
}

/// The context the handler builds, for calling the protocol core directly.
pub fn context(app: &TestApp) -> TokenContext {
    TokenContext {
        issuer: app.state.issuer.clone(),
        settings: app.state.settings.clone(),
        keys: app.state.keys.current(),
        ip: None,
    }
}

/// Runs the protocol core at a chosen instant, on the calling thread.
pub fn exchange_at(app: &TestApp, body: &str, authorization: Option<&str>, at: i64) -> Exchange {
    let params = Params::parse(body).expect("test bodies parse");
    let ctx = context(app);
    app.state
        .db
        .run_blocking(|conn| Ok(token::exchange(conn, &params, authorization, &ctx, at)))
        .expect("database")
}

/// Verifies a JWT against the published JWKS and returns (header, claims). `aud` is the
/// expected audience; `typ` the expected header type.
pub fn verify_jwt(
    app: &TestApp,
    token: &str,
    typ: &str,
    aud: &str,
) -> (jsonwebtoken::Header, Value) {
    let header = jsonwebtoken::decode_header(token).expect("a JWT header");
    assert_eq!(header.typ.as_deref(), Some(typ));
    let kid = header.kid.clone().expect("kid in the header");
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_slice(&app.state.keys.current().jwks()).expect("JWKS");
    let jwk = jwks.find(&kid).expect("the signing key is published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).expect("a usable JWK");
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_audience(&[aud]);
    validation.set_issuer(&[app.state.issuer.as_ref()]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<Value>(token, &key, &validation).expect("a valid JWT");
    (header, data.claims)
}
