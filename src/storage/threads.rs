//! The database threads behind [`Db::run`](super::Db::run).
//!
//! diesel blocks, so its calls never run on an async worker. Handing each request's work to
//! the runtime's blocking pool cost a thread wake-up and a wake-up back per request, and under
//! load more blocking threads than connections, parked on the pool. Here the work goes into one
//! queue served by as many threads as the pool has connections: a thread that finishes one
//! piece of work takes the next without sleeping while work is waiting, so under load the
//! threads and the async workers each run for their time slice instead of switching on every
//! request (docs/benchmarks.md).
//!
//! Each piece of work checks its connection out of the r2d2 pool on its thread (the pool still
//! tests, replaces and times out connections) and runs with the `Db`'s SQLite writer queue set
//! (see `write_tx`). Work that waited in the queue longer than `pool_timeout_seconds` is
//! answered `Unavailable` without running. A panic in the work is caught; its caller sees an
//! error and the thread goes on. The threads end when the last `Db` handle is dropped.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use super::{with_writer, Conn, Pool, StorageError, Writer};

/// One piece of work: called with the checked-out connection, or with why there is none.
pub(super) type Work = Box<dyn FnOnce(Result<&mut Conn, StorageError>) + Send>;

struct Queued {
    work: Work,
    since: Instant,
}

/// The sending side of the queue; cloned with the `Db`.
#[derive(Clone)]
pub(super) struct Queue {
    sender: crossbeam_channel::Sender<Queued>,
}

impl Queue {
    pub(super) fn push(&self, work: Work) -> Result<(), StorageError> {
        self.sender
            .send(Queued {
                work,
                since: Instant::now(),
            })
            .map_err(|_| StorageError::Unavailable("the database threads have stopped".into()))
    }
}

/// Starts `count` threads serving one queue.
pub(super) fn start(
    count: usize,
    pool: Pool,
    writer: Writer,
    timeout: Duration,
) -> Result<Queue, String> {
    let (sender, receiver) = crossbeam_channel::unbounded::<Queued>();
    for _ in 0..count.max(1) {
        let receiver = receiver.clone();
        let pool = pool.clone();
        let writer = writer.clone();
        std::thread::Builder::new()
            .name("portcullis-db".into())
            .spawn(move || with_writer(&writer, || serve(&receiver, &pool, timeout)))
            .map_err(|e| format!("cannot start a database thread: {e}"))?;
    }
    Ok(Queue { sender })
}

fn serve(receiver: &crossbeam_channel::Receiver<Queued>, pool: &Pool, timeout: Duration) {
    // Ends when every sender (every `Db` handle) is gone.
    for Queued { work, since } in receiver.iter() {
        if since.elapsed() > timeout {
            work(Err(StorageError::Unavailable(
                "timed out waiting for a database connection".into(),
            )));
            continue;
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| match pool.get() {
            Ok(mut conn) => work(Ok(&mut conn)),
            Err(err) => work(Err(StorageError::Unavailable(err.to_string()))),
        }));
        if outcome.is_err() {
            // The work's answer channel was dropped with it: the caller gets an error. The
            // connection went back to the pool during the unwind; r2d2 discards it if diesel
            // reports it broken (a transaction left open).
            tracing::error!("database work panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::{DatabaseSettings, DatabaseTarget};
    use crate::storage::{Db, StorageError};

    fn db(dir: &tempfile::TempDir, settings: DatabaseSettings) -> Db {
        Db::open(&DatabaseTarget::Sqlite(dir.path().join("t.db")), &settings).expect("db")
    }

    #[actix_rt::test]
    async fn a_panic_in_the_work_is_an_error_and_the_thread_goes_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = db(
            &dir,
            DatabaseSettings {
                pool_size: 1,
                ..DatabaseSettings::default()
            },
        );
        let failed = db
            .run(|_| -> Result<(), StorageError> { panic!("the work fails") })
            .await;
        assert!(matches!(failed, Err(StorageError::Other(_))), "{failed:?}");
        assert_eq!(db.run(|_| Ok(7)).await.expect("the thread still serves"), 7);
    }

    #[actix_rt::test]
    async fn work_that_waited_past_the_pool_timeout_is_unavailable_without_running() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = db(
            &dir,
            DatabaseSettings {
                pool_size: 1,
                pool_timeout_seconds: 1,
                ..DatabaseSettings::default()
            },
        );
        let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = ran.clone();
        // One thread: the second piece of work waits behind the first for 1.5 s.
        let (slow, queued) = futures_util::future::join(
            db.run(|_| {
                std::thread::sleep(Duration::from_millis(1500));
                Ok(())
            }),
            db.run(move |_| {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok(())
            }),
        )
        .await;
        assert!(slow.is_ok());
        assert!(
            matches!(queued, Err(StorageError::Unavailable(_))),
            "{queued:?}"
        );
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
    }
}
