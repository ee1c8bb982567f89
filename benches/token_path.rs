//! Micro-benchmarks of the token path (issue 9, row 6): PKCE verification, JWT signing and
//! verification, client authentication, the authorization request validation, and the
//! refresh rotation on a real SQLite database.
//! `cargo bench`; see docs/benchmarks.md.

use std::hint::black_box;
use std::sync::Arc;

use base64::Engine;
use criterion::{criterion_group, criterion_main, Criterion};
use portcullis::config::Settings;
use portcullis::crypto::jwt::{self, AccessTokenClaims, Audience};
use portcullis::crypto::keys::{Alg, SigningKey};
use portcullis::crypto::secrets::{prefixed_id, PlainSecret};
use portcullis::oauth::client_auth;
use portcullis::oauth::params::Params;
use portcullis::oauth::pkce;
use portcullis::oauth::token::{self, TokenContext};
use portcullis::registry::{self, ClientSpec};
use portcullis::storage::codes::{self, CodeRow};
use portcullis::storage::{clients, now};
use portcullis::AppState;

/// A fresh SQLite database in a temporary folder, set up exactly as the server sets it up.
fn state(dir: &tempfile::TempDir) -> AppState {
    let settings = Settings {
        database_url: format!("sqlite://{}", dir.path().join("bench.db").display()),
        master_key: Some(
            base64::engine::general_purpose::STANDARD
                .encode(portcullis::crypto::secrets::random_bytes::<32>()),
        ),
        log_level: "warn".into(),
        ..Settings::default()
    };
    AppState::init(settings).expect("state")
}

fn claims() -> AccessTokenClaims {
    AccessTokenClaims {
        iss: "http://127.0.0.1:8080".into(),
        sub: "cli_0123456789abcdef".into(),
        aud: Audience::One("http://127.0.0.1:8080".into()),
        client_id: "cli_0123456789abcdef".into(),
        scope: Some("api:read api:write".into()),
        jti: prefixed_id::<16>("at_"),
        iat: now(),
        exp: now() + 600,
        auth_time: None,
    }
}

fn signer(state: &AppState, alg: Alg) -> Arc<SigningKey> {
    state.keys.current().signer(alg).cloned().expect("key")
}

fn bench_pkce(c: &mut Criterion) {
    let verifier = PlainSecret::generate();
    let challenge = pkce::s256(verifier.expose());
    c.bench_function("pkce_verify_s256", |b| {
        b.iter(|| pkce::verify(black_box(verifier.expose()), black_box(&challenge)))
    });
}

fn bench_jwt(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = state(&dir);
    let es = signer(&state, Alg::ES256);
    let rs = signer(&state, Alg::RS256);
    let claims = claims();
    c.bench_function("jwt_sign_es256", |b| {
        b.iter(|| jwt::sign_access_token(&es, black_box(&claims)))
    });
    c.bench_function("jwt_sign_rs256", |b| {
        b.iter(|| jwt::sign_access_token(&rs, black_box(&claims)))
    });
    // Verification as a resource server does it: the key is built once from the JWKS.
    let token = jwt::sign_access_token(&es, &claims);
    let kid = jsonwebtoken::decode_header(&token)
        .expect("header")
        .kid
        .expect("kid");
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_slice(&state.keys.current().jwks()).expect("jwks");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwks.find(&kid).expect("jwk")).expect("key");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&["http://127.0.0.1:8080"]);
    validation.set_issuer(&["http://127.0.0.1:8080"]);
    c.bench_function("jwt_verify_es256", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<serde_json::Value>(black_box(&token), &key, &validation)
                .expect("valid")
        })
    });
}

fn service_spec() -> ClientSpec {
    ClientSpec {
        client_name: "bench".into(),
        client_type: "confidential".into(),
        redirect_uris: vec!["https://bench.example/cb".into()],
        grant_types: vec![
            "authorization_code".into(),
            "refresh_token".into(),
            "client_credentials".into(),
        ],
        scope: "api:read".into(),
        enabled: true,
        ..ClientSpec::default()
    }
}

