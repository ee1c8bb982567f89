//! The audit log: who did what, when. Never a secret.

use diesel::prelude::*;

use crate::crypto::secrets::prefixed_id;
use crate::storage::schema::audit_events;
use crate::storage::{write_tx, Conn, StorageError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub event_id: String,
    pub occurred_at: i64,
    pub event: String,
    pub actor: Option<String>,
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub ip: Option<String>,
    /// JSON object with event-specific fields.
    pub detail: String,
}

/// `evt_` + the current time in nanoseconds (16 hex digits) + 64 random bits: ids sort in the
/// order events happened, also within one second, so "newest first" is stable.
fn time_ordered_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    format!("evt_{nanos:016x}{}", prefixed_id::<8>(""))
}

impl AuditEvent {
    pub fn new(event: &str, now: i64) -> Self {
        Self {
            event_id: time_ordered_id(),
            occurred_at: now,
            event: event.to_string(),
            actor: None,
            client_id: None,
            user_id: None,
            ip: None,
            detail: "{}".into(),
        }
    }

    pub fn actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }

    pub fn client(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    pub fn user(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    pub fn ip(mut self, ip: Option<String>) -> Self {
        self.ip = ip;
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail.to_string();
        self
    }
}

/// Records an event inside the caller's transaction.
pub fn record(conn: &mut Conn, event: &AuditEvent) -> Result<(), StorageError> {
    diesel::insert_into(audit_events::table)
        .values(event)
        .execute(conn)?;
    Ok(())
}

/// The newest events first.
pub fn recent(conn: &mut Conn, limit: i64) -> Result<Vec<AuditEvent>, StorageError> {
    Ok(audit_events::table
        .order((
            audit_events::occurred_at.desc(),
            audit_events::event_id.desc(),
        ))
        .limit(limit)
        .select(AuditEvent::as_select())
        .load(conn)?)
}

/// Records `event` unless an event named in `kinds` was recorded for the same client and
/// address in the `interval` seconds before it; the check and the write share one write
/// transaction. For events a client can cause at will (app identity refusals), so that it
/// cannot flood the log. Returns whether the event was recorded.
pub fn record_throttled(
    conn: &mut Conn,
    event: &AuditEvent,
    kinds: &[&str],
    interval: i64,
) -> Result<bool, StorageError> {
    let client_id = event.client_id.as_deref().unwrap_or_default();
    write_tx(conn, |conn| {
        let since = event.occurred_at.saturating_sub(interval);
        if exists_since(conn, kinds, client_id, event.ip.as_deref(), since)? {
            return Ok(false);
        }
        record(conn, event)?;
        Ok(true)
    })
}

/// Whether an event named in `events` was recorded for this client and address (`None`
/// matches events without an address) at or after `since`. Backs rate-limited events.
pub fn exists_since(
    conn: &mut Conn,
    events: &[&str],
    client_id: &str,
    ip: Option<&str>,
    since: i64,
) -> Result<bool, StorageError> {
    let recent = audit_events::table
        .filter(audit_events::occurred_at.ge(since))
        .filter(audit_events::event.eq_any(events))
        .filter(audit_events::client_id.eq(client_id))
        .select(audit_events::event_id);
    let found: Option<String> = match ip {
        Some(ip) => recent
            .filter(audit_events::ip.eq(ip))
            .first(conn)
            .optional()?,
        None => recent
            .filter(audit_events::ip.is_null())
            .first(conn)
            .optional()?,
    };
    Ok(found.is_some())
}
