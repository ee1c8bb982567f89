//! Secrets, keys and JWTs. Nothing here knows HTTP or the database schema.

pub mod jwt;
pub mod keys;
pub mod master_key;
pub mod secrets;
