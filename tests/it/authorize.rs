//! The authorization endpoint, login, consent, SSO session, logout and account pages,
//! through the real app.

use diesel::prelude::*;
use portcullis::crypto::keys::Alg;
use portcullis::crypto::secrets::SecretHash;
use portcullis::oauth::pkce;
use portcullis::storage::codes::CodeRow;
use portcullis::storage::families::{self, FamilyRow};
use portcullis::storage::schema::authorization_codes;
use portcullis::storage::sessions::{self, SessionRow};
use portcullis::storage::throttle::{self, Policy};
use portcullis::storage::{consents, now};

use crate::flow_support::*;
use crate::support::TestApp;

const WEB_CB: &str = "https://app.example/cb";
const LOOPBACK_CB: &str = "http://127.0.0.1:9999/cb";

fn code_count(app: &TestApp) -> i64 {
    app.with_conn(|conn| Ok(authorization_codes::table.count().get_result::<i64>(conn)?))
}

fn code_row(app: &TestApp, code: &str) -> CodeRow {
    let hash = SecretHash::of(code.as_bytes()).to_vec();
    app.with_conn(|conn| portcullis::storage::codes::find(conn, &hash))
        .expect("code row")
}

fn assert_page_400(resp: &Resp, why: &str) {
    assert_eq!(resp.status, 400, "{why}: {}", resp.body);
    assert!(resp.location().is_empty(), "{why}: must not redirect");
    assert!(
        resp.header("content-type").starts_with("text/html"),
        "{why}"
    );
}

#[actix_web::test]
async fn unverified_requests_get_a_400_page_and_never_a_redirect() {
    let app = TestApp::new();
    let id = client(
        &app,
        "App",
        "public",
        &[WEB_CB, "https://app.example/other"],
        "openid",
    );
    let single = client(&app, "Single", "public", &[WEB_CB], "openid profile");
    let disabled = client_with(&app, "Off", "public", &[WEB_CB], "openid", |s| {
        s.enabled = false
    });
    let svc = app.service().await;
    let good = authorize_uri(&id, WEB_CB, "openid", "");
    let cases: Vec<(&str, String)> = vec![
        (
            "unknown client",
            authorize_uri("cli_nobody", WEB_CB, "openid", ""),
        ),
        (
            "missing client_id",
            good.replace(&format!("client_id={id}&"), ""),
        ),
        (
            "disabled client",
            authorize_uri(&disabled, WEB_CB, "openid", ""),
        ),
        (
            "unregistered redirect",
            authorize_uri(&id, "https://evil.example/cb", "openid", ""),
        ),
        (
            "prefix of a registered redirect",
            authorize_uri(&id, "https://app.example/c", "openid", ""),
        ),
        (
            "redirect with a fragment",
            authorize_uri(&id, "https://app.example/cb#x", "openid", ""),
        ),
        (
            "duplicate redirect_uri",
            format!("{good}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb"),
        ),
        ("duplicate client_id", format!("{good}&client_id={id}")),
        (
            "missing redirect_uri with two registered",
            good.replace("redirect_uri=https%3A%2F%2Fapp.example%2Fcb&", ""),
        ),
        (
            "missing redirect_uri with openid",
            authorize_uri(&single, WEB_CB, "openid", "")
                .replace("redirect_uri=https%3A%2F%2Fapp.example%2Fcb&", ""),
        ),
        (
            "response mode not understood",
            format!("{good}&response_mode=fragment"),
        ),
        ("malformed query", format!("{good}&x=%zz")),
    ];
    for (why, uri) in cases {
        let resp = get(&svc, &mut Jar::default(), &uri).await;
        assert_page_400(&resp, why);
    }
}

#[actix_web::test]
async fn redirect_uri_may_be_left_out_when_one_is_registered_and_openid_is_not_requested() {
    let app = TestApp::new();
    let id = client(&app, "Single", "public", &[WEB_CB], "profile");
    let svc = app.service().await;
    let uri = authorize_uri(&id, WEB_CB, "profile", "response_type=token")
        .replace("redirect_uri=https%3A%2F%2Fapp.example%2Fcb&", "")
        .replace("response_type=code&", "");
    let resp = get(&svc, &mut Jar::default(), &uri).await;
    assert_eq!(resp.status, 303);
    assert!(resp
        .location()
        .starts_with("https://app.example/cb?error=unsupported_response_type"));
}

