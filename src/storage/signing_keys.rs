//! Signing keys, private parts encrypted with the master key.

use diesel::prelude::*;

use crate::crypto::keys::{Alg, StoredKey};
use crate::storage::schema::signing_keys;
use crate::storage::{write_tx, Conn, StorageError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRow {
    pub kid: String,
    pub alg: String,
    pub private_key_enc: Vec<u8>,
    pub public_jwk: String,
    pub created_at: i64,
    pub activates_at: i64,
    pub retired_at: Option<i64>,
}

impl SigningKeyRow {
    pub fn to_stored(&self) -> Option<StoredKey> {
        Some(StoredKey {
            kid: self.kid.clone(),
            alg: Alg::parse(&self.alg)?,
            private_key_enc: self.private_key_enc.clone(),
            public_jwk: self.public_jwk.clone(),
            created_at: self.created_at,
            activates_at: self.activates_at,
        })
    }
}

pub fn insert(conn: &mut Conn, row: &SigningKeyRow) -> Result<(), StorageError> {
    write_tx(conn, |conn| {
        diesel::insert_into(signing_keys::table)
            .values(row)
            .execute(conn)?;
        Ok(())
    })
}

/// Every stored key, oldest first.
pub fn list(conn: &mut Conn) -> Result<Vec<SigningKeyRow>, StorageError> {
    Ok(signing_keys::table
        .order((signing_keys::created_at, signing_keys::kid))
        .select(SigningKeyRow::as_select())
        .load(conn)?)
}

/// Whether any key of `alg` exists.
pub fn exists_for(conn: &mut Conn, alg: Alg) -> Result<bool, StorageError> {
    let found: Option<String> = signing_keys::table
        .filter(signing_keys::alg.eq(alg.as_str()))
        .select(signing_keys::kid)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// Moves the activation of every key of `alg` that activates after `at` back to `at`, so that
/// a key inserted to activate at `at + 1` or later is the newest.
pub fn activate_no_later_than(conn: &mut Conn, alg: Alg, at: i64) -> Result<usize, StorageError> {
    Ok(diesel::update(
        signing_keys::table
            .filter(signing_keys::alg.eq(alg.as_str()))
            .filter(signing_keys::activates_at.gt(at)),
    )
    .set(signing_keys::activates_at.eq(at))
    .execute(conn)?)
}
