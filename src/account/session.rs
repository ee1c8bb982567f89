//! SSO sessions and CSRF tokens. The cookie value is a 256-bit random secret handed to the
//! browser once; the database keeps only its SHA-256 hash. Every login creates a new session
//! (a new id), so a session id planted before login is worthless (no fixation).

use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::config::SessionSettings;
use crate::crypto::secrets::{random_bytes, PlainSecret, SecretHash};
use crate::storage::sessions::{self, SessionRow};
use crate::storage::users::{self, UserRow};
use crate::storage::{Conn, StorageError};

/// Longest user agent kept with a session (shown on the account page).
const MAX_USER_AGENT: usize = 256;

/// A session just created: the cookie value (never stored) and the row to store.
pub struct NewSession {
    pub cookie_value: PlainSecret,
    pub row: SessionRow,
}

/// Creates a session for `user_id`, authenticated at `now`. It ends after `idle_ttl_seconds`
/// without use, and in any case after `absolute_ttl_seconds`.
pub fn new_session(
    user_id: &str,
    persistent: bool,
    user_agent: Option<&str>,
    ip: Option<String>,
    now: i64,
    settings: &SessionSettings,
) -> NewSession {
    let cookie_value = PlainSecret::generate();
    let row = SessionRow {
        session_hash: cookie_value.hash().to_vec(),
        user_id: user_id.to_string(),
        csrf_secret: random_bytes::<32>().to_vec(),
        auth_time: now,
        created_at: now,
        last_seen_at: now,
        expires_at: now.saturating_add(settings.absolute_ttl_seconds),
        persistent,
        user_agent: user_agent.map(|ua| {
            ua.chars()
                .filter(|c| !c.is_control())
                .take(MAX_USER_AGENT)
                .collect()
        }),
        ip,
    };
    NewSession { cookie_value, row }
}

/// A session is touched at most this often (seconds): its idle clock does not need
/// second precision, and a write per request would serialise SQLite writers.
const TOUCH_EVERY: i64 = 60;

/// The live session named by a cookie value, with its user, if both are still valid at `now`:
/// not idle past `idle_ttl_seconds`, not past its absolute end, and the user still enabled (a
/// disabled user's session is deleted). Records the use.
pub fn resume(
    conn: &mut Conn,
    cookie_value: &str,
    now: i64,
    settings: &SessionSettings,
) -> Result<Option<(SessionRow, UserRow)>, StorageError> {
    let hash = hash_cookie(cookie_value);
    let Some(session) = sessions::find_live(conn, &hash, now, settings.idle_ttl_seconds)? else {
        return Ok(None);
    };
    match users::find(conn, &session.user_id)? {
        Some(user) if user.enabled => {
            if now - session.last_seen_at >= TOUCH_EVERY {
                sessions::touch(conn, &hash, now)?;
            }
            Ok(Some((session, user)))
        }
        _ => {
            sessions::delete(conn, &hash)?;
            Ok(None)
        }
    }
}

/// Ends a session (logout, or revoked from the account page) and revokes the refresh-token
/// families bound to it; those granted `offline_access` outlive it (OIDC Core §11). With
/// `user_id`, only a session of that user is ended. Returns whether a session ended.
pub fn end_session(
    conn: &mut Conn,
    session_hash: &[u8],
    user_id: Option<&str>,
    now: i64,
) -> Result<bool, StorageError> {
    crate::storage::write_tx(conn, |conn| {
        let ended = match user_id {
            Some(u) => sessions::delete_for_user(conn, u, session_hash)?,
            None => sessions::delete(conn, session_hash)?,
        };
        if ended {
            crate::storage::families::revoke_for_session(conn, session_hash, now)?;
        }
        Ok(ended)
    })
}

/// The stored hash of a session cookie value.
pub fn hash_cookie(value: &str) -> Vec<u8> {
    SecretHash::of(value.as_bytes()).to_vec()
}

/// A CSRF token: HMAC-SHA256 of `purpose` under `key` (a session's `csrf_secret`, or the
/// random pre-session cookie of the login form), base64url. A token for one purpose is
/// useless for another.
pub fn csrf_token(key: &[u8], purpose: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    URL_SAFE_NO_PAD.encode(hmac::sign(&key, purpose.as_bytes()).as_ref())
}

/// Checks a presented CSRF token in constant time. An empty key or token never verifies.
pub fn verify_csrf(key: &[u8], purpose: &str, presented: Option<&str>) -> bool {
    let Some(presented) = presented else {
        return false;
    };
    if key.is_empty() {
        return false;
    }
    let Ok(tag) = URL_SAFE_NO_PAD.decode(presented) else {
        return false;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::verify(&key, purpose.as_bytes(), &tag).is_ok()
}

/// CSRF purposes. The consent token is bound to the exact authorization request it approves.
pub const CSRF_SESSION: &str = "session-forms";
pub const CSRF_LOGIN: &str = "login-form";
pub const CSRF_REGISTER: &str = "register-form";

pub fn consent_purpose(return_to: &str) -> String {
    format!("consent\0{return_to}")
}

/// The marker of a login that just happened in this session, consumed by the next
/// `/authorize` (it satisfies `prompt=login` once, without a loop back to the login page).
pub fn fresh_login_marker(csrf_secret: &[u8], auth_time: i64) -> String {
    csrf_token(csrf_secret, &format!("fresh-login\0{auth_time}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_verify_only_for_their_key_and_purpose() {
        let key = random_bytes::<32>();
        let token = csrf_token(&key, CSRF_LOGIN);
        assert!(verify_csrf(&key, CSRF_LOGIN, Some(&token)));
        assert!(!verify_csrf(&key, CSRF_SESSION, Some(&token)));
        assert!(!verify_csrf(
            &random_bytes::<32>(),
            CSRF_LOGIN,
            Some(&token)
        ));
        assert!(!verify_csrf(&key, CSRF_LOGIN, None));
        assert!(!verify_csrf(&key, CSRF_LOGIN, Some("")));
        assert!(!verify_csrf(&[], CSRF_LOGIN, Some(&token)));
    }

    #[test]
    fn a_new_session_stores_only_the_hash_of_its_cookie() {
        let s = new_session(
            "u",
            false,
            Some("UA\n"),
            None,
            100,
            &SessionSettings::default(),
        );
        assert_eq!(s.row.session_hash, hash_cookie(s.cookie_value.expose()));
        assert_eq!(s.row.user_agent.as_deref(), Some("UA"));
        assert_eq!(s.row.expires_at, 100 + 7 * 24 * 3600);
    }
}