#[actix_web::test]
async fn errors_after_verification_go_to_the_redirect_uri_with_state_and_iss() {
    let app = TestApp::new();
    let id = client(&app, "App", "public", &[WEB_CB], "openid profile");
    let cc = client_with(&app, "Machine", "confidential", &[WEB_CB], "openid", |s| {
        s.grant_types = vec!["client_credentials".into()]
    });
    let svc = app.service().await;
    let good = authorize_uri(&id, WEB_CB, "openid", "");
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "duplicate state",
            format!("{good}&state=again"),
            "invalid_request",
        ),
        (
            "duplicate scope",
            format!("{good}&scope=openid"),
            "invalid_request",
        ),
        (
            "missing response_type",
            good.replace("response_type=code&", ""),
            "invalid_request",
        ),
        (
            "response_type token",
            good.replace("response_type=code", "response_type=token"),
            "unsupported_response_type",
        ),
        (
            "response_type id_token",
            good.replace("response_type=code", "response_type=id_token"),
            "unsupported_response_type",
        ),
        (
            "grant not allowed",
            authorize_uri(&cc, WEB_CB, "openid", ""),
            "unauthorized_client",
        ),
        (
            "missing challenge",
            good.replace(&format!("code_challenge={CHALLENGE}&"), ""),
            "invalid_request",
        ),
        (
            "missing method",
            good.replace("&code_challenge_method=S256", ""),
            "invalid_request",
        ),
        (
            "plain method",
            good.replace("code_challenge_method=S256", "code_challenge_method=plain"),
            "invalid_request",
        ),
        (
            "lower-case method",
            good.replace("code_challenge_method=S256", "code_challenge_method=s256"),
            "invalid_request",
        ),
        (
            "short challenge",
            good.replace(CHALLENGE, &CHALLENGE[..42]),
            "invalid_request",
        ),
        (
            "scope omitted",
            good.replace("scope=openid&", ""),
            "invalid_scope",
        ),
        (
            "scope not allowed",
            good.replace("scope=openid", "scope=openid+admin"),
            "invalid_scope",
        ),
        (
            "prompt none with login",
            format!("{good}&prompt=none+login"),
            "invalid_request",
        ),
        (
            "bad max_age",
            format!("{good}&max_age=-1"),
            "invalid_request",
        ),
        (
            "request object",
            format!("{good}&request=eyJ"),
            "request_not_supported",
        ),
        (
            "request_uri",
            format!("{good}&request_uri=urn%3Ax"),
            "request_uri_not_supported",
        ),
    ];
    for (why, uri, code) in cases {
        let resp = get(&svc, &mut Jar::default(), &uri).await;
        assert_eq!(resp.status, 303, "{why}: {}", resp.body);
        assert!(
            resp.location().starts_with("https://app.example/cb?error="),
            "{why}"
        );
        let p = resp.redirect_params();
        assert_eq!(p["error"], code, "{why}");
        assert!(p.contains_key("error_description"), "{why}");
        assert_eq!(p["state"], "st ate/é&=", "{why}: state echoed exactly");
        assert_eq!(p["iss"], &*app.state.issuer, "{why}");
        assert!(!p.contains_key("code"), "{why}");
    }
    assert_eq!(code_count(&app), 0);
}

#[actix_web::test]
async fn an_existing_query_on_the_redirect_uri_is_kept() {
    let app = TestApp::new();
    let cb = "https://app.example/cb?tenant=a";
    let id = client(&app, "App", "public", &[cb], "openid");
    let svc = app.service().await;
    let uri =
        authorize_uri(&id, cb, "openid", "response_type=token").replace("response_type=code&", "");
    let resp = get(&svc, &mut Jar::default(), &uri).await;
    assert!(resp
        .location()
        .starts_with("https://app.example/cb?tenant=a&error=unsupported_response_type"));
}

#[actix_web::test]
async fn unknown_and_oidc_display_parameters_never_cause_an_error() {
    let app = TestApp::new();
    let id = client(&app, "App", "public", &[WEB_CB], "openid");
    let svc = app.service().await;
    let uri = authorize_uri(
        &id,
        WEB_CB,
        "openid",
        "display=popup&ui_locales=fr&claims_locales=de&acr_values=x&login_hint=a%40b&foo=bar&nonce=n",
    );
    let resp = get(&svc, &mut Jar::default(), &uri).await;
    assert_eq!(resp.status, 303);
    assert!(resp
        .location()
        .starts_with("/login?return_to=%2Fauthorize%3F"));
}

#[actix_web::test]
async fn the_full_flow_issues_a_code_bound_to_the_request() {
    let app = TestApp::new();
    let id = client(&app, "Photos", "public", &[LOOPBACK_CB], "openid profile");
    let user_id = user(&app, "alice@example.com");
    let svc = app.service().await;
    let mut jar = Jar::default();
    let uri = authorize_uri(&id, LOOPBACK_CB, "openid profile", "nonce=n-0S6");
    let consent = to_consent(&svc, &mut jar, &uri, "alice@example.com").await;
    assert!(consent.body.contains("Photos"));
    assert!(consent.body.contains("127.0.0.1:9999"));
    assert!(consent.body.contains("See your basic profile"));
    let before = now();
    let done = answer(&svc, &mut jar, &consent, "approve").await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(done
        .location()
        .starts_with("http://127.0.0.1:9999/cb?code="));
    assert_eq!(done.header("cache-control"), "no-store");
    let p = done.redirect_params();
    assert_eq!(p["state"], "st ate/é&=");
    assert_eq!(p["iss"], &*app.state.issuer);
    assert_eq!(p["code"].len(), 43, "256-bit base64url");

    let row = code_row(&app, &p["code"]);
    assert_eq!(row.client_id, id);
    assert_eq!(row.user_id, user_id);
    assert_eq!(row.redirect_uri, LOOPBACK_CB);
    assert_eq!(row.scope, "openid profile");
    assert_eq!(row.code_challenge, CHALLENGE);
    assert_eq!(row.code_challenge_method, "S256");
    assert!(
        pkce::verify(VERIFIER, &row.code_challenge),
        "RFC 7636 Appendix B"
    );
    assert_eq!(row.nonce.as_deref(), Some("n-0S6"));
    assert!(row.family_id.starts_with("fam_"));
    assert!(row.used_at.is_none());
    assert!(row.auth_time >= before - 5 && row.auth_time <= now());
    assert_eq!(row.expires_at - row.created_at, 60);
    let session = jar.session().expect("session cookie");
    assert_eq!(
        row.session_hash,
        Some(SecretHash::of(session.as_bytes()).to_vec())
    );
}

