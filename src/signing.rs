//! Signing keys over storage: first-start generation, loading into the in-memory key ring,
//! periodic reload on every instance, and rotation.

use crate::config::Settings;
use crate::crypto::keys::{self, Alg, KeyRing, KeySet};
use crate::crypto::master_key::MasterKey;
use crate::storage::signing_keys::{self, SigningKeyRow};
use crate::storage::{now, Conn, Db, StorageError};

/// The longest lifetime of anything a key signs: a replaced key stays in the JWKS this long.
pub fn max_token_ttl(settings: &Settings) -> i64 {
    settings
        .tokens
        .access_ttl_seconds
        .max(settings.tokens.id_token_ttl_seconds)
}

/// How long a rotated key waits before it signs: every instance polls the keys, and resource
/// servers cache the JWKS for `jwks_max_age_seconds`.
pub fn activation_delay(settings: &Settings) -> i64 {
    (settings.keys.poll_interval_seconds + settings.keys.jwks_max_age_seconds) as i64
}

/// Generates the first ES256 and RS256 keys if none exist, then loads the key ring.
pub fn bootstrap(db: &Db, master: &MasterKey, settings: &Settings) -> Result<KeyRing, String> {
    let mut conn = db.conn().map_err(|e| e.to_string())?;
    for alg in Alg::ALL {
        if !signing_keys::exists_for(&mut conn, alg).map_err(|e| e.to_string())? {
            let at = now();
            insert_new_key(&mut conn, master, alg, at).map_err(|e| e.to_string())?;
            tracing::info!(alg = %alg, "generated the first signing key");
        }
    }
    let set = load(&mut conn, master, settings, now())?;
    Ok(KeyRing::new(set))
}

/// Builds the key set in force at `at` from the database.
pub fn load(
    conn: &mut Conn,
    master: &MasterKey,
    settings: &Settings,
    at: i64,
) -> Result<KeySet, String> {
    let rows = signing_keys::list(conn).map_err(|e| e.to_string())?;
    let stored: Vec<_> = rows.iter().filter_map(SigningKeyRow::to_stored).collect();
    KeySet::build(&stored, master, at, max_token_ttl(settings))
}

/// Generates a key of `alg`, encrypts it and stores it, to start signing at `activates_at`.
pub fn insert_new_key(
    conn: &mut Conn,
    master: &MasterKey,
    alg: Alg,
    activates_at: i64,
) -> Result<SigningKeyRow, StorageError> {
    let generated = keys::generate(alg).map_err(StorageError::Other)?;
    let row = SigningKeyRow {
        private_key_enc: master.seal(&generated.kid, &generated.pkcs8),
        kid: generated.kid,
        alg: alg.as_str().to_string(),
        public_jwk: generated.public_jwk,
        created_at: now(),
        activates_at,
        retired_at: None,
    };
    signing_keys::insert(conn, &row)?;
    Ok(row)
}

/// Rotates the key of `alg`: the new key is published at once and signs after the
/// activation delay, or at once with `immediately` (for a leaked key).
pub fn rotate(
    conn: &mut Conn,
    master: &MasterKey,
    settings: &Settings,
    alg: Alg,
    immediately: bool,
    actor: &str,
) -> Result<SigningKeyRow, StorageError> {
    let at = now();
    crate::storage::write_tx(conn, |conn| {
        // Activation times are whole seconds, and the newest activation wins. An immediate
        // key must win at once, so every other key of its algorithm that would tie with it
        // or activate later is moved to just before it (an emergency rotation supersedes a
        // pending one too). A delayed key activates at least one second after the newest.
        let activates_at = if immediately {
            signing_keys::activate_no_later_than(conn, alg, at - 1)?;
            at
        } else {
            let latest = signing_keys::list(conn)?
                .iter()
                .filter(|k| k.alg == alg.as_str())
                .map(|k| k.activates_at)
                .max();
            let delayed = at + activation_delay(settings);
            latest.map_or(delayed, |l| delayed.max(l + 1))
        };
        let row = insert_new_key(conn, master, alg, activates_at)?;
        crate::storage::audit::record(
            conn,
            &crate::storage::audit::AuditEvent::new("signing_key_rotated", at)
                .actor(actor)
                .detail(serde_json::json!({
                    "kid": row.kid, "alg": row.alg, "now": immediately,
                })),
        )?;
        Ok(row)
    })
}

/// A stored key as operators see it (no key material).
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeyState {
    pub kid: String,
    pub alg: String,
    pub created_at: i64,
    pub activates_at: i64,
    /// `pending` (published, not signing yet), `active` (signing) or `retired` (replaced;
    /// published until its last token expires).
    pub state: &'static str,
}

/// The state of every key at `at`: per algorithm, the newest key whose activation time has
/// passed is active, newer ones are pending, older ones retired.
pub fn key_states(rows: &[SigningKeyRow], at: i64) -> Vec<KeyState> {
    let mut views = Vec::new();
    for alg in Alg::ALL {
        let mut of_alg: Vec<_> = rows.iter().filter(|r| r.alg == alg.as_str()).collect();
        of_alg.sort_by_key(|r| std::cmp::Reverse((r.activates_at, r.created_at)));
        let mut seen_active = false;
        for r in of_alg {
            let state = if r.activates_at > at {
                "pending"
            } else if !seen_active {
                seen_active = true;
                "active"
            } else {
                "retired"
            };
            views.push(KeyState {
                kid: r.kid.clone(),
                alg: r.alg.clone(),
                created_at: r.created_at,
                activates_at: r.activates_at,
                state,
            });
        }
    }
    views
}

/// Reloads the key ring every poll interval, and as soon as a pending key activates, so that
/// every instance picks up rotations without a restart.
pub async fn reload_loop(state: crate::AppState) {
    let poll = state.settings.keys.poll_interval_seconds as i64;
    loop {
        let until = state.keys.current().valid_until;
        let wait = (until - now()).clamp(1, poll.max(1));
        actix_web::rt::time::sleep(std::time::Duration::from_secs(wait as u64)).await;
        let (master, settings) = (state.master.clone(), state.settings.clone());
        let result = state
            .db
            .run(move |conn| load(conn, &master, &settings, now()).map_err(StorageError::Other))
            .await;
        match result {
            Ok(set) => state.keys.replace(set),
            Err(err) => tracing::error!(error = %err, "reloading signing keys failed"),
        }
    }
}
