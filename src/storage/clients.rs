//! The client registry's rows: clients, their redirect URIs, CORS origins and app identities.

use diesel::prelude::*;

use crate::storage::schema::{
    client_app_certs, client_app_identities, client_cors_origins, client_redirect_uris, clients,
};
use crate::storage::{split_list, write_tx, Conn, StorageError};

/// A client row. `secret_hash` is never serialised: the JSON view is a separate type.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = clients)]
#[diesel(treat_none_as_null = true)]
pub struct ClientRow {
    pub client_id: String,
    pub client_name: String,
    pub client_type: String,
    pub application_type: String,
    pub token_endpoint_auth_method: String,
    pub secret_hash: Option<Vec<u8>>,
    pub previous_secret_hash: Option<Vec<u8>>,
    pub previous_secret_expires_at: Option<i64>,
    pub grant_types: String,
    pub scope: String,
    pub skip_consent: bool,
    pub enabled: bool,
    pub signing_alg: String,
    pub require_app_identity: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A client with its lists, as the rest of the server sees it.
#[derive(Debug, Clone)]
pub struct Client {
    pub row: ClientRow,
    pub redirect_uris: Vec<String>,
    pub cors_origins: Vec<String>,
}

impl Client {
    pub fn id(&self) -> &str {
        &self.row.client_id
    }

    pub fn is_confidential(&self) -> bool {
        self.row.client_type == "confidential"
    }

    pub fn is_native(&self) -> bool {
        self.row.application_type == "native"
    }

    pub fn grant_types(&self) -> Vec<String> {
        split_list(&self.row.grant_types)
    }

    pub fn allows_grant(&self, grant: &str) -> bool {
        self.row.grant_types.split(' ').any(|g| g == grant)
    }

    pub fn scopes(&self) -> Vec<String> {
        split_list(&self.row.scope)
    }

    pub fn allows_scope(&self, scope: &str) -> bool {
        self.row.scope.split(' ').any(|s| s == scope)
    }
}

/// An app identity row with its certificate hashes.
#[derive(Debug, Clone)]
pub struct AppIdentity {
    pub identity_id: String,
    pub client_id: String,
    pub platform: String,
    pub app_id: String,
    pub team_id: Option<String>,
    pub created_at: i64,
    /// (algorithm `sha256` | `sha1`, hash bytes)
    pub certs: Vec<(String, Vec<u8>)>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = client_app_identities)]
struct AppIdentityRow {
    identity_id: String,
    client_id: String,
    platform: String,
    app_id: String,
    team_id: Option<String>,
    created_at: i64,
}

pub fn insert(conn: &mut Conn, client: &Client) -> Result<(), StorageError> {
    write_tx(conn, |conn| {
        diesel::insert_into(clients::table)
            .values(&client.row)
            .execute(conn)?;
        replace_lists(conn, client)
    })
}

/// Writes the row and replaces the redirect URI and CORS origin lists.
pub fn update(conn: &mut Conn, client: &Client) -> Result<(), StorageError> {
    write_tx(conn, |conn| {
        let n = diesel::update(clients::table.find(&client.row.client_id))
            .set(&client.row)
            .execute(conn)?;
        if n == 0 {
            return Err(StorageError::NotFound);
        }
        replace_lists(conn, client)
    })
}

