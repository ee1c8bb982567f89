//! Storage: one diesel connection type over SQLite or PostgreSQL, an r2d2 pool, embedded
//! migrations, and one repository module per aggregate.
//!
//! Repository functions take `&mut Conn` so that the caller owns the transaction. Handlers
//! reach the database only through [`Db::run`], which hands the blocking work to the database
//! threads (`threads`), never running it on an async worker.
//!
//! Lookups by a key use `get_result`, not `first`: `first` appends `LIMIT ?`, and SQLite
//! compiles a bound LIMIT into the statement as a constant and marks the statement to be
//! compiled again whenever that parameter is bound, so every such lookup parsed its SQL anew
//! (docs/benchmarks.md).

pub mod admin_tokens;
pub mod audit;
pub mod cleanup;
pub mod clients;
pub mod codes;
pub mod consent_check;
pub mod consents;
pub mod families;
mod fixed;
pub mod refresh_tokens;
pub mod resources;
pub mod schema;
pub mod sessions;
pub mod signing_keys;
mod threads;
pub mod throttle;
pub mod users;

use std::cell::RefCell;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::config::{DatabaseSettings, DatabaseTarget};

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to either backend. Both run the same queries; where the shared subset of SQL
/// falls short, the one repository function that needs it matches on the variant.
#[derive(diesel::MultiConnection)]
pub enum Conn {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// What storage can fail with. `Unavailable` (pool timeout, lost connection) becomes a 503;
/// `Other` becomes a generic `server_error` with the cause only in the log.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Other(String),
}

impl From<diesel::result::Error> for StorageError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match err {
            Error::NotFound => StorageError::NotFound,
            // The database's own text names tables and constraints: it stays in the log, and
            // callers (API, console, CLI) show a fixed sentence.
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                tracing::debug!(detail = info.message(), "unique constraint violated");
                StorageError::Conflict("an entry with the same key already exists".into())
            }
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                StorageError::Unavailable(info.message().to_string())
            }
            Error::DatabaseError(_, info) if is_busy(info.message()) => {
                StorageError::Unavailable(info.message().to_string())
            }
            other => StorageError::Other(other.to_string()),
        }
    }
}

fn is_busy(message: &str) -> bool {
    message.contains("database is locked") || message.contains("database is busy")
}

/// Opens connections of the backend named by the URL scheme.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    target: DatabaseTarget,
    busy_timeout_ms: u32,
}

impl ConnectionManager {
    fn sqlite_url(path: &Path) -> String {
        path.to_string_lossy().into_owned()
    }
}

impl ManageConnection for ConnectionManager {
    type Connection = Conn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Conn, r2d2::Error> {
        match &self.target {
            DatabaseTarget::Postgres(url) => PgConnection::establish(url)
                .map(Conn::Postgres)
                .map_err(r2d2::Error::ConnectionError),
            DatabaseTarget::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&Self::sqlite_url(path))
                    .map_err(r2d2::Error::ConnectionError)?;
                // NORMAL is durable in WAL mode except for the last transactions before a power
                // loss; busy_timeout makes writers queue instead of failing at once. WAL itself
                // is set once, in `Db::open` (it is stored in the file, and switching to it
                // while another connection is open fails with "database is locked").
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON;",
                    self.busy_timeout_ms
                ))
                .map_err(r2d2::Error::QueryError)?;
                Ok(Conn::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        use diesel::r2d2::R2D2Connection;
        conn.is_broken()
    }
}

pub type Pool = r2d2::Pool<ConnectionManager>;

/// The database handle shared by the HTTP app, the CLI and the background jobs.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    /// For start-up work that must fail fast instead of waiting on the pool.
    manager: ConnectionManager,
    backend: Backend,
    /// The queue of [`Db::run`]'s work, served by as many database threads as the pool has
    /// connections (see [`threads`]).
    queue: threads::Queue,
    /// SQLite admits one writer per file. The writers of this process queue on this lock
    /// before `BEGIN IMMEDIATE` (see [`write_tx`]) instead of inside SQLite, whose busy
    /// handler polls with sleeps of 1 to 100 ms; other processes (the CLI, a second server)
    /// are still queued by `busy_timeout`.
    writer: Writer,
}

/// The in-process queue of SQLite writers, and how long one waits in it: as long as SQLite's
/// `busy_timeout`. A writer that waited that long goes on to `BEGIN IMMEDIATE` anyway and
/// SQLite decides (it fails with "database is locked" if the lock is still held), so a
/// mistake such as a second write transaction opened on another connection of the same `Db`
/// inside the first fails as it always did instead of waiting forever.
#[derive(Clone)]
struct Writer {
    lock: Arc<parking_lot::Mutex<()>>,
    wait: Duration,
}

