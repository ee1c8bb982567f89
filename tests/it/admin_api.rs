//! The admin JSON API over the real app and a real database: every operation, and the ways
//! each one refuses bad input or a bad caller.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test;
use portcullis::account::{admin_tokens, users as accounts};
use portcullis::oauth::client_auth::{self, Presented};
use portcullis::storage::{clients, families, now, users};
use serde_json::{json, Value};

use crate::support::TestApp;

const SHA256_HEX: &str = "14:6D:E9:83:C5:73:06:50:D8:EE:B9:95:2F:34:FC:64:16:A0:83:42:E6:1D:BE:A8:8A:04:96:B2:3F:CF:44:E5";
const SHA256_ORIGIN: &str = "android:apk-key-hash:FG3pg8VzBlDY7rmVLzT8ZBagg0LmHb6oigSWsj_PROU";

/// A user (admin or not) with an API token.
fn user_with_token(app: &TestApp, email: &str, admin: bool) -> String {
    let row = accounts::new_user(email, "correct horse battery", true, now()).unwrap();
    app.with_conn(|conn| {
        accounts::create(conn, &row)
            .map_err(|e| portcullis::storage::StorageError::Other(e.to_string()))
    });
    let (_, token) = app
        .state
        .db
        .run_blocking(|conn| {
            admin_tokens::issue(conn, "test", email, "test", now())
                .map_err(|e| portcullis::storage::StorageError::Other(e.to_string()))
        })
        .unwrap();
    if !admin {
        app.with_conn(|conn| users::set_admin(conn, email, false, now()));
    }
    token.expose().to_string()
}

struct Reply {
    status: StatusCode,
    www_authenticate: String,
    cache_control: String,
    allow: String,
    body: Value,
}

/// A response with every header, as the checks below need them.
struct Answer {
    status: StatusCode,
    headers: actix_web::http::header::HeaderMap,
    empty: bool,
    body: Value,
}