#[actix_web::test]
async fn post_authorize_is_accepted_like_get() {
    let app = TestApp::new();
    let id = client(&app, "App", "public", &[WEB_CB], "openid");
    let svc = app.service().await;
    let uri = authorize_uri(&id, WEB_CB, "openid", "");
    let body = uri.trim_start_matches("/authorize?").to_string();
    let resp = send(
        &svc,
        &mut Jar::default(),
        actix_web::test::TestRequest::post()
            .uri("/authorize")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(body),
    )
    .await;
    assert_eq!(resp.status, 303);
    assert!(resp.location().starts_with("/login?return_to="));
    assert!(
        resp.header("access-control-allow-origin").is_empty(),
        "no CORS on /authorize"
    );
}

#[actix_web::test]
async fn the_session_is_reused_by_a_second_client_without_a_password() {
    let app = TestApp::new();
    let a = client(&app, "First", "public", &[LOOPBACK_CB], "openid");
    let b = client(
        &app,
        "Second",
        "public",
        &["http://127.0.0.1:8888/cb"],
        "openid",
    );
    user(&app, "bob@example.com");
    let svc = app.service().await;
    let mut jar = Jar::default();
    let consent = to_consent(
        &svc,
        &mut jar,
        &authorize_uri(&a, LOOPBACK_CB, "openid", ""),
        "bob@example.com",
    )
    .await;
    answer(&svc, &mut jar, &consent, "approve").await;

    let second = get(
        &svc,
        &mut jar,
        &authorize_uri(&b, "http://127.0.0.1:8888/cb", "openid", ""),
    )
    .await;
    assert_eq!(second.status, 200, "consent page, no login");
    assert!(second.body.contains("Second"));
    let done = answer(&svc, &mut jar, &second, "approve").await;
    assert!(done
        .location()
        .starts_with("http://127.0.0.1:8888/cb?code="));
    assert_eq!(code_count(&app), 2);
}

#[actix_web::test]
async fn remembered_consent_applies_only_to_clients_whose_identity_is_assured() {
    let app = TestApp::new();
    let conf = client(
        &app,
        "Server app",
        "confidential",
        &["https://srv.example/cb"],
        "openid email",
    );
    let claimed = client(&app, "Claimed", "public", &[WEB_CB], "openid email");
    let loopback = client(&app, "Loopback", "public", &[LOOPBACK_CB], "openid email");
    user(&app, "carol@example.com");
    let svc = app.service().await;
    let mut jar = Jar::default();
    let consent = to_consent(
        &svc,
        &mut jar,
        &authorize_uri(&conf, "https://srv.example/cb", "openid email", ""),
        "carol@example.com",
    )
    .await;
    answer(&svc, &mut jar, &consent, "approve").await;
    for (id, cb) in [(&claimed, WEB_CB), (&loopback, LOOPBACK_CB)] {
        let page = get(&svc, &mut jar, &authorize_uri(id, cb, "openid email", "")).await;
        answer(&svc, &mut jar, &page, "approve").await;
    }

    // Confidential and claimed-https clients: straight to a code, even with prompt=none.
    for (id, cb) in [(&conf, "https://srv.example/cb"), (&claimed, WEB_CB)] {
        let again = get(
            &svc,
            &mut jar,
            &authorize_uri(id, cb, "openid", "prompt=none"),
        )
        .await;
        assert_eq!(again.status, 303);
        assert!(
            again.redirect_params().contains_key("code"),
            "{}",
            again.location()
        );
        // prompt=consent forces the page.
        let forced = get(
            &svc,
            &mut jar,
            &authorize_uri(id, cb, "openid", "prompt=consent"),
        )
        .await;
        assert_eq!(forced.status, 200);
        // A scope beyond the approved one needs consent again.
        let more = get(&svc, &mut jar, &authorize_uri(id, cb, "openid email", "")).await;
        assert_eq!(more.status, 303);
    }
    // A loopback public client gets the page every time; prompt=none is consent_required.
    let page = get(
        &svc,
        &mut jar,
        &authorize_uri(&loopback, LOOPBACK_CB, "openid", ""),
    )
    .await;
    assert_eq!(page.status, 200);
    let none = get(
        &svc,
        &mut jar,
        &authorize_uri(&loopback, LOOPBACK_CB, "openid", "prompt=none"),
    )
    .await;
    assert_eq!(none.redirect_params()["error"], "consent_required");
    assert_eq!(none.redirect_params()["iss"], &*app.state.issuer);
}

