//! `portcullis resource …`: register the resource servers (RFC 8707 audiences) and the
//! scopes they own.

use clap::Subcommand;

use crate::cli::{open_db, print_json, CliError};
use crate::config::Settings;
use crate::registry;
use crate::storage::resources;
use crate::storage::{now, StorageError};

#[derive(Debug, Subcommand)]
pub enum ResourceCommand {
    /// Register a resource server: tokens for its scopes get its audience.
    Create {
        /// The audience URI (`aud`), e.g. https://api.example.com.
        #[arg(long)]
        audience: String,
        /// The scopes it owns, one space-separated string as in OAuth.
        #[arg(long)]
        scope: String,
        /// A confidential client allowed to introspect tokens meant for this resource.
        #[arg(long = "introspection-client", value_name = "CLIENT_ID")]
        introspection_client: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List resource servers.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete a resource server (tokens already issued keep their audience until they expire).
    Delete { audience: String },
}

pub fn run(settings: Settings, cmd: ResourceCommand) -> Result<(), CliError> {
    let issuer = settings.issuer()?;
    let db = open_db(&settings)?;
    match cmd {
        ResourceCommand::Create {
            audience: aud,
            scope,
            introspection_client,
            json,
        } => {
            let resource = db
                .run_blocking(|conn| {
                    registry::create_resource(
                        conn,
                        &issuer,
                        &aud,
                        &scope,
                        introspection_client,
                        "cli",
                        now(),
                    )
                    .map_err(|e| match e {
                        registry::RegistryError::Invalid(f) => {
                            StorageError::Conflict(f.to_string())
                        }
                        registry::RegistryError::Storage(s) => s,
                    })
                })
                .map_err(|e| match e {
                    StorageError::Conflict(m) => CliError::usage(m),
                    other => other.into(),
                })?;
            if json {
                print_json(&resource);
            } else {
                println!(
                    "resource {} created with scope \"{}\"",
                    resource.audience,
                    resource.scopes.join(" ")
                );
            }
            Ok(())
        }
        ResourceCommand::List { json } => {
            let list = db.run_blocking(resources::list)?;
            if json {
                print_json(&list);
            } else {
                for r in &list {
                    println!(
                        "{}  scope=\"{}\"  introspection_client={}",
                        r.audience,
                        r.scopes.join(" "),
                        r.introspection_client_id.as_deref().unwrap_or("-")
                    );
                }
            }
            Ok(())
        }
        ResourceCommand::Delete { audience: aud } => {
            db.run_blocking(|conn| resources::delete(conn, &aud, "cli", now()))
                .map_err(|e| match e {
                    StorageError::NotFound => CliError::usage(format!("no resource {aud}")),
                    other => other.into(),
                })?;
            println!("resource {aud} deleted");
            Ok(())
        }
    }
}
