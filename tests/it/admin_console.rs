//! The admin web console (`/admin`) over the real app and a real database: who gets in, every
//! page and form, validation that keeps the admin's input, CSRF on every form, escaping.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use portcullis::account::users as accounts;
use portcullis::oauth::client_auth::{self, Presented};
use portcullis::storage::{audit, clients, now, users, StorageError};

use crate::flow_support::*;
use crate::support::TestApp;

const ADMIN: &str = "admin@example.com";
const SHA256_HEX: &str = "14:6D:E9:83:C5:73:06:50:D8:EE:B9:95:2F:34:FC:64:16:A0:83:42:E6:1D:BE:A8:8A:04:96:B2:3F:CF:44:E5";
const SHA256_ORIGIN: &str = "android:apk-key-hash:FG3pg8VzBlDY7rmVLzT8ZBagg0LmHb6oigSWsj_PROU";

fn admin_user(app: &TestApp, email: &str) {
    let row = accounts::new_user(email, PASSWORD, true, now()).unwrap();
    app.with_conn(|conn| {
        accounts::create(conn, &row).map_err(|e| StorageError::Other(e.to_string()))
    });
}

/// Signs `email` in through the login page, asked for by the console.
async fn signed_in<S, B>(svc: &S, email: &str) -> Jar
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut jar = Jar::default();
    let first = get(svc, &mut jar, "/admin").await;
    assert_eq!(first.status, 303);
    let done = login_via(svc, &mut jar, &first.location(), email).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), "/admin");
    jar
}

/// The CSRF token of the form posting to `action` on a page.
fn form_csrf(page: &Resp, action: &str) -> String {
    let marker = format!("action=\"{action}\"");
    let at = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no form for {action} in {}", page.body));
    let rest = Resp {
        status: page.status,
        headers: page.headers.clone(),
        body: page.body[at..].to_string(),
    };
    rest.field("csrf_token")
}

/// The console token, read from the new-client form.
async fn console_csrf<S, B>(svc: &S, jar: &mut Jar) -> String
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let page = get(svc, jar, "/admin/clients/new").await;
    assert_eq!(page.status, 200, "{}", page.body);
    form_csrf(&page, "/admin/clients")
}

fn native_form<'a>(name: &'a str, csrf: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf_token", csrf),
        ("client_name", name),
        ("client_type", "public"),
        ("application_type", "native"),
        (
            "redirect_uris",
            "http://127.0.0.1/callback\r\ncom.example.app:/cb",
        ),
        ("scope", "openid\r\nprofile offline_access"),
        ("grant_authorization_code", "1"),
        ("grant_refresh_token", "1"),
        ("signing_alg", "ES256"),
        ("enabled", "1"),
    ]
}

fn confidential_form<'a>(name: &'a str, csrf: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf_token", csrf),
        ("client_name", name),
        ("client_type", "confidential"),
        ("application_type", "web"),
        ("redirect_uris", "https://app.example/cb"),
        ("scope", "openid api:read"),
        ("cors_origins", "https://app.example"),
        ("grant_authorization_code", "1"),
        ("grant_client_credentials", "1"),
        ("signing_alg", "ES256"),
        ("enabled", "1"),
    ]
}

/// The secret shown on a secret page.
fn shown_secret(page: &Resp) -> String {
    let start = page
        .body
        .find("id=\"client-secret\">")
        .expect("secret shown")
        + 19;
    let end = page.body[start..].find('<').unwrap() + start;
    page.body[start..end].to_string()
}

fn id_from_location(resp: &Resp) -> String {
    resp.location()
        .strip_prefix("/admin/clients/")
        .unwrap_or_else(|| panic!("unexpected location {}", resp.location()))
        .to_string()
}

fn basic(client_id: &str, secret: &str) -> Presented {
    Presented::Basic {
        client_id: client_id.into(),
        secret: secret.into(),
    }
}

