//! Settings: built-in defaults < an optional TOML file (`--config FILE`) < `PORTCULLIS_*`
//! environment variables.
//!
//! One rule maps a TOML key to its environment name: prefix `PORTCULLIS_`, upper-case the key,
//! and join nested tables with a double underscore. `tokens.access_ttl_seconds` is
//! `PORTCULLIS_TOKENS__ACCESS_TTL_SECONDS`; the top-level `bind` is `PORTCULLIS_BIND`.
//! Durations are integer seconds. `docs/configuration.md` lists every key; a test keeps the
//! two in step.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// Environment variables under the prefix that are not settings (the test suite's own).
const IGNORED_ENV_PREFIXES: &[&str] = &["test_", "browser_", "bench_"];

/// A configuration problem: the offending setting and what is wrong with it. Displayed as
/// one line, and the process exits with status 2.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {key}: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Every setting of the server. Field doc comments are the reference text in
/// `docs/configuration.md`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Address to listen on, `host:port`.
    pub bind: String,
    /// The issuer identifier: `https://…`, or `http://` on a loopback host. No query, no
    /// fragment, no trailing slash. Default: `http://127.0.0.1:{port of bind}`.
    pub issuer: Option<String>,
    /// `sqlite://PATH` (relative paths are relative to the working directory) or
    /// `postgres://user:pass@host:port/db`.
    pub database_url: String,
    /// File holding the 32-byte master key (base64) that encrypts signing keys at rest.
    /// Default when neither master-key setting is given: `./data/master.key`, generated on
    /// first start with mode 0600.
    pub master_key_file: Option<PathBuf>,
    /// The master key itself, 32 bytes in base64. Give this or `master_key_file`, not both.
    pub master_key: Option<String>,
    /// Cookie `Domain` for sharing the SSO session across subdomains. When unset the session
    /// cookie uses the `__Host-` prefix and is bound to the issuer's host.
    pub cookie_domain: Option<String>,
    /// Log filter: `error`, `warn`, `info`, `debug`, `trace`, or a tracing filter directive.
    pub log_level: String,
    /// Log format: `text` or `json`.
    pub log_format: String,
    /// Proxies whose `X-Forwarded-For` header is believed (IP addresses). Empty: the peer
    /// address is the client address.
    pub trusted_proxies: Vec<IpAddr>,
    /// Seconds a client may present an already used refresh token again and still get a
    /// fresh pair in the same family (two tabs racing). 0 = strict: any reuse revokes.
    pub refresh_reuse_grace_seconds: i64,
    /// Audience (`aud`) of access tokens that name no registered resource. Default: the
    /// issuer.
    pub default_audience: Option<String>,
    /// Allow users to register themselves on the login page.
    pub self_registration: bool,
    /// Plain-words descriptions of scopes for the consent page, e.g.
    /// `scope_descriptions."api:read" = "Read your projects"`. Built-in ones cover
    /// `openid`, `profile`, `email` and `offline_access`.
    pub scope_descriptions: BTreeMap<String, String>,
    /// Worker threads of the HTTP server. 0 = one per CPU core.
    pub workers: usize,
    pub tokens: TokenSettings,
    pub sessions: SessionSettings,
    pub database: DatabaseSettings,
    pub keys: KeySettings,
    pub cleanup: CleanupSettings,
    pub app_links: AppLinkSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenSettings {
    /// Lifetime of an authorization code.
    pub code_ttl_seconds: i64,
    /// Lifetime of a JWT access token.
    pub access_ttl_seconds: i64,
    /// Lifetime of an id_token.
    pub id_token_ttl_seconds: i64,
    /// A refresh token unused for this long expires.
    pub refresh_idle_ttl_seconds: i64,
    /// A refresh-token family ends this long after the grant, however it is used.
    pub refresh_absolute_ttl_seconds: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSettings {
    /// An SSO session unused for this long ends.
    pub idle_ttl_seconds: i64,
    /// An SSO session ends this long after login, however it is used.
    pub absolute_ttl_seconds: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// Largest number of pooled connections; 0 = chosen by backend (see
    /// [`DatabaseSettings::effective_pool_size`]).
    pub pool_size: u32,
    /// Seconds to wait for a free connection before answering 503.
    pub pool_timeout_seconds: u64,
    /// SQLite `busy_timeout`, in milliseconds.
    pub sqlite_busy_timeout_ms: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeySettings {
    /// How often each instance re-reads the signing keys from the database.
    pub poll_interval_seconds: u64,
    /// `Cache-Control: max-age` of the JWKS and discovery documents.
    pub jwks_max_age_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CleanupSettings {
    /// How often the background job deletes expired rows. 0 disables the job.
    pub interval_seconds: u64,
    /// Used or revoked refresh tokens are kept this long (for reuse detection) before
    /// deletion.
    pub retention_seconds: i64,
    /// Rows deleted per statement.
    pub batch_size: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            issuer: None,
            database_url: "sqlite://./data/portcullis.db".into(),
            master_key_file: None,
            master_key: None,
            cookie_domain: None,
            log_level: "info".into(),
            log_format: "text".into(),
            trusted_proxies: Vec::new(),
            refresh_reuse_grace_seconds: 0,
            default_audience: None,
            self_registration: false,
            scope_descriptions: BTreeMap::new(),
            workers: 0,
            tokens: TokenSettings::default(),
            sessions: SessionSettings::default(),
            database: DatabaseSettings::default(),
            keys: KeySettings::default(),
            cleanup: CleanupSettings::default(),
            app_links: AppLinkSettings::default(),
        }
    }
}

/// The provider's own apps, for Android App Links and iOS Universal Links: when set, the
/// authorization URLs open the provider app (which then runs login and consent) instead of the
/// browser. Without them `/.well-known/assetlinks.json` and
/// `/.well-known/apple-app-site-association` are 404.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AppLinkSettings {
    /// Android package name of the provider app, e.g. `com.example.provider`.
    pub android_package: Option<String>,
    /// SHA-256 fingerprints of the provider app's signing certificates, colon hex
    /// (`AB:CD:…`, as `keytool` prints them).
    pub android_sha256_fingerprints: Vec<String>,
    /// Apple team id of the provider's iOS app (10 characters).
    pub ios_team_id: Option<String>,
    /// Bundle id of the provider's iOS app.
    pub ios_bundle_id: Option<String>,
}

