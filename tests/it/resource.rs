//! For resource servers: discovery, JWKS and key rotation, introspection, revocation,
//! userinfo, and the verification module against a live server.

use actix_web::dev::{Service, ServiceResponse};
use actix_web::test::{self, TestRequest};
use actix_web::{web, App, HttpResponse};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use portcullis::crypto::jwt::{sign_access_token, AccessTokenClaims, Audience};
use portcullis::crypto::keys::Alg;
use portcullis::crypto::secrets::PlainSecret;
use portcullis::registry::{self, ClientSpec};
use portcullis::storage::families::{self, FamilyRow};
use portcullis::storage::refresh_tokens::{self, RefreshTokenRow};
use portcullis::storage::resources::{self, Resource};
use portcullis::storage::users::{self, UserRow};
use portcullis::storage::{audit, now};
use portcullis::verify::{Authenticated, Requirements, TokenError, Verifier, VerifyError};
use serde_json::Value;

use crate::support::{header, TestApp};

const API: &str = "https://api.example.com";

/// A client as tests use it: id and, for confidential ones, the secret.
struct TestClient {
    id: String,
    secret: Option<String>,
}

impl TestClient {
    fn basic(&self) -> String {
        let secret = self.secret.as_deref().unwrap_or("");
        format!("Basic {}", STANDARD.encode(format!("{}:{secret}", self.id)))
    }
}

fn create_client(app: &TestApp, confidential: bool) -> TestClient {
    let spec = if confidential {
        ClientSpec {
            client_name: "service".into(),
            client_type: "confidential".into(),
            grant_types: vec!["client_credentials".into()],
            scope: "api:read".into(),
            enabled: true,
            ..Default::default()
        }
    } else {
        ClientSpec {
            client_name: "app".into(),
            client_type: "public".into(),
            redirect_uris: vec!["https://app.example.com/cb".into()],
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            scope: "openid email api:read".into(),
            enabled: true,
            ..Default::default()
        }
    };
    let (client, secret) = app.with_conn(|conn| {
        registry::create(conn, &spec, "test", now())
            .map_err(|e| portcullis::storage::StorageError::Other(format!("{e:?}")))
    });
    TestClient {
        id: client.id().to_string(),
        secret: secret.map(|s| s.expose().to_string()),
    }
}

fn create_user(app: &TestApp, enabled: bool) -> String {
    let id = portcullis::crypto::secrets::prefixed_id::<8>("usr_");
    let row = UserRow {
        user_id: id.clone(),
        email: format!("{id}@example.com"),
        password_hash: "unused".into(),
        is_admin: false,
        enabled,
        email_verified: true,
        created_at: now(),
        updated_at: now(),
    };
    app.with_conn(|conn| users::insert(conn, &row));
    id
}

fn register_api(app: &TestApp, introspection_client: Option<&str>) {
    let resource = Resource {
        audience: API.into(),
        scopes: vec!["api:read".into()],
        introspection_client_id: introspection_client.map(str::to_string),
        created_at: now(),
    };
    app.with_conn(|conn| resources::insert(conn, &resource, "test"));
}

fn claims(
    app: &TestApp,
    client_id: &str,
    sub: &str,
    aud: &[&str],
    scope: &str,
) -> AccessTokenClaims {
    let at = now();
    AccessTokenClaims {
        iss: app.state.issuer.to_string(),
        sub: sub.into(),
        aud: Audience::Many(aud.iter().map(|a| a.to_string()).collect()),
        client_id: client_id.into(),
        scope: Some(scope.into()).filter(|s: &String| !s.is_empty()),
        jti: portcullis::crypto::secrets::prefixed_id::<16>(""),
        iat: at,
        exp: at + 600,
        auth_time: None,
    }
}

fn sign(app: &TestApp, claims: &AccessTokenClaims) -> String {
    let set = app.state.keys.current();
    sign_access_token(set.signer(Alg::ES256).expect("active ES256 key"), claims)
}

/// A refresh token with its family, as the token endpoint stores them.
fn refresh_token(
    app: &TestApp,
    client_id: &str,
    user: &str,
    change: impl FnOnce(&mut FamilyRow, &mut RefreshTokenRow),
) -> (String, String) {
    let token = PlainSecret::generate();
    let family_id = portcullis::crypto::secrets::prefixed_id::<12>("fam_");
    let at = now();
    let mut family = FamilyRow {
        family_id: family_id.clone(),
        client_id: client_id.into(),
        user_id: Some(user.into()),
        scope: "openid api:read".into(),
        resource: Some(API.into()),
        session_hash: None,
        app_identity_id: None,
        auth_time: Some(at),
        offline: false,
        last_access_jti: None,
        last_access_expires_at: None,
        created_at: at,
        expires_at: at + 3600,
        revoked_at: None,
    };
    let mut row = RefreshTokenRow {
        token_hash: token.hash().to_vec(),
        family_id: family_id.clone(),
        parent_hash: None,
        created_at: at,
        expires_at: at + 600,
        used_at: None,
        revoked_at: None,
    };
    change(&mut family, &mut row);
    app.with_conn(|conn| {
        families::insert(conn, &family)?;
        refresh_tokens::insert(conn, &row)
    });
    (token.expose().to_string(), family_id)
}

