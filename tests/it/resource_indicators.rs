//! RFC 8707 resource indicators: the `aud` of access tokens at /authorize and /token.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use portcullis::registry::ClientSpec;
use portcullis::storage::families;
use portcullis::storage::now;
use portcullis::storage::resources::{self, Resource};
use serde_json::Value;

use crate::flow_support::{self as flow, Jar, VERIFIER};
use crate::support::TestApp;
use crate::token_support::*;

const API: &str = "https://api.example.com";
const BILLING: &str = "https://billing.example.com";

fn register(app: &TestApp, audience: &str, scopes: &[&str]) {
    let resource = Resource {
        audience: audience.into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        introspection_client_id: None,
        created_at: now(),
    };
    app.with_conn(|conn| resources::insert(conn, &resource, "test"));
}

/// An app with two resources: the API (`api:read`, `api:write`) and billing (`billing`).
fn app_with_resources(change: impl FnOnce(&mut portcullis::config::Settings)) -> TestApp {
    let app = TestApp::with_settings(change);
    register(&app, API, &["api:read", "api:write"]);
    register(&app, BILLING, &["billing"]);
    app
}

fn confidential(app: &TestApp) -> TestClient {
    create_client(
        app,
        ClientSpec {
            scope: "openid profile api:read api:write billing".into(),
            ..confidential_spec()
        },
    )
}

/// The `aud` claim of a JWT, always as a list (the signature is checked elsewhere).
fn aud(token: &str) -> Vec<String> {
    let payload = token.split('.').nth(1).expect("a JWT");
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    match &claims["aud"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(list) => list
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect(),
        other => panic!("aud is {other}"),
    }
}

fn client_credentials(scope: &str, resources: &[&str]) -> String {
    let mut body = format!("grant_type=client_credentials&scope={}", urlencode(scope));
    for r in resources {
        body.push_str(&format!("&resource={}", urlencode(r)));
    }
    body
}

#[actix_rt::test]
async fn the_audience_is_the_explicit_resource_or_the_scopes_owner() {
    let app = app_with_resources(|_| {});
    let client = confidential(&app);
    let user = create_user(&app);
    grant_consent(&app, &user, client.id(), "openid api:read billing");
    let svc = app.service().await;
    let issuer = app.state.issuer.to_string();

    // An explicit resource at /token on the code grant.
    let code = issue_code(&app, client.id(), &user, "api:read", None, now() + 60);
    let body = format!("{}&resource={}", code_body(&code), urlencode(API));
    let reply = post_token(&svc, &body, Some(&client.basic())).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(aud(&reply.str("access_token")), vec![API]);

    // No resource: the resource owning the scopes; the family keeps it, and so does refresh.
    let code = issue_code(&app, client.id(), &user, "billing", None, now() + 60);
    let reply = post_token(&svc, &code_body(&code), Some(&client.basic())).await;
    assert_eq!(aud(&reply.str("access_token")), vec![BILLING]);
    let family = app
        .with_conn(|conn| families::find(conn, &code.family_id))
        .unwrap();
    assert_eq!(family.resource.as_deref(), Some(BILLING));
    let refresh = format!(
        "grant_type=refresh_token&refresh_token={}",
        reply.str("refresh_token")
    );
    let refreshed = post_token(&svc, &refresh, Some(&client.basic())).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.json);
    assert_eq!(aud(&refreshed.str("access_token")), vec![BILLING]);

    // openid adds the issuer, the audience of /userinfo.
    let code = issue_code(
        &app,
        client.id(),
        &user,
        "openid api:read",
        None,
        now() + 60,
    );
    let reply = post_token(&svc, &code_body(&code), Some(&client.basic())).await;
    assert_eq!(
        aud(&reply.str("access_token")),
        vec![API.to_string(), issuer]
    );

    // client_credentials: explicit, then by owner; two resources named at once.
    for (scope, resources, want) in [
        ("api:read", vec![API], vec![API]),
        ("billing", vec![], vec![BILLING]),
        ("api:read billing", vec![API, BILLING], vec![API, BILLING]),
    ] {
        let reply = post_token(
            &svc,
            &client_credentials(scope, &resources),
            Some(&client.basic()),
        )
        .await;
        assert_eq!(reply.status, 200, "{scope}: {}", reply.json);
        assert_eq!(aud(&reply.str("access_token")), want, "{scope}");
    }
}

#[actix_rt::test]
async fn the_default_audience_applies_when_no_resource_owns_the_scopes() {
    let app = app_with_resources(|s| s.default_audience = Some("https://default.example".into()));
    let client = confidential(&app);
    let user = create_user(&app);
    let svc = app.service().await;
    let code = issue_code(&app, client.id(), &user, "profile", None, now() + 60);
    let reply = post_token(&svc, &code_body(&code), Some(&client.basic())).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(
        aud(&reply.str("access_token")),
        vec!["https://default.example"]
    );
    // Without a configured default, the issuer.
    let app = app_with_resources(|_| {});
    let client = confidential(&app);
    let user = create_user(&app);
    let svc = app.service().await;
    let code = issue_code(&app, client.id(), &user, "profile", None, now() + 60);
    let reply = post_token(&svc, &code_body(&code), Some(&client.basic())).await;
    assert_eq!(
        aud(&reply.str("access_token")),
        vec![app.state.issuer.to_string()]
    );
}

