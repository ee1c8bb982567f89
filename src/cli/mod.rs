//! The command line: `portcullis [--config FILE] [COMMAND]`. These commands and flags are a
//! public interface that operators' scripts rely on.

mod admin;
mod cleanup;
mod client;
mod keys;
mod resource;
mod serve;
mod user;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Settings;

#[derive(Debug, Parser)]
#[command(
    name = "portcullis",
    version,
    about = "An OAuth 2.1 authorization server with PKCE"
)]
pub struct Cli {
    /// TOML configuration file (settings from PORTCULLIS_* variables override it).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve HTTP (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage OAuth clients.
    #[command(subcommand)]
    Client(client::ClientCommand),
    /// Manage user accounts.
    #[command(subcommand)]
    User(user::UserCommand),
    /// List and rotate signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Delete expired codes, sessions, refresh tokens and deny-listed token ids once.
    Cleanup {
        #[arg(long)]
        json: bool,
    },
    /// Admin API tokens.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Manage resource servers (token audiences) and the scopes they own.
    #[command(subcommand)]
    Resource(resource::ResourceCommand),
}

/// A command failure: the message is printed as one line; the code is the exit status
/// (2 for bad input or configuration, 1 for everything else).
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub code: u8,
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 2,
        }
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 1,
        }
    }
}

impl From<crate::StartupError> for CliError {
    fn from(err: crate::StartupError) -> Self {
        let code = match err {
            crate::StartupError::Config(_) => 2,
            _ => 1,
        };
        Self {
            message: err.to_string(),
            code,
        }
    }
}

impl From<crate::storage::StorageError> for CliError {
    fn from(err: crate::storage::StorageError) -> Self {
        CliError::failed(err.to_string())
    }
}

/// Runs the parsed command line and returns the process exit status.
pub fn run(cli: Cli) -> ExitCode {
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(err) => {
            eprintln!("portcullis: {err}");
            return ExitCode::from(2);
        }
    };
    init_tracing(&settings);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve::run(settings),
        Command::Migrate => migrate(settings),
        Command::Client(cmd) => client::run(settings, cmd),
        Command::User(cmd) => user::run(settings, cmd),
        Command::Keys(cmd) => keys::run(settings, cmd),
        Command::Cleanup { json } => cleanup::run(settings, json),
        Command::Admin(cmd) => admin::run(settings, cmd),
        Command::Resource(cmd) => resource::run(settings, cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("portcullis: {}", err.message);
            ExitCode::from(err.code)
        }
    }
}

fn init_tracing(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if settings.log_format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

fn migrate(settings: Settings) -> Result<(), CliError> {
    let db = crate::open_database(&settings)?;
    let applied = db
        .migrate()
        .map_err(|e| CliError::failed(crate::describe_db_error(&settings, &e)))?;
    println!("applied {applied} migration(s)");
    Ok(())
}

/// Opens the database for a management command (migrating first, so that commands work on
/// a fresh database too).
pub(crate) fn open_db(settings: &Settings) -> Result<crate::storage::Db, CliError> {
    let db = crate::open_database(settings)?;
    db.migrate()
        .map_err(|e| CliError::failed(crate::describe_db_error(settings, &e)))?;
    Ok(db)
}

/// Parses `true`/`false` flags.
pub(crate) fn parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("expected `true` or `false`".into()),
    }
}

/// Prints `value` as pretty JSON.
pub(crate) fn print_json<T: serde::Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("values serialise")
    );
}

impl From<crate::config::ConfigError> for CliError {
    fn from(err: crate::config::ConfigError) -> Self {
        CliError::usage(err.to_string())
    }
}