thread_local! {
    /// The SQLite writer queue of the [`Db`] whose closure runs on this thread, for
    /// [`write_tx`], which only sees the connection.
    static WRITER: RefCell<Option<Writer>> = const { RefCell::new(None) };
}

/// Makes [`write_tx`] on this thread queue on `writer` while `f` runs.
fn with_writer<T>(writer: &Writer, f: impl FnOnce() -> T) -> T {
    struct Reset(Option<Writer>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let previous = self.0.take();
            WRITER.with(|w| *w.borrow_mut() = previous);
        }
    }
    let previous = WRITER.with(|w| w.borrow_mut().replace(writer.clone()));
    let _reset = Reset(previous);
    f()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Db {
    /// Builds the pool without opening a connection (start-up stays fast; the first request
    /// or [`Db::migrate`] opens one).
    pub fn open(target: &DatabaseTarget, settings: &DatabaseSettings) -> Result<Self, String> {
        let backend = match target {
            DatabaseTarget::Sqlite(path) => {
                configure_sqlite_library();
                prepare_sqlite_dir(path)?;
                enable_wal(path, settings.sqlite_busy_timeout_ms)?;
                Backend::Sqlite
            }
            DatabaseTarget::Postgres(_) => Backend::Postgres,
        };
        let manager = ConnectionManager {
            target: target.clone(),
            busy_timeout_ms: settings.sqlite_busy_timeout_ms,
        };
        let pool_size = settings.effective_pool_size(backend == Backend::Sqlite);
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(1))
            // r2d2 runs `SELECT 1` on every checkout by default: one more statement parsed
            // per request. A SQLite connection to a local file cannot go stale, so only
            // PostgreSQL connections (server restarts, idle timeouts) are tested.
            .test_on_check_out(backend == Backend::Postgres)
            .connection_timeout(Duration::from_secs(settings.pool_timeout_seconds.max(1)))
            .build_unchecked(manager.clone());
        let writer = Writer {
            lock: Arc::new(parking_lot::Mutex::new(())),
            wait: Duration::from_millis(settings.sqlite_busy_timeout_ms.into()),
        };
        let queue = threads::start(
            pool_size as usize,
            pool.clone(),
            writer.clone(),
            Duration::from_secs(settings.pool_timeout_seconds.max(1)),
        )?;
        Ok(Self {
            pool,
            manager,
            backend,
            queue,
            writer,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks a connection out on the calling thread. Only for code that is already off the
    /// async workers (CLI, blocking tasks).
    pub fn conn(&self) -> Result<r2d2::PooledConnection<ConnectionManager>, StorageError> {
        self.pool
            .get()
            .map_err(|e| StorageError::Unavailable(e.to_string()))
    }

    /// Runs blocking database work on one of the database threads (never on an async
    /// worker). The work waits in one queue for a free thread, at most `pool_timeout_seconds`
    /// (then `Unavailable`, a 503), and checks its connection out on that thread.
    pub async fn run<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<T, StorageError> + Send + 'static,
    {
        let (answer, result) = tokio::sync::oneshot::channel();
        self.queue.push(Box::new(move |conn| {
            let _ = answer.send(conn.and_then(f));
        }))?;
        result
            .await
            .map_err(|_| StorageError::Other("the database work panicked".into()))?
    }

    /// Runs blocking database work on the calling thread (CLI and tests).
    pub fn run_blocking<T>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let mut conn = self.conn()?;
        with_writer(&self.writer, || f(&mut conn))
    }

    /// Applies the embedded migrations of this backend. Safe to run concurrently from several
    /// instances on PostgreSQL (an advisory lock serialises them).
    ///
    /// Uses one direct connection rather than the pool, so that an unreachable database fails
    /// at once with the driver's own message instead of after the pool's timeout.
    pub fn migrate(&self) -> Result<usize, StorageError> {
        let mut conn = self
            .manager
            .connect()
            .map_err(|e| StorageError::Unavailable(e.to_string()))?;
        migrate(&mut conn)
    }
}

/// Applies pending migrations on one connection.
pub fn migrate(conn: &mut Conn) -> Result<usize, StorageError> {
    let applied = match conn {
        Conn::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map_err(|e| StorageError::Other(format!("migration failed: {e}")))?
            .len(),
        Conn::Postgres(c) => {
            // Several instances may start at once; the advisory lock makes one migrate while
            // the others wait, instead of racing on CREATE TABLE.
            c.batch_execute("SELECT pg_advisory_lock(7140425)")?;
            let result = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.len())
                .map_err(|e| StorageError::Other(format!("migration failed: {e}")));
            c.batch_execute("SELECT pg_advisory_unlock(7140425)")?;
            result?
        }
    };
    Ok(applied)
}