#[actix_web::test]
async fn skip_consent_is_ignored_for_a_public_loopback_client() {
    let app = TestApp::new();
    let skip_claimed = client_with(&app, "Trusted", "public", &[WEB_CB], "openid", |s| {
        s.skip_consent = true
    });
    let skip_loopback = client_with(&app, "Local", "public", &[LOOPBACK_CB], "openid", |s| {
        s.skip_consent = true
    });
    user(&app, "dan@example.com");
    let svc = app.service().await;
    let mut jar = Jar::default();
    let first = get(
        &svc,
        &mut jar,
        &authorize_uri(&skip_claimed, WEB_CB, "openid", ""),
    )
    .await;
    let logged = login_via(&svc, &mut jar, &first.location(), "dan@example.com").await;
    let back = get(&svc, &mut jar, &logged.location()).await;
    assert_eq!(
        back.status, 303,
        "skip_consent honoured for a claimed https redirect"
    );
    assert!(back.redirect_params().contains_key("code"));
    let local = get(
        &svc,
        &mut jar,
        &authorize_uri(&skip_loopback, LOOPBACK_CB, "openid", ""),
    )
    .await;
    assert_eq!(
        local.status, 200,
        "consent page for a loopback public client"
    );
}

#[actix_web::test]
async fn prompt_none_without_a_session_is_login_required() {
    let app = TestApp::new();
    let id = client(&app, "App", "public", &[WEB_CB], "openid");
    let svc = app.service().await;
    let resp = get(
        &svc,
        &mut Jar::default(),
        &authorize_uri(&id, WEB_CB, "openid", "prompt=none"),
    )
    .await;
    assert_eq!(resp.status, 303);
    let p = resp.redirect_params();
    assert_eq!(p["error"], "login_required");
    assert_eq!(p["state"], "st ate/é&=");
}

#[actix_web::test]
async fn prompt_login_and_max_age_zero_force_a_new_login_once() {
    let app = TestApp::new();
    let id = client(&app, "App", "confidential", &[WEB_CB], "openid");
    user(&app, "erin@example.com");
    let svc = app.service().await;
    let mut jar = Jar::default();
    let consent = to_consent(
        &svc,
        &mut jar,
        &authorize_uri(&id, WEB_CB, "openid", ""),
        "erin@example.com",
    )
    .await;
    answer(&svc, &mut jar, &consent, "approve").await;
    let old_session = jar.session().unwrap();
    for extra in ["prompt=login", "max_age=0"] {
        let uri = authorize_uri(&id, WEB_CB, "openid", extra);
        let resp = get(&svc, &mut jar, &uri).await;
        assert_eq!(resp.status, 303, "{extra}");
        assert!(
            resp.location().starts_with("/login?"),
            "{extra}: re-authenticate"
        );
        let logged = login_via(&svc, &mut jar, &resp.location(), "erin@example.com").await;
        let back = get(&svc, &mut jar, &logged.location()).await;
        assert!(
            back.redirect_params().contains_key("code"),
            "{extra}: no loop after the new login"
        );
        // The fresh login is used up: the same request asks again.
        let again = get(&svc, &mut jar, &uri).await;
        assert!(again.location().starts_with("/login?"), "{extra}");
    }
    assert_ne!(
        jar.session().unwrap(),
        old_session,
        "a new session id on every login"
    );
    let old_hash = SecretHash::of(old_session.as_bytes()).to_vec();
    let gone = app.with_conn(|conn| sessions::find_live(conn, &old_hash, now(), 3600));
    assert!(gone.is_none(), "the replaced session ended");
}

/// A session made through the repository, authenticated `age` seconds ago.
fn session_for(app: &TestApp, user_id: &str, age: i64) -> String {
    let mut s = portcullis::account::session::new_session(
        user_id,
        false,
        None,
        None,
        now(),
        &app.state.settings.sessions,
    );
    s.row.auth_time -= age;
    let row: SessionRow = s.row.clone();
    app.with_conn(|conn| sessions::insert(conn, &row));
    s.cookie_value.expose().to_string()
}