impl AppLinkSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(pkg) = &self.android_package {
            let valid = pkg.split('.').count() >= 2
                && pkg.split('.').all(|seg| {
                    seg.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                        && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                });
            if !valid {
                return Err(ConfigError::new(
                    "app_links.android_package",
                    "not an Android package name",
                ));
            }
            if self.android_sha256_fingerprints.is_empty() {
                return Err(ConfigError::new(
                    "app_links.android_sha256_fingerprints",
                    "at least one SHA-256 fingerprint is required with android_package",
                ));
            }
        }
        for fp in &self.android_sha256_fingerprints {
            let hex: String = fp.chars().filter(|c| *c != ':').collect();
            if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(ConfigError::new(
                    "app_links.android_sha256_fingerprints",
                    "each fingerprint is 32 bytes in hex (AB:CD:…)",
                ));
            }
        }
        match (&self.ios_team_id, &self.ios_bundle_id) {
            (None, None) => Ok(()),
            (Some(team), Some(bundle)) => {
                if team.len() != 10 || !team.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(ConfigError::new(
                        "app_links.ios_team_id",
                        "10 letters or digits",
                    ));
                }
                if bundle.is_empty()
                    || !bundle
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
                {
                    return Err(ConfigError::new(
                        "app_links.ios_bundle_id",
                        "not a bundle id",
                    ));
                }
                Ok(())
            }
            _ => Err(ConfigError::new(
                "app_links.ios_bundle_id",
                "give both ios_team_id and ios_bundle_id",
            )),
        }
    }
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            code_ttl_seconds: 60,
            access_ttl_seconds: 600,
            id_token_ttl_seconds: 600,
            refresh_idle_ttl_seconds: 14 * 24 * 3600,
            refresh_absolute_ttl_seconds: 90 * 24 * 3600,
        }
    }
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            idle_ttl_seconds: 8 * 3600,
            absolute_ttl_seconds: 7 * 24 * 3600,
        }
    }
}

impl DatabaseSettings {
    /// The pool size when `pool_size` is 0. SQLite admits one writer at a time, and every
    /// commit discards the page cache of each other connection, so a few connections serve
    /// best (docs/benchmarks.md measured 1, 2, 4 and 16); PostgreSQL does its work in its own
    /// processes and gains from more requests in flight.
    pub const SQLITE_POOL_SIZE: u32 = 4;
    pub const POSTGRES_POOL_SIZE: u32 = 16;
    /// The largest pool accepted: every connection is served by a thread of its own.
    pub const MAX_POOL_SIZE: u32 = 256;

