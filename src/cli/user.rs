//! `portcullis user …`: manage user accounts. Passwords are read from standard input, never
//! from the command line (argv is visible to every local user).

use std::io::{BufRead, IsTerminal};

use clap::Subcommand;
use serde::Serialize;

use crate::account::{password, users as accounts};
use crate::cli::{open_db, parse_bool, print_json, CliError};
use crate::config::Settings;
use crate::storage::{now, users, StorageError};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is the first line of standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        admin: bool,
        #[arg(long)]
        json: bool,
    },
    /// List users.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disable a user: no login, no token refresh.
    Disable { email: String },
    /// Enable a disabled user.
    Enable { email: String },
    /// Set a user's password from the first line of standard input.
    SetPassword { email: String },
    /// Grant or remove the admin flag.
    SetAdmin {
        email: String,
        #[arg(value_parser = parse_bool)]
        admin: bool,
    },
}

#[derive(Serialize)]
struct UserView {
    user_id: String,
    email: String,
    is_admin: bool,
    enabled: bool,
    email_verified: bool,
    created_at: i64,
}

impl From<&users::UserRow> for UserView {
    fn from(u: &users::UserRow) -> Self {
        Self {
            user_id: u.user_id.clone(),
            email: u.email.clone(),
            is_admin: u.is_admin,
            enabled: u.enabled,
            email_verified: u.email_verified,
            created_at: u.created_at,
        }
    }
}

/// Reads the password from the first line of standard input; on a terminal, without echo.
fn read_password() -> Result<String, CliError> {
    let line = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("password: ")
            .map_err(|e| CliError::failed(format!("cannot read the password: {e}")))?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| CliError::failed(format!("cannot read the password: {e}")))?;
        line
    };
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    password::check_policy(&password).map_err(CliError::usage)?;
    Ok(password)
}

fn not_found(email: &str) -> impl Fn(StorageError) -> CliError + '_ {
    move |e| match e {
        StorageError::NotFound => CliError::failed(format!("no user {email}")),
        other => other.into(),
    }
}

pub fn run(settings: Settings, cmd: UserCommand) -> Result<(), CliError> {
    match cmd {
        UserCommand::Create { email, admin, json } => {
            accounts::check_email(&email).map_err(|e| CliError::usage(format!("email: {e}")))?;
            let password = read_password()?;
            let row = accounts::new_user(&email, &password, admin, now())
                .map_err(|e| CliError::usage(e.to_string()))?;
            let db = open_db(&settings)?;
            let mut conn = db.conn()?;
            accounts::create(&mut conn, &row).map_err(|e| match e {
                accounts::UserError::Exists => {
                    CliError::failed(format!("a user {} already exists", row.email))
                }
                other => CliError::failed(other.to_string()),
            })?;
            if json {
                print_json(&UserView::from(&row));
            } else {
                println!("created {} ({})", row.email, row.user_id);
            }
            Ok(())
        }
        UserCommand::List { json } => {
            let db = open_db(&settings)?;
            let list = db.run_blocking(users::list)?;
            let views: Vec<UserView> = list.iter().map(UserView::from).collect();
            if json {
                print_json(&views);
            } else if views.is_empty() {
                println!("no users");
            } else {
                for v in &views {
                    println!(
                        "{}  {}  {}{}",
                        v.user_id,
                        v.email,
                        if v.enabled { "enabled" } else { "disabled" },
                        if v.is_admin { "  admin" } else { "" }
                    );
                }
            }
            Ok(())
        }
        UserCommand::Disable { email } => {
            let db = open_db(&settings)?;
            db.run_blocking(|conn| users::set_enabled(conn, &email, false, now()))
                .map_err(not_found(&email))?;
            println!("disabled {email}");
            Ok(())
        }
        UserCommand::Enable { email } => {
            let db = open_db(&settings)?;
            db.run_blocking(|conn| users::set_enabled(conn, &email, true, now()))
                .map_err(not_found(&email))?;
            println!("enabled {email}");
            Ok(())
        }
        UserCommand::SetPassword { email } => {
            let password = read_password()?;
            let hash = password::hash(&password);
            let db = open_db(&settings)?;
            db.run_blocking(|conn| users::set_password_hash(conn, &email, &hash, now()))
                .map_err(not_found(&email))?;
            println!("password changed for {email}");
            Ok(())
        }
        UserCommand::SetAdmin { email, admin } => {
            let db = open_db(&settings)?;
            db.run_blocking(|conn| users::set_admin(conn, &email, admin, now()))
                .map_err(not_found(&email))?;
            println!("{email}: admin = {admin}");
            Ok(())
        }
    }
}
