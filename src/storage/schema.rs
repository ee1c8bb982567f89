//! The one schema both backends share. Written by hand: only the types that diesel's
//! multi-backend connection maps on both sides are used (BigInt Unix seconds, Text ids,
//! Binary hashes, Bool flags). `tests/it/storage.rs` checks that both migration sets produce
//! exactly these columns.

diesel::table! {
    clients (client_id) {
        client_id -> Text,
        client_name -> Text,
        client_type -> Text,
        application_type -> Text,
        token_endpoint_auth_method -> Text,
        secret_hash -> Nullable<Binary>,
        previous_secret_hash -> Nullable<Binary>,
        previous_secret_expires_at -> Nullable<BigInt>,
        grant_types -> Text,
        scope -> Text,
        skip_consent -> Bool,
        enabled -> Bool,
        signing_alg -> Text,
        require_app_identity -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    client_redirect_uris (client_id, position) {
        client_id -> Text,
        position -> Integer,
        uri -> Text,
    }
}

diesel::table! {
    client_cors_origins (client_id, origin) {
        client_id -> Text,
        origin -> Text,
    }
}

diesel::table! {
    client_app_identities (identity_id) {
        identity_id -> Text,
        client_id -> Text,
        platform -> Text,
        app_id -> Text,
        team_id -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    client_app_certs (identity_id, algorithm, cert_hash) {
        identity_id -> Text,
        algorithm -> Text,
        cert_hash -> Binary,
    }
}

diesel::table! {
    users (user_id) {
        user_id -> Text,
        email -> Text,
        password_hash -> Text,
        is_admin -> Bool,
        enabled -> Bool,
        email_verified -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    sessions (session_hash) {
        session_hash -> Binary,
        user_id -> Text,
        csrf_secret -> Binary,
        auth_time -> BigInt,
        created_at -> BigInt,
        last_seen_at -> BigInt,
        expires_at -> BigInt,
        persistent -> Bool,
        user_agent -> Nullable<Text>,
        ip -> Nullable<Text>,
    }
}

diesel::table! {
    consents (user_id, client_id) {
        user_id -> Text,
        client_id -> Text,
        scope -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    authorization_codes (code_hash) {
        code_hash -> Binary,
        client_id -> Text,
        user_id -> Text,
        session_hash -> Nullable<Binary>,
        redirect_uri -> Text,
        scope -> Text,
        resource -> Nullable<Text>,
        code_challenge -> Text,
        code_challenge_method -> Text,
        nonce -> Nullable<Text>,
        auth_time -> BigInt,
        app_identity_id -> Nullable<Text>,
        family_id -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    refresh_families (family_id) {
        family_id -> Text,
        client_id -> Text,
        user_id -> Nullable<Text>,
        scope -> Text,
        resource -> Nullable<Text>,
        session_hash -> Nullable<Binary>,
        app_identity_id -> Nullable<Text>,
        auth_time -> Nullable<BigInt>,
        offline -> Bool,
        last_access_jti -> Nullable<Text>,
        last_access_expires_at -> Nullable<BigInt>,
        created_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Binary,
        family_id -> Text,
        parent_hash -> Nullable<Binary>,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    revoked_access_tokens (jti) {
        jti -> Text,
        expires_at -> BigInt,
        revoked_at -> BigInt,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        alg -> Text,
        private_key_enc -> Binary,
        public_jwk -> Text,
        created_at -> BigInt,
        activates_at -> BigInt,
        retired_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    audit_events (event_id) {
        event_id -> Text,
        occurred_at -> BigInt,
        event -> Text,
        actor -> Nullable<Text>,
        client_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        detail -> Text,
    }
}

diesel::table! {
    admin_tokens (token_id) {
        token_id -> Text,
        token_hash -> Binary,
        name -> Text,
        user_id -> Text,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    resources (audience) {
        audience -> Text,
        scope -> Text,
        introspection_client_id -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    login_throttle (throttle_key) {
        throttle_key -> Text,
        failures -> Integer,
        window_start -> BigInt,
        locked_until -> Nullable<BigInt>,
    }
}

diesel::joinable!(client_redirect_uris -> clients (client_id));
diesel::joinable!(client_cors_origins -> clients (client_id));
diesel::joinable!(client_app_identities -> clients (client_id));
diesel::joinable!(client_app_certs -> client_app_identities (identity_id));
diesel::joinable!(refresh_tokens -> refresh_families (family_id));

diesel::allow_tables_to_appear_in_same_query!(
    clients,
    client_redirect_uris,
    client_cors_origins,
    client_app_identities,
    client_app_certs,
    users,
    sessions,
    consents,
    authorization_codes,
    refresh_families,
    refresh_tokens,
    revoked_access_tokens,
    signing_keys,
    audit_events,
    admin_tokens,
    resources,
    login_throttle,
);
