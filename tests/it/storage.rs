//! Repository tests: they run on SQLite, and on PostgreSQL when
//! `PORTCULLIS_TEST_DATABASE_URL` is set.

use std::collections::BTreeSet;

use diesel::prelude::*;
use portcullis::registry::{self, ClientSpec};
use portcullis::storage::schema as s;
use portcullis::storage::schema::client_redirect_uris;
use portcullis::storage::{clients, now, users, Conn, StorageError};

use crate::support::TestApp;

/// The columns schema.rs declares, read from the SQL diesel generates for `SELECT *`.
fn declared_columns(sql: String) -> BTreeSet<String> {
    let select = sql
        .split(" FROM ")
        .next()
        .unwrap()
        .trim_start_matches("SELECT ");
    select
        .split(", ")
        .map(|c| {
            c.rsplit('.')
                .next()
                .unwrap()
                .trim_matches(|ch| ch == '`' || ch == '"')
                .to_string()
        })
        .collect()
}

macro_rules! declared {
    ($table:ident) => {
        declared_columns(
            diesel::debug_query::<diesel::sqlite::Sqlite, _>(
                &s::$table::table.select(s::$table::all_columns),
            )
            .to_string(),
        )
    };
}

#[derive(QueryableByName)]
struct ColumnName {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

fn actual_columns(conn: &mut Conn, table: &str) -> BTreeSet<String> {
    let sql = match conn {
        Conn::Sqlite(_) => format!("SELECT name FROM pragma_table_info('{table}')"),
        Conn::Postgres(_) => format!(
            "SELECT column_name::text AS name FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = '{table}'"
        ),
    };
    diesel::sql_query(sql)
        .load::<ColumnName>(conn)
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect()
}

#[test]
fn migrations_produce_exactly_the_declared_schema() {
    let app = TestApp::new();
    let tables = [
        ("clients", declared!(clients)),
        ("client_redirect_uris", declared!(client_redirect_uris)),
        ("client_cors_origins", declared!(client_cors_origins)),
        ("client_app_identities", declared!(client_app_identities)),
        ("client_app_certs", declared!(client_app_certs)),
        ("users", declared!(users)),
        ("sessions", declared!(sessions)),
        ("consents", declared!(consents)),
        ("authorization_codes", declared!(authorization_codes)),
        ("refresh_families", declared!(refresh_families)),
        ("refresh_tokens", declared!(refresh_tokens)),
        ("revoked_access_tokens", declared!(revoked_access_tokens)),
        ("signing_keys", declared!(signing_keys)),
        ("audit_events", declared!(audit_events)),
        ("admin_tokens", declared!(admin_tokens)),
        ("resources", declared!(resources)),
        ("login_throttle", declared!(login_throttle)),
    ];
    app.with_conn(|conn| {
        for (name, declared) in &tables {
            assert!(declared.len() > 1, "{name}: parsed no columns");
            assert_eq!(&actual_columns(conn, name), declared, "table {name}");
        }
        Ok(())
    });
}

fn spec(name: &str) -> ClientSpec {
    ClientSpec {
        client_name: name.into(),
        client_type: "confidential".into(),
        redirect_uris: vec![
            "https://app.example/cb".into(),
            "https://app.example/b".into(),
        ],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scope: "openid api:read".into(),
        cors_origins: vec!["https://app.example".into()],
        enabled: true,
        ..ClientSpec::default()
    }
}

#[test]
fn a_created_client_reads_back_with_its_lists_and_hashed_secret() {
    let app = TestApp::new();
    let (client, secret) = app.with_conn(|conn| {
        registry::create(conn, &spec("One"), "test", now()).map_err(StorageError::from)
    });
    let secret = secret.expect("confidential clients get a secret");
    let found = app
        .with_conn(|conn| clients::find(conn, client.id()))
        .unwrap();
    assert_eq!(
        found.redirect_uris,
        vec!["https://app.example/cb", "https://app.example/b"]
    );
    assert_eq!(found.cors_origins, vec!["https://app.example"]);
    assert!(found.allows_grant("refresh_token"));
    assert!(!found.allows_grant("client_credentials"));
    let stored = found.row.secret_hash.clone().unwrap();
    assert!(secret.hash().matches(&stored));
    assert_ne!(stored, secret.expose().as_bytes());
    assert!(client.id().starts_with("cli_"));
    assert!(app.with_conn(|conn| clients::origin_is_registered(conn, "https://app.example")));
    assert!(!app.with_conn(|conn| clients::origin_is_registered(conn, "https://evil.example")));
}

#[test]
fn updating_a_client_replaces_its_lists() {
    let app = TestApp::new();
    let (client, _) = app.with_conn(|conn| {
        registry::create(conn, &spec("One"), "test", now()).map_err(StorageError::from)
    });
    let mut changed = spec("Renamed");
    changed.redirect_uris = vec!["https://other.example/cb".into()];
    changed.cors_origins.clear();
    app.with_conn(|conn| {
        registry::update(conn, client.id(), &changed, "test", now()).map_err(StorageError::from)
    });
    let found = app
        .with_conn(|conn| clients::find(conn, client.id()))
        .unwrap();
    assert_eq!(found.row.client_name, "Renamed");
    assert_eq!(found.redirect_uris, vec!["https://other.example/cb"]);
    assert!(found.cors_origins.is_empty());
    assert_eq!(
        found.row.secret_hash, client.row.secret_hash,
        "the secret survives an update"
    );
}

#[test]
fn deleting_a_client_removes_its_rows_and_unknown_ids_are_not_found() {
    let app = TestApp::new();
    let (client, _) = app.with_conn(|conn| {
        registry::create(conn, &spec("One"), "test", now()).map_err(StorageError::from)
    });
    app.with_conn(|conn| registry::delete(conn, client.id(), "test", now()));
    assert!(app
        .with_conn(|conn| clients::find(conn, client.id()))
        .is_none());
    let count: i64 = app.with_conn(|conn| {
        Ok(client_redirect_uris::table
            .filter(client_redirect_uris::client_id.eq(client.id()))
            .count()
            .get_result(conn)?)
    });
    assert_eq!(count, 0, "redirect URIs cascade with the client");
    let err = app
        .state
        .db
        .run_blocking(|conn| registry::delete(conn, client.id(), "test", now()))
        .unwrap_err();
    assert!(matches!(err, StorageError::NotFound));
}

#[test]
fn user_emails_are_unique_regardless_of_case() {
    let app = TestApp::new();
    let row = portcullis::account::users::new_user("Ann@Example.com", "password-1", false, now())
        .unwrap();
    app.with_conn(|conn| users::insert(conn, &row));
    assert!(row.user_id.starts_with("usr_"));
    let again = portcullis::account::users::new_user("ann@example.com", "password-2", false, now())
        .unwrap();
    let err = app
        .state
        .db
        .run_blocking(|conn| users::insert(conn, &again))
        .unwrap_err();
    assert!(matches!(err, StorageError::Conflict(_)), "{err:?}");
    let found = app
        .with_conn(|conn| users::find_by_email(conn, "ANN@example.com"))
        .unwrap();
    assert_eq!(found.user_id, row.user_id);
    app.with_conn(|conn| users::set_enabled(conn, "ann@example.com", false, now()));
    assert!(
        !app.with_conn(|conn| users::find(conn, &row.user_id))
            .unwrap()
            .enabled
    );
}

#[test]
fn concurrent_write_transactions_all_commit() {
    // BEGIN IMMEDIATE on SQLite: writers queue on busy_timeout instead of failing.
    let app = TestApp::new();
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let db = app.state.db.clone();
            std::thread::spawn(move || {
                db.run_blocking(|conn| {
                    registry::create(conn, &spec(&format!("c{i}")), "test", now())
                        .map_err(StorageError::from)
                })
                .is_ok()
            })
        })
        .collect();
    let ok = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|committed| *committed)
        .count();
    assert_eq!(ok, 8);
    assert_eq!(app.with_conn(|conn| clients::list(conn, None)).len(), 8);
}

