//! App-to-app login (docs/app-to-app.md): the app identity check at /authorize, its binding to
//! the code and the refresh-token family, its check at /token, and RFC 8252 native redirects.
//! The tests play three parties: the third-party app (PKCE, the redirect it receives, the
//! token requests), the provider app or browser (session, consent), and portcullis.

use actix_web::test as t;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use diesel::prelude::*;
use portcullis::account::authorization::{self, Browser};
use portcullis::crypto::secrets::{prefixed_id, PlainSecret, SecretHash};
use portcullis::oauth::app_identity::IdentitySpec;
use portcullis::oauth::params::Params;
use portcullis::oauth::pkce;
use portcullis::registry::{self, ClientSpec};
use portcullis::storage::codes::{self, CodeRow};
use portcullis::storage::schema::{audit_events, authorization_codes};
use portcullis::storage::{audit::AuditEvent, now};
use portcullis::storage::{families, refresh_tokens};

use crate::flow_support::*;
use crate::support::TestApp;
use crate::token_support::{post_token, urlencode};

const APP_CB: &str = "com.example.app:/oauth2redirect";
const PACKAGE: &str = "com.example.app";
/// keytool's form of the registered certificate's SHA-256.
const CERT_HEX: &str = "14:6D:E9:83:C5:73:06:50:D8:EE:B9:95:2F:34:FC:64:16:A0:83:42:E6:1D:BE:A8:8A:04:96:B2:3F:CF:44:E5";
/// The same hash as the app sends it (base64url, unpadded).
const CERT: &str = "FG3pg8VzBlDY7rmVLzT8ZBagg0LmHb6oigSWsj_PROU";
/// Another app's certificate.
const OTHER_CERT: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const TITLE: &str = "This app could not be verified";

fn android_identity() -> String {
    format!("app_platform=android&app_id={PACKAGE}&app_cert_sha256={CERT}")
}

/// A public native client with an Android identity; returns (client id, identity id).
fn native_client(app: &TestApp, require: bool, legacy_sha1: Option<[u8; 20]>) -> (String, String) {
    let id = client_with(
        app,
        "Example <App>",
        "public",
        &[APP_CB, "http://127.0.0.1/cb"],
        "openid profile offline_access",
        |s: &mut ClientSpec| {
            s.application_type = Some("native".into());
            s.require_app_identity = require;
        },
    );
    let spec = IdentitySpec {
        platform: "android".into(),
        app_id: PACKAGE.into(),
        cert_sha256: vec![CERT_HEX.into()],
        cert_sha1: legacy_sha1.map(|b| URL_SAFE_NO_PAD.encode(b)),
        ..IdentitySpec::default()
    };
    let identity = app.with_conn(|conn| {
        registry::add_app_identity(conn, &id, &spec, "test", now())
            .map_err(|e| portcullis::storage::StorageError::Other(e.to_string()))
    });
    (id, identity.identity_id)
}

fn add_ios(app: &TestApp, client_id: &str, team: Option<&str>) {
    let spec = IdentitySpec {
        platform: "ios".into(),
        app_id: "com.example.App".into(),
        team_id: team.map(str::to_string),
        ..IdentitySpec::default()
    };
    app.with_conn(|conn| {
        registry::add_app_identity(conn, client_id, &spec, "test", now())
            .map_err(|e| portcullis::storage::StorageError::Other(e.to_string()))
    });
}

fn code_count(app: &TestApp) -> i64 {
    app.with_conn(|conn| Ok(authorization_codes::table.count().get_result::<i64>(conn)?))
}

fn events(app: &TestApp, name: &str) -> Vec<AuditEvent> {
    app.with_conn(|conn| {
        Ok(audit_events::table
            .filter(audit_events::event.eq(name))
            .order(audit_events::occurred_at)
            .select(AuditEvent::as_select())
            .load(conn)?)
    })
}

fn assert_refused(resp: &Resp, code: &str, why: &str) {
    assert_eq!(resp.status, 400, "{why}: {}", resp.body);
    assert!(resp.location().is_empty(), "{why}: must not redirect");
    assert!(
        resp.header("content-type").starts_with("text/html"),
        "{why}"
    );
    assert!(resp.body.contains(TITLE), "{why}");
    assert!(resp.body.contains(code), "{why}: {}", resp.body);
    assert!(
        resp.body.contains("Example &#60;App&#62;"),
        "{why}: names the client, escaped"
    );
}