    /// The number of pooled connections for this backend.
    pub fn effective_pool_size(&self, sqlite: bool) -> u32 {
        match (self.pool_size, sqlite) {
            (0, true) => Self::SQLITE_POOL_SIZE,
            (0, false) => Self::POSTGRES_POOL_SIZE,
            (n, _) => n,
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            pool_size: 0,
            pool_timeout_seconds: 5,
            sqlite_busy_timeout_ms: 5000,
        }
    }
}

impl Default for KeySettings {
    fn default() -> Self {
        Self {
            poll_interval_seconds: 30,
            jwks_max_age_seconds: 300,
        }
    }
}

impl Default for CleanupSettings {
    fn default() -> Self {
        Self {
            interval_seconds: 300,
            retention_seconds: 24 * 3600,
            batch_size: 1000,
        }
    }
}

/// Where the database lives, decided from the URL scheme (never by trying backends in turn:
/// SQLite accepts any path, so a mistyped `postgres://` would silently become a file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    Sqlite(PathBuf),
    Postgres(String),
}

/// Where the master key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterKeySource {
    /// A file that must exist.
    File(PathBuf),
    /// The zero-config default: generated into this file on first start.
    DefaultFile(PathBuf),
    /// The key itself, from `master_key`.
    Inline(String),
}

impl Settings {
    /// Loads defaults < TOML file < environment, then validates.
    pub fn load(config_file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = config_file {
            if let Err(err) = std::fs::metadata(path) {
                return Err(ConfigError::new(
                    "--config",
                    format!("cannot read {}: {err}", path.display()),
                ));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment.merge(Env::prefixed("PORTCULLIS_").split("__").filter(|key| {
            !IGNORED_ENV_PREFIXES
                .iter()
                .any(|p| key.as_str().to_ascii_lowercase().starts_with(p))
        }));
        let settings: Settings = figment.extract().map_err(figment_error)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks every setting and names the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.bind_addr()?;
        self.issuer()?;
        self.database_target()?;
        self.master_key_source()?;
        if let Some(domain) = &self.cookie_domain {
            if domain.is_empty() || domain.contains(|c: char| c.is_whitespace() || c == ';') {
                return Err(ConfigError::new("cookie_domain", "not a valid domain"));
            }
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(ConfigError::new("log_format", "must be `text` or `json`"));
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log_level).is_err() {
            return Err(ConfigError::new("log_level", "not a valid log filter"));
        }
        let positive = [
            ("tokens.code_ttl_seconds", self.tokens.code_ttl_seconds),
            ("tokens.access_ttl_seconds", self.tokens.access_ttl_seconds),
            (
                "tokens.id_token_ttl_seconds",
                self.tokens.id_token_ttl_seconds,
            ),
            (
                "tokens.refresh_idle_ttl_seconds",
                self.tokens.refresh_idle_ttl_seconds,
            ),
            (
                "tokens.refresh_absolute_ttl_seconds",
                self.tokens.refresh_absolute_ttl_seconds,
            ),
            ("sessions.idle_ttl_seconds", self.sessions.idle_ttl_seconds),
            (
                "sessions.absolute_ttl_seconds",
                self.sessions.absolute_ttl_seconds,
            ),
            ("cleanup.batch_size", self.cleanup.batch_size),
        ];
        for (key, value) in positive {
            if value <= 0 {
                return Err(ConfigError::new(
                    key,
                    "must be a positive number of seconds",
                ));
            }
        }
        if self.tokens.code_ttl_seconds > 600 {
            // OAuth 2.1 §4.1.2: a maximum authorization code lifetime of 10 minutes is
            // RECOMMENDED.
            return Err(ConfigError::new(
                "tokens.code_ttl_seconds",
                "must be at most 600",
            ));
        }
        if self.refresh_reuse_grace_seconds < 0 {
            return Err(ConfigError::new(
                "refresh_reuse_grace_seconds",
                "must not be negative",
            ));
        }
        if self.cleanup.retention_seconds < 0 {
            return Err(ConfigError::new(
                "cleanup.retention_seconds",
                "must not be negative",
            ));
        }
        self.app_links.validate()?;
        // Each pooled connection has its own database thread (storage::threads).
        if self.database.pool_size > DatabaseSettings::MAX_POOL_SIZE {
            return Err(ConfigError::new(
                "database.pool_size",
                format!("must be at most {}", DatabaseSettings::MAX_POOL_SIZE),
            ));
        }
        if self.keys.poll_interval_seconds == 0 {
            return Err(ConfigError::new(
                "keys.poll_interval_seconds",
                "must be at least 1",
            ));
        }
        if let Some(aud) = &self.default_audience {
            if url::Url::parse(aud).is_err() {
                return Err(ConfigError::new(
                    "default_audience",
                    "must be an absolute URI",
                ));
            }
        }
        Ok(())
    }

    pub fn bind_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.bind
            .parse()
            .map_err(|_| ConfigError::new("bind", "expected host:port, e.g. 127.0.0.1:8080"))
    }

    /// The validated issuer identifier, exactly as configured (or derived from `bind`).
    pub fn issuer(&self) -> Result<String, ConfigError> {
        let raw = match &self.issuer {
            Some(issuer) => issuer.clone(),
            None => format!("http://127.0.0.1:{}", self.bind_addr()?.port()),
        };
        validate_issuer(&raw)?;
        Ok(raw)
    }

    pub fn database_target(&self) -> Result<DatabaseTarget, ConfigError> {
        parse_database_url(&self.database_url)
    }

    pub fn master_key_source(&self) -> Result<MasterKeySource, ConfigError> {
        match (&self.master_key_file, &self.master_key) {
            (Some(_), Some(_)) => Err(ConfigError::new(
                "master_key",
                "give either master_key or master_key_file, not both",
            )),
            (Some(path), None) => Ok(MasterKeySource::File(path.clone())),
            (None, Some(key)) => Ok(MasterKeySource::Inline(key.clone())),
            (None, None) => {
                let dir = match self.database_target()? {
                    DatabaseTarget::Sqlite(path) => path
                        .parent()
                        .filter(|p| !p.as_os_str().is_empty())
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| PathBuf::from(".")),
                    DatabaseTarget::Postgres(_) => PathBuf::from("./data"),
                };
                Ok(MasterKeySource::DefaultFile(dir.join("master.key")))
            }
        }
    }