#[actix_web::test]
async fn max_age_is_honoured() {
    let app = TestApp::new();
    let id = client(&app, "App", "confidential", &[WEB_CB], "openid");
    let uid = user(&app, "fay@example.com");
    app.with_conn(|conn| consents::upsert(conn, &uid, &id, "openid", now()));
    let svc = app.service().await;
    let mut jar = Jar::default();
    jar.0
        .insert("portcullis_session".into(), session_for(&app, &uid, 1000));
    let young = get(
        &svc,
        &mut jar,
        &authorize_uri(&id, WEB_CB, "openid", "max_age=5000"),
    )
    .await;
    assert!(young.redirect_params().contains_key("code"));
    let old = get(
        &svc,
        &mut jar,
        &authorize_uri(&id, WEB_CB, "openid", "max_age=500"),
    )
    .await;
    assert!(old.location().starts_with("/login?"));
    let none = get(
        &svc,
        &mut jar,
        &authorize_uri(&id, WEB_CB, "openid", "max_age=500&prompt=none"),
    )
    .await;
    assert_eq!(none.redirect_params()["error"], "login_required");
}

fn id_token_for(app: &TestApp, sub: &str) -> String {
    let keys = app.state.keys.current();
    let claims = portcullis::crypto::jwt::IdTokenClaims {
        iss: app.state.issuer.to_string(),
        sub: sub.into(),
        aud: "someone".into(),
        exp: 1,
        iat: 0,
        auth_time: None,
        nonce: None,
        at_hash: None,
        azp: None,
    };
    portcullis::crypto::jwt::sign_id_token(keys.signer(Alg::ES256).unwrap(), &claims)
}

#[actix_web::test]
async fn id_token_hint_for_another_user_needs_a_new_login() {
    let app = TestApp::new();
    let id = client(&app, "App", "confidential", &[WEB_CB], "openid");
    let uid = user(&app, "gus@example.com");
    app.with_conn(|conn| consents::upsert(conn, &uid, &id, "openid", now()));
    let svc = app.service().await;
    let mut jar = Jar::default();
    jar.0
        .insert("portcullis_session".into(), session_for(&app, &uid, 10));
    let same = format!("id_token_hint={}", id_token_for(&app, &uid));
    let other = format!("id_token_hint={}", id_token_for(&app, "usr_other"));
    let ok = get(&svc, &mut jar, &authorize_uri(&id, WEB_CB, "openid", &same)).await;
    assert!(
        ok.redirect_params().contains_key("code"),
        "an expired hint for the same user is fine"
    );
    let none = get(
        &svc,
        &mut jar,
        &authorize_uri(&id, WEB_CB, "openid", &format!("{other}&prompt=none")),
    )
    .await;
    assert_eq!(none.redirect_params()["error"], "login_required");
    let relogin = get(
        &svc,
        &mut jar,
        &authorize_uri(&id, WEB_CB, "openid", &other),
    )
    .await;
    assert!(relogin.location().starts_with("/login?"));
    let forged = get(
        &svc,
        &mut jar,
        &authorize_uri(
            &id,
            WEB_CB,
            "openid",
            "id_token_hint=eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
        ),
    )
    .await;
    assert_eq!(forged.redirect_params()["error"], "invalid_request");
}

#[actix_web::test]
async fn deny_redirects_with_access_denied_and_issues_no_code() {
    let app = TestApp::new();
    let id = client(&app, "App", "public", &[LOOPBACK_CB], "openid");
    user(&app, "hal@example.com");
    let svc = app.service().await;
    let mut jar = Jar::default();
    let consent = to_consent(
        &svc,
        &mut jar,
        &authorize_uri(&id, LOOPBACK_CB, "openid", ""),
        "hal@example.com",
    )
    .await;
    let denied = answer(&svc, &mut jar, &consent, "deny").await;
    assert_eq!(denied.status, 303);
    let p = denied.redirect_params();
    assert_eq!(p["error"], "access_denied");
    assert_eq!(p["state"], "st ate/é&=");
    assert_eq!(p["iss"], &*app.state.issuer);
    assert_eq!(code_count(&app), 0);
}

#[actix_web::test]
async fn wrong_passwords_get_a_generic_message_and_are_throttled() {
    let app = TestApp::new();
    user(&app, "ivy@example.com");
    let svc = app.service().await;
    let mut jar = Jar::default();
    let page = get(&svc, &mut jar, "/login").await;
    let csrf = page.field("csrf_token");
    let attempt = |email: &'static str, password: &'static str| {
        let csrf = csrf.clone();
        (email, password, csrf)
    };
    let unknown = {
        let (e, p, c) = attempt("nobody@example.com", "whatever1");
        post_form(
            &svc,
            &mut jar,
            "/login",
            &[("csrf_token", &c), ("email", e), ("password", p)],
        )
        .await
    };
    // A 400 page, not a 401: a 401 must carry a WWW-Authenticate challenge (RFC 9110
    // §15.5.2) and a login form has none.
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.header("www-authenticate"), "");
    assert!(unknown.body.contains("The email or password is incorrect."));
    for _ in 0..5 {
        let (e, p, c) = attempt("ivy@example.com", "wrong password");
        let r = post_form(
            &svc,
            &mut jar,
            "/login",
            &[("csrf_token", &c), ("email", e), ("password", p)],
        )
        .await;
        assert!(r.body.contains("The email or password is incorrect.") || r.status == 429);
    }
    let (e, p, c) = attempt("ivy@example.com", PASSWORD);
    let locked = post_form(
        &svc,
        &mut jar,
        "/login",
        &[("csrf_token", &c), ("email", e), ("password", p)],
    )
    .await;
    assert_eq!(locked.status, 429);
    assert!(locked.body.contains("Too many attempts, try again later."));
    assert!(jar.session().is_none());
}

