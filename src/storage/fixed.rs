//! The hot `UPDATE`s of the token path with fixed SQL text, so that diesel keeps them as
//! prepared statements. diesel re-renders and re-prepares every `UPDATE` built with its DSL
//! (its update statements are never cached), which made SQLite parse two or three statements
//! on every refresh and code exchange (docs/benchmarks.md, decision 53). Each type here is one
//! statement with the same meaning as the DSL query it replaced; the repository functions in
//! `codes`, `refresh_tokens` and `families` are the only callers.

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Binary, HasSqlType, Text};
use diesel::{QueryResult, RunQueryDsl};

/// Declares a statement type with a static query id (the key of diesel's statement cache).
macro_rules! fixed_statement {
    ($name:ident) => {
        impl QueryId for $name<'_> {
            type QueryId = $name<'static>;
            const HAS_STATIC_QUERY_ID: bool = true;
        }

        impl<C> RunQueryDsl<C> for $name<'_> {}
    };
}

/// `UPDATE refresh_tokens SET used_at = $now WHERE token_hash = $hash AND used_at IS NULL AND
/// revoked_at IS NULL`: the compare-and-set of a rotation.
pub(crate) struct MarkRefreshUsed<'a> {
    pub token_hash: &'a [u8],
    pub now: i64,
}
fixed_statement!(MarkRefreshUsed);

impl<DB> QueryFragment<DB> for MarkRefreshUsed<'_>
where
    DB: Backend + HasSqlType<BigInt> + HasSqlType<Binary>,
    i64: ToSql<BigInt, DB>,
    [u8]: ToSql<Binary, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE refresh_tokens SET used_at = ");
        out.push_bind_param::<BigInt, _>(&self.now)?;
        out.push_sql(" WHERE token_hash = ");
        out.push_bind_param::<Binary, _>(self.token_hash)?;
        out.push_sql(" AND used_at IS NULL AND revoked_at IS NULL");
        Ok(())
    }
}

/// `UPDATE authorization_codes SET used_at = $now WHERE code_hash = $hash AND used_at IS
/// NULL`: the compare-and-set of a code redemption.
pub(crate) struct MarkCodeUsed<'a> {
    pub code_hash: &'a [u8],
    pub now: i64,
}
fixed_statement!(MarkCodeUsed);

impl<DB> QueryFragment<DB> for MarkCodeUsed<'_>
where
    DB: Backend + HasSqlType<BigInt> + HasSqlType<Binary>,
    i64: ToSql<BigInt, DB>,
    [u8]: ToSql<Binary, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE authorization_codes SET used_at = ");
        out.push_bind_param::<BigInt, _>(&self.now)?;
        out.push_sql(" WHERE code_hash = ");
        out.push_bind_param::<Binary, _>(self.code_hash)?;
        out.push_sql(" AND used_at IS NULL");
        Ok(())
    }
}

/// `UPDATE refresh_families SET last_access_jti = $jti, last_access_expires_at = $exp WHERE
/// family_id = $id`: records the access token just issued from a family.
pub(crate) struct RecordAccessToken<'a> {
    pub family_id: &'a str,
    pub jti: &'a str,
    pub expires_at: i64,
}
fixed_statement!(RecordAccessToken);

impl<DB> QueryFragment<DB> for RecordAccessToken<'_>
where
    DB: Backend + HasSqlType<BigInt> + HasSqlType<Text>,
    i64: ToSql<BigInt, DB>,
    str: ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE refresh_families SET last_access_jti = ");
        out.push_bind_param::<Text, _>(self.jti)?;
        out.push_sql(", last_access_expires_at = ");
        out.push_bind_param::<BigInt, _>(&self.expires_at)?;
        out.push_sql(" WHERE family_id = ");
        out.push_bind_param::<Text, _>(self.family_id)?;
        Ok(())
    }
}