async fn call<S, B>(svc: &S, req: test::TestRequest) -> Answer
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = test::call_service(svc, req.to_request()).await;
    let (status, headers) = (res.status(), res.headers().clone());
    let bytes = test::read_body(res).await;
    Answer {
        status,
        headers,
        empty: bytes.is_empty(),
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

async fn send<S, B>(svc: &S, req: test::TestRequest) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let answer = call(svc, req).await;
    let h = |name: &str| {
        answer
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    Reply {
        status: answer.status,
        www_authenticate: h("www-authenticate"),
        cache_control: h("cache-control"),
        allow: h("allow"),
        body: answer.body,
    }
}

fn req(method: &str, path: &str, token: &str) -> test::TestRequest {
    let r = match method {
        "GET" => test::TestRequest::get(),
        "POST" => test::TestRequest::post(),
        "PATCH" => test::TestRequest::patch(),
        "DELETE" => test::TestRequest::delete(),
        "PUT" => test::TestRequest::put(),
        other => panic!("{other}"),
    };
    r.uri(path)
        .insert_header(("Authorization", format!("Bearer {token}")))
}

fn with_json(r: test::TestRequest, body: &Value) -> test::TestRequest {
    r.insert_header(("Content-Type", "application/json"))
        .set_payload(body.to_string())
}

fn native_client() -> Value {
    json!({
        "client_name": "Phone app",
        "client_type": "public",
        "application_type": "native",
        "redirect_uris": ["http://127.0.0.1/callback", "com.example.app:/cb"],
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid profile offline_access",
    })
}

fn web_confidential() -> Value {
    json!({
        "client_name": "Web app",
        "client_type": "confidential",
        "redirect_uris": ["https://app.example/cb"],
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid",
        "allowed_cors_origins": ["https://app.example"],
    })
}

fn basic(client_id: &str, secret: &str) -> Presented {
    Presented::Basic {
        client_id: client_id.into(),
        secret: secret.into(),
    }
}

#[actix_web::test]
async fn clients_are_created_listed_shown_patched_and_deleted() {
    let app = TestApp::new();
    let token = user_with_token(&app, "admin@example.com", true);
    let svc = app.service().await;

    let r = send(
        &svc,
        with_json(req("POST", "/admin/api/clients", &token), &native_client()),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.cache_control, "no-store");
    assert!(
        r.body.get("client_secret").is_none(),
        "public clients have no secret"
    );
    assert_eq!(r.body["token_endpoint_auth_method"], "none");
    assert_eq!(r.body["app_identities"], json!([]));
    let native_id = r.body["client_id"].as_str().unwrap().to_string();

    let r = send(
        &svc,
        with_json(
            req("POST", "/admin/api/clients", &token),
            &web_confidential(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["client_secret"].as_str().unwrap().len(), 43);
    let web_id = r.body["client_id"].as_str().unwrap().to_string();

    let r = send(&svc, req("GET", "/admin/api/clients", &token)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body.as_array().unwrap().len(), 2);
    assert!(r
        .body
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c.get("client_secret").is_none()));
    let r = send(&svc, req("GET", "/admin/api/clients?search=phone", &token)).await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    assert_eq!(r.body[0]["client_id"], native_id.as_str());

    let r = send(
        &svc,
        req("GET", &format!("/admin/api/clients/{web_id}"), &token),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.get("client_secret").is_none(),
        "the secret is shown once"
    );
    assert_eq!(
        r.body["allowed_cors_origins"],
        json!(["https://app.example"])
    );

    // RFC 7396: members given replace, null removes (defaults), absent members stay.
    let patch = json!({
        "client_name": "Web app 2",
        "allowed_cors_origins": null,
        "signing_alg": "RS256",
        "client_id": web_id,
    });
    let r = send(
        &svc,
        req("PATCH", &format!("/admin/api/clients/{web_id}"), &token)
            .insert_header(("Content-Type", "application/merge-patch+json"))
            .set_payload(patch.to_string()),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["client_name"], "Web app 2");
    assert_eq!(r.body["allowed_cors_origins"], json!([]));
    assert_eq!(r.body["signing_alg"], "RS256");
    assert_eq!(r.body["scope"], "openid", "absent members are kept");
    assert_eq!(r.body["redirect_uris"], json!(["https://app.example/cb"]));
    let r = send(
        &svc,
        with_json(
            req("PATCH", &format!("/admin/api/clients/{web_id}"), &token),
            &json!({"signing_alg": null, "scope": "openid email"}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["signing_alg"], "ES256", "null restores the default");
    assert_eq!(r.body["scope"], "openid email");

    let r = send(
        &svc,
        req("DELETE", &format!("/admin/api/clients/{native_id}"), &token),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = send(
        &svc,
        req("GET", &format!("/admin/api/clients/{native_id}"), &token),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["error"], "not_found");
    let r = send(
        &svc,
        req("DELETE", &format!("/admin/api/clients/{native_id}"), &token),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let r = send(&svc, req("GET", "/admin/api/audit?limit=20", &token)).await;
    assert_eq!(r.status, StatusCode::OK);
    let events: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for expected in ["client_created", "client_updated", "client_deleted"] {
        assert!(events.contains(&expected), "{events:?}");
    }
    assert!(r.body[0]["actor"]
        .as_str()
        .unwrap()
        .starts_with("admin@example.com via adm_"));
}

#[actix_web::test]
async fn a_rotated_secret_is_shown_once_and_the_old_one_stops_working() {
    let app = TestApp::new();
    let token = user_with_token(&app, "admin@example.com", true);
    let svc = app.service().await;
    let r = send(
        &svc,
        with_json(
            req("POST", "/admin/api/clients", &token),
            &web_confidential(),
        ),
    )
    .await;
    let id = r.body["client_id"].as_str().unwrap().to_string();
    let old = r.body["client_secret"].as_str().unwrap().to_string();

    let r = send(
        &svc,
        req("POST", &format!("/admin/api/clients/{id}/secret"), &token),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.cache_control, "no-store");
    let new = r.body["client_secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    let client = app.with_conn(|conn| clients::find(conn, &id)).unwrap();
    let at = now();
    assert!(client_auth::authenticate(&basic(&id, &new), Some(&client), at).is_ok());
    assert!(client_auth::authenticate(&basic(&id, &old), Some(&client), at).is_err());

    // With a grace period the previous secret works until it ends, and not after.
    let r = send(
        &svc,
        with_json(
            req("POST", &format!("/admin/api/clients/{id}/secret"), &token),
            &json!({"grace_seconds": 3600}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let newest = r.body["client_secret"].as_str().unwrap().to_string();
    let client = app.with_conn(|conn| clients::find(conn, &id)).unwrap();
    assert!(client_auth::authenticate(&basic(&id, &new), Some(&client), at).is_ok());
    assert!(client_auth::authenticate(&basic(&id, &new), Some(&client), at + 3601).is_err());
    assert!(client_auth::authenticate(&basic(&id, &newest), Some(&client), at + 3601).is_ok());

    let r = send(&svc, req("GET", "/admin/api/audit", &token)).await;
    let text = r.body.to_string();
    assert!(text.contains("client_secret_rotated"));
    for secret in [&old, &new, &newest] {
        assert!(
            !text.contains(secret.as_str()),
            "no secret in the audit log"
        );
    }

    for (body, field) in [
        (json!({"grace_seconds": -1}), "grace_seconds"),
        (json!({"grace_seconds": "soon"}), "grace_seconds"),
        (json!({"grace": 5}), "grace"),
    ] {
        let r = send(
            &svc,
            with_json(
                req("POST", &format!("/admin/api/clients/{id}/secret"), &token),
                &body,
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(r.body["field"], field, "{body}");
    }
    let r = send(
        &svc,
        with_json(req("POST", "/admin/api/clients", &token), &native_client()),
    )
    .await;
    let public_id = r.body["client_id"].as_str().unwrap().to_string();
    let r = send(
        &svc,
        req(
            "POST",
            &format!("/admin/api/clients/{public_id}/secret"),
            &token,
        ),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "public clients have no secret"
    );
    let r = send(
        &svc,
        req("POST", "/admin/api/clients/cli_nope/secret", &token),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn disabling_a_client_revokes_its_refresh_token_families() {
    let app = TestApp::new();
    let token = user_with_token(&app, "admin@example.com", true);
    let svc = app.service().await;
    let r = send(
        &svc,
        with_json(req("POST", "/admin/api/clients", &token), &native_client()),
    )
    .await;
    let id = r.body["client_id"].as_str().unwrap().to_string();
    let at = now();
    app.with_conn(|conn| {
        families::insert(
            conn,
            &families::FamilyRow {
                family_id: "fam_1".into(),
                client_id: id.clone(),
                user_id: None,
                scope: "openid".into(),
                resource: None,
                session_hash: None,
                app_identity_id: None,
                auth_time: None,
                offline: true,
                last_access_jti: None,
                last_access_expires_at: None,
                created_at: at,
                expires_at: at + 3600,
                revoked_at: None,
            },
        )
    });
    let r = send(
        &svc,
        with_json(
            req("PATCH", &format!("/admin/api/clients/{id}"), &token),
            &json!({"enabled": true}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(app
        .with_conn(|c| families::find(c, "fam_1"))
        .unwrap()
        .revoked_at
        .is_none());
    let r = send(
        &svc,
        with_json(
            req("PATCH", &format!("/admin/api/clients/{id}"), &token),
            &json!({"enabled": false}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["enabled"], false);
    assert!(app
        .with_conn(|c| families::find(c, "fam_1"))
        .unwrap()
        .revoked_at
        .is_some());
}

#[actix_web::test]
async fn bad_redirect_uris_of_every_kind_are_refused_with_422() {
    let app = TestApp::new();
    let token = user_with_token(&app, "admin@example.com", true);
    let svc = app.service().await;
    let cases = [
        ("fragment", "web", "https://app.example/cb#x"),
        ("wildcard", "web", "https://*.example/cb"),
        ("http on a public host", "web", "http://app.example/cb"),
        ("http://localhost", "native", "http://localhost:8080/cb"),
        ("relative", "web", "/callback"),
        ("custom scheme for a web app", "web", "com.example.app:/cb"),
        ("custom scheme without a dot", "native", "myapp:/cb"),
        ("javascript", "native", "javascript:alert(1)"),
    ];
    for (name, app_type, uri) in cases {
        let mut body = native_client();
        body["application_type"] = json!(app_type);
        body["redirect_uris"] = json!([uri]);
        let r = send(
            &svc,
            with_json(req("POST", "/admin/api/clients", &token), &body),
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}: {}",
            r.body
        );
        assert_eq!(r.body["error"], "invalid_field", "{name}");
        assert_eq!(r.body["field"], "redirect_uris", "{name}");
    }
    // The same rules apply to a patch, and a refused patch changes nothing.
    let r = send(
        &svc,
        with_json(req("POST", "/admin/api/clients", &token), &native_client()),
    )
    .await;
    let id = r.body["client_id"].as_str().unwrap().to_string();
    let r = send(
        &svc,
        with_json(
            req("PATCH", &format!("/admin/api/clients/{id}"), &token),
            &json!({"redirect_uris": ["https://a.example/#f"]}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = send(
        &svc,
        req("GET", &format!("/admin/api/clients/{id}"), &token),
    )
    .await;
    assert_eq!(r.body["redirect_uris"], native_client()["redirect_uris"]);
}

#[actix_web::test]
async fn app_identities_are_added_listed_and_removed() {
    let app = TestApp::new();
    let token = user_with_token(&app, "admin@example.com", true);
    let svc = app.service().await;
    let r = send(
        &svc,
        with_json(req("POST", "/admin/api/clients", &token), &native_client()),
    )
    .await;
    let id = r.body["client_id"].as_str().unwrap().to_string();
    let path = format!("/admin/api/clients/{id}/app-identities");

    let android = json!({
        "platform": "android",
        "app_id": "com.example.app",
        "cert_sha256": [SHA256_ORIGIN, "AA".repeat(32)],
        "cert_sha1": "q6urq6urq6urq6urq6urq6urq6s=",
    });
    let r = send(&svc, with_json(req("POST", &path, &token), &android)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let identity_id = r.body["identity_id"].as_str().unwrap().to_string();
    assert!(identity_id.starts_with("aid_"));
    let hexes = r.body["cert_sha256"].as_array().unwrap();
    assert!(hexes.contains(&json!(SHA256_HEX)));
    assert!(r.body["cert_sha256_origins"]
        .as_array()
        .unwrap()
        .contains(&json!(SHA256_ORIGIN)));
    assert_eq!(r.body["cert_sha1"][0]["legacy"], true);
    assert_eq!(r.body["cert_sha1"][0]["hash"], "AB:".repeat(19) + "AB");

    let r = send(&svc, with_json(req("POST", &path, &token), &android)).await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "the same app twice: {}",
        r.body
    );
    assert_eq!(r.body["error"], "conflict");

    let ios = json!({"platform": "ios", "app_id": "com.example.App", "team_id": "ABCDE12345"});
    let r = send(&svc, with_json(req("POST", &path, &token), &ios)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    let r = send(&svc, req("GET", &path, &token)).await;
    assert_eq!(r.body.as_array().unwrap().len(), 2);
    let r = send(
        &svc,
        req("GET", &format!("/admin/api/clients/{id}"), &token),
    )
    .await;
    assert_eq!(r.body["app_identities"].as_array().unwrap().len(), 2);

    let r = send(
        &svc,
        req("DELETE", &format!("{path}/{identity_id}"), &token),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = send(
        &svc,
        req("DELETE", &format!("{path}/{identity_id}"), &token),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = send(&svc, req("GET", &path, &token)).await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    let r = send(
        &svc,
        req("GET", "/admin/api/clients/cli_nope/app-identities", &token),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = send(
        &svc,
        with_json(
            req("POST", "/admin/api/clients/cli_nope/app-identities", &token),
            &android,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn bad_app_identities_are_refused_naming_the_field() {
    let app = TestApp::new();
    let token = user_with_token(&app, "admin@example.com", true);
    let svc = app.service().await;
    let r = send(
        &svc,
        with_json(req("POST", "/admin/api/clients", &token), &native_client()),
    )
    .await;
    let id = r.body["client_id"].as_str().unwrap().to_string();
    let path = format!("/admin/api/clients/{id}/app-identities");
    let base =
        json!({"platform": "android", "app_id": "com.example.app", "cert_sha256": [SHA256_HEX]});
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "short hex",
            json!({"cert_sha256": ["AB:CD:EF"]}),
            "cert_sha256",
        ),
        (
            "sha1 as sha256",
            json!({"cert_sha256": ["ab".repeat(20)]}),
            "cert_sha256",
        ),
        (
            "not a hash",
            json!({"cert_sha256": ["hello world"]}),
            "cert_sha256",
        ),
        (
            "bad colon groups",
            json!({"cert_sha256": [SHA256_HEX.replace(':', "")[..63].to_string() + ":0"]}),
            "cert_sha256",
        ),
        (
            "wrong origin length",
            json!({"cert_sha256": ["android:apk-key-hash:AAAA"]}),
            "cert_sha256",
        ),
        ("no hash", json!({"cert_sha256": []}), "cert_sha256"),
        (
            "sha256 as sha1",
            json!({"cert_sha1": SHA256_HEX}),
            "cert_sha1",
        ),
        ("bad package", json!({"app_id": "example"}), "app_id"),
        ("bad platform", json!({"platform": "web"}), "platform"),
        (
            "hash list as a string",
            json!({"cert_sha256": SHA256_HEX}),
            "cert_sha256",
        ),
        ("unknown field", json!({"package": "x"}), "package"),
    ];
    for (name, change, field) in cases {
        let mut body = base.clone();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = send(&svc, with_json(req("POST", &path, &token), &body)).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}: {}",
            r.body
        );
        assert_eq!(r.body["field"], field, "{name}");
        if field == "cert_sha256" && name != "no hash" && name != "hash list as a string" {
            let message = r.body["message"].as_str().unwrap();
            assert!(
                message.contains("hex") && message.contains("base64"),
                "{name}: {message}"
            );
        }
    }
    let r = send(&svc, req("GET", &path, &token)).await;
    assert_eq!(r.body, json!([]), "nothing was stored");
}

#[actix_web::test]
async fn requests_without_a_valid_admin_token_are_refused() {
    let app = TestApp::new();
    let admin = user_with_token(&app, "admin@example.com", true);
    let plain = user_with_token(&app, "user@example.com", false);
    let demoted = user_with_token(&app, "former@example.com", true);
    let disabled = user_with_token(&app, "disabled@example.com", true);
    let revoked = user_with_token(&app, "revoked@example.com", true);
    app.with_conn(|conn| users::set_admin(conn, "former@example.com", false, now()));
    app.with_conn(|conn| users::set_enabled(conn, "disabled@example.com", false, now()));
    let revoked_id = app
        .with_conn(portcullis::storage::admin_tokens::list)
        .into_iter()
        .find(|(_, email)| email == "revoked@example.com")
        .unwrap()
        .0
        .token_id;
    app.with_conn(|conn| admin_tokens::revoke(conn, &revoked_id, "test", now()));
    let svc = app.service().await;

    let unauthorized: Vec<(&str, test::TestRequest)> = vec![
        (
            "no header",
            test::TestRequest::get().uri("/admin/api/clients"),
        ),
        (
            "token in the query",
            test::TestRequest::get().uri(&format!("/admin/api/clients?access_token={admin}")),
        ),
        (
            "basic scheme",
            test::TestRequest::get()
                .uri("/admin/api/clients")
                .insert_header(("Authorization", "Basic YTpi")),
        ),
        (
            "empty bearer",
            test::TestRequest::get()
                .uri("/admin/api/clients")
                .insert_header(("Authorization", "Bearer ")),
        ),
        (
            "unknown token",
            req(
                "GET",
                "/admin/api/clients",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            ),
        ),
        (
            "malformed token",
            req("GET", "/admin/api/clients", "not a token"),
        ),
        ("revoked token", req("GET", "/admin/api/clients", &revoked)),
        (
            "unknown token on a write",
            with_json(req("POST", "/admin/api/clients", "nope"), &native_client()),
        ),
        (
            "bad token with a bad body",
            req("POST", "/admin/api/clients", "nope")
                .insert_header(("Content-Type", "application/json"))
                .set_payload("{"),
        ),
    ];
    for (name, request) in unauthorized {
        let r = send(&svc, request).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{name}");
        assert!(
            r.www_authenticate
                .starts_with("Bearer realm=\"portcullis\""),
            "{name}: {}",
            r.www_authenticate
        );
        assert_eq!(r.body["error"], "unauthorized", "{name}");
    }
    for (name, token) in [
        ("not an admin", &plain),
        ("admin flag removed", &demoted),
        ("disabled admin", &disabled),
    ] {
        let r = send(&svc, req("GET", "/admin/api/clients", token)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}");
        assert_eq!(r.body["error"], "forbidden", "{name}");
        let r = send(
            &svc,
            with_json(req("POST", "/admin/api/clients", token), &native_client()),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}");
    }
    let r = send(&svc, req("GET", "/admin/api/clients", &admin)).await;
    assert_eq!(r.body, json!([]), "nothing was created by refused callers");
    let r = send(
        &svc,
        req("GET", "/admin/api/clients", &format!("  {admin}")),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = send(
        &svc,
        test::TestRequest::get()
            .uri("/admin/api/clients")
            .insert_header(("Authorization", format!("bearer {admin}"))),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "the scheme is case-insensitive");
}

#[actix_web::test]
async fn malformed_bodies_get_the_documented_errors() {
    let app = TestApp::new();
    let token = user_with_token(&app, "admin@example.com", true);
    let svc = app.service().await;
    let r = send(
        &svc,
        with_json(req("POST", "/admin/api/clients", &token), &native_client()),
    )
    .await;
    let id = r.body["client_id"].as_str().unwrap().to_string();
    let client_path = format!("/admin/api/clients/{id}");

    let json_req = |method: &str, path: &str, body: &str| {
        req(method, path, &token)
            .insert_header(("Content-Type", "application/json"))
            .set_payload(body.to_string())
    };
    let cases: Vec<(&str, test::TestRequest, u16, &str, Option<&str>)> = vec![
        (
            "malformed JSON",
            json_req("POST", "/admin/api/clients", "{\"client_name\": "),
            400,
            "invalid_json",
            None,
        ),
        (
            "not an object",
            json_req("POST", "/admin/api/clients", "[1]"),
            400,
            "invalid_json",
            None,
        ),
        (
            "no body",
            req("POST", "/admin/api/clients", &token),
            400,
            "invalid_json",
            None,
        ),
        (
            "unknown field",
            json_req(
                "POST",
                "/admin/api/clients",
                &json!({"client_name": "x", "client_type": "public", "logo": "x"}).to_string(),
            ),
            422,
            "invalid_field",
            Some("logo"),
        ),
        (
            "wrong type",
            json_req(
                "POST",
                "/admin/api/clients",
                &json!({"client_name": "x", "client_type": "public", "skip_consent": "yes"})
                    .to_string(),
            ),
            422,
            "invalid_field",
            Some("skip_consent"),
        ),
        (
            "implicit grant",
            json_req(
                "POST",
                "/admin/api/clients",
                &json!({"client_name": "x", "client_type": "public", "grant_types": ["implicit"]})
                    .to_string(),
            ),
            422,
            "invalid_field",
            Some("grant_types"),
        ),
        (
            "form body",
            req("POST", "/admin/api/clients", &token)
                .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
                .set_payload("client_name=x"),
            415,
            "unsupported_media_type",
            None,
        ),
        (
            "merge-patch type on POST",
            req("POST", "/admin/api/clients", &token)
                .insert_header(("Content-Type", "application/merge-patch+json"))
                .set_payload("{}"),
            415,
            "unsupported_media_type",
            None,
        ),
        (
            "oversized body",
            json_req(
                "POST",
                "/admin/api/clients",
                &format!("{{\"client_name\": \"{}\"}}", "x".repeat(20_000)),
            ),
            413,
            "payload_too_large",
            None,
        ),
        (
            "patch unknown field",
            json_req("PATCH", &client_path, "{\"colour\": \"red\"}"),
            422,
            "invalid_field",
            Some("colour"),
        ),
        (
            "patch read-only field",
            json_req("PATCH", &client_path, "{\"client_id\": \"cli_other\"}"),
            422,
            "invalid_field",
            Some("client_id"),
        ),
        (
            "patch client type",
            json_req("PATCH", &client_path, "{\"client_type\": \"confidential\"}"),
            422,
            "invalid_field",
            Some("client_type"),
        ),
        (
            "patch removing the name",
            json_req("PATCH", &client_path, "{\"client_name\": null}"),
            422,
            "invalid_field",
            Some("client_name"),
        ),
        (
            "patch of an unknown client",
            json_req("PATCH", "/admin/api/clients/cli_nope", "{}"),
            404,
            "not_found",
            None,
        ),
        (
            "wrong method",
            req("PUT", &client_path, &token),
            405,
            "method_not_allowed",
            None,
        ),
        (
            "unknown route",
            req("GET", "/admin/api/nothing", &token),
            404,
            "not_found",
            None,
        ),
        (
            "bad audit limit",
            req("GET", "/admin/api/audit?limit=0", &token),
            422,
            "invalid_field",
            Some("limit"),
        ),
        (
            "bad key alg",
            json_req("POST", "/admin/api/keys/rotate", "{\"alg\": \"HS256\"}"),
            422,
            "invalid_field",
            Some("alg"),
        ),
    ];
    for (name, request, status, error, field) in cases {
        let r = send(&svc, request).await;
        assert_eq!(r.status.as_u16(), status, "{name}: {}", r.body);
        assert_eq!(r.body["error"], error, "{name}");
        assert_eq!(r.cache_control, "no-store", "{name}");
        if let Some(field) = field {
            assert_eq!(r.body["field"], field, "{name}");
        }
        if status == 405 {
            assert_eq!(r.allow, "GET, PATCH, DELETE");
        }
    }
    let r = send(&svc, req("GET", &client_path, &token)).await;
    assert_eq!(
        r.body["client_name"], "Phone app",
        "refused changes changed nothing"
    );
}

#[actix_web::test]
async fn keys_are_listed_and_rotated_into_the_running_key_ring() {
    let app = TestApp::new();
    let token = user_with_token(&app, "admin@example.com", true);
    let svc = app.service().await;
    let r = send(&svc, req("GET", "/admin/api/keys", &token)).await;
    assert_eq!(r.status, StatusCode::OK);
    let keys = r.body.as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().all(|k| k["state"] == "active"));
    assert!(r.body.to_string().find("private").is_none());

    let r = send(
        &svc,
        with_json(
            req("POST", "/admin/api/keys/rotate", &token),
            &json!({"alg": "ES256"}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["state"], "pending");
    let pending = r.body["kid"].as_str().unwrap().to_string();
    let jwks = app.state.keys.current().jwks();
    assert!(
        String::from_utf8_lossy(&jwks).contains(&pending),
        "published at once"
    );

    let r = send(
        &svc,
        with_json(
            req("POST", "/admin/api/keys/rotate", &token),
            &json!({"alg": "RS256", "now": true}),
        ),
    )
    .await;
    assert_eq!(r.body["state"], "active");
    let r = send(&svc, req("GET", "/admin/api/keys", &token)).await;
    let states: Vec<(String, String)> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["alg"].as_str().unwrap().into(),
                k["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(states.contains(&("ES256".into(), "pending".into())));
    assert!(states.contains(&("RS256".into(), "retired".into())));
    let r = send(&svc, req("GET", "/admin/api/audit", &token)).await;
    assert!(r.body.to_string().contains("signing_key_rotated"));
}

#[actix_web::test]
async fn resources_are_registered_listed_and_deleted_through_the_api() {
    let app = TestApp::new();
    let token = user_with_token(&app, "admin@example.com", true);
    let svc = app.service().await;
    let r = send(
        &svc,
        with_json(
            req("POST", "/admin/api/resources", &token),
            &json!({"audience": "https://api.example.com", "scope": "api:read api:write"}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["scopes"], json!(["api:read", "api:write"]));

    // A scope belongs to one resource only; an audience is registered once.
    for body in [
        json!({"audience": "https://other.example.com", "scope": "api:read"}),
        json!({"audience": "https://api.example.com", "scope": "x:y"}),
    ] {
        let r = send(
            &svc,
            with_json(req("POST", "/admin/api/resources", &token), &body),
        )
        .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{body}: {}", r.body);
    }
    // Bad input names its field.
    for (body, field) in [
        (json!({"audience": "not a uri", "scope": "a"}), "audience"),
        (
            json!({"audience": "https://b.example#x", "scope": "a"}),
            "audience",
        ),
        (
            json!({"audience": "https://b.example", "scope": "openid"}),
            "scope",
        ),
        (
            json!({"audience": "https://b.example", "scope": "b", "introspection_client_id": "cli_missing"}),
            "introspection_client_id",
        ),
        (
            json!({"audience": "https://b.example", "scope": "b", "extra": 1}),
            "extra",
        ),
    ] {
        let r = send(
            &svc,
            with_json(req("POST", "/admin/api/resources", &token), &body),
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
        assert_eq!(r.body["field"], field, "{body}");
    }

    let r = send(&svc, req("GET", "/admin/api/resources", &token)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body.as_array().unwrap().len(), 1);

    let path = "/admin/api/resources?audience=https%3A%2F%2Fapi.example.com";
    let r = send(&svc, req("DELETE", path, &token)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = send(&svc, req("DELETE", path, &token)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = send(&svc, req("GET", "/admin/api/resources", "not-a-token")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

// ── The OpenAPI document (docs/admin-api.openapi.json) against the real app ─────────────────

const OPENAPI: &str = include_str!("../../docs/admin-api.openapi.json");

/// The HTTP methods an OpenAPI path item may hold, as its keys.
const OPENAPI_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Schema keywords that only annotate; the validator below refuses any other keyword it does
/// not check, so that the document cannot claim a constraint the test silently ignores.
const ANNOTATIONS: [&str; 8] = [
    "description",
    "example",
    "examples",
    "default",
    "format",
    "title",
    "readOnly",
    "writeOnly",
];

/// One documented operation.
struct Operation {
    method: String,
    template: String,
    id: String,
    op: Value,
    params: Vec<Value>,
}

fn operations(doc: &Value) -> Vec<Operation> {
    let mut out = Vec::new();
    for (template, item) in doc["paths"].as_object().expect("paths") {
        let shared = item["parameters"].as_array().cloned().unwrap_or_default();
        for (key, op) in item.as_object().expect("path item") {
            if !OPENAPI_METHODS.contains(&key.as_str()) {
                continue;
            }
            let mut params = shared.clone();
            params.extend(op["parameters"].as_array().cloned().unwrap_or_default());
            out.push(Operation {
                method: key.to_uppercase(),
                template: template.clone(),
                id: op["operationId"].as_str().unwrap_or("").to_string(),
                op: op.clone(),
                params,
            });
        }
    }
    out
}

/// Follows a local `$ref` (only `#/components/schemas/…` is used by the document).
fn deref<'a>(doc: &'a Value, reference: &str) -> Result<&'a Value, String> {
    let name = reference
        .strip_prefix("#/components/schemas/")
        .ok_or_else(|| format!("{reference}: not a reference to components/schemas"))?;
    doc["components"]["schemas"]
        .get(name)
        .ok_or_else(|| format!("{reference}: no such schema"))
}

fn json_type_matches(name: &str, value: &Value) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        other => panic!("unknown JSON Schema type {other}"),
    }
}

/// Checks `value` against the subset of JSON Schema 2020-12 that the document uses.
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = schema
        .as_object()
        .ok_or_else(|| format!("{at}: schema is not an object"))?;
    for (keyword, arg) in schema {
        match keyword.as_str() {
            "$ref" => conforms(doc, deref(doc, arg.as_str().unwrap_or(""))?, value, at)?,
            "type" => {
                let names: Vec<&str> = match arg {
                    Value::String(s) => vec![s.as_str()],
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                    _ => return Err(format!("{at}: bad type keyword")),
                };
                if !names.iter().any(|n| json_type_matches(n, value)) {
                    return Err(format!("{at}: {value} is not of type {arg}"));
                }
            }
            "enum" => {
                if !arg.as_array().is_some_and(|a| a.contains(value)) {
                    return Err(format!("{at}: {value} is not one of {arg}"));
                }
            }
            "const" => {
                if arg != value {
                    return Err(format!("{at}: {value} is not {arg}"));
                }
            }
            "properties" => {
                if let Value::Object(members) = value {
                    for (name, member) in members {
                        if let Some(sub) = arg.get(name) {
                            conforms(doc, sub, member, &format!("{at}.{name}"))?;
                        }
                    }
                }
            }
            "required" => {
                if let Value::Object(members) = value {
                    for name in arg.as_array().into_iter().flatten() {
                        let name = name.as_str().unwrap_or("");
                        if !members.contains_key(name) {
                            return Err(format!("{at}: required member `{name}` is missing"));
                        }
                    }
                }
            }
            "additionalProperties" => {
                assert_eq!(arg, &Value::Bool(false), "{at}: only `false` is supported");
                if let Value::Object(members) = value {
                    let declared = schema.get("properties").and_then(Value::as_object);
                    for name in members.keys() {
                        if !declared.is_some_and(|d| d.contains_key(name)) {
                            return Err(format!("{at}: undocumented member `{name}`"));
                        }
                    }
                }
            }
            "items" => {
                for (i, item) in value.as_array().into_iter().flatten().enumerate() {
                    conforms(doc, arg, item, &format!("{at}[{i}]"))?;
                }
            }
            "minItems" | "maxItems" => {
                if let Value::Array(items) = value {
                    let bound = arg.as_u64().unwrap_or(0) as usize;
                    let ok = if keyword == "minItems" {
                        items.len() >= bound
                    } else {
                        items.len() <= bound
                    };
                    if !ok {
                        return Err(format!("{at}: {} items breaks {keyword}", items.len()));
                    }
                }
            }
            "minimum" | "maximum" => {
                if let (Some(n), Some(bound)) = (value.as_f64(), arg.as_f64()) {
                    let ok = if keyword == "minimum" {
                        n >= bound
                    } else {
                        n <= bound
                    };
                    if !ok {
                        return Err(format!("{at}: {n} breaks {keyword} {bound}"));
                    }
                }
            }
            other if ANNOTATIONS.contains(&other) => {}
            other => panic!("{at}: the test does not check the keyword `{other}`"),
        }
    }
    Ok(())
}

/// Every `$ref` anywhere in `value`.
fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// Objects to point path and query parameters at: a confidential client with an (iOS) app
/// identity, and a resource server.
struct Fixture {
    client_id: String,
    identity_id: String,
    audience: String,
}

impl Fixture {
    /// The value for a path or query parameter that names one of these objects.
    fn value(&self, parameter: &str) -> Option<String> {
        match parameter {
            "client_id" => Some(self.client_id.clone()),
            "identity_id" => Some(self.identity_id.clone()),
            "audience" => Some(self.audience.clone()),
            _ => None,
        }
    }
}

fn fixture(app: &TestApp, n: usize) -> Fixture {
    use portcullis::oauth::app_identity::IdentitySpec;
    use portcullis::registry::{self, ClientSpec};
    use portcullis::storage::StorageError;
    let spec = ClientSpec {
        client_name: format!("Fixture {n}"),
        client_type: "confidential".into(),
        redirect_uris: vec!["https://fixture.example/cb".into()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scope: "openid".into(),
        enabled: true,
        ..ClientSpec::default()
    };
    let audience = format!("https://fixture-{n}.example");
    let issuer = app.state.issuer.to_string();
    app.with_conn(|conn| {
        let (client, _) =
            registry::create(conn, &spec, "test", now()).map_err(StorageError::from)?;
        let identity = IdentitySpec {
            platform: "ios".into(),
            app_id: "com.example.Fixture".into(),
            ..IdentitySpec::default()
        };
        let identity = registry::add_app_identity(conn, client.id(), &identity, "test", now())
            .map_err(StorageError::from)?;
        let scope = format!("fixture{n}:read");
        registry::create_resource(conn, &issuer, &audience, &scope, None, "test", now())
            .map_err(StorageError::from)?;
        Ok(Fixture {
            client_id: client.id().to_string(),
            identity_id: identity.identity_id,
            audience: audience.clone(),
        })
    })
}

/// The request for an operation: path and query parameters from `value` (or the parameter's
/// example), and the first documented request body example with its media type.
fn request_for(
    method: &str,
    base: &str,
    template: &str,
    params: &[Value],
    body: Option<&Value>,
    value: &dyn Fn(&str) -> Option<String>,
) -> test::TestRequest {
    let mut path = template.to_string();
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    let mut has_query = false;
    for p in params {
        let name = p["name"].as_str().expect("parameter name");
        let given = value(name).or_else(|| match &p["example"] {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        });
        match (p["in"].as_str(), given) {
            (Some("path"), Some(v)) => path = path.replace(&format!("{{{name}}}"), &v),
            (Some("path"), None) => panic!("no value for path parameter {name}"),
            (Some("query"), Some(v)) => {
                query.append_pair(name, &v);
                has_query = true;
            }
            (Some("query"), None) => {}
            (other, _) => panic!("parameter {name} in {other:?} is not exercised"),
        }
    }
    let mut uri = format!("{base}{path}");
    if has_query {
        uri = format!("{uri}?{}", query.finish());
    }
    let r = match method {
        "GET" => test::TestRequest::get(),
        "POST" => test::TestRequest::post(),
        "PATCH" => test::TestRequest::patch(),
        "DELETE" => test::TestRequest::delete(),
        "PUT" => test::TestRequest::put(),
        other => panic!("{other}"),
    }
    .uri(&uri);
    let example = body.and_then(|b| {
        b["content"]
            .as_object()?
            .iter()
            .find(|(_, media)| media.get("example").is_some())
            .map(|(media_type, media)| (media_type.clone(), media["example"].clone()))
    });
    match example {
        Some((media_type, example)) => r
            .insert_header(("Content-Type", media_type))
            .set_payload(example.to_string()),
        None => r,
    }
}

/// Checks a real answer against the operation's documented response for its status: the
/// status is documented, the body matches the schema (or is empty when none is documented)
/// and every documented header is present.
fn check_documented(doc: &Value, op: &Operation, answer: &Answer, what: &str) {
    let status = answer.status.as_u16().to_string();
    let name = format!("{} {} ({what})", op.method, op.template);
    assert_eq!(
        answer
            .headers
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store"),
        "{name}"
    );
    let documented = op.op["responses"]
        .get(&status)
        .unwrap_or_else(|| panic!("{name}: status {status} is not documented: {}", answer.body));
    match documented["content"].as_object() {
        Some(content) => {
            let schema = &content
                .get("application/json")
                .unwrap_or_else(|| panic!("{name}: only JSON answers are expected"))["schema"];
            if let Err(e) = conforms(doc, schema, &answer.body, "body") {
                panic!("{name}: {status}: {e}: {}", answer.body);
            }
        }
        None => assert!(answer.empty, "{name}: {status} has an undocumented body"),
    }
    for header in documented["headers"].as_object().into_iter().flatten() {
        assert!(
            answer.headers.contains_key(header.0.as_str()),
            "{name}: {status} lacks the documented header {}",
            header.0
        );
    }
}

/// Whether a concrete path fits a documented path template (`{name}` is one segment).
fn matches_template(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| t == p || (t.starts_with('{') && !p.is_empty()))
}

#[actix_web::test]
async fn the_openapi_document_is_well_formed_and_its_references_resolve() {
    let doc: Value = serde_json::from_str(OPENAPI).expect("the document is JSON");
    assert!(doc["openapi"].as_str().unwrap_or("").starts_with("3.1"));
    assert_eq!(doc["servers"][0]["url"], "/admin/api");
    assert!(
        OPENAPI.contains("\n  \"paths\": {\n"),
        "pretty-printed with two spaces"
    );

    // A bearer scheme, applied to every operation.
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    let global = doc["security"].as_array().unwrap();
    assert_eq!(global.len(), 1);
    for name in global[0].as_object().unwrap().keys() {
        assert_eq!(schemes[name]["type"], "http");
        assert_eq!(schemes[name]["scheme"], "bearer");
        assert!(schemes[name]["description"]
            .as_str()
            .unwrap()
            .contains("portcullis admin token create"));
    }

    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in &refs {
        deref(&doc, r).unwrap_or_else(|e| panic!("{e}"));
    }
    for name in doc["components"]["schemas"].as_object().unwrap().keys() {
        let r = format!("#/components/schemas/{name}");
        assert!(refs.contains(&r), "schema {name} is never used");
    }

    let ops = operations(&doc);
    let mut ids = std::collections::BTreeSet::new();
    for op in &ops {
        let name = format!("{} {}", op.method, op.template);
        assert!(
            ids.insert(op.id.clone()),
            "{name}: operationId missing or reused"
        );
        assert!(op.op["summary"].is_string(), "{name}: summary");
        let responses = op.op["responses"].as_object().unwrap();
        let successes: Vec<_> = responses.keys().filter(|s| s.starts_with('2')).collect();
        assert_eq!(successes.len(), 1, "{name}: one success status");
        for status in ["401", "403", "500", "503"] {
            assert!(responses.contains_key(status), "{name}: {status}");
        }
        for (status, response) in responses {
            if !status.starts_with('2') {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/Error",
                    "{name}: {status} uses the shared Error schema"
                );
            }
        }
        // Every template parameter is declared, and the other way round.
        for p in op.params.iter().filter(|p| p["in"] == "path") {
            let placeholder = format!("{{{}}}", p["name"].as_str().unwrap());
            assert!(op.template.contains(&placeholder), "{name}: {placeholder}");
            assert_eq!(p["required"], true, "{name}: path parameters are required");
        }
        assert_eq!(
            op.template.matches('{').count(),
            op.params.iter().filter(|p| p["in"] == "path").count(),
            "{name}: every path placeholder is a declared parameter"
        );
        // Request examples are valid against their own schema.
        if let Some(content) = op.op["requestBody"]["content"].as_object() {
            for (media_type, media) in content {
                if let Some(example) = media.get("example") {
                    conforms(&doc, &media["schema"], example, "example")
                        .unwrap_or_else(|e| panic!("{name}: {media_type}: {e}"));
                }
            }
            if op.op["requestBody"]["required"] == true {
                assert!(
                    content.values().any(|m| m.get("example").is_some()),
                    "{name}: a required body has an example to call the operation with"
                );
            }
        }
    }
}

#[actix_web::test]
async fn every_documented_admin_operation_is_routed_and_answers_as_documented() {
    let doc: Value = serde_json::from_str(OPENAPI).expect("the document is JSON");
    let base = doc["servers"][0]["url"].as_str().unwrap().to_string();
    let ops = operations(&doc);
    assert!(!ops.is_empty());
    let app = TestApp::new();
    let token = user_with_token(&app, "admin@example.com", true);
    let svc = app.service().await;
    let bearer = ("Authorization", format!("Bearer {token}"));

    // The answer for a path the API does not have; no documented operation may give it.
    let unknown_route = call(
        &svc,
        test::TestRequest::get()
            .uri(&format!("{base}/no-such-endpoint"))
            .insert_header(bearer.clone()),
    )
    .await;
    assert_eq!(unknown_route.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown_route.body["error"], "not_found");
    let is_unknown_route =
        |a: &Answer| a.status == unknown_route.status && a.body == unknown_route.body;

    // A valid call of every operation, each on objects of its own: routed, and with the
    // documented success status, body and headers.
    for (n, op) in ops.iter().enumerate() {
        let fx = fixture(&app, n);
        let value = |name: &str| fx.value(name);
        let request = request_for(
            &op.method,
            &base,
            &op.template,
            &op.params,
            op.op.get("requestBody"),
            &value,
        )
        .insert_header(bearer.clone());
        let answer = call(&svc, request).await;
        let name = format!("{} {}", op.method, op.template);
        assert!(!is_unknown_route(&answer), "{name} is not routed");
        assert_ne!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{name}");
        let success = op.op["responses"]
            .as_object()
            .unwrap()
            .keys()
            .find(|s| s.starts_with('2'))
            .unwrap()
            .clone();
        assert_eq!(
            answer.status.as_u16().to_string(),
            success,
            "{name}: {}",
            answer.body
        );
        check_documented(&doc, op, &answer, "valid call");
    }

    // Without a token every operation is a documented 401 with its challenge.
    let fx = fixture(&app, ops.len());
    let value = |name: &str| fx.value(name);
    for op in &ops {
        let request = request_for(
            &op.method,
            &base,
            &op.template,
            &op.params,
            op.op.get("requestBody"),
            &value,
        );
        let answer = call(&svc, request).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", op.id);
        check_documented(&doc, op, &answer, "no token");
    }

    // Unknown ids are a documented 404 from the operation, not the unknown-route answer.
    let unknown = |name: &str| match name {
        "client_id" => Some("cli_000000000000000000000000".to_string()),
        "identity_id" => Some("aid_000000000000000000000000".to_string()),
        "audience" => Some("https://unknown.example".to_string()),
        _ => None,
    };
    let mut with_ids = 0;
    for op in &ops {
        let names: Vec<&str> = op
            .params
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        if !names.iter().any(|n| unknown(n).is_some()) {
            continue;
        }
        with_ids += 1;
        let request = request_for(
            &op.method,
            &base,
            &op.template,
            &op.params,
            op.op.get("requestBody"),
            &unknown,
        )
        .insert_header(bearer.clone());
        let answer = call(&svc, request).await;
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{}: {}",
            op.id,
            answer.body
        );
        assert!(!is_unknown_route(&answer), "{} is not routed", op.id);
        check_documented(&doc, op, &answer, "unknown id");
    }
    assert!(with_ids > 0);

    // On every documented path, every method the document does not list is a 405 whose
    // `Allow` names exactly the documented methods: the routes are the documented ones.
    let mut templates: Vec<&str> = ops.iter().map(|o| o.template.as_str()).collect();
    templates.dedup();
    for template in templates {
        let documented: std::collections::BTreeSet<String> = ops
            .iter()
            .filter(|o| o.template == template)
            .map(|o| o.method.clone())
            .collect();
        let params: Vec<Value> = ops
            .iter()
            .filter(|o| o.template == template)
            .flat_map(|o| o.params.iter().filter(|p| p["in"] == "path").cloned())
            .collect();
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            if documented.contains(method) {
                continue;
            }
            let request = request_for(method, &base, template, &params, None, &value)
                .insert_header(bearer.clone());
            let answer = call(&svc, request).await;
            assert_eq!(
                answer.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {template} is routed but not documented"
            );
            let allowed: std::collections::BTreeSet<String> = answer
                .headers
                .get("allow")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .split(',')
                .map(|m| m.trim().to_string())
                .collect();
            assert_eq!(allowed, documented, "{template}: Allow");
            conforms(
                &doc,
                &json!({"$ref": "#/components/schemas/Error"}),
                &answer.body,
                "405",
            )
            .unwrap();
        }
    }

    // Undocumented combinations give the unknown-route answer or a 405, so the checks above
    // can fail.
    let client = &fx.client_id;
    for (method, path, expected) in [
        ("GET", format!("{base}/users"), StatusCode::NOT_FOUND),
        (
            "POST",
            format!("{base}/clients/{client}/secrets"),
            StatusCode::NOT_FOUND,
        ),
        (
            "POST",
            format!("{base}/keys/rotate/now"),
            StatusCode::NOT_FOUND,
        ),
        (
            "PUT",
            format!("{base}/clients"),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            "GET",
            format!("{base}/keys/rotate"),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ] {
        let answer = call(&svc, req(method, &path, &token)).await;
        assert_eq!(answer.status, expected, "{method} {path}");
        if expected == StatusCode::NOT_FOUND {
            assert!(
                is_unknown_route(&answer),
                "{method} {path}: {}",
                answer.body
            );
        }
        let relative = path.strip_prefix(base.as_str()).unwrap();
        assert!(
            !ops.iter()
                .any(|o| o.method == method && matches_template(&o.template, relative)),
            "{method} {path} is documented"
        );
    }
}
