//! Benchmark fixture (not part of the server): seeds refresh tokens for `bench/run.sh` without
//! going through /authorize, which the refresh-rotation row does not measure.
//!
//! Usage: `bench_seed CLIENT_ID CLIENT_SECRET N` with the server's `PORTCULLIS_*` settings in
//! the environment. It opens the same database through the library, creates one enabled user
//! who consented to the client, stores N authorization codes with known PKCE verifiers as
//! /authorize would, redeems each one through the real token exchange (client authentication,
//! PKCE, the same transaction), and prints the N refresh tokens, one per line.

use base64::Engine;
use diesel::prelude::*;
use portcullis::account::users::new_user;
use portcullis::config::Settings;
use portcullis::crypto::secrets::{prefixed_id, PlainSecret};
use portcullis::oauth::params::Params;
use portcullis::oauth::pkce;
use portcullis::oauth::token::{self, TokenContext};
use portcullis::storage::codes::{self, CodeRow};
use portcullis::storage::schema::consents;
use portcullis::storage::{now, users, write_tx, StorageError};
use portcullis::AppState;

const REDIRECT: &str = "https://bench.example/cb";
const SCOPE: &str = "api:read";

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [client_id, secret, n] = args.as_slice() else {
        return Err("usage: bench_seed CLIENT_ID CLIENT_SECRET N".into());
    };
    let n: usize = n.parse().map_err(|_| "N must be a number")?;
    let settings = Settings::load(None).map_err(|e| e.to_string())?;
    let state = AppState::init(settings).map_err(|e| e.to_string())?;
    let at = now();
    let user = new_user(
        &format!("{}@bench.example", prefixed_id::<6>("u")),
        "correct horse battery staple",
        false,
        at,
    )
    .map_err(|e| e.to_string())?;
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
    let tokens = state
        .db
        .run_blocking(|conn| {
            users::insert(conn, &user)?;
            write_tx(conn, |conn| -> Result<(), StorageError> {
                diesel::insert_into(consents::table)
                    .values((
                        consents::user_id.eq(&user.user_id),
                        consents::client_id.eq(client_id),
                        consents::scope.eq(SCOPE),
                        consents::created_at.eq(at),
                        consents::updated_at.eq(at),
                    ))
                    .execute(conn)?;
                Ok(())
            })?;
            let mut tokens = Vec::with_capacity(n);
            for _ in 0..n {
                let code = PlainSecret::generate();
                let verifier = PlainSecret::generate();
                codes::insert(
                    conn,
                    &CodeRow {
                        code_hash: code.hash().to_vec(),
                        client_id: client_id.clone(),
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
                let response = exchange
                    .result
                    .map_err(|e| StorageError::Other(format!("exchange refused: {e:?}")))?;
                let refresh = response
                    .refresh_token
                    .ok_or_else(|| StorageError::Other("no refresh token issued".into()))?;
                tokens.push(refresh);
            }
            Ok(tokens)
        })
        .map_err(|e| e.to_string())?;
    for t in tokens {
        println!("{t}");
    }
    Ok(())
}
