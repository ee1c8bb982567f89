-- The initial portcullis schema. Timestamps are Unix seconds; hashes are raw SHA-256 bytes.
CREATE TABLE clients (
    client_id TEXT PRIMARY KEY,
    client_name TEXT NOT NULL,
    client_type TEXT NOT NULL,
    application_type TEXT NOT NULL,
    token_endpoint_auth_method TEXT NOT NULL,
    secret_hash BLOB,
    previous_secret_hash BLOB,
    previous_secret_expires_at BIGINT,
    grant_types TEXT NOT NULL,
    scope TEXT NOT NULL,
    skip_consent BOOLEAN NOT NULL,
    enabled BOOLEAN NOT NULL,
    signing_alg TEXT NOT NULL,
    require_app_identity BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE client_redirect_uris (
    client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    uri TEXT NOT NULL,
    PRIMARY KEY (client_id, position)
);
CREATE TABLE client_cors_origins (
    client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    origin TEXT NOT NULL,
    PRIMARY KEY (client_id, origin)
);
CREATE TABLE client_app_identities (
    identity_id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    platform TEXT NOT NULL,
    app_id TEXT NOT NULL,
    team_id TEXT,
    created_at BIGINT NOT NULL
);
CREATE TABLE client_app_certs (
    identity_id TEXT NOT NULL REFERENCES client_app_identities(identity_id) ON DELETE CASCADE,
    algorithm TEXT NOT NULL,
    cert_hash BLOB NOT NULL,
    PRIMARY KEY (identity_id, algorithm, cert_hash)
);
CREATE TABLE users (
    user_id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    is_admin BOOLEAN NOT NULL,
    enabled BOOLEAN NOT NULL,
    email_verified BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE sessions (
    session_hash BLOB PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
    csrf_secret BLOB NOT NULL,
    auth_time BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    persistent BOOLEAN NOT NULL,
    user_agent TEXT,
    ip TEXT
);
CREATE TABLE consents (
    user_id TEXT NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE TABLE authorization_codes (
    code_hash BLOB PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
    session_hash BLOB,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    resource TEXT,
    code_challenge TEXT NOT NULL,
    code_challenge_method TEXT NOT NULL,
    nonce TEXT,
    auth_time BIGINT NOT NULL,
    app_identity_id TEXT,
    family_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE TABLE refresh_families (
    family_id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    user_id TEXT REFERENCES users(user_id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    resource TEXT,
    session_hash BLOB,
    app_identity_id TEXT,
    auth_time BIGINT,
    offline BOOLEAN NOT NULL,
    last_access_jti TEXT,
    last_access_expires_at BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE TABLE refresh_tokens (
    token_hash BLOB PRIMARY KEY,
    family_id TEXT NOT NULL REFERENCES refresh_families(family_id) ON DELETE CASCADE,
    parent_hash BLOB,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    revoked_at BIGINT
);
CREATE TABLE revoked_access_tokens (
    jti TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT NOT NULL
);
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    private_key_enc BLOB NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    activates_at BIGINT NOT NULL,
    retired_at BIGINT
);
CREATE TABLE audit_events (
    event_id TEXT PRIMARY KEY,
    occurred_at BIGINT NOT NULL,
    event TEXT NOT NULL,
    actor TEXT,
    client_id TEXT,
    user_id TEXT,
    ip TEXT,
    detail TEXT NOT NULL
);
CREATE TABLE admin_tokens (
    token_id TEXT PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,
    name TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE TABLE resources (
    audience TEXT PRIMARY KEY,
    scope TEXT NOT NULL,
    introspection_client_id TEXT REFERENCES clients(client_id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE login_throttle (
    throttle_key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    window_start BIGINT NOT NULL,
    locked_until BIGINT
);
CREATE INDEX clients_cors_origin_idx ON client_cors_origins (origin);
CREATE INDEX app_identities_client_idx ON client_app_identities (client_id);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
CREATE INDEX consents_client_idx ON consents (client_id);
CREATE INDEX codes_expires_idx ON authorization_codes (expires_at);
CREATE INDEX codes_family_idx ON authorization_codes (family_id);
CREATE INDEX families_user_client_idx ON refresh_families (user_id, client_id);
CREATE INDEX families_session_idx ON refresh_families (session_hash);
CREATE INDEX families_client_idx ON refresh_families (client_id);
CREATE INDEX families_expires_idx ON refresh_families (expires_at);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);
CREATE INDEX revoked_access_expires_idx ON revoked_access_tokens (expires_at);
CREATE INDEX audit_events_time_idx ON audit_events (occurred_at);
CREATE INDEX admin_tokens_user_idx ON admin_tokens (user_id);
