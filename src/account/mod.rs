//! User accounts: passwords, login, SSO sessions, consent. No actix types.

pub mod password;
pub mod users;