/// Sets SQLite's process-wide options, once, before the first connection initialises the
/// library (afterwards SQLite refuses them with `SQLITE_MISUSE` and keeps its defaults, which
/// are correct, only slower):
/// - multi-thread mode: no mutex around every call on a connection or statement. A pooled
///   connection is used by one thread at a time (diesel's connection is `Send`, not `Sync`),
///   which is exactly what this mode requires; the library's shared structures keep theirs.
/// - no memory statistics: SQLite would otherwise take a global mutex on every allocation to
///   count bytes that nothing here reads.
fn configure_sqlite_library() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use libsqlite3_sys as ffi;
        // SAFETY: sqlite3_config is called before any connection of this process exists
        // (Db::open is the first to open one) and from one thread (the Once). If the library
        // was already initialised, it returns SQLITE_MISUSE and changes nothing.
        let (mode, memstatus) = unsafe {
            (
                ffi::sqlite3_config(ffi::SQLITE_CONFIG_MULTITHREAD),
                ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as std::ffi::c_int),
            )
        };
        if mode != ffi::SQLITE_OK || memstatus != ffi::SQLITE_OK {
            tracing::debug!(
                mode,
                memstatus,
                "SQLite was initialised before its options were set"
            );
        }
    });
}

/// Puts the SQLite file in WAL mode (readers run beside the one writer) before any pooled
/// connection exists. The mode is persistent, so this is a no-op on later starts.
fn enable_wal(path: &Path, busy_timeout_ms: u32) -> Result<(), String> {
    let mut conn = SqliteConnection::establish(&ConnectionManager::sqlite_url(path))
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    conn.batch_execute(&format!(
        "PRAGMA busy_timeout = {busy_timeout_ms}; PRAGMA journal_mode = WAL;"
    ))
    .map_err(|e| format!("cannot use {}: {e}", path.display()))
}

fn prepare_sqlite_dir(path: &Path) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create database folder {}: {e}", dir.display()))?;
    }
    Ok(())
}

/// Runs `f` in a write transaction. On SQLite the transaction starts with `BEGIN IMMEDIATE`,
/// so that it takes the write lock up front: a deferred transaction that reads and then writes
/// fails with SQLITE_BUSY when another writer got in between, which `busy_timeout` cannot
/// retry. On PostgreSQL it is an ordinary transaction; its statements are written to be safe
/// under READ COMMITTED (conditional updates, row counts checked).
pub fn write_tx<T, E, F>(conn: &mut Conn, f: F) -> Result<T, E>
where
    E: From<diesel::result::Error>,
    F: FnOnce(&mut Conn) -> Result<T, E>,
{
    match conn {
        Conn::Postgres(_) => conn.transaction(f),
        Conn::Sqlite(inner) => {
            let depth = AnsiTransactionManager::transaction_manager_status_mut(inner)
                .transaction_depth()?;
            if depth.is_some() {
                // Already inside the caller's write transaction: it holds the write lock.
                return f(conn);
            }
            // Queue behind this process's other writers first (see `Db::writer`).
            let writer = WRITER.with(|w| w.borrow().clone());
            let _queued = writer.as_ref().and_then(|w| w.lock.try_lock_for(w.wait));
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
            let result = f(conn);
            let Conn::Sqlite(inner) = conn else {
                unreachable!("the variant does not change inside a transaction")
            };
            match result {
                Ok(value) => {
                    AnsiTransactionManager::commit_transaction(inner)?;
                    Ok(value)
                }
                Err(err) => {
                    let _ = AnsiTransactionManager::rollback_transaction(inner);
                    Err(err)
                }
            }
        }
    }
}

/// The current time in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Splits a space-separated list (scopes, grant types) into its non-empty items.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(' ')
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::StorageError;
    use diesel::result::{DatabaseErrorKind, Error};

    #[test]
    fn a_unique_violation_is_a_conflict_without_the_database_text() {
        let raw = "duplicate key value violates unique constraint \"resources_pkey\"".to_string();
        let err = Error::DatabaseError(DatabaseErrorKind::UniqueViolation, Box::new(raw));
        match StorageError::from(err) {
            StorageError::Conflict(message) => {
                assert!(!message.contains("resources_pkey"), "{message}");
                assert!(!message.contains("constraint"), "{message}");
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
    }
}