#[actix_web::test]
async fn visitors_without_a_session_are_sent_to_the_login_page_and_come_back() {
    let app = TestApp::new();
    admin_user(&app, ADMIN);
    let svc = app.service().await;
    let mut jar = Jar::default();
    for (path, back) in [
        ("/admin", "/admin"),
        ("/admin/audit", "/admin/audit"),
        ("/admin/clients/cli_x/edit", "/admin/clients/cli_x/edit"),
        ("/admin?q=photo", "/admin?q=photo"),
    ] {
        let r = get(&svc, &mut jar, path).await;
        assert_eq!(r.status, 303, "{path}");
        assert!(r.location().starts_with("/login?return_to="), "{path}");
        assert_eq!(query_params(&r.location())["return_to"], back, "{path}");
    }
    // A form sent without a session changes nothing and goes to the login page.
    let r = post_form(&svc, &mut jar, "/admin/clients", &native_form("X", "t")).await;
    assert_eq!(r.status, 303);
    assert!(r.location().starts_with("/login?return_to=%2Fadmin"));
    assert!(app.with_conn(|c| clients::list(c, None)).is_empty());

    let login = get(&svc, &mut jar, "/login?return_to=%2Fadmin%2Faudit").await;
    assert_eq!(login.field("return_to"), "/admin/audit");
    let done = login_via(&svc, &mut jar, "/login?return_to=%2Fadmin%2Faudit", ADMIN).await;
    assert_eq!(done.location(), "/admin/audit");
    let page = get(&svc, &mut jar, "/admin/audit").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Audit log"));
    assert_eq!(page.header("cache-control"), "no-store");
    assert!(page
        .header("content-security-policy")
        .contains("frame-ancestors 'none'"));
    assert_eq!(page.header("x-frame-options"), "DENY");
    assert!(!page.body.contains("<script"), "the console has no scripts");

    // return_to never leaves the site, whatever follows `/admin`.
    for evil in [
        "//evil.example/admin",
        "/admin//evil.example",
        "/admin\\evil",
        "/administrator",
        "/admin/api/clients",
        "https://evil.example/admin",
        "/admin@evil.example",
    ] {
        let uri = format!(
            "/login?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("return_to", evil)
                .finish()
        );
        let page = get(&svc, &mut Jar::default(), &uri).await;
        assert_eq!(page.field("return_to"), "", "{evil}");
    }
}