async fn body_json<B: actix_web::body::MessageBody>(res: ServiceResponse<B>) -> Value {
    let bytes = test::read_body(res).await;
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

fn form_post(path: &str, auth: Option<&str>, body: &str) -> actix_http::Request {
    let mut req = TestRequest::post()
        .uri(path)
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
        .set_payload(body.to_string());
    if let Some(auth) = auth {
        req = req.insert_header(("Authorization", auth.to_string()));
    }
    req.to_request()
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Flips one character of the signature.
fn tamper(token: &str) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    payload["scope"] = Value::from("api:read api:admin");
    parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap());
    parts.join(".")
}

// ---------------------------------------------------------------- discovery and JWKS

#[actix_web::test]
async fn discovery_documents_are_true_to_what_the_server_does() {
    let app = TestApp::new();
    let client = create_client(&app, true);
    register_api(&app, None);
    let svc = app.service().await;
    let issuer = app.state.issuer.to_string();
    let mut documents = Vec::new();
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let res = test::call_service(&svc, TestRequest::get().uri(path).to_request()).await;
        assert_eq!(res.status(), 200, "{path}");
        assert!(header(&res, "content-type").starts_with("application/json"));
        assert_eq!(
            header(&res, "cache-control"),
            "public, max-age=300".replace(
                "300",
                &app.state.settings.keys.jwks_max_age_seconds.to_string()
            )
        );
        assert_eq!(header(&res, "access-control-allow-origin"), "*");
        documents.push(body_json(res).await);
    }
    assert_eq!(documents[0], documents[1]);
    let doc = &documents[0];
    assert_eq!(doc["issuer"], issuer.as_str());
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert_eq!(doc["request_uri_parameter_supported"], false);
    let grants = doc["grant_types_supported"].as_array().unwrap();
    assert!(!grants.iter().any(|g| g == "implicit" || g == "password"));
    let algs = doc["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(algs.iter().any(|a| a == "RS256"));
    let scopes = doc["scopes_supported"].as_array().unwrap();
    for s in ["openid", "email", "offline_access", "api:read"] {
        assert!(scopes.iter().any(|x| x == s), "{s}");
    }

    // Every advertised endpoint lives under the issuer and answers its method.
    // `/authorize` and `/token` are built on their own branches; they join this list there.
    let on_this_branch = [
        ("authorization_endpoint", "GET"),
        ("token_endpoint", "POST"),
        ("jwks_uri", "GET"),
        ("introspection_endpoint", "POST"),
        ("revocation_endpoint", "POST"),
        ("userinfo_endpoint", "GET"),
        ("userinfo_endpoint", "POST"),
    ];
    for key in [
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "introspection_endpoint",
        "revocation_endpoint",
        "userinfo_endpoint",
    ] {
        let url = doc[key].as_str().unwrap_or_else(|| panic!("{key} missing"));
        assert!(url.starts_with(&issuer), "{key}: {url}");
    }
    for (key, method) in on_this_branch {
        let path = doc[key]
            .as_str()
            .unwrap()
            .strip_prefix(&issuer)
            .unwrap()
            .to_string();
        let req = match method {
            "GET" => TestRequest::get().uri(&path).to_request(),
            _ => form_post(&path, Some(&client.basic()), "token=x"),
        };
        let res = test::call_service(&svc, req).await;
        assert!(
            res.status() != 404 && res.status() != 405,
            "{key} {method}: {}",
            res.status()
        );
    }
    // Every advertised introspection auth method works for a client registered with it.
    let post_spec = ClientSpec {
        client_name: "poster".into(),
        client_type: "confidential".into(),
        token_endpoint_auth_method: Some("client_secret_post".into()),
        grant_types: vec!["client_credentials".into()],
        enabled: true,
        ..Default::default()
    };
    let (poster, secret) = app.with_conn(|conn| {
        registry::create(conn, &post_spec, "test", now())
            .map_err(|e| portcullis::storage::StorageError::Other(format!("{e:?}")))
    });
    let secret = secret.unwrap();
    let form = format!(
        "token=x&client_id={}&client_secret={}",
        poster.id(),
        enc(secret.expose())
    );
    let res = test::call_service(&svc, form_post("/introspect", None, &form)).await;
    assert_eq!(res.status(), 200);
    let methods = doc["introspection_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    assert_eq!(methods.len(), 2, "basic (tested above) and post");
}

#[actix_web::test]
async fn jwks_serves_the_key_that_signed_a_fresh_token() {
    let app = TestApp::new();
    let svc = app.service().await;
    let token = sign(&app, &claims(&app, "cli_x", "usr_1", &[API], "api:read"));
    let res = test::call_service(&svc, TestRequest::get().uri("/jwks.json").to_request()).await;
    assert_eq!(res.status(), 200);
    assert!(header(&res, "cache-control").starts_with("public, max-age="));
    let body = test::read_body(res).await;
    let keys = portcullis::verify::KeyStore::from_jwks(&body).unwrap();
    let kid = portcullis::verify::token::kid_of(&token).unwrap();
    assert!(keys.contains(&kid));
    let jwks: Value = serde_json::from_slice(&body).unwrap();
    for key in jwks["keys"].as_array().unwrap() {
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(
                key.get(private).is_none(),
                "private member {private} published"
            );
        }
        assert_eq!(key["use"], "sig");
    }
    let algs: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    assert!(algs.contains(&"ES256") && algs.contains(&"RS256"));
}