#[test]
fn concurrent_failures_are_all_counted() {
    let app = TestApp::new();
    let policy = Policy {
        max_failures: 1000,
        window: 900,
        lockout: 900,
    };
    let t = now();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let db = app.state.db.clone();
            std::thread::spawn(move || {
                for _ in 0..10 {
                    db.run_blocking(|conn| throttle::record_failure(conn, "ip:x", t, policy))
                        .unwrap();
                }
            })
        })
        .collect();
    for th in threads {
        th.join().unwrap();
    }
    let locked = app.with_conn(|conn| {
        throttle::record_failure(
            conn,
            "ip:x",
            t,
            Policy {
                max_failures: 41,
                ..policy
            },
        )
    });
    assert!(
        locked,
        "40 concurrent failures were counted, the 41st locks"
    );
    assert!(app
        .with_conn(|conn| throttle::locked_until(conn, "ip:x", t))
        .is_some());
    assert!(app
        .with_conn(|conn| throttle::locked_until(conn, "ip:x", t + 901))
        .is_none());
}

#[test]
fn concurrent_failures_after_the_window_has_passed_are_all_counted() {
    // The stale window is reset by exactly one of the racing failures; the others count on
    // top of it (under READ COMMITTED a blind reset would overwrite their increments).
    let app = TestApp::new();
    let policy = Policy {
        max_failures: 1000,
        window: 900,
        lockout: 900,
    };
    let old = now() - 10_000;
    app.with_conn(|conn| throttle::record_failure(conn, "acct:x", old, policy));
    let t = old + 901;
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let db = app.state.db.clone();
            std::thread::spawn(move || {
                for _ in 0..10 {
                    db.run_blocking(|conn| throttle::record_failure(conn, "acct:x", t, policy))
                        .unwrap();
                }
            })
        })
        .collect();
    for th in threads {
        th.join().unwrap();
    }
    let at_limit = |max_failures| Policy {
        max_failures,
        ..policy
    };
    let locked = app.with_conn(|conn| throttle::record_failure(conn, "acct:x", t, at_limit(42)));
    assert!(
        !locked,
        "the failure of the old window was not carried over"
    );
    let locked = app.with_conn(|conn| throttle::record_failure(conn, "acct:x", t, at_limit(42)));
    assert!(
        locked,
        "40 concurrent failures in the new window were counted"
    );
}

#[actix_web::test]
async fn forms_without_a_valid_csrf_token_change_nothing() {
    let app = TestApp::new();
    let id = client(&app, "App", "public", &[LOOPBACK_CB], "openid");
    let uid = user(&app, "jo@example.com");
    let svc = app.service().await;

    // Login.
    for token in [None, Some("AAAA"), Some("")] {
        let mut jar = Jar::default();
        get(&svc, &mut jar, "/login").await;
        let mut form = vec![("email", "jo@example.com"), ("password", PASSWORD)];
        if let Some(t) = token {
            form.push(("csrf_token", t));
        }
        let r = post_form(&svc, &mut jar, "/login", &form).await;
        assert_eq!(r.status, 400, "login csrf {token:?}");
        assert!(jar.session().is_none(), "no session without a valid token");
    }

    // Consent.
    let mut jar = Jar::default();
    let consent = to_consent(
        &svc,
        &mut jar,
        &authorize_uri(&id, LOOPBACK_CB, "openid", ""),
        "jo@example.com",
    )
    .await;
    let return_to = consent.field("return_to");
    let other_request = return_to.replace("openid", "openid&prompt=consent");
    for (token, rt) in [
        (String::new(), return_to.clone()),
        ("AAAA".to_string(), return_to.clone()),
        (consent.field("csrf_token"), other_request),
    ] {
        let r = post_form(
            &svc,
            &mut jar,
            "/consent",
            &[
                ("csrf_token", &token),
                ("return_to", &rt),
                ("decision", "approve"),
            ],
        )
        .await;
        assert_eq!(r.status, 400, "consent csrf");
        assert!(r.location().is_empty());
    }
    // A token from another session is useless too.
    let mut other_jar = Jar::default();
    to_consent(
        &svc,
        &mut other_jar,
        &authorize_uri(&id, LOOPBACK_CB, "openid", ""),
        "jo@example.com",
    )
    .await;
    let r = answer(&svc, &mut other_jar, &consent, "approve").await;
    assert_eq!(r.status, 400);
    assert_eq!(code_count(&app), 0, "no code without a valid token");

    // Account and logout.
    let done = answer(&svc, &mut jar, &consent, "approve").await;
    assert_eq!(done.status, 303);
    for (path, field, value) in [
        ("/account/apps/revoke", "client_id", id.as_str()),
        ("/logout", "x", "y"),
    ] {
        let r = post_form(
            &svc,
            &mut jar,
            path,
            &[("csrf_token", "AAAA"), (field, value)],
        )
        .await;
        assert_eq!(r.status, 400, "{path}");
    }
    assert!(app
        .with_conn(|conn| consents::find(conn, &uid, &id))
        .is_some());
    let account = get(&svc, &mut jar, "/account").await;
    assert_eq!(account.status, 200, "still signed in");
}