/// A jar with a signed-in session (so that a refusal is seen to come before consent).
async fn signed_in<S, B>(app: &TestApp, svc: &S, client_id: &str) -> Jar
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let email = format!("{}@example.com", prefixed_id::<6>("u"));
    user(app, &email);
    let mut jar = Jar::default();
    let uri = authorize_uri(client_id, APP_CB, "openid", &android_identity());
    let consent = to_consent(svc, &mut jar, &uri, &email).await;
    assert!(consent.body.contains("Allow"));
    jar
}

#[actix_web::test]
async fn an_app_signs_in_through_the_provider_app_and_keeps_the_binding_on_refresh() {
    let app = TestApp::new();
    let (client_id, identity_id) = native_client(&app, true, None);
    user(&app, "alice@example.com");
    let svc = app.service().await;

    // The third-party app: PKCE and the authorization URL with its identity.
    let verifier = PlainSecret::generate().expose().to_string();
    let challenge = pkce::s256(&verifier);
    let mut uri = url::form_urlencoded::Serializer::for_suffix(String::from("/authorize?"), 11);
    uri.append_pair("response_type", "code")
        .append_pair("client_id", &client_id)
        .append_pair("redirect_uri", APP_CB)
        .append_pair("scope", "openid profile offline_access")
        .append_pair("state", "af0ifjsldkj")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("app_platform", "android")
        .append_pair("app_id", PACKAGE)
        .append_pair("app_cert_sha256", CERT);
    let uri = uri.finish();

    // The provider app: a signed-in user, the consent page, approve.
    let mut jar = Jar::default();
    let consent = to_consent(&svc, &mut jar, &uri, "alice@example.com").await;
    assert!(consent.body.contains("Example &#60;App&#62;"));
    assert!(consent
        .body
        .contains("Registered app identity: Android app"));
    assert!(consent.body.contains(PACKAGE));
    assert!(consent.body.contains(CERT_HEX), "{}", consent.body);
    assert!(!consent.body.to_lowercase().contains("verified"));
    let approve = consent.body.find("value=\"approve\"").unwrap();
    let deny = consent.body.find("value=\"deny\"").unwrap();
    assert!(approve < deny, "the Allow button comes first");
    assert!(consent.body[approve..deny].contains("autofocus"));
    let done = answer(&svc, &mut jar, &consent, "approve").await;
    assert_eq!(done.status, 303, "{}", done.body);

    // Back in the third-party app: the private-use scheme redirect.
    let location = done.location();
    assert!(
        location.starts_with("com.example.app:/oauth2redirect?code="),
        "{location}"
    );
    let p = done.redirect_params();
    assert_eq!(p["state"], "af0ifjsldkj");
    assert_eq!(p["iss"], &*app.state.issuer);
    let code_hash = SecretHash::of(p["code"].as_bytes()).to_vec();
    let row = app.with_conn(|conn| codes::find(conn, &code_hash)).unwrap();
    assert_eq!(row.app_identity_id.as_deref(), Some(identity_id.as_str()));

    // The third-party app redeems the code with its verifier and the same identity.
    let body = format!(
        "grant_type=authorization_code&client_id={client_id}&code={}&redirect_uri={}&code_verifier={verifier}&{}",
        urlencode(&p["code"]),
        urlencode(APP_CB),
        android_identity()
    );
    let tokens = post_token(&svc, &body, None).await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    assert!(tokens.json["id_token"].is_string());
    let family = app
        .with_conn(|conn| families::find(conn, &row.family_id))
        .unwrap();
    assert_eq!(
        family.app_identity_id.as_deref(),
        Some(identity_id.as_str())
    );

    // A refresh keeps the binding: the same identity is accepted, another is refused (and
    // the refused request does not use the token up), none is fine.
    let mut refresh = tokens.json["refresh_token"].as_str().unwrap().to_string();
    let refresh_body = |token: &str, identity: &str| {
        format!(
            "grant_type=refresh_token&client_id={client_id}&refresh_token={}{identity}",
            urlencode(token)
        )
    };
    let same = post_token(
        &svc,
        &refresh_body(&refresh, &format!("&{}", android_identity())),
        None,
    )
    .await;
    assert_eq!(same.status, 200, "{}", same.json);
    refresh = same.json["refresh_token"].as_str().unwrap().to_string();
    for (identity, why) in [
        (
            format!("&app_platform=android&app_id={PACKAGE}&app_cert_sha256={OTHER_CERT}"),
            "another certificate",
        ),
        (
            format!("&app_platform=android&app_id=com.example.other&app_cert_sha256={CERT}"),
            "another package",
        ),
        (
            "&app_platform=ios&app_id=com.example.app".to_string(),
            "another platform",
        ),
    ] {
        let refused = post_token(&svc, &refresh_body(&refresh, &identity), None).await;
        refused.assert_error(400, "invalid_grant");
        assert_eq!(
            refused.json["error_description"], "app identity does not match the authorization",
            "{why}"
        );
    }
    let none = post_token(&svc, &refresh_body(&refresh, ""), None).await;
    assert_eq!(none.status, 200, "{}", none.json);
}

