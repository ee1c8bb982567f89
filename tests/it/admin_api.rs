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

async fn send<S, B>(svc: &S, req: test::TestRequest) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = test::call_service(svc, req.to_request()).await;
    let h = |name: &str| crate::support::header(&res, name);
    let (status, www_authenticate, cache_control, allow) = (
        res.status(),
        h("www-authenticate"),
        h("cache-control"),
        h("allow"),
    );
    let bytes = test::read_body(res).await;
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        www_authenticate,
        cache_control,
        allow,
        body,
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
