//! `portcullis client …`: manage OAuth clients.

use clap::{Args, Subcommand};

use crate::cli::{open_db, parse_bool, print_json, CliError};
use crate::config::Settings;
use crate::crypto::secrets::PlainSecret;
use crate::oauth::app_identity::IdentitySpec;
use crate::registry::{self, AppIdentityView, ClientSpec, ClientView, RegistryError};
use crate::storage::{clients, now, Conn, StorageError};

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client. Confidential clients get a secret, printed this once.
    Create(CreateArgs),
    /// Change a client: only the flags given change; a list flag given replaces that list
    /// (give it once with an empty value, e.g. `--cors-origin ''`, to empty the list).
    Update(UpdateArgs),
    /// Give a confidential client a new secret, printed this once.
    RotateSecret {
        client_id: String,
        /// Keep accepting the old secret for this many seconds (default: stop at once).
        #[arg(long, default_value_t = 0, value_name = "N")]
        grace_seconds: i64,
        #[arg(long)]
        json: bool,
    },
    /// Manage a client's app identities (app key hashes).
    #[command(subcommand)]
    AppIdentity(AppIdentityCommand),
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

#[derive(Debug, Subcommand)]
pub enum AppIdentityCommand {
    /// Register an Android or iOS app for a client.
    Add {
        client_id: String,
        #[arg(long, value_parser = ["android", "ios"])]
        platform: String,
        /// Android package name or iOS bundle id.
        #[arg(long = "app-id", value_name = "ID")]
        app_id: String,
        /// A SHA-256 signing-certificate hash (repeat for several): hex with or without
        /// colons, base64 or base64url, or an android:apk-key-hash: origin.
        #[arg(long = "cert-sha256", value_name = "HASH")]
        cert_sha256: Vec<String>,
        /// A legacy SHA-1 key hash (as Kakao/Facebook tooling prints it).
        #[arg(long = "cert-sha1", value_name = "HASH")]
        cert_sha1: Option<String>,
        /// Apple team id (iOS).
        #[arg(long = "team-id", value_name = "T")]
        team_id: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List a client's app identities.
    List {
        client_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove an app identity.
    Remove {
        client_id: String,
        identity_id: String,
    },
}

/// Flags shared by `create` and `update`.
#[derive(Debug, Args)]
pub struct ClientFlags {
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
    #[arg(long)]
    scope: Option<String>,
    /// An allowed CORS origin (repeat the flag for several).
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    cors_origins: Vec<String>,
    /// First-party client: consent is not asked (`--skip-consent` alone means true).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true",
          value_parser = parse_bool)]
    skip_consent: Option<bool>,
    /// Refuse logins through this client without a registered app identity.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true",
          value_parser = parse_bool)]
    require_app_identity: Option<bool>,
    /// The algorithm of this client's tokens.
    #[arg(long, value_parser = ["ES256", "RS256"])]
    signing_alg: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[arg(long)]
    name: String,
    /// `public` (native apps, SPAs: no secret) or `confidential`.
    #[arg(long = "type", value_parser = ["public", "confidential"])]
    client_type: String,
    #[command(flatten)]
    flags: ClientFlags,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    client_id: String,
    #[arg(long)]
    name: Option<String>,
    /// The type cannot change; given, it must match.
    #[arg(long = "type", value_parser = ["public", "confidential"])]
    client_type: Option<String>,
    #[arg(long, value_name = "BOOL", value_parser = parse_bool)]
    enabled: Option<bool>,
    #[command(flatten)]
    flags: ClientFlags,
}

/// A list flag given replaces the list; empty values only say "given" (so that `''` empties).
fn given_list(values: Vec<String>) -> Option<Vec<String>> {
    if values.is_empty() {
        None
    } else {
        Some(values.into_iter().filter(|v| !v.is_empty()).collect())
    }
}

impl ClientFlags {
    /// Applies the flags that were given to `spec`.
    fn apply(self, spec: &mut ClientSpec) {
        if self.application_type.is_some() {
            spec.application_type = self.application_type;
        }
        if self.token_endpoint_auth_method.is_some() {
            spec.token_endpoint_auth_method = self.token_endpoint_auth_method;
        }
        if let Some(list) = given_list(self.redirect_uris) {
            spec.redirect_uris = list;
        }
        if let Some(list) = given_list(self.grants) {
            spec.grant_types = list;
        }
        if let Some(scope) = self.scope {
            spec.scope = scope;
        }
        if let Some(list) = given_list(self.cors_origins) {
            spec.cors_origins = list;
        }
        if let Some(b) = self.skip_consent {
            spec.skip_consent = b;
        }
        if let Some(b) = self.require_app_identity {
            spec.require_app_identity = b;
        }
        if self.signing_alg.is_some() {
            spec.signing_alg = self.signing_alg;
        }
    }
}

/// Maps a registry failure to the CLI's exit statuses: bad input 2, the rest 1.
fn registry_error(client_id: &str) -> impl Fn(RegistryError) -> CliError + '_ {
    move |e| match e {
        RegistryError::Invalid(f) => CliError::usage(f.to_string()),
        RegistryError::Storage(s) => storage_error(client_id)(s),
    }
}

fn storage_error(client_id: &str) -> impl Fn(StorageError) -> CliError + '_ {
    move |e| match e {
        StorageError::NotFound => CliError::failed(format!("no client {client_id}")),
        StorageError::Conflict(m) => CliError::failed(m),
        other => other.into(),
    }
}