#[actix_web::test]
async fn a_rotated_key_is_published_at_once_and_signs_only_after_activation() {
    let app = TestApp::new();
    let svc = app.service().await;
    let (master, settings) = (app.state.master.clone(), app.state.settings.clone());
    let old_kid = app
        .state
        .keys
        .current()
        .signer(Alg::ES256)
        .unwrap()
        .kid
        .clone();
    let old_token = sign(&app, &claims(&app, "cli_x", "usr_1", &[API], "api:read"));

    let pending = app.with_conn(|conn| {
        portcullis::signing::rotate(conn, &master, &settings, Alg::ES256, false, "test")
    });
    let set = app.with_conn(|conn| {
        portcullis::signing::load(conn, &master, &settings, now())
            .map_err(portcullis::storage::StorageError::Other)
    });
    app.state.keys.replace(set);
    assert_eq!(
        app.state.keys.current().signer(Alg::ES256).unwrap().kid,
        old_kid,
        "pending key must not sign yet"
    );
    let res = test::call_service(&svc, TestRequest::get().uri("/jwks.json").to_request()).await;
    let keys = portcullis::verify::KeyStore::from_jwks(&test::read_body(res).await).unwrap();
    assert!(keys.contains(&pending.kid) && keys.contains(&old_kid));

    // At its activation time the new key signs; the old one stays published.
    let set = app.with_conn(|conn| {
        portcullis::signing::load(conn, &master, &settings, pending.activates_at)
            .map_err(portcullis::storage::StorageError::Other)
    });
    app.state.keys.replace(set);
    assert_eq!(
        app.state.keys.current().signer(Alg::ES256).unwrap().kid,
        pending.kid
    );
    let keys = app.state.keys.current().verifying_keys();
    assert!(
        keys.contains(&old_kid),
        "the retired key stays while its tokens live"
    );
    // A token signed before the rotation still introspects as active.
    let client = create_client(&app, true);
    let mut c = claims(&app, &client.id, "usr_1", &[API], "api:read");
    c.jti = "after-rotation".into();
    let new_token = sign(&app, &c);
    assert_eq!(
        portcullis::verify::token::kid_of(&new_token).unwrap(),
        pending.kid
    );
    let _ = old_token;
}

// ---------------------------------------------------------------- introspection

struct World {
    app: TestApp,
    owner: TestClient,
    other: TestClient,
    rs: TestClient,
    public: TestClient,
    user: String,
}

fn world() -> World {
    let app = TestApp::new();
    let owner = create_client(&app, true);
    let other = create_client(&app, true);
    let rs = create_client(&app, true);
    let public = create_client(&app, false);
    register_api(&app, Some(&rs.id));
    let user = create_user(&app, true);
    World {
        app,
        owner,
        other,
        rs,
        public,
        user,
    }
}

async fn introspect<S, B>(
    svc: &S,
    caller: &TestClient,
    token: &str,
    hint: Option<&str>,
) -> (u16, Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    let mut body = format!("token={}", enc(token));
    if let Some(h) = hint {
        body.push_str(&format!("&token_type_hint={h}"));
    }
    let res = test::call_service(svc, form_post("/introspect", Some(&caller.basic()), &body)).await;
    let status = res.status().as_u16();
    assert_eq!(header(&res, "cache-control"), "no-store");
    (status, body_json(res).await)
}

#[actix_web::test]
async fn introspection_describes_live_access_tokens_to_their_client_and_their_resource() {
    let w = world();
    let svc = w.app.service().await;
    let c = claims(&w.app, &w.owner.id, &w.user, &[API], "api:read");
    let token = sign(&w.app, &c);
    for caller in [&w.owner, &w.rs] {
        for hint in [None, Some("access_token"), Some("refresh_token")] {
            let (status, body) = introspect(&svc, caller, &token, hint).await;
            assert_eq!(status, 200);
            assert_eq!(body["active"], true, "{hint:?}");
            assert_eq!(body["client_id"], w.owner.id.as_str());
            assert_eq!(body["sub"], w.user.as_str());
            assert_eq!(body["scope"], "api:read");
            assert_eq!(body["token_type"], "Bearer");
            assert_eq!(body["aud"], API);
            assert_eq!(body["iss"], w.app.state.issuer.as_ref());
            assert_eq!(body["jti"], c.jti.as_str());
            assert_eq!(body["exp"], c.exp);
            assert_eq!(body["iat"], c.iat);
        }
    }
}