#[actix_rt::test]
async fn ambiguous_unknown_or_malformed_targets_are_invalid_target_at_the_token_endpoint() {
    let app = app_with_resources(|_| {});
    let client = confidential(&app);
    let user = create_user(&app);
    let svc = app.service().await;
    for (why, scope, resources) in [
        ("scopes of two resources", "api:read billing", vec![]),
        (
            "unknown resource",
            "api:read",
            vec!["https://unknown.example"],
        ),
        ("scope outside the resource", "billing", vec![API]),
        ("not absolute", "api:read", vec!["api"]),
        ("fragment", "api:read", vec!["https://api.example.com#x"]),
    ] {
        let reply = post_token(
            &svc,
            &client_credentials(scope, &resources),
            Some(&client.basic()),
        )
        .await;
        assert_eq!(reply.error(), "invalid_target", "{why}: {}", reply.json);
        assert_eq!(reply.status, 400, "{why}");
    }
    // On the code grant too, and the code is not spent by the refusal.
    let code = issue_code(
        &app,
        client.id(),
        &user,
        "api:read billing",
        None,
        now() + 60,
    );
    let reply = post_token(&svc, &code_body(&code), Some(&client.basic())).await;
    reply.assert_error(400, "invalid_target");
    let code = issue_code(&app, client.id(), &user, "api:read", None, now() + 60);
    let body = format!("{}&resource={}", code_body(&code), urlencode(BILLING));
    post_token(&svc, &body, Some(&client.basic()))
        .await
        .assert_error(400, "invalid_target");
    let reply = post_token(&svc, &code_body(&code), Some(&client.basic())).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
}

#[actix_rt::test]
async fn at_authorize_bad_targets_go_back_to_the_client_as_invalid_target() {
    let app = app_with_resources(|_| {});
    let client_id = flow::client(
        &app,
        "App",
        "public",
        &[REDIRECT],
        "openid api:read billing",
    );
    let svc = app.service().await;
    for (why, scope, extra) in [
        ("scopes of two resources", "api:read billing", String::new()),
        (
            "unknown resource",
            "api:read",
            format!("resource={}", urlencode("https://unknown.example")),
        ),
        (
            "scope outside the resource",
            "billing",
            format!("resource={}", urlencode(API)),
        ),
        ("not absolute", "api:read", "resource=api".to_string()),
        (
            "fragment",
            "api:read",
            format!("resource={}", urlencode("https://api.example.com/#f")),
        ),
    ] {
        let mut jar = Jar::default();
        let uri = flow::authorize_uri(&client_id, REDIRECT, scope, &extra);
        let resp = flow::get(&svc, &mut jar, &uri).await;
        assert_eq!(resp.status, 303, "{why}: {}", resp.body);
        assert!(resp.location().starts_with(REDIRECT), "{why}");
        let params = resp.redirect_params();
        assert_eq!(params["error"], "invalid_target", "{why}");
        assert_eq!(params["iss"], app.state.issuer.as_ref(), "{why}");
    }
}

#[actix_rt::test]
async fn resources_named_at_authorize_bind_the_code_and_the_family() {
    let app = app_with_resources(|_| {});
    let client_id = flow::client(
        &app,
        "App",
        "public",
        &[REDIRECT],
        "openid api:read billing",
    );
    flow::user(&app, "ri@example.com");
    let svc = app.service().await;
    let mut jar = Jar::default();
    // `resource` may repeat (RFC 8707 §2); any other repeated parameter is still refused.
    let extra = format!(
        "resource={}&resource={}",
        urlencode(API),
        urlencode(BILLING)
    );
    let uri = flow::authorize_uri(&client_id, REDIRECT, "openid api:read billing", &extra);
    let consent = flow::to_consent(&svc, &mut jar, &uri, "ri@example.com").await;
    let done = flow::answer(&svc, &mut jar, &consent, "approve").await;
    let code = done.redirect_params()["code"].clone();
    let exchange = |resource: Option<&str>| {
        let mut body = format!(
            "grant_type=authorization_code&code={code}&code_verifier={VERIFIER}&client_id={client_id}&redirect_uri={}",
            urlencode(REDIRECT)
        );
        if let Some(r) = resource {
            body.push_str(&format!("&resource={}", urlencode(r)));
        }
        body
    };
    // A resource outside the grant is refused; narrowing to all of them works.
    post_token(&svc, &exchange(Some("https://unknown.example")), None)
        .await
        .assert_error(400, "invalid_target");
    let reply = post_token(&svc, &exchange(None), None).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    let issuer = app.state.issuer.to_string();
    assert_eq!(
        aud(&reply.str("access_token")),
        vec![API.to_string(), BILLING.to_string(), issuer.clone()]
    );
    // Refresh: within the grant only; narrowing to one resource needs its scopes only.
    let refresh = |extra: &str| {
        format!(
            "grant_type=refresh_token&client_id={client_id}&refresh_token={}{extra}",
            reply.str("refresh_token")
        )
    };
    post_token(
        &svc,
        &refresh(&format!("&resource={}", urlencode("https://other.example"))),
        None,
    )
    .await
    .assert_error(400, "invalid_target");
    let narrowed = post_token(
        &svc,
        &refresh(&format!("&resource={}&scope=billing", urlencode(BILLING))),
        None,
    )
    .await;
    assert_eq!(narrowed.status, 200, "{}", narrowed.json);
    assert_eq!(aud(&narrowed.str("access_token")), vec![BILLING]);
    // Without `resource`, a refresh comes back to the grant's audiences.
    let again = format!(
        "grant_type=refresh_token&client_id={client_id}&refresh_token={}",
        narrowed.str("refresh_token")
    );
    let full = post_token(&svc, &again, None).await;
    assert_eq!(full.status, 200, "{}", full.json);
    assert_eq!(
        aud(&full.str("access_token")),
        vec![API.to_string(), BILLING.to_string(), issuer]
    );
}