pub fn run(settings: Settings, cmd: ClientCommand) -> Result<(), CliError> {
    let db = open_db(&settings)?;
    let mut conn = db.conn()?;
    let conn = &mut *conn;
    match cmd {
        ClientCommand::Create(args) => {
            let json = args.flags.json;
            let mut spec = ClientSpec {
                client_name: args.name,
                client_type: args.client_type,
                enabled: true,
                ..ClientSpec::default()
            };
            args.flags.apply(&mut spec);
            let (client, secret) =
                registry::create(conn, &spec, "cli", now()).map_err(registry_error(""))?;
            let view = ClientView::of(&client).with_secret(secret.as_ref());
            print_once(&view, json, secret.as_ref());
            Ok(())
        }
        ClientCommand::Update(args) => {
            let id = args.client_id;
            let json = args.flags.json;
            let current = clients::find(conn, &id)
                .map_err(storage_error(&id))?
                .ok_or_else(|| CliError::failed(format!("no client {id}")))?;
            let mut spec = ClientSpec::of(&current);
            if let Some(name) = args.name {
                spec.client_name = name;
            }
            if let Some(t) = args.client_type {
                spec.client_type = t;
            }
            if let Some(enabled) = args.enabled {
                spec.enabled = enabled;
            }
            args.flags.apply(&mut spec);
            let client =
                registry::update(conn, &id, &spec, "cli", now()).map_err(registry_error(&id))?;
            let identities = clients::list_app_identities(conn, &id)?;
            let view = ClientView::of(&client).with_identities(&identities);
            if json {
                print_json(&view);
            } else {
                print_client(&view);
            }
            Ok(())
        }
        ClientCommand::RotateSecret {
            client_id,
            grace_seconds,
            json,
        } => {
            let secret = registry::rotate_secret(conn, &client_id, "cli", now(), grace_seconds)
                .map_err(registry_error(&client_id))?;
            let client = clients::find(conn, &client_id)?
                .ok_or_else(|| CliError::failed(format!("no client {client_id}")))?;
            let view = ClientView::of(&client).with_secret(Some(&secret));
            print_once(&view, json, Some(&secret));
            Ok(())
        }
        ClientCommand::AppIdentity(cmd) => app_identity(conn, cmd),
        ClientCommand::List { json } => {
            let list = clients::list(conn, None)?;
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
            let client = clients::find(conn, &client_id)?
                .ok_or_else(|| CliError::failed(format!("no client {client_id}")))?;
            let identities = clients::list_app_identities(conn, &client_id)?;
            let view = ClientView::of(&client).with_identities(&identities);
            if json {
                print_json(&view);
            } else {
                print_client(&view);
            }
            Ok(())
        }
        ClientCommand::Delete { client_id } => {
            registry::delete(conn, &client_id, "cli", now()).map_err(storage_error(&client_id))?;
            println!("deleted {client_id}");
            Ok(())
        }
    }
}

fn app_identity(conn: &mut Conn, cmd: AppIdentityCommand) -> Result<(), CliError> {
    match cmd {
        AppIdentityCommand::Add {
            client_id,
            platform,
            app_id,
            cert_sha256,
            cert_sha1,
            team_id,
            json,
        } => {
            let spec = IdentitySpec {
                platform,
                app_id,
                team_id,
                cert_sha256,
                cert_sha1,
            };
            let identity = registry::add_app_identity(conn, &client_id, &spec, "cli", now())
                .map_err(registry_error(&client_id))?;
            let view = AppIdentityView::of(&identity);
            if json {
                print_json(&view);
            } else {
                print_identity(&view);
            }
            Ok(())
        }
        AppIdentityCommand::List { client_id, json } => {
            let list = registry::list_app_identities(conn, &client_id)
                .map_err(storage_error(&client_id))?;
            let views: Vec<AppIdentityView> = list.iter().map(AppIdentityView::of).collect();
            if json {
                print_json(&views);
            } else if views.is_empty() {
                println!("no app identities");
            } else {
                for v in &views {
                    print_identity(v);
                }
            }
            Ok(())
        }
        AppIdentityCommand::Remove {
            client_id,
            identity_id,
        } => {
            registry::remove_app_identity(conn, &client_id, &identity_id, "cli", now()).map_err(
                |e| match e {
                    StorageError::NotFound => CliError::failed(format!(
                        "no app identity {identity_id} on client {client_id}"
                    )),
                    other => other.into(),
                },
            )?;
            println!("removed {identity_id}");
            Ok(())
        }
    }
}

fn print_once(view: &ClientView, json: bool, secret: Option<&PlainSecret>) {
    if json {
        print_json(view);
    } else {
        print_client(view);
        if let Some(secret) = secret {
            println!("client_secret: {}", secret.expose());
            println!("(the secret is shown only this once; store it now)");
        }
    }
}

fn print_identity(v: &AppIdentityView) {
    println!("identity_id: {}", v.identity_id);
    println!("  platform: {}", v.platform);
    println!("  app_id: {}", v.app_id);
    if let Some(t) = &v.team_id {
        println!("  team_id: {t}");
    }
    for (hex, origin) in v.cert_sha256.iter().zip(&v.cert_sha256_origins) {
        println!("  cert_sha256: {hex}");
        println!("               {origin}");
    }
    for h in &v.cert_sha1 {
        println!("  cert_sha1 (legacy): {}", h.hash);
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
    println!("require_app_identity: {}", v.require_app_identity);
    for identity in v.app_identities.iter().flatten() {
        print_identity(identity);
    }
}
