//! `portcullis admin …`: admin API tokens.

use clap::Subcommand;
use serde::Serialize;

use crate::account::admin_tokens::{self as tokens, AdminTokenError};
use crate::cli::{open_db, print_json, CliError};
use crate::config::Settings;
use crate::storage::{admin_tokens, now, StorageError};

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Admin API tokens (`Authorization: Bearer` on /admin/api).
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for an admin user; it is printed this once.
    Create {
        #[arg(long)]
        name: String,
        /// The owning admin user's email. The token stops working when that user loses the
        /// admin flag or is disabled.
        #[arg(long, value_name = "EMAIL")]
        user: String,
        #[arg(long)]
        json: bool,
    },
    /// List tokens (never the tokens themselves).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token.
    Revoke { token_id: String },
}

#[derive(Serialize)]
struct TokenView {
    token_id: String,
    name: String,
    user: String,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
}

pub fn run(settings: Settings, cmd: AdminCommand) -> Result<(), CliError> {
    let AdminCommand::Token(cmd) = cmd;
    match cmd {
        TokenCommand::Create { name, user, json } => {
            tokens::check_name(&name).map_err(|e| CliError::usage(e.to_string()))?;
            let db = open_db(&settings)?;
            let mut conn = db.conn()?;
            let (row, token) =
                tokens::issue(&mut conn, &name, &user, "cli", now()).map_err(|e| match e {
                    AdminTokenError::Invalid(m) => CliError::usage(m),
                    AdminTokenError::Storage(s) => s.into(),
                    other => CliError::failed(other.to_string()),
                })?;
            if json {
                print_json(&TokenView {
                    token_id: row.token_id,
                    name: row.name,
                    user: user.trim().to_lowercase(),
                    created_at: row.created_at,
                    last_used_at: None,
                    revoked_at: None,
                    token: Some(token.expose().to_string()),
                });
            } else {
                println!("token_id: {}", row.token_id);
                println!("token: {}", token.expose());
                println!("(the token is shown only this once; store it now)");
            }
            Ok(())
        }
        TokenCommand::List { json } => {
            let db = open_db(&settings)?;
            let list = db.run_blocking(admin_tokens::list)?;
            let views: Vec<TokenView> = list
                .into_iter()
                .map(|(row, email)| TokenView {
                    token_id: row.token_id,
                    name: row.name,
                    user: email,
                    created_at: row.created_at,
                    last_used_at: row.last_used_at,
                    revoked_at: row.revoked_at,
                    token: None,
                })
                .collect();
            if json {
                print_json(&views);
            } else if views.is_empty() {
                println!("no admin tokens");
            } else {
                for v in &views {
                    println!(
                        "{}  {}  {}  {}",
                        v.token_id,
                        v.user,
                        if v.revoked_at.is_some() {
                            "revoked"
                        } else {
                            "active"
                        },
                        v.name
                    );
                }
            }
            Ok(())
        }
        TokenCommand::Revoke { token_id } => {
            let db = open_db(&settings)?;
            db.run_blocking(|conn| tokens::revoke(conn, &token_id, "cli", now()))
                .map_err(|e| match e {
                    StorageError::NotFound => {
                        CliError::failed(format!("no admin token {token_id}"))
                    }
                    other => other.into(),
                })?;
            println!("revoked {token_id}");
            Ok(())
        }
    }
}
