//! `portcullis keys …`: list and rotate signing keys.

use clap::Subcommand;

use crate::cli::{open_db, print_json, CliError};
use crate::config::Settings;
use crate::crypto::keys::Alg;
use crate::crypto::master_key::MasterKey;
use crate::signing::KeyState;
use crate::storage::{now, signing_keys};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List signing keys with their state.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Publish a new key now; it starts signing after the activation delay.
    Rotate {
        #[arg(long, default_value = "ES256", value_parser = ["ES256", "RS256"])]
        alg: String,
        /// Start signing with the new key at once (for a leaked key).
        #[arg(long)]
        now: bool,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(settings: Settings, cmd: KeysCommand) -> Result<(), CliError> {
    let db = open_db(&settings)?;
    let master = MasterKey::load(&settings.master_key_source()?)
        .map_err(|e| CliError::failed(e.to_string()))?;
    // The same first-start step as `serve`: a fresh database gets its first keys.
    crate::signing::bootstrap(&db, &master, &settings).map_err(CliError::failed)?;
    match cmd {
        KeysCommand::List { json } => {
            let rows = db.run_blocking(signing_keys::list)?;
            let views = crate::signing::key_states(&rows, now());
            if json {
                print_json(&views);
            } else {
                for v in &views {
                    println!(
                        "{}  {}  {}  activates_at={}",
                        v.kid, v.alg, v.state, v.activates_at
                    );
                }
            }
            Ok(())
        }
        KeysCommand::Rotate {
            alg,
            now: at_once,
            json,
        } => {
            let alg = Alg::parse(&alg).ok_or_else(|| CliError::usage("--alg: ES256 or RS256"))?;
            let row = db.run_blocking(|conn| {
                crate::signing::rotate(conn, &master, &settings, alg, at_once, "cli")
            })?;
            let view = KeyState {
                kid: row.kid.clone(),
                alg: row.alg.clone(),
                created_at: row.created_at,
                activates_at: row.activates_at,
                state: if at_once { "active" } else { "pending" },
            };
            if json {
                print_json(&view);
            } else {
                println!(
                    "new {} key {} published; it signs from {} ({})",
                    view.alg,
                    view.kid,
                    view.activates_at,
                    if at_once {
                        "now"
                    } else {
                        "after the activation delay"
                    }
                );
            }
            Ok(())
        }
    }
}
