//! Registered resource servers (RFC 8707): the audience URI each is known by, the scopes it
//! owns, and the client allowed to introspect tokens meant for it.

use diesel::prelude::*;

use crate::storage::audit::{self, AuditEvent};
use crate::storage::schema::resources;
use crate::storage::{split_list, write_tx, Conn, StorageError};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = resources)]
pub struct ResourceRow {
    pub audience: String,
    /// Space-separated scopes this resource owns.
    pub scope: String,
    pub introspection_client_id: Option<String>,
    pub created_at: i64,
}

/// A resource server as the protocol rules see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Resource {
    pub audience: String,
    pub scopes: Vec<String>,
    pub introspection_client_id: Option<String>,
    pub created_at: i64,
}

impl Resource {
    /// Whether this resource owns `scope`.
    pub fn owns(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

impl From<ResourceRow> for Resource {
    fn from(row: ResourceRow) -> Self {
        Resource {
            scopes: split_list(&row.scope),
            audience: row.audience,
            introspection_client_id: row.introspection_client_id,
            created_at: row.created_at,
        }
    }
}

/// Every resource, ordered by audience.
pub fn list(conn: &mut Conn) -> Result<Vec<Resource>, StorageError> {
    let rows: Vec<ResourceRow> = resources::table
        .order(resources::audience)
        .select(ResourceRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(Resource::from).collect())
}

/// The resources whose tokens `client_id` may introspect.
pub fn introspectable_by(conn: &mut Conn, client_id: &str) -> Result<Vec<String>, StorageError> {
    Ok(resources::table
        .filter(resources::introspection_client_id.eq(client_id))
        .select(resources::audience)
        .load(conn)?)
}

/// Inserts a resource (already validated). A taken audience, or a scope another resource
/// owns, is `Conflict`: a scope names exactly one audience, or tokens would be ambiguous
/// (RFC 9068 §5).
pub fn insert(conn: &mut Conn, resource: &Resource, actor: &str) -> Result<(), StorageError> {
    write_tx(conn, |conn| {
        for other in list(conn)? {
            if other.audience == resource.audience {
                return Err(StorageError::Conflict(format!(
                    "resource {} already exists",
                    resource.audience
                )));
            }
            if let Some(scope) = resource.scopes.iter().find(|s| other.owns(s)) {
                return Err(StorageError::Conflict(format!(
                    "scope {scope} already belongs to resource {}",
                    other.audience
                )));
            }
        }
        diesel::insert_into(resources::table)
            .values(ResourceRow {
                audience: resource.audience.clone(),
                scope: resource.scopes.join(" "),
                introspection_client_id: resource.introspection_client_id.clone(),
                created_at: resource.created_at,
            })
            .execute(conn)?;
        audit::record(
            conn,
            &AuditEvent::new("resource_created", resource.created_at)
                .actor(actor)
                .detail(serde_json::json!({"audience": resource.audience})),
        )
    })
}

/// Deletes a resource; `NotFound` when there is none.
pub fn delete(conn: &mut Conn, audience: &str, actor: &str, now: i64) -> Result<(), StorageError> {
    write_tx(conn, |conn| {
        let n = diesel::delete(resources::table.find(audience)).execute(conn)?;
        if n == 0 {
            return Err(StorageError::NotFound);
        }
        audit::record(
            conn,
            &AuditEvent::new("resource_deleted", now)
                .actor(actor)
                .detail(serde_json::json!({"audience": audience})),
        )
    })
}