    /// Whether cookies must carry `Secure` (the issuer is https).
    pub fn secure_cookies(&self) -> bool {
        self.issuer()
            .map(|i| i.starts_with("https://"))
            .unwrap_or(false)
    }
}

fn figment_error(err: figment::Error) -> ConfigError {
    let key = if err.path.is_empty() {
        match &err.kind {
            figment::error::Kind::UnknownField(field, _) => field.clone(),
            _ => "config".to_string(),
        }
    } else {
        let mut path = err.path.join(".");
        if let figment::error::Kind::UnknownField(field, _) = &err.kind {
            path = format!("{path}.{field}");
        }
        path
    };
    let message = match &err.kind {
        figment::error::Kind::UnknownField(..) => "unknown setting".to_string(),
        kind => kind.to_string(),
    };
    ConfigError::new(key, message)
}

fn validate_issuer(raw: &str) -> Result<(), ConfigError> {
    let bad = |m: &str| ConfigError::new("issuer", m.to_string());
    let url = url::Url::parse(raw).map_err(|_| bad("not an absolute http(s) URL"))?;
    match url.scheme() {
        "https" => {}
        "http" => {
            if !is_loopback_host(&url) {
                return Err(bad(
                    "must be https (http is allowed only on a loopback host)",
                ));
            }
        }
        _ => return Err(bad("not an absolute http(s) URL")),
    }
    if url.host().is_none() {
        return Err(bad("has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry credentials"));
    }
    if url.query().is_some() || raw.contains('?') {
        return Err(bad("must not have a query (RFC 8414 §2)"));
    }
    if url.fragment().is_some() || raw.contains('#') {
        return Err(bad("must not have a fragment (RFC 8414 §2)"));
    }
    if raw.ends_with('/') {
        return Err(bad("must not end with a slash"));
    }
    if url.path() != "/" {
        // See docs/decisions.md: serving every endpoint and the path-inserted well-known
        // documents under an issuer path is not supported yet, so such an issuer is refused
        // rather than published wrongly.
        return Err(bad(
            "an issuer with a path is not supported; use scheme://host[:port]",
        ));
    }
    Ok(())
}

