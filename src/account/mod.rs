//! User accounts: passwords, login, SSO sessions, consent. No actix types.

pub mod admin_tokens;
pub mod authorization;
pub mod login;
pub mod password;
pub mod session;
pub mod users;