#[actix_web::test]
async fn introspection_answers_inactive_and_nothing_else_for_every_bad_token() {
    let w = world();
    let svc = w.app.service().await;
    let mine = |change: &dyn Fn(&mut AccessTokenClaims)| {
        let mut c = claims(&w.app, &w.owner.id, &w.user, &[API], "api:read");
        change(&mut c);
        sign(&w.app, &c)
    };
    let revoked = {
        let c = claims(&w.app, &w.owner.id, &w.user, &[API], "api:read");
        w.app
            .with_conn(|conn| families::deny_access_token(conn, &c.jti, c.exp, now()));
        sign(&w.app, &c)
    };
    let (used_refresh, _) =
        refresh_token(&w.app, &w.owner.id, &w.user, |_, r| r.used_at = Some(now()));
    let (expired_refresh, _) = refresh_token(&w.app, &w.owner.id, &w.user, |_, r| {
        r.expires_at = now() - 1
    });
    let (revoked_family, _) = refresh_token(&w.app, &w.owner.id, &w.user, |f, _| {
        f.revoked_at = Some(now())
    });
    let (others_refresh, _) = refresh_token(&w.app, &w.other.id, &w.user, |_, _| {});
    let rs256 = {
        let set = w.app.state.keys.current();
        let mut c = claims(&w.app, &w.owner.id, &w.user, &[API], "api:read");
        c.iss = "https://evil.example.com".into();
        sign_access_token(set.signer(Alg::RS256).unwrap(), &c)
    };
    let id_token_typ = {
        let set = w.app.state.keys.current();
        let c = claims(&w.app, &w.owner.id, &w.user, &[API], "api:read");
        set.signer(Alg::ES256).unwrap().sign_json(
            portcullis::crypto::keys::JwtType::IdToken,
            &serde_json::to_vec(&c).unwrap(),
        )
    };
    let cases: Vec<(&str, String, &TestClient)> = vec![
        (
            "expired access token",
            mine(&|c| {
                c.exp = now() - 1;
            }),
            &w.owner,
        ),
        ("tampered access token", tamper(&mine(&|_| {})), &w.owner),
        ("revoked jti", revoked, &w.owner),
        ("another client's token", mine(&|_| {}), &w.other),
        (
            "a resource server's other audience",
            mine(&|c| {
                c.aud = Audience::One("https://other.example.com".into());
            }),
            &w.rs,
        ),
        ("foreign issuer", rs256, &w.owner),
        ("id_token typ", id_token_typ, &w.owner),
        ("malformed", "a.b.c".into(), &w.owner),
        (
            "unknown",
            PlainSecret::generate().expose().to_string(),
            &w.owner,
        ),
        ("used refresh token", used_refresh, &w.owner),
        ("expired refresh token", expired_refresh, &w.owner),
        ("revoked family", revoked_family, &w.owner),
        ("another client's refresh token", others_refresh, &w.owner),
        (
            "a resource server asking for a refresh token",
            refresh_token(&w.app, &w.owner.id, &w.user, |_, _| {}).0,
            &w.rs,
        ),
    ];
    for (what, token, caller) in cases {
        let (status, body) = introspect(&svc, caller, &token, None).await;
        assert_eq!(status, 200, "{what}");
        assert_eq!(body, serde_json::json!({"active": false}), "{what}");
    }
}

#[actix_web::test]
async fn introspection_of_refresh_tokens_and_caller_authentication() {
    let w = world();
    let svc = w.app.service().await;
    let (token, _) = refresh_token(&w.app, &w.owner.id, &w.user, |_, _| {});
    let (status, body) = introspect(&svc, &w.owner, &token, Some("refresh_token")).await;
    assert_eq!(status, 200);
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "refresh_token");
    assert_eq!(body["client_id"], w.owner.id.as_str());
    assert_eq!(body["sub"], w.user.as_str());
    assert_eq!(body["scope"], "openid api:read");
    // Hinted wrong: the server looks beyond the hint.
    let (_, body) = introspect(&svc, &w.owner, &token, Some("access_token")).await;
    assert_eq!(body["active"], true);

    let access = sign(
        &w.app,
        &claims(&w.app, &w.owner.id, &w.user, &[API], "api:read"),
    );
    let body = format!("token={}", enc(&access));
    let wrong_secret = format!("Basic {}", STANDARD.encode(format!("{}:nope", w.owner.id)));
    let public_id = format!("{body}&client_id={}", w.public.id);
    let cases: Vec<(&str, Option<&str>, String, u16, &str)> = vec![
        ("no credentials", None, body.clone(), 401, "invalid_client"),
        (
            "wrong secret",
            Some(&wrong_secret),
            body.clone(),
            401,
            "invalid_client",
        ),
        (
            "public client with client_id only",
            None,
            public_id,
            401,
            "invalid_client",
        ),
    ];
    for (what, auth, form, status, error) in cases {
        let res = test::call_service(&svc, form_post("/introspect", auth, &form)).await;
        assert_eq!(res.status().as_u16(), status, "{what}");
        assert!(
            header(&res, "www-authenticate").starts_with("Basic"),
            "{what}"
        );
        let json = body_json(res).await;
        assert_eq!(json["error"], error, "{what}");
        assert!(
            json.get("active").is_none(),
            "{what}: no token check for an unauthenticated caller"
        );
    }
    let owner_basic = w.owner.basic();
    for (what, form) in [
        ("missing token", "".to_string()),
        ("repeated token", format!("{body}&{body}")),
    ] {
        let res =
            test::call_service(&svc, form_post("/introspect", Some(&owner_basic), &form)).await;
        assert_eq!(res.status(), 400, "{what}");
        assert_eq!(body_json(res).await["error"], "invalid_request", "{what}");
    }
    let res = test::call_service(
        &svc,
        TestRequest::post()
            .uri("/introspect")
            .insert_header(("Authorization", owner_basic.clone()))
            .insert_header(("Content-Type", "application/json"))
            .set_payload("{}")
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), 400);
}