#[actix_web::test]
async fn a_signed_in_user_without_the_admin_flag_gets_403_and_changes_nothing() {
    let app = TestApp::new();
    user(&app, "user@example.com");
    let target = client(
        &app,
        "Target",
        "public",
        &["https://app.example/cb"],
        "openid",
    );
    let svc = app.service().await;
    let mut jar = Jar::default();
    let first = get(&svc, &mut jar, "/admin").await;
    let done = login_via(&svc, &mut jar, &first.location(), "user@example.com").await;
    assert_eq!(done.status, 303);
    for path in [
        "/admin",
        "/admin/clients/new",
        "/admin/audit",
        &format!("/admin/clients/{target}"),
    ] {
        let r = get(&svc, &mut jar, path).await;
        assert_eq!(r.status, 403, "{path}");
        assert!(r.body.contains("not an administrator"), "{path}");
    }
    let r = post_form(
        &svc,
        &mut jar,
        &format!("/admin/clients/{target}/delete"),
        &[("confirm", "yes"), ("csrf_token", "x")],
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(app.with_conn(|c| clients::find(c, &target)).is_some());

    // Losing the flag takes effect at the next request of an existing session.
    admin_user(&app, ADMIN);
    let mut admin = signed_in(&svc, ADMIN).await;
    assert_eq!(get(&svc, &mut admin, "/admin").await.status, 200);
    app.with_conn(|c| users::set_admin(c, ADMIN, false, now()));
    assert_eq!(get(&svc, &mut admin, "/admin").await.status, 403);
    // A disabled user has no session at all.
    app.with_conn(|c| users::set_admin(c, ADMIN, true, now()));
    app.with_conn(|c| users::set_enabled(c, ADMIN, false, now()).map(|_| ()));
    assert_eq!(get(&svc, &mut admin, "/admin").await.status, 303);
}

#[actix_web::test]
async fn clients_are_listed_and_searched_by_name_or_id() {
    let app = TestApp::new();
    admin_user(&app, ADMIN);
    let photo = client(
        &app,
        "Photo Album",
        "public",
        &["https://photos.example/cb"],
        "openid",
    );
    let notes = client(
        &app,
        "Notebook",
        "public",
        &["https://notes.example/cb"],
        "openid",
    );
    let svc = app.service().await;
    let mut jar = signed_in(&svc, ADMIN).await;
    let all = get(&svc, &mut jar, "/admin").await;
    assert_eq!(all.status, 200);
    assert!(all.body.contains("Photo Album") && all.body.contains("Notebook"));
    assert!(all
        .body
        .contains(&format!("href=\"/admin/clients/{photo}\"")));

    let found = get(&svc, &mut jar, "/admin?q=PHOTO").await;
    assert!(found.body.contains("Photo Album"));
    assert!(!found.body.contains("Notebook"));
    let found = get(&svc, &mut jar, &format!("/admin?q={notes}")).await;
    assert!(found.body.contains("Notebook"));
    assert!(!found.body.contains("Photo Album"));
    let none = get(&svc, &mut jar, "/admin?q=zzz").await;
    assert!(none.body.contains("No client matches"));
}

#[actix_web::test]
async fn an_admin_registers_a_public_native_client_with_a_loopback_redirect_and_an_app_key_hash() {
    let app = TestApp::new();
    admin_user(&app, ADMIN);
    let svc = app.service().await;
    let mut jar = signed_in(&svc, ADMIN).await;
    let csrf = console_csrf(&svc, &mut jar).await;
    let created = post_form(
        &svc,
        &mut jar,
        "/admin/clients",
        &native_form("Phone app", &csrf),
    )
    .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let id = id_from_location(&created);
    let stored = app.with_conn(|c| clients::find(c, &id)).unwrap();
    assert_eq!(stored.row.client_type, "public");
    assert_eq!(stored.row.application_type, "native");
    assert_eq!(stored.row.token_endpoint_auth_method, "none");
    assert!(stored.row.secret_hash.is_none());
    assert_eq!(stored.row.scope, "openid profile offline_access");
    for uri in ["http://127.0.0.1/callback", "com.example.app:/cb"] {
        assert!(stored.redirect_uris.contains(&uri.to_string()), "{uri}");
    }
    assert_eq!(stored.redirect_uris.len(), 2);

    let page = get(
        &svc,
        &mut jar,
        &format!("/admin/clients/{id}/app-identities/new"),
    )
    .await;
    assert_eq!(page.status, 200);
    let action = format!("/admin/clients/{id}/app-identities");
    let csrf = form_csrf(&page, &action);
    // A bad hash comes back beside its field, input kept.
    let bad = post_form(
        &svc,
        &mut jar,
        &action,
        &[
            ("csrf_token", &csrf),
            ("platform", "android"),
            ("app_id", "com.example.app"),
            ("cert_sha256", "AB:CD"),
        ],
    )
    .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("class=\"field-error\""));
    assert!(bad.body.contains("hex"), "names the accepted formats");
    assert_eq!(bad.field("app_id"), "com.example.app");
    let added = post_form(
        &svc,
        &mut jar,
        &action,
        &[
            ("csrf_token", &csrf),
            ("platform", "android"),
            ("app_id", "com.example.app"),
            ("cert_sha256", &format!("{SHA256_HEX}\r\n")),
        ],
    )
    .await;
    assert_eq!(added.status, 303, "{}", added.body);
    let shown = get(&svc, &mut jar, &format!("/admin/clients/{id}")).await;
    assert!(shown.body.contains("com.example.app"));
    assert!(shown.body.contains(SHA256_HEX));
    assert!(shown.body.contains(SHA256_ORIGIN));
    assert!(shown.body.contains("http://127.0.0.1/callback"));

    // The same app twice is refused beside the app id.
    let again = post_form(
        &svc,
        &mut jar,
        &action,
        &[
            ("csrf_token", &csrf),
            ("platform", "android"),
            ("app_id", "com.example.app"),
            ("cert_sha256", SHA256_ORIGIN),
        ],
    )
    .await;
    assert_eq!(again.status, 422);
    assert!(again.body.contains("already registered"));

    // Removing it.
    let identity = app.with_conn(|c| clients::list_app_identities(c, &id));
    assert_eq!(identity.len(), 1);
    let remove = format!(
        "/admin/clients/{id}/app-identities/{}/delete",
        identity[0].identity_id
    );
    let csrf = form_csrf(&shown, &remove);
    let r = post_form(&svc, &mut jar, &remove, &[("csrf_token", &csrf)]).await;
    assert_eq!(r.status, 303);
    assert!(app
        .with_conn(|c| clients::list_app_identities(c, &id))
        .is_empty());

    let events = app.with_conn(|c| audit::recent(c, 10));
    let names: Vec<_> = events.iter().map(|e| e.event.as_str()).collect();
    for wanted in [
        "client_created",
        "client_app_identity_added",
        "client_app_identity_removed",
    ] {
        assert!(names.contains(&wanted), "{wanted} in {names:?}");
    }
    assert!(events
        .iter()
        .filter(|e| e.event.starts_with("client_"))
        .all(|e| e.actor.as_deref() == Some(ADMIN)));
}