fn bench_client_auth(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = state(&dir);
    let (client, secret) = state
        .db
        .run_blocking(|conn| {
            registry::create(conn, &service_spec(), "bench", now()).map_err(|e| match e {
                registry::RegistryError::Storage(s) => s,
                other => portcullis::storage::StorageError::Other(other.to_string()),
            })
        })
        .expect("client");
    let secret = secret.expect("secret");
    let header = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            client.id(),
            secret.expose()
        ))
    );
    let params = Params::parse("grant_type=client_credentials").expect("params");
    c.bench_function("client_auth_basic", |b| {
        b.iter(|| {
            let presented = client_auth::extract(Some(black_box(&header)), &params).expect("ok");
            client_auth::authenticate(&presented, Some(&client), now()).expect("ok")
        })
    });
    // The authorization request validation of /authorize with the client already loaded
    // (oauth::authorize::validate: redirect URI, response type, PKCE, scope, state).
    let verifier = PlainSecret::generate();
    let query = format!(
        "response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fbench.example%2Fcb\
         &scope=api%3Aread&state=s1&code_challenge={}&code_challenge_method=S256",
        client.id(),
        pkce::s256(verifier.expose())
    );
    c.bench_function("authorize_validate", |b| {
        b.iter(|| {
            let params = Params::parse(black_box(&query)).expect("params");
            portcullis::oauth::authorize::validate(&params, Some(&client), &[])
                .map(|_| ())
                .map_err(|_| ())
                .expect("valid")
        })
    });
    c.bench_function("client_lookup_sqlite", |b| {
        let mut conn = state.db.conn().expect("conn");
        b.iter(|| clients::find(&mut conn, black_box(client.id())).expect("found"))
    });
}

/// One refresh-token exchange per iteration, each presenting the token the previous one
/// returned: client lookup and authentication, the reads, the `BEGIN IMMEDIATE` rotation
/// transaction, and the ES256 access token.
fn bench_refresh_rotation(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = state(&dir);
    let ctx = TokenContext {
        issuer: state.issuer.clone(),
        settings: state.settings.clone(),
        keys: state.keys.current(),
        ip: None,
    };
    let mut conn = state.db.conn().expect("conn");
    let (client, secret) =
        registry::create(&mut conn, &service_spec(), "bench", now()).expect("client");
    let secret = secret.expect("secret");
    let header = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            client.id(),
            secret.expose()
        ))
    );
    let user = portcullis::account::users::new_user(
        "bench@bench.example",
        "correct horse battery staple",
        false,
        now(),
    )
    .expect("user");
    portcullis::storage::users::insert(&mut conn, &user).expect("user");
    {
        use diesel::prelude::*;
        use portcullis::storage::schema::consents;
        diesel::insert_into(consents::table)
            .values((
                consents::user_id.eq(&user.user_id),
                consents::client_id.eq(client.id()),
                consents::scope.eq("api:read"),
                consents::created_at.eq(now()),
                consents::updated_at.eq(now()),
            ))
            .execute(&mut *conn)
            .expect("consent");
    }
    let code = PlainSecret::generate();
    let verifier = PlainSecret::generate();
    codes::insert(
        &mut conn,
        &CodeRow {
            code_hash: code.hash().to_vec(),
            client_id: client.id().to_string(),
            user_id: user.user_id.clone(),
            session_hash: None,
            redirect_uri: "https://bench.example/cb".into(),
            scope: "api:read".into(),
            resource: None,
            code_challenge: pkce::s256(verifier.expose()),
            code_challenge_method: "S256".into(),
            nonce: None,
            auth_time: now(),
            app_identity_id: None,
            family_id: prefixed_id::<16>("fam_"),
            created_at: now(),
            expires_at: now() + 60,
            used_at: None,
        },
    )
    .expect("code");
    let body = format!(
        "grant_type=authorization_code&code={}&code_verifier={}",
        code.expose(),
        verifier.expose()
    );
    let first = token::exchange(
        &mut conn,
        &Params::parse(&body).expect("params"),
        Some(&header),
        &ctx,
        now(),
    );
    let mut refresh = first.result.expect("exchange").refresh_token.expect("rt");
    c.bench_function("refresh_rotation_sqlite", |b| {
        b.iter(|| {
            let params =
                Params::parse(&format!("grant_type=refresh_token&refresh_token={refresh}"))
                    .expect("params");
            let out = token::exchange(&mut conn, &params, Some(&header), &ctx, now());
            refresh = out.result.expect("rotated").refresh_token.expect("rt");
        })
    });
}

criterion_group!(
    benches,
    bench_pkce,
    bench_jwt,
    bench_client_auth,
    bench_refresh_rotation
);
criterion_main!(benches);