fn is_loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn parse_database_url(raw: &str) -> Result<DatabaseTarget, ConfigError> {
    let bad = |m: &str| ConfigError::new("database_url", m.to_string());
    if let Some(rest) = raw.strip_prefix("sqlite://") {
        if rest.is_empty() {
            return Err(bad("sqlite:// needs a file path"));
        }
        return Ok(DatabaseTarget::Sqlite(PathBuf::from(rest)));
    }
    if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
        url::Url::parse(raw).map_err(|_| bad("not a valid postgres:// URL"))?;
        return Ok(DatabaseTarget::Postgres(raw.to_string()));
    }
    Err(bad(
        "unknown backend; expected sqlite://PATH or postgres://…",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_size_zero_is_chosen_by_backend() {
        let mut db = DatabaseSettings::default();
        assert_eq!(db.pool_size, 0);
        assert_eq!(
            db.effective_pool_size(true),
            DatabaseSettings::SQLITE_POOL_SIZE
        );
        assert_eq!(
            db.effective_pool_size(false),
            DatabaseSettings::POSTGRES_POOL_SIZE
        );
        db.pool_size = 7;
        assert_eq!(db.effective_pool_size(true), 7);
        assert_eq!(db.effective_pool_size(false), 7);
    }

    #[test]
    fn a_pool_beyond_the_thread_limit_is_refused() {
        let mut settings = Settings::default();
        settings.database.pool_size = DatabaseSettings::MAX_POOL_SIZE;
        assert!(settings.validate().is_ok());
        settings.database.pool_size = DatabaseSettings::MAX_POOL_SIZE + 1;
        assert_eq!(settings.validate().unwrap_err().key, "database.pool_size");
    }

    #[test]
    fn default_issuer_follows_the_bind_port() {
        let settings = Settings {
            bind: "0.0.0.0:9000".into(),
            ..Settings::default()
        };
        assert_eq!(settings.issuer().unwrap(), "http://127.0.0.1:9000");
    }

    #[test]
    fn issuer_rules_are_enforced() {
        for (issuer, ok) in [
            ("https://auth.example.com", true),
            ("http://127.0.0.1:8080", true),
            ("http://[::1]:8080", true),
            ("http://auth.example.com", false),
            ("https://auth.example.com/", false),
            ("https://auth.example.com?x=1", false),
            ("https://auth.example.com#f", false),
            ("https://auth.example.com/tenant", false),
            ("ftp://auth.example.com", false),
            ("auth.example.com", false),
        ] {
            assert_eq!(validate_issuer(issuer).is_ok(), ok, "{issuer}");
        }
    }

    #[test]
    fn database_backend_comes_from_the_scheme() {
        assert_eq!(
            parse_database_url("sqlite://./data/x.db").unwrap(),
            DatabaseTarget::Sqlite("./data/x.db".into())
        );
        assert!(matches!(
            parse_database_url("postgres://u@localhost/db").unwrap(),
            DatabaseTarget::Postgres(_)
        ));
        assert_eq!(
            parse_database_url("postgress://x").unwrap_err().key,
            "database_url"
        );
        assert_eq!(
            parse_database_url("./file.db").unwrap_err().key,
            "database_url"
        );
    }

    #[test]
    fn both_master_key_settings_are_an_error() {
        let settings = Settings {
            master_key: Some("x".into()),
            master_key_file: Some("k".into()),
            ..Settings::default()
        };
        assert_eq!(settings.validate().unwrap_err().key, "master_key");
    }
}

#[cfg(test)]
mod docs_drift {
    use super::Settings;

    /// Every setting's TOML key, flattened with dots.
    fn keys(value: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
        if let serde_json::Value::Object(map) = value {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                // Nested settings tables recurse; a map-valued setting is one key.
                if v.is_object() && k != "scope_descriptions" {
                    keys(v, &key, out);
                } else {
                    out.push(key);
                }
            }
        }
    }

    #[test]
    fn configuration_docs_list_every_setting_and_nothing_else() {
        let docs = include_str!("../docs/configuration.md");
        let mut all = Vec::new();
        keys(
            &serde_json::to_value(Settings::default()).unwrap(),
            "",
            &mut all,
        );
        for key in &all {
            let env = format!("PORTCULLIS_{}", key.replace('.', "__").to_uppercase());
            assert!(docs.contains(&format!("| `{key}` |")), "docs lack `{key}`");
            assert!(docs.contains(&format!("`{env}`")), "docs lack `{env}`");
        }
        let documented = docs.lines().filter(|l| l.starts_with("| `")).count();
        assert_eq!(
            documented,
            all.len(),
            "docs list a setting that does not exist"
        );
    }
}
