//! Password login and self-registration, with throttling of failed attempts per account and
//! per client address. Errors never tell whether an account exists.

use crate::account::password;
use crate::account::session::{new_session, NewSession};
use crate::account::users::{self as account_users, UserError};
use crate::config::Settings;
use crate::storage::audit::{self, AuditEvent};
use crate::storage::throttle::{self, Policy};
use crate::storage::users::{self, normalize_email, UserRow};
use crate::storage::{families, sessions, write_tx, Conn, Db, StorageError};

/// Failed logins of one account: 5 within 15 minutes lock it for 15 minutes. The key is the
/// typed email, known or not, so the lock itself reveals nothing about accounts.
pub const ACCOUNT_POLICY: Policy = Policy {
    max_failures: 5,
    window: 15 * 60,
    lockout: 15 * 60,
};

/// Failed logins from one address: 30 within 15 minutes lock it for 15 minutes (a guessing
/// run over many accounts).
pub const IP_POLICY: Policy = Policy {
    max_failures: 30,
    window: 15 * 60,
    lockout: 15 * 60,
};

/// Why a login failed. The messages are what the login page shows.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown email, wrong password or disabled account: one message for all.
    #[error("The email or password is incorrect.")]
    BadCredentials,
    #[error("Too many attempts, try again later.")]
    Throttled,
    #[error("{0}")]
    Invalid(String),
    #[error("An account with this email cannot be created.")]
    Exists,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What a login form carried, plus where it came from.
pub struct LoginAttempt {
    pub email: String,
    pub password: String,
    pub persistent: bool,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// The session the browser had before (replaced: a new id on every login).
    pub previous_session: Option<Vec<u8>>,
}

fn account_key(email: &str) -> String {
    let email: String = normalize_email(email).chars().take(320).collect();
    format!("acct:{email}")
}

fn ip_key(ip: &str) -> String {
    format!("ip:{ip}")
}

/// Checks the credentials and creates a new session. The argon2 verification runs on the
/// blocking pool, outside any transaction; an unknown email is verified against a dummy hash
/// so that it costs the same time as a known one.
pub async fn login(
    db: &Db,
    settings: &Settings,
    attempt: LoginAttempt,
    now: i64,
) -> Result<NewSession, LoginError> {
    let acct = account_key(&attempt.email);
    let ip = attempt.ip.as_deref().map(ip_key);
    let email = attempt.email.clone();
    let (acct_k, ip_k) = (acct.clone(), ip.clone());
    let user = db
        .run(
            move |conn| -> Result<Result<Option<UserRow>, ()>, StorageError> {
                let locked = throttle::locked_until(conn, &acct_k, now)?.is_some()
                    || match &ip_k {
                        Some(k) => throttle::locked_until(conn, k, now)?.is_some(),
                        None => false,
                    };
                if locked {
                    return Ok(Err(()));
                }
                Ok(Ok(users::find_by_email(conn, &email)?))
            },
        )
        .await?
        .map_err(|()| LoginError::Throttled)?;

    let password_text = attempt.password;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let verified = actix_web::web::block(move || {
        let hash = stored.as_deref().unwrap_or_else(|| password::dummy_hash());
        password::verify(&password_text, hash)
    })
    .await
    .map_err(|e| StorageError::Unavailable(e.to_string()))?;

    let user = match user {
        Some(u) if verified && u.enabled => u,
        _ => {
            let locked = db
                .run(move |conn| {
                    let mut locked = throttle::record_failure(conn, &acct, now, ACCOUNT_POLICY)?;
                    if let Some(k) = &ip {
                        locked |= throttle::record_failure(conn, k, now, IP_POLICY)?;
                    }
                    Ok(locked)
                })
                .await?;
            return Err(if locked {
                LoginError::Throttled
            } else {
                LoginError::BadCredentials
            });
        }
    };
    let session = new_session(
        &user.user_id,
        attempt.persistent,
        attempt.user_agent.as_deref(),
        attempt.ip.clone(),
        now,
        &settings.sessions,
    );
    let row = session.row.clone();
    let previous = attempt.previous_session;
    db.run(move |conn| {
        write_tx(conn, |conn| {
            throttle::clear(conn, &acct)?;
            start_session(conn, &row, previous.as_deref(), now)?;
            audit::record(
                conn,
                &AuditEvent::new("login", now)
                    .user(&row.user_id)
                    .ip(row.ip.clone()),
            )
        })
    })
    .await?;
    Ok(session)
}

/// Stores a new session and ends the one it replaces. Refresh-token families bound to the old
/// session follow the same user to the new one; another user's are revoked with it.
fn start_session(
    conn: &mut Conn,
    row: &crate::storage::sessions::SessionRow,
    previous: Option<&[u8]>,
    now: i64,
) -> Result<(), StorageError> {
    sessions::insert(conn, row)?;
    if let Some(old) = previous {
        if let Some(old_row) = sessions::find_live(conn, old, now, i64::MAX / 4)? {
            if old_row.user_id == row.user_id {
                families::rebind_session(conn, old, &row.session_hash)?;
            } else {
                families::revoke_for_session(conn, old, now)?;
            }
        }
        sessions::delete(conn, old)?;
    }
    Ok(())
}

/// Self-registration (only when `self_registration` is on): the same email and password rules
/// as every account, then a new session. Registration attempts count against the address's
/// throttle like failed logins do.
pub async fn register(
    db: &Db,
    settings: &Settings,
    attempt: LoginAttempt,
    now: i64,
) -> Result<NewSession, LoginError> {
    let ip = attempt.ip.as_deref().map(ip_key);
    if let Some(k) = ip.clone() {
        let locked = db
            .run(move |conn| throttle::locked_until(conn, &k, now))
            .await?;
        if locked.is_some() {
            return Err(LoginError::Throttled);
        }
    }
    let (email, password_text) = (attempt.email.clone(), attempt.password.clone());
    let row =
        actix_web::web::block(move || account_users::new_user(&email, &password_text, false, now))
            .await
            .map_err(|e| StorageError::Unavailable(e.to_string()))?
            .map_err(|e| match e {
                UserError::Invalid(m) => LoginError::Invalid(m),
                UserError::Exists => LoginError::Exists,
                UserError::Storage(s) => LoginError::Storage(s),
            })?;
    let session = new_session(
        &row.user_id,
        attempt.persistent,
        attempt.user_agent.as_deref(),
        attempt.ip.clone(),
        now,
        &settings.sessions,
    );
    let srow = session.row.clone();
    let previous = attempt.previous_session;
    let created = db
        .run(move |conn| {
            if let Some(k) = &ip {
                throttle::record_failure(conn, k, now, IP_POLICY)?;
            }
            let result = write_tx(conn, |conn| -> Result<Result<(), ()>, StorageError> {
                match account_users::create(conn, &row) {
                    Ok(()) => {}
                    Err(UserError::Exists) => return Ok(Err(())),
                    Err(UserError::Storage(e)) => return Err(e),
                    Err(UserError::Invalid(m)) => return Err(StorageError::Other(m)),
                }
                start_session(conn, &srow, previous.as_deref(), now)?;
                audit::record(
                    conn,
                    &AuditEvent::new("user_registered", now)
                        .user(&row.user_id)
                        .ip(srow.ip.clone()),
                )?;
                Ok(Ok(()))
            });
            // A taken email inside the transaction poisons it on PostgreSQL: roll back and
            // report, without telling which accounts exist beyond this generic refusal.
            match result {
                Err(StorageError::Conflict(_)) => Ok(Err(())),
                other => other,
            }
        })
        .await?;
    created.map_err(|()| LoginError::Exists)?;
    Ok(session)
}
