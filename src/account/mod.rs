//! User accounts: passwords, login, SSO sessions, consent. No actix types.

pub mod admin_tokens;
pub mod password;
pub mod users;