#[actix_web::test]
async fn a_validation_error_re_renders_the_form_with_the_message_beside_the_field_and_the_input_kept(
) {
    let app = TestApp::new();
    admin_user(&app, ADMIN);
    let id = client(&app, "Web", "public", &["https://app.example/cb"], "openid");
    let svc = app.service().await;
    let mut jar = signed_in(&svc, ADMIN).await;
    let edit = get(&svc, &mut jar, &format!("/admin/clients/{id}/edit")).await;
    assert_eq!(edit.status, 200);
    assert_eq!(edit.field("client_name"), "Web");
    let action = format!("/admin/clients/{id}/edit");
    let csrf = form_csrf(&edit, &action);

    type Case = (&'static str, &'static str, &'static str, &'static str);
    let cases: [Case; 4] = [
        (
            "localhost redirect",
            "redirect_uris",
            "http://localhost/cb",
            "redirect_uris",
        ),
        (
            "wildcard redirect",
            "redirect_uris",
            "https://*.example/cb",
            "redirect_uris",
        ),
        ("bad scope", "scope", "openid \"quoted\"", "scope"),
        (
            "origin with a path",
            "cors_origins",
            "https://app.example/path",
            "allowed_cors_origins",
        ),
    ];
    for (why, field, value, _) in cases {
        let mut pairs = vec![
            ("csrf_token", csrf.as_str()),
            ("client_name", "Renamed <b>app</b>"),
            ("application_type", "web"),
            ("redirect_uris", "https://app.example/cb"),
            ("scope", "openid"),
            ("grant_authorization_code", "1"),
            ("signing_alg", "RS256"),
            ("enabled", "1"),
        ];
        pairs.retain(|(k, _)| *k != field);
        pairs.push((field, value));
        let r = post_form(&svc, &mut jar, &action, &pairs).await;
        assert_eq!(r.status, 422, "{why}");
        assert!(r.body.contains("class=\"field-error\""), "{why}");
        assert_eq!(
            r.field("client_name"),
            "Renamed <b>app</b>",
            "{why}: input kept"
        );
        assert!(
            r.body.contains("Renamed &#60;b&#62;app&#60;/b&#62;"),
            "{why}: escaped"
        );
        assert!(
            r.body.contains("<option value=\"RS256\" selected>"),
            "{why}"
        );
        let textarea = if field == "cors_origins" {
            "cors_origins"
        } else {
            field
        };
        assert!(r.body.contains(&format!("name=\"{textarea}\"")), "{why}");
        assert!(
            r.body.contains(&askama_escaped(value)),
            "{why}: the bad value is kept"
        );
        let stored = app.with_conn(|c| clients::find(c, &id)).unwrap();
        assert_eq!(stored.row.client_name, "Web", "{why}: nothing changed");
    }

    // A valid edit replaces the lists.
    let ok = post_form(
        &svc,
        &mut jar,
        &action,
        &[
            ("csrf_token", &csrf),
            ("client_name", "Renamed"),
            ("application_type", "web"),
            (
                "redirect_uris",
                "https://app.example/cb\nhttps://app.example/cb2",
            ),
            ("scope", "openid email"),
            ("cors_origins", "https://app.example"),
            ("grant_authorization_code", "1"),
            ("signing_alg", "RS256"),
            ("enabled", "1"),
        ],
    )
    .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let stored = app.with_conn(|c| clients::find(c, &id)).unwrap();
    assert_eq!(stored.row.client_name, "Renamed");
    assert_eq!(stored.redirect_uris.len(), 2);
    assert_eq!(stored.row.scope, "openid email");
    assert_eq!(stored.cors_origins, vec!["https://app.example"]);
    assert_eq!(stored.row.signing_alg, "RS256");
    assert_eq!(stored.row.client_type, "public", "the type never changes");
}