#[actix_web::test]
async fn refusals_are_a_page_naming_the_app_with_no_redirect_and_no_code() {
    let app = TestApp::new();
    let (client_id, _) = native_client(&app, false, None);
    add_ios(&app, &client_id, Some("ABCDE12345"));
    let svc = app.service().await;
    let mut jar = signed_in(&app, &svc, &client_id).await;
    let sha1 = URL_SAFE_NO_PAD.encode([0xABu8; 20]);
    let cases: Vec<(String, &str, Option<&str>)> = vec![
        (
            format!("app_platform=android&app_id={PACKAGE}&app_cert_sha256={OTHER_CERT}"),
            "wrong hash",
            Some("00:00:00"),
        ),
        (
            format!("app_platform=android&app_id=com.example.evil&app_cert_sha256={CERT}"),
            "wrong package",
            Some("com.example.evil"),
        ),
        (
            format!("app_platform=ios&app_id={PACKAGE}"),
            "wrong platform",
            Some(PACKAGE),
        ),
        (
            format!("app_platform=windows&app_id={PACKAGE}&app_cert_sha256={CERT}"),
            "unknown platform",
            Some("windows"),
        ),
        (
            format!("app_platform=android&app_id={PACKAGE}&app_cert_sha256=FG3pg8VzBlDY"),
            "truncated hash",
            Some("FG3pg8VzBlDY"),
        ),
        (
            format!("app_platform=android&app_id={PACKAGE}&app_cert_sha256={CERT}%3D"),
            "padded hash",
            None,
        ),
        (
            format!(
                "app_platform=android&app_id={PACKAGE}&app_cert_sha256={}",
                urlencode(&CERT.replace('_', "/"))
            ),
            "standard base64 alphabet",
            None,
        ),
        (
            format!("app_platform=android&app_id={PACKAGE}&app_cert_sha256={}", "ab".repeat(32)),
            "hex instead of base64url",
            None,
        ),
        (
            format!("app_platform=android&app_id={PACKAGE}&app_cert_sha1={sha1}"),
            "SHA-1 without a legacy row",
            Some("AB:AB:AB"),
        ),
        (format!("app_cert_sha256={CERT}"), "hash alone", None),
        (format!("app_platform=android&app_cert_sha256={CERT}"), "no app_id", None),
        (
            format!("app_platform=android&app_id={PACKAGE}"),
            "Android without a hash",
            Some(PACKAGE),
        ),
        (
            format!("{}&app_id={PACKAGE}", android_identity()),
            "duplicated app_id",
            None,
        ),
        (
            format!("{}&app_team_id=ABCDE12345", android_identity()),
            "team id on Android",
            None,
        ),
        (
            "app_platform=ios&app_id=com.example.App".to_string(),
            "iOS without its registered team id",
            None,
        ),
        (
            "app_platform=ios&app_id=com.example.App&app_team_id=ZZZZZ99999".to_string(),
            "iOS with another team id",
            Some("ZZZZZ99999"),
        ),
        (
            format!("app_platform=ios&app_id=com.example.App&app_team_id=ABCDE12345&app_cert_sha256={CERT}"),
            "iOS with a hash",
            None,
        ),
    ];
    for (identity, why, shown) in &cases {
        let uri = authorize_uri(&client_id, APP_CB, "openid", identity);
        let resp = get(&svc, &mut jar, &uri).await;
        assert_refused(&resp, "invalid_app_identity", why);
        if let Some(shown) = shown {
            assert!(resp.body.contains(shown), "{why}: shows {shown}");
        }
        // POST /authorize is checked the same way.
        let form: Vec<(String, String)> =
            url::form_urlencoded::parse(uri.split_once('?').unwrap().1.as_bytes())
                .into_owned()
                .collect();
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let posted = post_form(&svc, &mut jar, "/authorize", &pairs).await;
        assert_refused(&posted, "invalid_app_identity", why);
    }
    // The wrong hash is shown as the fingerprint, in colon hex.
    let uri = authorize_uri(
        &client_id,
        APP_CB,
        "openid",
        &android_identity().replace(CERT, OTHER_CERT),
    );
    let resp = get(&svc, &mut jar, &uri).await;
    assert!(resp.body.contains(&["00"; 32].join(":")));
    assert_eq!(code_count(&app), 0, "no refusal created a code");

    // The registered identities are accepted from the same signed-in browser.
    for identity in [
        android_identity(),
        "app_platform=ios&app_id=com.example.App&app_team_id=ABCDE12345".to_string(),
    ] {
        let uri = authorize_uri(&client_id, APP_CB, "openid", &identity);
        let resp = get(&svc, &mut jar, &uri).await;
        assert_eq!(resp.status, 200, "{identity}: {}", resp.body);
        assert!(resp.body.contains("Registered app identity"));
    }
}