#[test]
fn signing_keys_survive_a_restart_and_are_not_regenerated() {
    let app = TestApp::new();
    let first = app.state.keys.current().jwks();
    let state2 = portcullis::AppState::init((*app.state.settings).clone()).unwrap();
    assert_eq!(state2.keys.current().jwks(), first);
    let rows = app.with_conn(portcullis::storage::signing_keys::list);
    assert_eq!(rows.len(), 2, "one ES256 and one RS256 key");
    for row in rows {
        assert!(
            !row.private_key_enc
                .windows(8)
                .any(|w| w == b"\x30\x81\x87\x02\x01\x00\x30\x13"),
            "private keys are encrypted at rest"
        );
    }
}

/// SQLite: a write transaction opened on a second connection while the first holds the write
/// lock (a programming mistake) fails once `busy_timeout` has passed, as SQLite alone would
/// make it fail, instead of waiting forever on the in-process writer queue.
#[test]
fn a_nested_write_on_a_second_connection_fails_instead_of_waiting_forever() {
    let app = TestApp::with_settings(|s| s.database.sqlite_busy_timeout_ms = 200);
    if app.state.db.backend() != portcullis::storage::Backend::Sqlite {
        return;
    }
    let db = app.state.db.clone();
    let inner = app.with_conn(|conn| {
        portcullis::storage::write_tx(conn, |_| -> Result<_, StorageError> {
            Ok(db.run_blocking(|second| {
                registry::create(second, &spec("inner"), "test", now()).map_err(StorageError::from)
            }))
        })
    });
    assert!(inner.is_err(), "the inner write must fail: {inner:?}");
    assert!(app.with_conn(|conn| clients::list(conn, None)).is_empty());
}