fn askama_escaped(s: &str) -> String {
    s.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

#[actix_web::test]
async fn clients_are_disabled_and_enabled_again() {
    let app = TestApp::new();
    admin_user(&app, ADMIN);
    let id = client(&app, "Web", "public", &["https://app.example/cb"], "openid");
    let svc = app.service().await;
    let mut jar = signed_in(&svc, ADMIN).await;
    let action = format!("/admin/clients/{id}/enabled");
    let page = get(&svc, &mut jar, &format!("/admin/clients/{id}")).await;
    assert!(page.body.contains(">Disable</button>"));
    let csrf = form_csrf(&page, &action);
    let r = post_form(
        &svc,
        &mut jar,
        &action,
        &[("csrf_token", &csrf), ("enabled", "false")],
    )
    .await;
    assert_eq!(r.status, 303);
    assert!(
        !app.with_conn(|c| clients::find(c, &id))
            .unwrap()
            .row
            .enabled
    );
    let page = get(&svc, &mut jar, &format!("/admin/clients/{id}")).await;
    assert!(page.body.contains(">Enable</button>"));
    assert!(page.body.contains("disabled"));
    let r = post_form(
        &svc,
        &mut jar,
        &action,
        &[("csrf_token", &csrf), ("enabled", "true")],
    )
    .await;
    assert_eq!(r.status, 303);
    assert!(
        app.with_conn(|c| clients::find(c, &id))
            .unwrap()
            .row
            .enabled
    );
    let r = post_form(
        &svc,
        &mut jar,
        &action,
        &[("csrf_token", &csrf), ("enabled", "maybe")],
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(
        app.with_conn(|c| clients::find(c, &id))
            .unwrap()
            .row
            .enabled
    );
}

#[actix_web::test]
async fn deleting_a_client_needs_the_confirmation_page() {
    let app = TestApp::new();
    admin_user(&app, ADMIN);
    let id = client(
        &app,
        "Doomed",
        "public",
        &["https://app.example/cb"],
        "openid",
    );
    let svc = app.service().await;
    let mut jar = signed_in(&svc, ADMIN).await;
    let view = get(&svc, &mut jar, &format!("/admin/clients/{id}")).await;
    assert!(
        view.body
            .contains(&format!("href=\"/admin/clients/{id}/delete\"")),
        "the detail page links to the confirmation, it does not delete"
    );
    let confirm = get(&svc, &mut jar, &format!("/admin/clients/{id}/delete")).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("Delete Doomed?"));
    let action = format!("/admin/clients/{id}/delete");
    let csrf = form_csrf(&confirm, &action);
    assert_eq!(confirm.field("confirm"), "yes");

    let unconfirmed = post_form(&svc, &mut jar, &action, &[("csrf_token", &csrf)]).await;
    assert_eq!(unconfirmed.status, 400);
    assert!(unconfirmed.body.contains("Delete Doomed?"));
    assert!(app.with_conn(|c| clients::find(c, &id)).is_some());

    let done = post_form(
        &svc,
        &mut jar,
        &action,
        &[("csrf_token", &csrf), ("confirm", "yes")],
    )
    .await;
    assert_eq!(done.status, 303);
    assert_eq!(done.location(), "/admin");
    assert!(app.with_conn(|c| clients::find(c, &id)).is_none());
    let gone = get(&svc, &mut jar, &format!("/admin/clients/{id}")).await;
    assert_eq!(gone.status, 404);
    let events = app.with_conn(|c| audit::recent(c, 5));
    assert!(events
        .iter()
        .any(|e| e.event == "client_deleted" && e.actor.as_deref() == Some(ADMIN)));
}

#[actix_web::test]
async fn rotating_a_secret_shows_the_new_one_once_and_the_old_one_stops_working() {
    let app = TestApp::new();
    admin_user(&app, ADMIN);
    let svc = app.service().await;
    let mut jar = signed_in(&svc, ADMIN).await;
    let csrf = console_csrf(&svc, &mut jar).await;
    let created = post_form(
        &svc,
        &mut jar,
        "/admin/clients",
        &confidential_form("Backend", &csrf),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.header("cache-control"), "no-store");
    let old = shown_secret(&created);
    assert_eq!(old.len(), 43);
    let id = app.with_conn(|c| clients::list(c, None))[0]
        .row
        .client_id
        .clone();

    let view = get(&svc, &mut jar, &format!("/admin/clients/{id}")).await;
    assert!(!view.body.contains(&old), "the secret is never shown again");
    let action = format!("/admin/clients/{id}/secret");
    let csrf = form_csrf(&view, &action);
    let rotated = post_form(
        &svc,
        &mut jar,
        &action,
        &[("csrf_token", &csrf), ("grace_seconds", "0")],
    )
    .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    assert_eq!(rotated.header("cache-control"), "no-store");
    assert!(rotated.location().is_empty(), "never in a URL");
    let new = shown_secret(&rotated);
    assert_ne!(new, old);
    assert!(rotated.body.contains("previous secret no longer works"));

    let stored = app.with_conn(|c| clients::find(c, &id)).unwrap();
    let at = now();
    assert!(client_auth::authenticate(&basic(&id, &new), Some(&stored), at).is_ok());
    assert!(client_auth::authenticate(&basic(&id, &old), Some(&stored), at).is_err());
    let view = get(&svc, &mut jar, &format!("/admin/clients/{id}")).await;
    assert!(!view.body.contains(&new));
    let log = get(&svc, &mut jar, "/admin/audit").await;
    assert!(log.body.contains("client_secret_rotated"));
    assert!(!log.body.contains(&new) && !log.body.contains(&old));

    // A public client has no secret to rotate.
    let public = client(&app, "Pub", "public", &["https://app.example/cb"], "openid");
    let r = post_form(
        &svc,
        &mut jar,
        &format!("/admin/clients/{public}/secret"),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(r.status, 422);
    let r = post_form(
        &svc,
        &mut jar,
        &action,
        &[("csrf_token", &csrf), ("grace_seconds", "soon")],
    )
    .await;
    assert_eq!(r.status, 400);
}

#[actix_web::test]
async fn every_console_form_refuses_a_missing_or_wrong_csrf_token_and_changes_nothing() {
    let app = TestApp::new();
    admin_user(&app, ADMIN);
    let svc = app.service().await;
    let mut jar = signed_in(&svc, ADMIN).await;
    let csrf = console_csrf(&svc, &mut jar).await;
    let created = post_form(
        &svc,
        &mut jar,
        "/admin/clients",
        &confidential_form("Backend", &csrf),
    )
    .await;
    assert_eq!(created.status, 200);
    let id = app.with_conn(|c| clients::list(c, None))[0]
        .row
        .client_id
        .clone();
    let identity = format!("/admin/clients/{id}/app-identities");
    let r = post_form(
        &svc,
        &mut jar,
        &identity,
        &[
            ("csrf_token", &csrf),
            ("platform", "ios"),
            ("app_id", "com.example.ios"),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let identity_id = app.with_conn(|c| clients::list_app_identities(c, &id))[0]
        .identity_id
        .clone();

    // A token of another purpose (the sign-out form's) is as wrong as a random one.
    let page = get(&svc, &mut jar, "/admin").await;
    let logout_token = form_csrf(&page, "/logout");
    assert_ne!(logout_token, csrf);

    let new_form = confidential_form("Another", "");
    type Form<'a> = (&'a str, String, Vec<(&'a str, &'a str)>);
    let forms: Vec<Form> = vec![
        ("create", "/admin/clients".into(), new_form[1..].to_vec()),
        (
            "edit",
            format!("/admin/clients/{id}/edit"),
            vec![
                ("client_name", "Changed"),
                ("redirect_uris", "https://app.example/cb"),
                ("grant_authorization_code", "1"),
                ("enabled", "1"),
            ],
        ),
        (
            "disable",
            format!("/admin/clients/{id}/enabled"),
            vec![("enabled", "false")],
        ),
        (
            "delete",
            format!("/admin/clients/{id}/delete"),
            vec![("confirm", "yes")],
        ),
        (
            "rotate",
            format!("/admin/clients/{id}/secret"),
            vec![("grace_seconds", "0")],
        ),
        (
            "add identity",
            identity.clone(),
            vec![("platform", "ios"), ("app_id", "com.example.other")],
        ),
        (
            "remove identity",
            format!("/admin/clients/{id}/app-identities/{identity_id}/delete"),
            vec![],
        ),
    ];
    let snapshot = |app: &TestApp| {
        let c = app
            .with_conn(|c| clients::find(c, &id))
            .expect("client still there");
        let n = app.with_conn(|c| clients::list(c, None)).len();
        let ids = app
            .with_conn(|c| clients::list_app_identities(c, &id))
            .len();
        let events = app.with_conn(|c| audit::recent(c, 100)).len();
        (
            format!("{:?}", c.row),
            c.redirect_uris.clone(),
            n,
            ids,
            events,
        )
    };
    let before = snapshot(&app);
    for (name, action, fields) in &forms {
        let tokens: [(&str, Option<&str>); 4] = [
            ("missing", None),
            ("empty", Some("")),
            ("wrong", Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")),
            ("another purpose", Some(logout_token.as_str())),
        ];
        for (how, token) in tokens {
            let mut pairs = fields.clone();
            if let Some(t) = token {
                pairs.push(("csrf_token", t));
            }
            let r = post_form(&svc, &mut jar, action, &pairs).await;
            assert_eq!(r.status, 400, "{name}, token {how}: {}", r.body);
            assert!(
                r.body.contains("Nothing was changed"),
                "{name}, token {how}"
            );
            assert_eq!(
                snapshot(&app),
                before,
                "{name}, token {how}: nothing changed"
            );
        }
        // A second token beside the right one does not get through either.
        let mut pairs = fields.clone();
        pairs.push(("csrf_token", &csrf));
        pairs.push(("csrf_token", "AAAA"));
        let r = post_form(&svc, &mut jar, action, &pairs).await;
        assert_eq!(r.status, 400, "{name}, two tokens");
        assert_eq!(snapshot(&app), before, "{name}, two tokens");
    }
    // Another admin's token does not work in this session.
    admin_user(&app, "other@example.com");
    let mut other = signed_in(&svc, "other@example.com").await;
    let theirs = console_csrf(&svc, &mut other).await;
    assert_ne!(theirs, csrf);
    let r = post_form(
        &svc,
        &mut jar,
        &format!("/admin/clients/{id}/delete"),
        &[("confirm", "yes"), ("csrf_token", &theirs)],
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(app.with_conn(|c| clients::find(c, &id)).is_some());
}

#[actix_web::test]
async fn a_client_name_with_markup_is_escaped_on_the_list_and_detail_pages() {
    let app = TestApp::new();
    admin_user(&app, ADMIN);
    let id = client(
        &app,
        "<script>alert(1)</script>",
        "public",
        &["https://app.example/cb"],
        "openid",
    );
    let svc = app.service().await;
    let mut jar = signed_in(&svc, ADMIN).await;
    for path in [
        "/admin".to_string(),
        format!("/admin/clients/{id}"),
        format!("/admin/clients/{id}/edit"),
        format!("/admin/clients/{id}/delete"),
    ] {
        let page = get(&svc, &mut jar, &path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(!page.body.contains("<script>"), "{path}");
        assert!(
            page.body
                .contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "{path}"
        );
    }
    let page = get(&svc, &mut jar, "/admin?q=%3Cscript%3E").await;
    assert!(!page.body.contains("<script>"));
}