#[actix_web::test]
async fn logout_ends_the_session_and_revokes_its_families_but_not_offline_ones() {
    let app = TestApp::new();
    let id = client(
        &app,
        "App",
        "public",
        &[LOOPBACK_CB],
        "openid offline_access",
    );
    let uid = user(&app, "kim@example.com");
    let svc = app.service().await;
    let mut jar = Jar::default();
    let consent = to_consent(
        &svc,
        &mut jar,
        &authorize_uri(&id, LOOPBACK_CB, "openid", ""),
        "kim@example.com",
    )
    .await;
    answer(&svc, &mut jar, &consent, "approve").await;
    let hash = SecretHash::of(jar.session().unwrap().as_bytes()).to_vec();
    for (fid, offline) in [("fam_online", false), ("fam_offline", true)] {
        let row = FamilyRow {
            family_id: fid.into(),
            client_id: id.clone(),
            user_id: Some(uid.clone()),
            scope: "openid".into(),
            resource: None,
            session_hash: Some(hash.clone()),
            app_identity_id: None,
            auth_time: Some(now()),
            offline,
            last_access_jti: None,
            last_access_expires_at: None,
            created_at: now(),
            expires_at: now() + 1000,
            revoked_at: None,
        };
        app.with_conn(|conn| families::insert(conn, &row));
    }
    let account = get(&svc, &mut jar, "/account").await;
    let csrf = account.field("csrf_token");
    let out = post_form(&svc, &mut jar, "/logout", &[("csrf_token", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert!(jar.session().is_none(), "cookie cleared");
    let online = app
        .with_conn(|conn| families::find(conn, "fam_online"))
        .unwrap();
    let offline = app
        .with_conn(|conn| families::find(conn, "fam_offline"))
        .unwrap();
    assert!(online.revoked_at.is_some());
    assert!(
        offline.revoked_at.is_none(),
        "offline_access outlives the session"
    );
    assert!(app
        .with_conn(|conn| sessions::find_live(conn, &hash, now(), 3600))
        .is_none());
}

#[actix_web::test]
async fn the_account_page_revokes_a_connected_app_and_its_refresh_tokens() {
    let app = TestApp::new();
    let id = client(&app, "Notes", "public", &[LOOPBACK_CB], "openid");
    let uid = user(&app, "lee@example.com");
    let svc = app.service().await;
    let mut jar = Jar::default();
    let consent = to_consent(
        &svc,
        &mut jar,
        &authorize_uri(&id, LOOPBACK_CB, "openid", ""),
        "lee@example.com",
    )
    .await;
    answer(&svc, &mut jar, &consent, "approve").await;
    let row = FamilyRow {
        family_id: "fam_notes".into(),
        client_id: id.clone(),
        user_id: Some(uid.clone()),
        scope: "openid".into(),
        resource: None,
        session_hash: None,
        app_identity_id: None,
        auth_time: None,
        offline: true,
        last_access_jti: None,
        last_access_expires_at: None,
        created_at: now(),
        expires_at: now() + 1000,
        revoked_at: None,
    };
    app.with_conn(|conn| families::insert(conn, &row));
    let account = get(&svc, &mut jar, "/account").await;
    assert!(account.body.contains("Notes"));
    assert!(account.body.contains("This browser"));
    let csrf = account.field("csrf_token");
    let r = post_form(
        &svc,
        &mut jar,
        "/account/apps/revoke",
        &[("csrf_token", &csrf), ("client_id", &id)],
    )
    .await;
    assert_eq!(r.status, 303);
    assert!(app
        .with_conn(|conn| consents::find(conn, &uid, &id))
        .is_none());
    assert!(app
        .with_conn(|conn| families::find(conn, "fam_notes"))
        .unwrap()
        .revoked_at
        .is_some());
}

#[actix_web::test]
async fn session_cookies_have_the_required_attributes() {
    let app = TestApp::new();
    user(&app, "max@example.com");
    let svc = app.service().await;
    for remember in [false, true] {
        let mut jar = Jar::default();
        let page = get(&svc, &mut jar, "/login").await;
        let csrf = page.field("csrf_token");
        let mut form = vec![
            ("csrf_token", csrf.as_str()),
            ("email", "max@example.com"),
            ("password", PASSWORD),
        ];
        if remember {
            form.push(("remember", "1"));
        }
        let r = post_form(&svc, &mut jar, "/login", &form).await;
        assert_eq!(r.status, 303);
        assert_eq!(r.location(), "/account");
        let c = r
            .set_cookies()
            .into_iter()
            .find(|c| c.starts_with("portcullis_session="))
            .unwrap();
        assert!(c.contains("; Path=/") && c.contains("; HttpOnly") && c.contains("; SameSite=Lax"));
        assert!(!c.contains("Secure"), "plain http loopback");
        assert_eq!(c.contains("Max-Age=604800"), remember, "{c}");
    }

    let https = TestApp::with_settings(|s| s.issuer = Some("https://auth.example.com".into()));
    let settings = &https.state.settings;
    let c = portcullis::http::session::cookie(
        settings,
        portcullis::http::session::session_cookie_name(settings),
        "v",
        true,
        None,
    );
    assert_eq!(
        c,
        "__Host-portcullis_session=v; Path=/; HttpOnly; SameSite=Lax; Secure"
    );
    let shared = TestApp::with_settings(|s| {
        s.issuer = Some("https://auth.example.com".into());
        s.cookie_domain = Some("example.com".into());
    });
    let settings = &shared.state.settings;
    let c = portcullis::http::session::cookie(
        settings,
        portcullis::http::session::session_cookie_name(settings),
        "v",
        true,
        None,
    );
    assert_eq!(
        c,
        "__Secure-portcullis_session=v; Path=/; HttpOnly; SameSite=Lax; Secure; Domain=example.com"
    );
}

#[actix_web::test]
async fn pages_carry_the_security_headers_and_escape_client_names() {
    let app = TestApp::new();
    let id = client(
        &app,
        "<script>alert(1)</script>",
        "public",
        &[LOOPBACK_CB],
        "openid",
    );
    user(&app, "ned@example.com");
    let svc = app.service().await;
    let mut jar = Jar::default();
    let consent = to_consent(
        &svc,
        &mut jar,
        &authorize_uri(&id, LOOPBACK_CB, "openid", ""),
        "ned@example.com",
    )
    .await;
    assert!(
        !consent.body.contains("<script>alert(1)</script>"),
        "{}",
        consent.body
    );
    assert!(
        consent
            .body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{}",
        consent.body
    );
    assert!(consent
        .header("content-security-policy")
        .contains("form-action 'self' http://127.0.0.1:9999;"));
    let login = get(&svc, &mut Jar::default(), "/login").await;
    let error = get(&svc, &mut Jar::default(), "/authorize?client_id=nobody").await;
    for page in [&consent, &login, &error] {
        assert_eq!(page.header("x-frame-options"), "DENY");
        assert_eq!(page.header("referrer-policy"), "no-referrer");
        assert_eq!(page.header("x-content-type-options"), "nosniff");
        assert_eq!(page.header("cache-control"), "no-store");
        let csp = page.header("content-security-policy");
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
            "{csp}"
        );
        assert!(!page.body.contains("<script"));
        assert!(!page.body.contains("style=\""), "no inline styles");
    }
    let css = get(&svc, &mut Jar::default(), "/static/style.css").await;
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").starts_with("text/css"));
}

#[actix_web::test]
async fn return_to_only_ever_leads_back_to_this_server() {
    let app = TestApp::new();
    user(&app, "oli@example.com");
    let svc = app.service().await;
    for evil in [
        "https://evil.example/",
        "//evil.example/authorize?x",
        "/authorize/../x",
        "/authorizex?y",
        "/\\evil.example",
    ] {
        let mut jar = Jar::default();
        let uri = format!(
            "/login?return_to={}",
            url::form_urlencoded::byte_serialize(evil.as_bytes()).collect::<String>()
        );
        let page = get(&svc, &mut jar, &uri).await;
        assert_eq!(page.field("return_to"), "", "{evil}");
        let r = post_form(
            &svc,
            &mut jar,
            "/login",
            &[
                ("csrf_token", &page.field("csrf_token")),
                ("return_to", evil),
                ("email", "oli@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
        assert_eq!(r.location(), "/account", "{evil}");
    }
}

#[actix_web::test]
async fn self_registration_is_off_by_default_and_works_when_on() {
    let app = TestApp::new();
    let svc = app.service().await;
    assert_eq!(
        get(&svc, &mut Jar::default(), "/register").await.status,
        404
    );

    let app = TestApp::with_settings(|s| s.self_registration = true);
    let svc = app.service().await;
    let mut jar = Jar::default();
    let page = get(&svc, &mut jar, "/register").await;
    let csrf = page.field("csrf_token");
    let short = post_form(
        &svc,
        &mut jar,
        "/register",
        &[
            ("csrf_token", &csrf),
            ("email", "pat@example.com"),
            ("password", "short"),
        ],
    )
    .await;
    assert_eq!(short.status, 400);
    let ok = post_form(
        &svc,
        &mut jar,
        "/register",
        &[
            ("csrf_token", &csrf),
            ("email", "pat@example.com"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert!(jar.session().is_some());
    let again = post_form(
        &svc,
        &mut Jar(jar.0.clone()),
        "/register",
        &[
            ("csrf_token", &csrf),
            ("email", "pat@example.com"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(again.status, 400);
}
