//! Benchmark fixture (not part of the server): seeds what `bench/run.sh` consumes, through the
//! library, without going through the endpoints a row does not measure.
//!
//! With the server's `PORTCULLIS_*` settings in the environment it opens the same database and:
//!
//! - `bench_seed refresh CLIENT_ID CLIENT_SECRET N`: creates one enabled user who consented to
//!   the client, stores N authorization codes with known PKCE verifiers as /authorize would,
//!   redeems each through the real token exchange (client authentication, PKCE, the same
//!   transaction), and prints the N refresh tokens, one per line;
//! - `bench_seed access CLIENT_ID CLIENT_SECRET`: the same with one code, printing its access
//!   token (a JWT) instead;
//! - `bench_seed session CLIENT_ID SCOPE`: creates a user with a live SSO session and a
//!   remembered consent to SCOPE for the client, and prints three lines: the session cookie's
//!   value, a PKCE verifier and its S256 challenge.

use base64::Engine;
use portcullis::account::session::new_session;
use portcullis::account::users::new_user;
use portcullis::config::Settings;
use portcullis::crypto::secrets::{prefixed_id, PlainSecret};
use portcullis::oauth::params::Params;
use portcullis::oauth::pkce;
use portcullis::oauth::token::{self, TokenContext, TokenResponse};
use portcullis::storage::codes::{self, CodeRow};
use portcullis::storage::users::UserRow;
use portcullis::storage::{consents, now, sessions, users, Conn, StorageError};
use portcullis::AppState;

const REDIRECT: &str = "https://bench.example/cb";
const SCOPE: &str = "api:read";
const USAGE: &str = "usage: bench_seed refresh CLIENT_ID CLIENT_SECRET N \
                     | access CLIENT_ID CLIENT_SECRET | session CLIENT_ID SCOPE";

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = Settings::load(None).map_err(|e| e.to_string())?;
    let state = AppState::init(settings).map_err(|e| e.to_string())?;
    let lines = match args.as_slice() {
        [cmd, client_id, secret, n] if cmd == "refresh" => {
            let n: usize = n.parse().map_err(|_| "N must be a number")?;
            exchanges(&state, client_id, secret, n)?
                .into_iter()
                .map(|r| r.refresh_token.ok_or("no refresh token issued"))
                .collect::<Result<Vec<_>, _>>()?
        }
        [cmd, client_id, secret] if cmd == "access" => exchanges(&state, client_id, secret, 1)?
            .into_iter()
            .map(|r| r.access_token)
            .collect(),
        [cmd, client_id, scope] if cmd == "session" => session(&state, client_id, scope)?,
        _ => return Err(USAGE.into()),
    };
    for line in lines {
        println!("{line}");
    }
    Ok(())
}

/// A new enabled user who consented to `scope` for the client.
fn consenting_user(
    conn: &mut Conn,
    client_id: &str,
    scope: &str,
    at: i64,
) -> Result<UserRow, StorageError> {
    let user = new_user(
        &format!("{}@bench.example", prefixed_id::<6>("u")),
        "correct horse battery staple",
        false,
        at,
    )
    .map_err(|e| StorageError::Other(e.to_string()))?;
    users::insert(conn, &user)?;
    consents::upsert(conn, &user.user_id, client_id, scope, at)?;
    Ok(user)
}

fn session(state: &AppState, client_id: &str, scope: &str) -> Result<Vec<String>, String> {
    let at = now();
    let verifier = PlainSecret::generate();
    let cookie = state
        .db
        .run_blocking(|conn| {
            let user = consenting_user(conn, client_id, scope, at)?;
            let session = new_session(
                &user.user_id,
                false,
                None,
                None,
                at,
                &state.settings.sessions,
            );
            sessions::insert(conn, &session.row)?;
            Ok(session.cookie_value)
        })
        .map_err(|e| e.to_string())?;
    Ok(vec![
        cookie.expose().to_string(),
        verifier.expose().to_string(),
        pkce::s256(verifier.expose()),
    ])
}

/// N codes stored as /authorize would, each redeemed through the real token exchange.
fn exchanges(
    state: &AppState,
    client_id: &str,
    secret: &str,
    n: usize,
) -> Result<Vec<TokenResponse>, String> {
    let at = now();
    let ctx = TokenContext {
        issuer: state.issuer.clone(),
        settings: state.settings.clone(),
        keys: state.keys.current(),
        ip: None,
    };
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"))
    );
    state
        .db
        .run_blocking(|conn| {
            let user = consenting_user(conn, client_id, SCOPE, at)?;
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                let code = PlainSecret::generate();
                let verifier = PlainSecret::generate();
                codes::insert(
                    conn,
                    &CodeRow {
                        code_hash: code.hash().to_vec(),
                        client_id: client_id.to_string(),
                        user_id: user.user_id.clone(),
                        session_hash: None,
                        redirect_uri: REDIRECT.into(),
                        scope: SCOPE.into(),
                        resource: None,
                        code_challenge: pkce::s256(verifier.expose()),
                        code_challenge_method: "S256".into(),
                        nonce: None,
                        auth_time: at,
                        app_identity_id: None,
                        family_id: prefixed_id::<16>("fam_"),
                        created_at: at,
                        expires_at: at + 60,
                        used_at: None,
                    },
                )?;
                let body = format!(
                    "grant_type=authorization_code&code={}&code_verifier={}",
                    code.expose(),
                    verifier.expose()
                );
                let params =
                    Params::parse(&body).map_err(|e| StorageError::Other(format!("{e:?}")))?;
                let exchange = token::exchange(conn, &params, Some(&basic), &ctx, now());
                out.push(
                    exchange
                        .result
                        .map_err(|e| StorageError::Other(format!("exchange refused: {e:?}")))?,
                );
            }
            Ok(out)
        })
        .map_err(|e| e.to_string())
}