#[actix_web::test]
async fn a_legacy_sha1_key_hash_is_accepted_only_where_one_is_registered() {
    let app = TestApp::new();
    let (client_id, _) = native_client(&app, true, Some([0xABu8; 20]));
    let svc = app.service().await;
    let mut jar = Jar::default();
    let sha1 = URL_SAFE_NO_PAD.encode([0xABu8; 20]);
    let ok = format!("app_platform=android&app_id={PACKAGE}&app_cert_sha1={sha1}");
    let resp = get(
        &svc,
        &mut jar,
        &authorize_uri(&client_id, APP_CB, "openid", &ok),
    )
    .await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    assert!(resp.location().starts_with("/login?"));
    let wrong = URL_SAFE_NO_PAD.encode([0xCDu8; 20]);
    let bad = format!("app_platform=android&app_id={PACKAGE}&app_cert_sha1={wrong}");
    let resp = get(
        &svc,
        &mut jar,
        &authorize_uri(&client_id, APP_CB, "openid", &bad),
    )
    .await;
    assert_refused(&resp, "invalid_app_identity", "wrong SHA-1");
}

#[actix_web::test]
async fn a_missing_identity_is_refused_when_required_and_a_browser_flow_otherwise() {
    let app = TestApp::new();
    let (required, _) = native_client(&app, true, None);
    let (optional, _) = native_client(&app, false, None);
    let svc = app.service().await;
    let mut jar = Jar::default();
    let resp = get(
        &svc,
        &mut jar,
        &authorize_uri(&required, APP_CB, "openid", ""),
    )
    .await;
    assert_refused(&resp, "app_identity_required", "missing when required");
    let resp = get(
        &svc,
        &mut jar,
        &authorize_uri(&optional, APP_CB, "openid", ""),
    )
    .await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    assert!(resp.location().starts_with("/login?"), "a browser flow");
    // Empty values are absent values.
    let empty = "app_platform=&app_id=&app_cert_sha256=";
    let resp = get(
        &svc,
        &mut jar,
        &authorize_uri(&required, APP_CB, "openid", empty),
    )
    .await;
    assert_refused(&resp, "app_identity_required", "empty values");
    // With the identity the required client proceeds.
    let resp = get(
        &svc,
        &mut jar,
        &authorize_uri(&required, APP_CB, "openid", &android_identity()),
    )
    .await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    assert_eq!(code_count(&app), 0);
}