// ---------------------------------------------------------------- revocation

#[actix_web::test]
async fn revoking_an_access_token_deny_lists_its_jti() {
    let w = world();
    let svc = w.app.service().await;
    let c = claims(&w.app, &w.owner.id, &w.user, &[API], "api:read");
    let token = sign(&w.app, &c);
    // Another client may not revoke it, and nothing changes.
    let res = test::call_service(
        &svc,
        form_post(
            "/revoke",
            Some(&w.other.basic()),
            &format!("token={}", enc(&token)),
        ),
    )
    .await;
    assert_eq!(res.status(), 400);
    assert_eq!(body_json(res).await["error"], "unauthorized_client");
    assert!(!w
        .app
        .with_conn(|conn| families::access_token_revoked(conn, &c.jti)));

    for _ in 0..2 {
        let res = test::call_service(
            &svc,
            form_post(
                "/revoke",
                Some(&w.owner.basic()),
                &format!("token={}&token_type_hint=refresh_token", enc(&token)),
            ),
        )
        .await;
        assert_eq!(res.status(), 200);
        assert!(test::read_body(res).await.is_empty());
    }
    assert!(w
        .app
        .with_conn(|conn| families::access_token_revoked(conn, &c.jti)));
    let (_, body) = introspect(&svc, &w.owner, &token, None).await;
    assert_eq!(body["active"], false);
    let events = w.app.with_conn(|conn| audit::recent(conn, 50));
    assert_eq!(
        events.iter().filter(|e| e.event == "token_revoked").count(),
        1,
        "revoked once, audited once"
    );
}

