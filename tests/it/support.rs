//! Test fixtures built through the production code paths.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test;
use base64::Engine;
use portcullis::config::Settings;
use portcullis::storage::{Conn, StorageError};
use portcullis::AppState;

/// A database for one test: a SQLite file in a temp dir, or a PostgreSQL schema.
pub struct TestDb {
    pub url: String,
    _dir: tempfile::TempDir,
    pg_schema: Option<(String, String)>,
}

impl TestDb {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        match std::env::var("PORTCULLIS_TEST_DATABASE_URL") {
            Ok(base) if !base.is_empty() => {
                use diesel::connection::SimpleConnection;
                use diesel::Connection;
                let schema = format!("t_{}", portcullis::crypto::secrets::prefixed_id::<8>(""));
                let mut admin = diesel::PgConnection::establish(&base)
                    .expect("PORTCULLIS_TEST_DATABASE_URL must reach PostgreSQL");
                admin
                    .batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .expect("create schema");
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
                TestDb {
                    url,
                    _dir: dir,
                    pg_schema: Some((base, schema)),
                }
            }
            _ => {
                let path = dir.path().join("test.db");
                TestDb {
                    url: format!("sqlite://{}", path.display()),
                    _dir: dir,
                    pg_schema: None,
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, schema)) = &self.pg_schema {
            use diesel::connection::SimpleConnection;
            use diesel::Connection;
            if let Ok(mut admin) = diesel::PgConnection::establish(base) {
                let _ = admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
            }
        }
    }
}

/// Settings for a test: its own database, a fixed random master key.
pub fn test_settings(db: &TestDb) -> Settings {
    let mut settings = Settings {
        database_url: db.url.clone(),
        master_key: Some(base64::engine::general_purpose::STANDARD.encode([42u8; 32])),
        ..Settings::default()
    };
    settings.database.pool_size = 4;
    settings
}

/// The production app over a fresh database.
pub struct TestApp {
    pub state: AppState,
    /// Kept for its `Drop`: the database lives as long as the app.
    _db: TestDb,
}

impl TestApp {
    pub fn new() -> Self {
        Self::with_settings(|_| {})
    }

    pub fn with_settings(change: impl FnOnce(&mut Settings)) -> Self {
        let db = TestDb::new();
        let mut settings = test_settings(&db);
        change(&mut settings);
        let state = AppState::init(settings).expect("app state");
        TestApp { state, _db: db }
    }

    /// Runs repository code directly (fixtures, assertions).
    pub fn with_conn<T>(&self, f: impl FnOnce(&mut Conn) -> Result<T, StorageError>) -> T {
        self.state.db.run_blocking(f).expect("database")
    }

    pub async fn service(
        &self,
    ) -> impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    > {
        test::init_service(portcullis::http::build_app(self.state.clone())).await
    }
}

/// A response header as text ("" when absent).
pub fn header<B>(res: &ServiceResponse<B>, name: &str) -> String {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}