#[actix_web::test]
async fn callers_asking_for_json_get_the_error_as_json() {
    let app = TestApp::new();
    let (client_id, _) = native_client(&app, true, None);
    let svc = app.service().await;
    for (identity, code) in [
        (
            android_identity().replace(CERT, OTHER_CERT),
            "invalid_app_identity",
        ),
        (String::new(), "app_identity_required"),
    ] {
        let uri = authorize_uri(&client_id, APP_CB, "openid", &identity);
        let req = t::TestRequest::get()
            .uri(&uri)
            .insert_header(("accept", "application/json"))
            .peer_addr("192.0.2.8:1000".parse().unwrap())
            .to_request();
        let res = t::call_service(&svc, req).await;
        assert_eq!(res.status(), 400);
        assert!(res.headers().get("location").is_none());
        assert_eq!(res.headers().get("cache-control").unwrap(), "no-store");
        let json: serde_json::Value = t::read_body_json(res).await;
        assert_eq!(json["error"], code, "{json}");
        assert!(json["error_description"].as_str().unwrap().is_ascii());
    }
    // A browser's Accept (HTML first, */* last) gets the page.
    let uri = authorize_uri(&client_id, APP_CB, "openid", "");
    let req = t::TestRequest::get()
        .uri(&uri)
        .insert_header((
            "accept",
            "text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8",
        ))
        .to_request();
    let res = t::call_service(&svc, req).await;
    assert_eq!(res.status(), 400);
    assert!(res
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/html"));
}

#[actix_web::test]
async fn refusals_are_audited_at_most_once_per_client_and_address_per_minute() {
    let app = TestApp::new();
    let (client_id, _) = native_client(&app, true, None);
    let svc = app.service().await;
    let mut jar = Jar::default();
    let bad = android_identity().replace(PACKAGE, "com.example.evil");
    for _ in 0..3 {
        let req = t::TestRequest::get()
            .uri(&authorize_uri(&client_id, APP_CB, "openid", &bad))
            .insert_header(("user-agent", "EvilApp/1.0"));
        let resp = send(&svc, &mut jar, req).await;
        assert_eq!(resp.status, 400);
    }
    let mismatches = events(&app, "app_identity_mismatch");
    assert_eq!(mismatches.len(), 1, "rate-limited");
    let e = &mismatches[0];
    assert_eq!(e.client_id.as_deref(), Some(client_id.as_str()));
    assert_eq!(e.ip.as_deref(), Some("192.0.2.7"));
    let detail: serde_json::Value = serde_json::from_str(&e.detail).unwrap();
    assert_eq!(detail["presented"]["app_id"], "com.example.evil");
    assert_eq!(detail["presented"]["platform"], "android");
    assert_eq!(detail["presented"]["cert_sha256"], CERT_HEX);
    assert_eq!(detail["user_agent"], "EvilApp/1.0");
    assert_eq!(detail["error"], "invalid_app_identity");

    // The window is per client and address, over time passed in.
    let env = portcullis::http::authorize::env(&app.state);
    let refuse_at = |ip: &str, query: &str, at: i64| {
        let params = Params::parse(query.split_once('?').unwrap().1).unwrap();
        let browser = Browser {
            ip: Some(ip.to_string()),
            ..Browser::default()
        };
        app.with_conn(|conn| {
            authorization::authorize(conn, &env, &params, query, &browser, at).map(|_| ())
        });
    };
    let missing = authorize_uri(&client_id, APP_CB, "openid", "");
    let t0 = now() + 1000;
    refuse_at("198.51.100.1", &missing, t0);
    refuse_at("198.51.100.1", &missing, t0 + 30);
    assert_eq!(events(&app, "app_identity_missing").len(), 1);
    refuse_at("198.51.100.2", &missing, t0 + 30);
    assert_eq!(
        events(&app, "app_identity_missing").len(),
        2,
        "another address"
    );
    refuse_at("198.51.100.1", &missing, t0 + 61);
    assert_eq!(
        events(&app, "app_identity_missing").len(),
        3,
        "a minute later"
    );
}

/// A code as /authorize stores it after a matched identity (or none).
fn bound_code(app: &TestApp, client_id: &str, identity: Option<&str>) -> (String, String) {
    let user_id = user(app, &format!("{}@example.com", prefixed_id::<6>("u")));
    let code = PlainSecret::generate();
    let verifier = PlainSecret::generate().expose().to_string();
    let at = now();
    let row = CodeRow {
        code_hash: code.hash().to_vec(),
        client_id: client_id.to_string(),
        user_id,
        session_hash: None,
        redirect_uri: APP_CB.to_string(),
        scope: "openid".to_string(),
        resource: None,
        code_challenge: pkce::s256(&verifier),
        code_challenge_method: "S256".to_string(),
        nonce: None,
        auth_time: at,
        app_identity_id: identity.map(str::to_string),
        family_id: prefixed_id::<16>("fam_"),
        created_at: at,
        expires_at: at + 60,
        used_at: None,
    };
    app.with_conn(|conn| codes::insert(conn, &row));
    (code.expose().to_string(), verifier)
}

#[actix_web::test]
async fn the_token_endpoint_refuses_an_identity_other_than_the_bound_one() {
    let app = TestApp::new();
    let (client_id, identity_id) = native_client(&app, false, None);
    let svc = app.service().await;
    let body = |code: &str, verifier: &str, identity: &str| {
        format!(
            "grant_type=authorization_code&client_id={client_id}&code={}&code_verifier={verifier}{identity}",
            urlencode(code)
        )
    };
    let (code, verifier) = bound_code(&app, &client_id, Some(&identity_id));
    let wrong = format!("&{}", android_identity().replace(CERT, OTHER_CERT));
    let refused = post_token(&svc, &body(&code, &verifier, &wrong), None).await;
    refused.assert_error(400, "invalid_grant");
    assert_eq!(
        refused.json["error_description"],
        "app identity does not match the authorization"
    );
    // Audited like the refusals at /authorize.
    let audited = events(&app, "app_identity_mismatch");
    assert_eq!(audited.len(), 1);
    let detail: serde_json::Value = serde_json::from_str(&audited[0].detail).unwrap();
    assert_eq!(detail["endpoint"], "token");
    assert_eq!(detail["grant_type"], "authorization_code");
    assert_eq!(audited[0].client_id.as_deref(), Some(client_id.as_str()));
    let malformed = format!("&app_platform=android&app_id={PACKAGE}&app_cert_sha256=xyz");
    post_token(&svc, &body(&code, &verifier, &malformed), None)
        .await
        .assert_error(400, "invalid_request");
    // The refusals did not use the code up.
    let ok = post_token(
        &svc,
        &body(&code, &verifier, &format!("&{}", android_identity())),
        None,
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.json);

    // A grant with no bound identity refuses identity parameters, and accepts none.
    let (code, verifier) = bound_code(&app, &client_id, None);
    post_token(
        &svc,
        &body(&code, &verifier, &format!("&{}", android_identity())),
        None,
    )
    .await
    .assert_error(400, "invalid_grant");
    assert_eq!(
        events(&app, "app_identity_mismatch").len(),
        1,
        "one event per client and address per minute"
    );
    let ok = post_token(&svc, &body(&code, &verifier, ""), None).await;
    assert_eq!(ok.status, 200, "{}", ok.json);
}

#[actix_web::test]
async fn native_loopback_redirects_match_on_any_port_but_not_another_path() {
    let app = TestApp::new();
    let (client_id, _) = native_client(&app, false, None);
    let svc = app.service().await;
    let mut jar = Jar::default();
    for uri in ["http://127.0.0.1:51234/cb", "http://127.0.0.1/cb"] {
        let resp = get(
            &svc,
            &mut jar,
            &authorize_uri(&client_id, uri, "openid", ""),
        )
        .await;
        assert_eq!(resp.status, 303, "{uri}: {}", resp.body);
        assert!(resp.location().starts_with("/login?"), "{uri}");
    }
    for uri in [
        "http://127.0.0.1:51234/other",
        "http://127.0.0.1:51234/cb/",
        "http://localhost:51234/cb",
        "com.example.app:/other",
    ] {
        let resp = get(
            &svc,
            &mut jar,
            &authorize_uri(&client_id, uri, "openid", ""),
        )
        .await;
        assert_eq!(resp.status, 400, "{uri}");
        assert!(resp.location().is_empty(), "{uri}: never redirected");
    }
    let refused = app.with_conn(|conn| {
        let spec = ClientSpec {
            client_name: "Local".into(),
            client_type: "public".into(),
            application_type: Some("native".into()),
            redirect_uris: vec!["http://localhost/cb".into()],
            grant_types: vec!["authorization_code".into()],
            scope: "openid".into(),
            enabled: true,
            ..ClientSpec::default()
        };
        Ok(registry::create(conn, &spec, "test", now()).map(|_| ()))
    });
    let err = refused.unwrap_err().to_string();
    assert!(err.contains("redirect_uris"), "{err}");
    assert!(err.contains("localhost"), "{err}");
}

/// Removing an app identity ends the grants bound to it: the family's refresh token and its
/// latest access token stop working, and an unused bound code no longer redeems; grants of
/// the same client without that identity are untouched.
#[actix_web::test]
async fn removing_an_identity_revokes_the_grants_bound_to_it() {
    let app = TestApp::new();
    let (client_id, identity_id) = native_client(&app, false, None);
    let svc = app.service().await;
    let redeem = |code: &str, verifier: &str| {
        format!(
            "grant_type=authorization_code&client_id={client_id}&code={}&code_verifier={verifier}",
            urlencode(code)
        )
    };
    let (code, verifier) = bound_code(&app, &client_id, Some(&identity_id));
    let bound = post_token(&svc, &redeem(&code, &verifier), None).await;
    assert_eq!(bound.status, 200, "{}", bound.json);
    let (unused_code, unused_verifier) = bound_code(&app, &client_id, Some(&identity_id));
    let (code, verifier) = bound_code(&app, &client_id, None);
    let unbound = post_token(&svc, &redeem(&code, &verifier), None).await;
    assert_eq!(unbound.status, 200, "{}", unbound.json);

    app.with_conn(|c| registry::remove_app_identity(c, &client_id, &identity_id, "test", now()));

    let family_revoked = |reply: &crate::token_support::Reply| {
        let hash = PlainSecret::from_presented(reply.str("refresh_token").as_str()).hash();
        let row = app
            .with_conn(|c| refresh_tokens::find(c, hash.as_bytes()))
            .unwrap();
        let family = app
            .with_conn(|c| families::find(c, &row.family_id))
            .unwrap();
        family.revoked_at.is_some()
    };
    let jti = |reply: &crate::token_support::Reply| {
        let payload = reply
            .str("access_token")
            .split('.')
            .nth(1)
            .unwrap()
            .to_string();
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        claims["jti"].as_str().unwrap().to_string()
    };
    assert!(family_revoked(&bound));
    assert!(app.with_conn(|c| families::access_token_revoked(c, &jti(&bound))));
    post_token(
        &svc,
        &format!(
            "grant_type=refresh_token&client_id={client_id}&refresh_token={}",
            bound.str("refresh_token")
        ),
        None,
    )
    .await
    .assert_error(400, "invalid_grant");
    post_token(&svc, &redeem(&unused_code, &unused_verifier), None)
        .await
        .assert_error(400, "invalid_grant");
    let event = events(&app, "client_app_identity_removed").pop().unwrap();
    let detail: serde_json::Value = serde_json::from_str(&event.detail).unwrap();
    assert_eq!(detail["families_revoked"], 1);
    assert_eq!(detail["codes_deleted"], 1);

    assert!(!family_revoked(&unbound));
    assert!(!app.with_conn(|c| families::access_token_revoked(c, &jti(&unbound))));
}

/// A registration racing another of the same app on one client waits for it and is then a
/// conflict: the second add is started while the first transaction holds the client (and has
/// not inserted yet), which without the lock would let both checks pass on PostgreSQL.
#[actix_web::test]
async fn a_concurrent_add_of_the_same_app_waits_and_is_a_conflict() {
    let app = TestApp::new();
    let (client_id, _) = native_client(&app, false, None);
    let spec = IdentitySpec {
        platform: "ios".into(),
        app_id: "com.example.App".into(),
        ..IdentitySpec::default()
    };
    let second = std::thread::scope(|scope| {
        app.with_conn(|conn| {
            portcullis::storage::write_tx(conn, |conn| {
                portcullis::storage::clients::lock_for_update(conn, &client_id)?;
                let racer = scope.spawn(|| {
                    app.state.db.run_blocking(|conn| {
                        Ok(registry::add_app_identity(
                            conn,
                            &client_id,
                            &spec,
                            "test",
                            now(),
                        ))
                    })
                });
                // Give the racer time to reach its check while this transaction holds.
                std::thread::sleep(std::time::Duration::from_millis(300));
                registry::add_app_identity(conn, &client_id, &spec, "test", now())
                    .map_err(|e| portcullis::storage::StorageError::Other(e.to_string()))?;
                Ok(racer)
            })
        })
        .join()
        .expect("thread")
        .expect("database")
    });
    assert!(
        matches!(
            second,
            Err(registry::RegistryError::Storage(
                portcullis::storage::StorageError::Conflict(_)
            ))
        ),
        "{second:?}"
    );
    let identities = app.with_conn(|conn| registry::list_app_identities(conn, &client_id));
    assert_eq!(identities.iter().filter(|i| i.platform == "ios").count(), 1);
}
