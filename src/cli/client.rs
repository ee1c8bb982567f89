//! `portcullis client …`: manage OAuth clients.

use clap::{Args, Subcommand};

use crate::cli::{open_db, print_json, CliError};
use crate::config::Settings;
use crate::registry::{self, ClientSpec, ClientView, RegistryError};
use crate::storage::{clients, now, StorageError};

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client. Confidential clients get a secret, printed this once.
    Create(CreateArgs),
    /// List clients.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one client.
    Show {
        client_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Delete a client with its codes, tokens and consents.
    Delete { client_id: String },
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[arg(long)]
    name: String,
    /// `public` (native apps, SPAs: no secret) or `confidential`.
    #[arg(long = "type", value_parser = ["public", "confidential"])]
    client_type: String,
    #[arg(long, value_parser = ["web", "native"])]
    application_type: Option<String>,
    #[arg(long, value_parser = ["none", "client_secret_basic", "client_secret_post"])]
    token_endpoint_auth_method: Option<String>,
    /// A redirect URI (repeat the flag for several).
    #[arg(long = "redirect-uri", value_name = "URI")]
    redirect_uris: Vec<String>,
    /// An allowed grant type (repeat the flag for several).
    #[arg(long = "grant", value_name = "GRANT")]
    grants: Vec<String>,
    /// Allowed scopes, one space-separated string as in OAuth.
    #[arg(long, default_value = "")]
    scope: String,
    /// An allowed CORS origin (repeat the flag for several).
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    cors_origins: Vec<String>,
    /// First-party client: consent is not asked (confidential clients and claimed https
    /// redirects only).
    #[arg(long)]
    skip_consent: bool,
    #[arg(long)]
    json: bool,
}

pub fn run(settings: Settings, cmd: ClientCommand) -> Result<(), CliError> {
    let db = open_db(&settings)?;
    match cmd {
        ClientCommand::Create(args) => {
            let spec = ClientSpec {
                client_name: args.name,
                client_type: args.client_type,
                application_type: args.application_type,
                token_endpoint_auth_method: args.token_endpoint_auth_method,
                redirect_uris: args.redirect_uris,
                grant_types: args.grants,
                scope: args.scope,
                cors_origins: args.cors_origins,
                skip_consent: args.skip_consent,
                signing_alg: None,
                require_app_identity: false,
                enabled: true,
            };
            let (client, secret) = db
                .run_blocking(|conn| {
                    registry::create(conn, &spec, "cli", now()).map_err(|e| match e {
                        RegistryError::Invalid(f) => StorageError::Conflict(f.to_string()),
                        RegistryError::Storage(s) => s,
                    })
                })
                .map_err(|e| match e {
                    StorageError::Conflict(msg) => CliError::usage(msg),
                    other => other.into(),
                })?;
            let view = ClientView::of(&client).with_secret(secret.as_ref());
            if args.json {
                print_json(&view);
            } else {
                print_client(&view);
                if let Some(secret) = &secret {
                    println!("client_secret: {}", secret.expose());
                    println!("(the secret is shown only this once; store it now)");
                }
            }
            Ok(())
        }
        ClientCommand::List { json } => {
            let list = db.run_blocking(|conn| clients::list(conn, None))?;
            let views: Vec<ClientView> = list.iter().map(ClientView::of).collect();
            if json {
                print_json(&views);
            } else if views.is_empty() {
                println!("no clients");
            } else {
                for v in &views {
                    println!(
                        "{}  {}  {}  {}  {}",
                        v.client_id,
                        v.client_type,
                        v.application_type,
                        if v.enabled { "enabled" } else { "disabled" },
                        v.client_name
                    );
                }
            }
            Ok(())
        }
        ClientCommand::Show { client_id, json } => {
            let client = db
                .run_blocking(|conn| clients::find(conn, &client_id))?
                .ok_or_else(|| CliError::failed(format!("no client {client_id}")))?;
            let view = ClientView::of(&client);
            if json {
                print_json(&view);
            } else {
                print_client(&view);
            }
            Ok(())
        }
        ClientCommand::Delete { client_id } => {
            db.run_blocking(|conn| registry::delete(conn, &client_id, "cli", now()))
                .map_err(|e| match e {
                    StorageError::NotFound => CliError::failed(format!("no client {client_id}")),
                    other => other.into(),
                })?;
            println!("deleted {client_id}");
            Ok(())
        }
    }
}

fn print_client(v: &ClientView) {
    println!("client_id: {}", v.client_id);
    println!("client_name: {}", v.client_name);
    println!("client_type: {}", v.client_type);
    println!("application_type: {}", v.application_type);
    println!(
        "token_endpoint_auth_method: {}",
        v.token_endpoint_auth_method
    );
    println!("grant_types: {}", v.grant_types.join(" "));
    println!("scope: {}", v.scope);
    for uri in &v.redirect_uris {
        println!("redirect_uri: {uri}");
    }
    for origin in &v.allowed_cors_origins {
        println!("cors_origin: {origin}");
    }
    println!("skip_consent: {}", v.skip_consent);
    println!("enabled: {}", v.enabled);
    println!("signing_alg: {}", v.signing_alg);
}