#[actix_web::test]
async fn revoking_a_refresh_token_revokes_its_family_and_its_live_access_token() {
    let w = world();
    let svc = w.app.service().await;
    // A public client revokes by sending its client_id.
    let (token, family_id) = refresh_token(&w.app, &w.public.id, &w.user, |_, _| {});
    let (sibling, _) = {
        let family_id = family_id.clone();
        let t = PlainSecret::generate();
        let row = RefreshTokenRow {
            token_hash: t.hash().to_vec(),
            family_id,
            parent_hash: None,
            created_at: now(),
            expires_at: now() + 600,
            used_at: None,
            revoked_at: None,
        };
        w.app.with_conn(|conn| refresh_tokens::insert(conn, &row));
        (t.expose().to_string(), ())
    };
    let c = claims(&w.app, &w.public.id, &w.user, &[API], "api:read");
    let access = sign(&w.app, &c);
    w.app
        .with_conn(|conn| families::record_access_token(conn, &family_id, &c.jti, c.exp));

    let res = test::call_service(
        &svc,
        form_post(
            "/revoke",
            Some(&w.other.basic()),
            &format!("token={}", enc(&token)),
        ),
    )
    .await;
    assert_eq!(
        res.status(),
        400,
        "another client's refresh token is refused"
    );
    assert!(w
        .app
        .with_conn(|conn| families::find(conn, &family_id))
        .unwrap()
        .revoked_at
        .is_none());

    let res = test::call_service(
        &svc,
        form_post(
            "/revoke",
            None,
            &format!("token={}&client_id={}", enc(&token), w.public.id),
        ),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(w
        .app
        .with_conn(|conn| families::find(conn, &family_id))
        .unwrap()
        .revoked_at
        .is_some());
    assert!(w
        .app
        .with_conn(|conn| families::access_token_revoked(conn, &c.jti)));
    let (row, _) = w
        .app
        .with_conn(|conn| {
            refresh_tokens::find_with_family(
                conn,
                PlainSecret::from_presented(sibling.clone())
                    .hash()
                    .as_bytes(),
            )
        })
        .unwrap();
    assert!(row.revoked_at.is_some(), "every token of the family ends");
    let _ = access;
}

#[actix_web::test]
async fn revocation_of_unknown_malformed_or_foreign_tokens_answers_200_and_changes_nothing() {
    let w = world();
    let svc = w.app.service().await;
    let forged = tamper(&sign(
        &w.app,
        &claims(&w.app, &w.owner.id, &w.user, &[API], "api:read"),
    ));
    let mut expired = claims(&w.app, &w.owner.id, &w.user, &[API], "api:read");
    expired.exp = now() - 5;
    let expired = sign(&w.app, &expired);
    for (what, token) in [
        ("unknown", PlainSecret::generate().expose().to_string()),
        ("malformed", "%%%".to_string()),
        ("forged", forged),
        ("expired", expired),
        ("garbage jwt", "x.y.z".to_string()),
    ] {
        let res = test::call_service(
            &svc,
            form_post(
                "/revoke",
                Some(&w.owner.basic()),
                &format!("token={}&token_type_hint=whatever", enc(&token)),
            ),
        )
        .await;
        assert_eq!(res.status(), 200, "{what}");
    }
    let events = w.app.with_conn(|conn| audit::recent(conn, 50));
    assert!(!events.iter().any(|e| e.event == "token_revoked"));
    // Authentication failures and missing token.
    let res = test::call_service(&svc, form_post("/revoke", None, "token=abc")).await;
    assert_eq!(res.status(), 401);
    assert!(header(&res, "www-authenticate").starts_with("Basic"));
    let res = test::call_service(&svc, form_post("/revoke", Some(&w.owner.basic()), "")).await;
    assert_eq!(res.status(), 400);
    assert_eq!(body_json(res).await["error"], "invalid_request");
    let _ = &w.rs;
}

// ---------------------------------------------------------------- userinfo

#[actix_web::test]
async fn userinfo_returns_the_subject_and_email_by_scope() {
    let w = world();
    let svc = w.app.service().await;
    let issuer = w.app.state.issuer.to_string();
    let with_email = sign(
        &w.app,
        &claims(
            &w.app,
            &w.public.id,
            &w.user,
            &[API, &issuer],
            "openid email api:read",
        ),
    );
    let without = sign(
        &w.app,
        &claims(&w.app, &w.public.id, &w.user, &[&issuer], "openid"),
    );
    for method in ["GET", "POST"] {
        let req = |token: &str| {
            let r = if method == "GET" {
                TestRequest::get()
            } else {
                TestRequest::post()
            };
            r.uri("/userinfo")
                .insert_header(("Authorization", format!("Bearer {token}")))
                .to_request()
        };
        let res = test::call_service(&svc, req(&with_email)).await;
        assert_eq!(res.status(), 200, "{method}");
        assert!(header(&res, "content-type").starts_with("application/json"));
        assert_eq!(header(&res, "cache-control"), "no-store");
        let body = body_json(res).await;
        assert_eq!(body["sub"], w.user.as_str());
        assert_eq!(body["email"], format!("{}@example.com", w.user));
        assert_eq!(body["email_verified"], true);
        let body = body_json(test::call_service(&svc, req(&without)).await).await;
        assert_eq!(body, serde_json::json!({"sub": w.user}));
    }
}

#[actix_web::test]
async fn userinfo_refuses_bad_tokens_with_a_bearer_challenge() {
    let w = world();
    let svc = w.app.service().await;
    let issuer = w.app.state.issuer.to_string();
    let disabled = create_user(&w.app, false);
    let token = |sub: &str, aud: &[&str], scope: &str, change: &dyn Fn(&mut AccessTokenClaims)| {
        let mut c = claims(&w.app, &w.public.id, sub, aud, scope);
        change(&mut c);
        sign(&w.app, &c)
    };
    let revoked = {
        let c = claims(&w.app, &w.public.id, &w.user, &[&issuer], "openid");
        w.app
            .with_conn(|conn| families::deny_access_token(conn, &c.jti, c.exp, now()));
        sign(&w.app, &c)
    };
    let good = token(&w.user, &[&issuer], "openid", &|_| {});
    let cases: Vec<(&str, TestRequest, u16, Option<&str>)> = vec![
        ("no token", TestRequest::get(), 401, None),
        (
            "basic credentials",
            TestRequest::get().insert_header(("Authorization", "Basic YTpi")),
            401,
            None,
        ),
        (
            "expired",
            TestRequest::get().insert_header((
                "Authorization",
                format!(
                    "Bearer {}",
                    token(&w.user, &[&issuer], "openid", &|c| c.exp = now() - 1)
                ),
            )),
            401,
            Some("invalid_token"),
        ),
        (
            "tampered",
            TestRequest::get()
                .insert_header(("Authorization", format!("Bearer {}", tamper(&good)))),
            401,
            Some("invalid_token"),
        ),
        (
            "revoked",
            TestRequest::get().insert_header(("Authorization", format!("Bearer {revoked}"))),
            401,
            Some("invalid_token"),
        ),
        (
            "issuer not in aud",
            TestRequest::get().insert_header((
                "Authorization",
                format!("Bearer {}", token(&w.user, &[API], "openid", &|_| {})),
            )),
            401,
            Some("invalid_token"),
        ),
        (
            "disabled user",
            TestRequest::get().insert_header((
                "Authorization",
                format!("Bearer {}", token(&disabled, &[&issuer], "openid", &|_| {})),
            )),
            401,
            Some("invalid_token"),
        ),
        (
            "client credentials token",
            TestRequest::get().insert_header((
                "Authorization",
                format!(
                    "Bearer {}",
                    token(&w.owner.id, &[&issuer], "openid", &|_| {})
                ),
            )),
            401,
            Some("invalid_token"),
        ),
        (
            "garbage",
            TestRequest::get().insert_header(("Authorization", "Bearer abc")),
            401,
            Some("invalid_token"),
        ),
        (
            "no openid",
            TestRequest::get().insert_header((
                "Authorization",
                format!("Bearer {}", token(&w.user, &[&issuer], "email", &|_| {})),
            )),
            403,
            Some("insufficient_scope"),
        ),
        (
            "token in query",
            TestRequest::get().uri(&format!("/userinfo?access_token={good}")),
            400,
            Some("invalid_request"),
        ),
        (
            "token in query and header",
            TestRequest::get()
                .uri(&format!("/userinfo?access_token={good}"))
                .insert_header(("Authorization", format!("Bearer {good}"))),
            400,
            Some("invalid_request"),
        ),
        (
            "token in body",
            TestRequest::post()
                .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
                .set_payload(format!("access_token={good}")),
            400,
            Some("invalid_request"),
        ),
        (
            "empty bearer",
            TestRequest::get().insert_header(("Authorization", "Bearer ")),
            400,
            Some("invalid_request"),
        ),
    ];
    for (what, req, status, error) in cases {
        let mut req = req.to_request();
        if req.path() == "/" {
            // Cases that do not set a URI mean the plain endpoint.
            req.head_mut().uri = "/userinfo".parse().unwrap();
        }
        let res = test::call_service(&svc, req).await;
        assert_eq!(res.status().as_u16(), status, "{what}");
        let challenge = header(&res, "www-authenticate");
        assert!(
            challenge.starts_with("Bearer realm=\"portcullis\""),
            "{what}: {challenge}"
        );
        match error {
            Some(e) => assert!(
                challenge.contains(&format!("error=\"{e}\"")),
                "{what}: {challenge}"
            ),
            None => assert!(!challenge.contains("error="), "{what}: {challenge}"),
        }
    }
}

// ---------------------------------------------------------------- resources

#[actix_web::test]
async fn a_scope_belongs_to_one_resource_only() {
    let app = TestApp::new();
    register_api(&app, None);
    let clash = Resource {
        audience: "https://other.example.com".into(),
        scopes: vec!["x".into(), "api:read".into()],
        introspection_client_id: None,
        created_at: now(),
    };
    let err = app
        .state
        .db
        .run_blocking(|conn| resources::insert(conn, &clash, "test"))
        .unwrap_err();
    assert!(
        matches!(err, portcullis::storage::StorageError::Conflict(_)),
        "{err:?}"
    );
    let listed = app.with_conn(resources::list);
    assert_eq!(listed.len(), 1);
    app.with_conn(|conn| resources::delete(conn, API, "test", now()));
    assert!(app.with_conn(resources::list).is_empty());
}

// ---------------------------------------------------------------- verification module

/// The real app on a loopback port, in its own thread and runtime.
struct LiveServer {
    app: TestApp,
    handle: actix_web::dev::ServerHandle,
}

impl LiveServer {
    fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = TestApp::with_settings(|s| s.issuer = Some(format!("http://127.0.0.1:{port}")));
        let state = app.state.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server =
                    actix_web::HttpServer::new(move || portcullis::http::build_app(state.clone()))
                        .workers(1)
                        .listen(listener)
                        .unwrap()
                        .run();
                tx.send(server.handle()).unwrap();
                let _ = server.await;
            })
        });
        let handle = rx.recv().unwrap();
        LiveServer { app, handle }
    }
}

