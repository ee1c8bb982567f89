//! The integration suite: the real HTTP app over a real database. Each test gets a fresh
//! SQLite file in a temporary folder, or, with `PORTCULLIS_TEST_DATABASE_URL` set, its own
//! PostgreSQL schema that is dropped when the test ends.

mod admin_api;
mod admin_console;
mod app_links;
mod app_to_app;
mod authorize;
mod cli;
mod cli_admin;
mod conformance;
mod cors_endpoints;
mod flow_support;
mod health;
mod resource;
mod resource_indicators;
mod storage;
mod support;
mod token;
mod token_support;