fn replace_lists(conn: &mut Conn, client: &Client) -> Result<(), StorageError> {
    let id = &client.row.client_id;
    diesel::delete(client_redirect_uris::table.filter(client_redirect_uris::client_id.eq(id)))
        .execute(conn)?;
    diesel::delete(client_cors_origins::table.filter(client_cors_origins::client_id.eq(id)))
        .execute(conn)?;
    for (position, uri) in client.redirect_uris.iter().enumerate() {
        diesel::insert_into(client_redirect_uris::table)
            .values((
                client_redirect_uris::client_id.eq(id),
                client_redirect_uris::position.eq(position as i32),
                client_redirect_uris::uri.eq(uri),
            ))
            .execute(conn)?;
    }
    for origin in &client.cors_origins {
        diesel::insert_into(client_cors_origins::table)
            .values((
                client_cors_origins::client_id.eq(id),
                client_cors_origins::origin.eq(origin),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn find(conn: &mut Conn, client_id: &str) -> Result<Option<Client>, StorageError> {
    let row = clients::table
        .find(client_id)
        .select(ClientRow::as_select())
        .get_result(conn)
        .optional()?;
    match row {
        Some(row) => Ok(Some(with_lists(conn, row)?)),
        None => Ok(None),
    }
}

/// Inside a write transaction, makes concurrent changes to one client's registrations (its app
/// identities) take turns: on PostgreSQL it locks the client's row (`FOR UPDATE`) until the
/// transaction ends, so a check-then-insert cannot interleave under READ COMMITTED; on SQLite
/// `BEGIN IMMEDIATE` already serialises writers. An unknown client locks nothing.
pub fn lock_for_update(conn: &mut Conn, client_id: &str) -> Result<(), StorageError> {
    if let Conn::Postgres(pg) = conn {
        let _: Option<String> = clients::table
            .find(client_id)
            .select(clients::client_id)
            .for_update()
            .get_result(pg)
            .optional()?;
    }
    Ok(())
}

/// Whether a client with this id exists.
pub fn exists(conn: &mut Conn, client_id: &str) -> Result<bool, StorageError> {
    let found: Option<String> = clients::table
        .find(client_id)
        .select(clients::client_id)
        .get_result(conn)
        .optional()?;
    Ok(found.is_some())
}

/// Loads both lists in one statement (`UNION ALL`): this runs on every token request.
fn with_lists(conn: &mut Conn, row: ClientRow) -> Result<Client, StorageError> {
    // (kind, value, position): kind 0 is a redirect URI, 1 a CORS origin.
    let query = client_redirect_uris::table
        .filter(client_redirect_uris::client_id.eq(&row.client_id))
        .select((
            0.into_sql::<diesel::sql_types::Integer>(),
            client_redirect_uris::uri,
            client_redirect_uris::position,
        ))
        .union_all(
            client_cors_origins::table
                .filter(client_cors_origins::client_id.eq(&row.client_id))
                .select((
                    1.into_sql::<diesel::sql_types::Integer>(),
                    client_cors_origins::origin,
                    0.into_sql::<diesel::sql_types::Integer>(),
                )),
        );
    // The multi-backend connection does not implement UNION: run it on the backend itself.
    let items: Vec<(i32, String, i32)> = match conn {
        Conn::Sqlite(c) => query.load(c)?,
        Conn::Postgres(c) => query.load(c)?,
    };
    let mut redirect: Vec<(i32, String)> = Vec::new();
    let mut cors_origins = Vec::new();
    for (kind, value, position) in items {
        if kind == 0 {
            redirect.push((position, value));
        } else {
            cors_origins.push(value);
        }
    }
    redirect.sort();
    cors_origins.sort();
    Ok(Client {
        row,
        redirect_uris: redirect.into_iter().map(|(_, uri)| uri).collect(),
        cors_origins,
    })
}

/// All clients, oldest first; `search` filters on id or name (case-insensitive substring).
pub fn list(conn: &mut Conn, search: Option<&str>) -> Result<Vec<Client>, StorageError> {
    let rows: Vec<ClientRow> = clients::table
        .order((clients::created_at, clients::client_id))
        .select(ClientRow::as_select())
        .load(conn)?;
    let needle = search.map(str::to_lowercase).filter(|s| !s.is_empty());
    rows.into_iter()
        .filter(|r| match &needle {
            Some(n) => {
                r.client_id.to_lowercase().contains(n) || r.client_name.to_lowercase().contains(n)
            }
            None => true,
        })
        .map(|row| with_lists(conn, row))
        .collect()
}

pub fn delete(conn: &mut Conn, client_id: &str) -> Result<(), StorageError> {
    let n = write_tx(conn, |conn| -> Result<usize, StorageError> {
        Ok(diesel::delete(clients::table.find(client_id)).execute(conn)?)
    })?;
    if n == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

/// Whether some enabled client registers `origin` for CORS.
pub fn origin_is_registered(conn: &mut Conn, origin: &str) -> Result<bool, StorageError> {
    // `EXISTS` rather than `first`: no bound LIMIT, so the statement stays prepared (module
    // docs of `storage`).
    Ok(diesel::select(diesel::dsl::exists(
        client_cors_origins::table
            .inner_join(clients::table)
            .filter(client_cors_origins::origin.eq(origin))
            .filter(clients::enabled.eq(true)),
    ))
    .get_result(conn)?)
}

pub fn insert_app_identity(conn: &mut Conn, identity: &AppIdentity) -> Result<(), StorageError> {
    write_tx(conn, |conn| {
        diesel::insert_into(client_app_identities::table)
            .values(AppIdentityRow {
                identity_id: identity.identity_id.clone(),
                client_id: identity.client_id.clone(),
                platform: identity.platform.clone(),
                app_id: identity.app_id.clone(),
                team_id: identity.team_id.clone(),
                created_at: identity.created_at,
            })
            .execute(conn)?;
        for (algorithm, hash) in &identity.certs {
            diesel::insert_into(client_app_certs::table)
                .values((
                    client_app_certs::identity_id.eq(&identity.identity_id),
                    client_app_certs::algorithm.eq(algorithm),
                    client_app_certs::cert_hash.eq(hash),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
}

pub fn list_app_identities(
    conn: &mut Conn,
    client_id: &str,
) -> Result<Vec<AppIdentity>, StorageError> {
    let rows: Vec<AppIdentityRow> = client_app_identities::table
        .filter(client_app_identities::client_id.eq(client_id))
        .order((
            client_app_identities::created_at,
            client_app_identities::identity_id,
        ))
        .select(AppIdentityRow::as_select())
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let certs: Vec<(String, Vec<u8>)> = client_app_certs::table
            .filter(client_app_certs::identity_id.eq(&row.identity_id))
            .order((client_app_certs::algorithm, client_app_certs::cert_hash))
            .select((client_app_certs::algorithm, client_app_certs::cert_hash))
            .load(conn)?;
        out.push(AppIdentity {
            identity_id: row.identity_id,
            client_id: row.client_id,
            platform: row.platform,
            app_id: row.app_id,
            team_id: row.team_id,
            created_at: row.created_at,
            certs,
        });
    }
    Ok(out)
}

/// One app identity by id, with its certificate hashes (`None` when it was removed).
pub fn find_app_identity(
    conn: &mut Conn,
    identity_id: &str,
) -> Result<Option<AppIdentity>, StorageError> {
    let row: Option<AppIdentityRow> = client_app_identities::table
        .find(identity_id)
        .select(AppIdentityRow::as_select())
        .get_result(conn)
        .optional()?;
    let Some(row) = row else {
        return Ok(None);
    };
    let certs: Vec<(String, Vec<u8>)> = client_app_certs::table
        .filter(client_app_certs::identity_id.eq(&row.identity_id))
        .select((client_app_certs::algorithm, client_app_certs::cert_hash))
        .load(conn)?;
    Ok(Some(AppIdentity {
        identity_id: row.identity_id,
        client_id: row.client_id,
        platform: row.platform,
        app_id: row.app_id,
        team_id: row.team_id,
        created_at: row.created_at,
        certs,
    }))
}

pub fn delete_app_identity(
    conn: &mut Conn,
    client_id: &str,
    identity_id: &str,
) -> Result<(), StorageError> {
    let n = write_tx(conn, |conn| -> Result<usize, StorageError> {
        Ok(diesel::delete(
            client_app_identities::table
                .filter(client_app_identities::client_id.eq(client_id))
                .filter(client_app_identities::identity_id.eq(identity_id)),
        )
        .execute(conn)?)
    })?;
    if n == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}