fn invalid(result: Result<portcullis::verify::Claims, VerifyError>) -> TokenError {
    match result {
        Err(VerifyError::InvalidToken(why)) => why,
        other => panic!("expected an invalid token, got {other:?}"),
    }
}

#[actix_web::test]
async fn the_verifier_accepts_real_tokens_and_follows_a_key_rotation_through_the_live_server() {
    let live = LiveServer::start();
    let app = &live.app;
    let issuer = app.state.issuer.to_string();
    let verifier = Verifier::new(&issuer).await.expect("discovery and JWKS");
    assert_eq!(verifier.jwks_fetches(), 1);
    assert!(
        Verifier::new(&format!("{issuer}/")).await.is_err(),
        "issuer must match exactly"
    );
    let req = Requirements::new(API).scope("api:read");

    let good = claims(app, "cli_x", "usr_1", &[API], "api:read");
    let verified = verifier.verify(&sign(app, &good), &req).await.unwrap();
    assert_eq!(verified.sub, "usr_1");
    assert_eq!(verified.jti, good.jti);

    let mut expired = good.clone();
    expired.exp = now() - 120;
    assert_eq!(
        invalid(verifier.verify(&sign(app, &expired), &req).await),
        TokenError::Expired
    );
    let mut within_leeway = good.clone();
    within_leeway.exp = now() - 10;
    assert!(
        verifier
            .verify(&sign(app, &within_leeway), &req)
            .await
            .is_ok(),
        "60 s leeway"
    );
    assert_eq!(
        invalid(verifier.verify(&tamper(&sign(app, &good)), &req).await),
        TokenError::BadSignature
    );
    let wrong_aud = claims(
        app,
        "cli_x",
        "usr_1",
        &["https://elsewhere.example.com"],
        "api:read",
    );
    assert_eq!(
        invalid(verifier.verify(&sign(app, &wrong_aud), &req).await),
        TokenError::WrongAudience
    );
    let id_typ = app
        .state
        .keys
        .current()
        .signer(Alg::ES256)
        .unwrap()
        .sign_json(
            portcullis::crypto::keys::JwtType::IdToken,
            &serde_json::to_vec(&good).unwrap(),
        );
    assert_eq!(
        invalid(verifier.verify(&id_typ, &req).await),
        TokenError::WrongType
    );
    let mut wrong_iss = good.clone();
    wrong_iss.iss = "https://evil.example.com".into();
    assert_eq!(
        invalid(verifier.verify(&sign(app, &wrong_iss), &req).await),
        TokenError::WrongIssuer
    );
    let none_alg = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"at+jwt"}"#),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&good).unwrap())
    );
    assert!(matches!(
        verifier.verify(&none_alg, &req).await,
        Err(VerifyError::InvalidToken(_))
    ));
    let narrow = claims(app, "cli_x", "usr_1", &[API], "other");
    assert!(matches!(
        verifier.verify(&sign(app, &narrow), &req).await,
        Err(VerifyError::InsufficientScope(_))
    ));
    // RS256 tokens verify too.
    let rs = sign_access_token(app.state.keys.current().signer(Alg::RS256).unwrap(), &good);
    assert!(verifier.verify(&rs, &req).await.is_ok());
    assert_eq!(verifier.jwks_fetches(), 1, "no refetch for known keys");

    // Emergency rotation: the new key signs at once; the verifier meets an unknown kid and
    // refetches once; the old token still verifies.
    let old_token = sign(app, &good);
    let (master, settings) = (app.state.master.clone(), app.state.settings.clone());
    let row = app.with_conn(|conn| {
        portcullis::signing::rotate(conn, &master, &settings, Alg::ES256, true, "test")
    });
    let set = app.with_conn(|conn| {
        portcullis::signing::load(conn, &master, &settings, row.activates_at.max(now()))
            .map_err(portcullis::storage::StorageError::Other)
    });
    app.state.keys.replace(set);
    let new_token = sign(app, &claims(app, "cli_x", "usr_2", &[API], "api:read"));
    assert_eq!(
        portcullis::verify::token::kid_of(&new_token).unwrap(),
        row.kid
    );
    let verifier = verifier.with_refetch_interval(std::time::Duration::ZERO);
    assert_eq!(
        verifier.verify(&new_token, &req).await.unwrap().sub,
        "usr_2"
    );
    assert_eq!(verifier.jwks_fetches(), 2);
    assert!(
        verifier.verify(&old_token, &req).await.is_ok(),
        "rotation never breaks a live token"
    );
    assert_eq!(verifier.jwks_fetches(), 2);

    // Refetches are rate-limited: an unknown kid right after a fetch costs nothing.
    let verifier = verifier.with_refetch_interval(std::time::Duration::from_secs(3600));
    let foreign = {
        let other = TestApp::new();
        sign(&other, &claims(app, "cli_x", "usr_1", &[API], "api:read"))
    };
    assert_eq!(
        invalid(verifier.verify(&foreign, &req).await),
        TokenError::UnknownKey
    );
    assert_eq!(verifier.jwks_fetches(), 2);

    // The extractor, as examples/resource_server.rs uses it.
    let svc = test::init_service(
        App::new()
            .app_data(web::Data::new(verifier))
            .app_data(web::Data::new(req))
            .route(
                "/projects",
                web::get()
                    .to(|auth: Authenticated| async move { HttpResponse::Ok().body(auth.0.sub) }),
            ),
    )
    .await;
    let call = |auth: Option<String>, uri: &str| {
        let mut r = TestRequest::get().uri(uri);
        if let Some(a) = auth {
            r = r.insert_header(("Authorization", a));
        }
        r.to_request()
    };
    let res =
        test::call_service(&svc, call(Some(format!("Bearer {new_token}")), "/projects")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(test::read_body(res).await, "usr_2");
    let query_uri = format!("/projects?access_token={new_token}");
    /// (what, Authorization header, URI, status, error code in the challenge)
    type Case<'a> = (&'a str, Option<String>, &'a str, u16, Option<&'a str>);
    let cases: Vec<Case> = vec![
        ("no token", None, "/projects", 401, None),
        (
            "expired",
            Some(format!("Bearer {}", sign(app, &expired))),
            "/projects",
            401,
            Some("invalid_token"),
        ),
        (
            "tampered",
            Some(format!("Bearer {}", tamper(&new_token))),
            "/projects",
            401,
            Some("invalid_token"),
        ),
        (
            "wrong audience",
            Some(format!("Bearer {}", sign(app, &wrong_aud))),
            "/projects",
            401,
            Some("invalid_token"),
        ),
        (
            "wrong typ",
            Some(format!("Bearer {id_typ}")),
            "/projects",
            401,
            Some("invalid_token"),
        ),
        (
            "narrow scope",
            Some(format!("Bearer {}", sign(app, &narrow))),
            "/projects",
            403,
            Some("insufficient_scope"),
        ),
        (
            "token in query",
            None,
            &query_uri,
            400,
            Some("invalid_request"),
        ),
    ];
    for (what, auth, uri, status, error) in cases {
        let res = test::call_service(&svc, call(auth, uri)).await;
        assert_eq!(res.status().as_u16(), status, "{what}");
        let challenge = header(&res, "www-authenticate");
        assert!(challenge.starts_with("Bearer"), "{what}: {challenge}");
        match error {
            Some(e) => assert!(
                challenge.contains(&format!("error=\"{e}\"")),
                "{what}: {challenge}"
            ),
            None => assert!(!challenge.contains("error="), "{what}: {challenge}"),
        }
    }
    live.handle.stop(true).await;
}
