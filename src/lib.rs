//! portcullis: an OAuth 2.1 authorization server with PKCE.
//!
//! The binary (`src/main.rs`) parses the command line and calls [`cli::run`]; the HTTP app is
//! built by [`http::build_app`] for both the server and the tests.

#[cfg(feature = "server")]
pub mod account;
#[cfg(feature = "server")]
pub mod cli;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod crypto;
#[cfg(feature = "server")]
pub mod http;
#[cfg(feature = "server")]
pub mod oauth;
#[cfg(feature = "server")]
pub mod registry;
#[cfg(feature = "server")]
pub mod signing;
#[cfg(feature = "server")]
pub mod storage;
#[cfg(any(feature = "server", feature = "verify"))]
pub mod verify;
#[cfg(feature = "server")]
pub mod web;

#[cfg(feature = "server")]
mod state {
    use std::sync::Arc;

    use crate::config::Settings;
    use crate::crypto::keys::KeyRing;
    use crate::crypto::master_key::MasterKey;
    use crate::storage::Db;

    /// Everything a request handler may need, shared by all workers.
    #[derive(Clone)]
    pub struct AppState {
        pub settings: Arc<Settings>,
        /// The validated issuer identifier (`iss`).
        pub issuer: Arc<str>,
        pub db: Db,
        pub keys: KeyRing,
        pub master: Arc<MasterKey>,
        /// The rendered discovery document (`oauth::discovery`).
        pub metadata: Arc<crate::oauth::discovery::MetadataCache>,
    }

    /// Why the server could not start. Displayed as one line.
    #[derive(Debug, thiserror::Error)]
    pub enum StartupError {
        #[error(transparent)]
        Config(#[from] crate::config::ConfigError),
        #[error("database: {0}")]
        Database(String),
        #[error("{0}")]
        MasterKey(#[from] crate::crypto::master_key::MasterKeyError),
        #[error("signing keys: {0}")]
        Keys(String),
    }

    impl AppState {
        /// Opens the database, applies migrations, loads the master key, makes sure signing keys
        /// exist, and loads them. Blocking: call it before the async runtime serves requests.
        pub fn init(settings: Settings) -> Result<Self, StartupError> {
            let issuer: Arc<str> = settings.issuer()?.into();
            let db = open_database(&settings)?;
            db.migrate()
                .map_err(|e| StartupError::Database(describe_db_error(&settings, &e)))?;
            let master = Arc::new(MasterKey::load(&settings.master_key_source()?)?);
            let keys =
                crate::signing::bootstrap(&db, &master, &settings).map_err(StartupError::Keys)?;
            Ok(Self {
                settings: Arc::new(settings),
                issuer,
                db,
                keys,
                master,
                metadata: Default::default(),
            })
        }
    }

    /// Opens the pool for the configured database (without connecting yet).
    pub fn open_database(settings: &Settings) -> Result<Db, StartupError> {
        Db::open(&settings.database_target()?, &settings.database).map_err(StartupError::Database)
    }

    /// A one-line explanation of a database failure at start-up, naming where it points.
    pub fn describe_db_error(settings: &Settings, err: &crate::storage::StorageError) -> String {
        let target = match settings.database_target() {
            Ok(crate::config::DatabaseTarget::Sqlite(path)) => {
                format!("sqlite file {}", path.display())
            }
            Ok(crate::config::DatabaseTarget::Postgres(url)) => {
                // Never print the password of the URL.
                match url::Url::parse(&url) {
                    Ok(mut u) => {
                        let _ = u.set_password(None);
                        format!("postgres at {u}")
                    }
                    Err(_) => "postgres".to_string(),
                }
            }
            Err(_) => "the database".to_string(),
        };
        // One line: driver messages carry newlines and tabs.
        let err = err
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        format!("cannot use {target} (database_url): {err}")
    }
}

#[cfg(feature = "server")]
pub use state::{describe_db_error, open_database, AppState, StartupError};
