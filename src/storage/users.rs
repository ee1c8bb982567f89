//! User accounts. Passwords are argon2id hashes (hashing happens in `account::password`,
//! outside any transaction).

use diesel::prelude::*;

use crate::storage::schema::users;
use crate::storage::{write_tx, Conn, StorageError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub user_id: String,
    pub email: String,
    pub password_hash: String,
    pub is_admin: bool,
    pub enabled: bool,
    pub email_verified: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Emails are compared case-insensitively: stored lower-cased and trimmed.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Inserts a user; a taken email is `Conflict`.
pub fn insert(conn: &mut Conn, user: &UserRow) -> Result<(), StorageError> {
    write_tx(conn, |conn| {
        diesel::insert_into(users::table)
            .values(user)
            .execute(conn)?;
        Ok(())
    })
}

pub fn find_by_email(conn: &mut Conn, email: &str) -> Result<Option<UserRow>, StorageError> {
    Ok(users::table
        .filter(users::email.eq(normalize_email(email)))
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()?)
}

pub fn find(conn: &mut Conn, user_id: &str) -> Result<Option<UserRow>, StorageError> {
    Ok(users::table
        .find(user_id)
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()?)
}

pub fn list(conn: &mut Conn) -> Result<Vec<UserRow>, StorageError> {
    Ok(users::table
        .order((users::created_at, users::email))
        .select(UserRow::as_select())
        .load(conn)?)
}

fn expect_one(n: usize) -> Result<(), StorageError> {
    if n == 0 {
        Err(StorageError::NotFound)
    } else {
        Ok(())
    }
}

pub fn set_enabled(
    conn: &mut Conn,
    email: &str,
    enabled: bool,
    now: i64,
) -> Result<(), StorageError> {
    let n = diesel::update(users::table.filter(users::email.eq(normalize_email(email))))
        .set((users::enabled.eq(enabled), users::updated_at.eq(now)))
        .execute(conn)?;
    expect_one(n)
}

pub fn set_admin(conn: &mut Conn, email: &str, admin: bool, now: i64) -> Result<(), StorageError> {
    let n = diesel::update(users::table.filter(users::email.eq(normalize_email(email))))
        .set((users::is_admin.eq(admin), users::updated_at.eq(now)))
        .execute(conn)?;
    expect_one(n)
}

pub fn set_password_hash(
    conn: &mut Conn,
    email: &str,
    password_hash: &str,
    now: i64,
) -> Result<(), StorageError> {
    let n = diesel::update(users::table.filter(users::email.eq(normalize_email(email))))
        .set((
            users::password_hash.eq(password_hash),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    expect_one(n)
}
