//! Conformance probes written from the RFC text that no other module covers: how repeated
//! unrecognised parameters are treated, and HTTP method semantics on the protocol endpoints.

use actix_web::test;

use crate::flow_support::*;
use crate::support::TestApp;
use crate::token_support::{call, confidential_spec, create_client, post_token};

const WEB_CB: &str = "https://app.example/cb";

#[actix_web::test]
async fn a_repeated_unrecognised_parameter_is_ignored_at_authorize_but_a_recognised_one_is_refused()
{
    let app = TestApp::new();
    let id = client(&app, "App", "public", &[WEB_CB], "openid");
    let svc = app.service().await;
    let good = authorize_uri(&id, WEB_CB, "openid", "");
    let mut jar = Jar::default();

    // OAuth 2.1 §3.1: "The authorization server MUST ignore unrecognized request parameters."
    for extra in [
        "foo=1&foo=2",
        "utm_source=a&utm_source=b&x=",
        "resource_x=1&resource_x=1",
    ] {
        let resp = get(&svc, &mut jar, &format!("{good}&{extra}")).await;
        assert_eq!(resp.status, 303, "{extra}: {}", resp.body);
        assert!(
            resp.location().starts_with("/login?return_to="),
            "{extra}: the request goes on to login, got {}",
            resp.location()
        );
    }
    // "Request and response parameters defined by this specification MUST NOT be included
    // more than once": OIDC and PKCE parameters included.
    for name in [
        "nonce",
        "prompt",
        "max_age",
        "login_hint",
        "code_challenge_method",
    ] {
        let value = if name == "code_challenge_method" {
            "S256"
        } else {
            "1"
        };
        let resp = get(
            &svc,
            &mut jar,
            &format!("{good}&{name}={value}&{name}={value}"),
        )
        .await;
        assert!(
            resp.location().starts_with(WEB_CB),
            "{name}: {}",
            resp.location()
        );
        let p = resp.redirect_params();
        assert_eq!(
            p.get("error").map(String::as_str),
            Some("invalid_request"),
            "{name}"
        );
        assert_eq!(
            p.get("iss").map(String::as_str),
            Some(&*app.state.issuer),
            "{name}"
        );
    }
}

#[actix_web::test]
async fn a_repeated_unrecognised_parameter_is_ignored_at_token_but_a_recognised_one_is_refused() {
    let app = TestApp::new();
    let c = create_client(&app, confidential_spec());
    let svc = app.service().await;

    let ok = post_token(
        &svc,
        "grant_type=client_credentials&scope=api:read&foo=1&foo=2&bar=",
        Some(&c.basic()),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.json);
    assert_eq!(ok.header("cache-control"), "no-store");

    for body in [
        "grant_type=client_credentials&grant_type=client_credentials",
        "grant_type=client_credentials&scope=api:read&scope=api:read",
        "grant_type=client_credentials&code_verifier=a&code_verifier=b",
    ] {
        post_token(&svc, body, Some(&c.basic()))
            .await
            .assert_error(400, "invalid_request");
    }
    // An empty value counts as absent (OAuth 2.1 §3.2), so it is no repetition either.
    let ok = post_token(
        &svc,
        "grant_type=client_credentials&scope=api:read&scope=",
        Some(&c.basic()),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.json);
}

#[actix_web::test]
async fn head_is_answered_like_get_on_every_get_route() {
    let app = TestApp::new();
    let svc = app.service().await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
        "/jwks.json",
        "/healthz",
        "/login",
        "/static/style.css",
    ] {
        let get = call(&svc, test::TestRequest::get().uri(path).to_request()).await;
        let head = call(
            &svc,
            test::TestRequest::default()
                .method(actix_web::http::Method::HEAD)
                .uri(path)
                .to_request(),
        )
        .await;
        assert_eq!(get.status, 200, "GET {path}");
        assert_eq!(head.status, 200, "HEAD {path} (RFC 9110 §9.1)");
        assert_eq!(
            head.header("content-type"),
            get.header("content-type"),
            "HEAD {path}"
        );
    }
    // HEAD of a POST-only endpoint is a method it does not serve.
    let head = call(
        &svc,
        test::TestRequest::default()
            .method(actix_web::http::Method::HEAD)
            .uri("/revoke")
            .to_request(),
    )
    .await;
    assert_eq!(head.status, 405);
}

#[actix_web::test]
async fn a_method_an_endpoint_does_not_serve_is_405_with_allow() {
    use actix_web::http::Method;
    let app = TestApp::new();
    let svc = app.service().await;
    let cases = [
        (Method::GET, "/introspect", "POST, OPTIONS"),
        (Method::PUT, "/introspect", "POST, OPTIONS"),
        (Method::GET, "/revoke", "POST, OPTIONS"),
        (Method::DELETE, "/revoke", "POST, OPTIONS"),
        (Method::GET, "/token", "POST, OPTIONS"),
        (Method::PUT, "/userinfo", "GET, HEAD, POST, OPTIONS"),
        (Method::DELETE, "/authorize", "GET, HEAD, POST"),
        (Method::OPTIONS, "/authorize", "GET, HEAD, POST"),
        (Method::POST, "/jwks.json", "GET, HEAD"),
        (
            Method::POST,
            "/.well-known/openid-configuration",
            "GET, HEAD",
        ),
        (Method::GET, "/consent", "POST"),
        (Method::GET, "/logout", "POST"),
    ];
    for (method, path, allow) in cases {
        let r = call(
            &svc,
            test::TestRequest::default()
                .method(method.clone())
                .uri(path)
                .insert_header(("origin", "https://evil.example"))
                .to_request(),
        )
        .await;
        assert_eq!(r.status, 405, "{method} {path}: {}", r.json);
        // RFC 9110 §15.5.6: a 405 "MUST generate an Allow header field".
        assert_eq!(r.header("allow"), allow, "{method} {path}");
        assert_eq!(r.error(), "invalid_request", "{method} {path}");
        // /authorize never answers with CORS (OAuth 2.1 §3.1).
        assert_eq!(
            r.header("access-control-allow-origin"),
            "",
            "{method} {path}"
        );
    }
}

#[actix_web::test]
async fn unreadable_or_repeated_authorization_headers_are_refused_at_every_client_endpoint() {
    use actix_web::http::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};

    let app = TestApp::new();
    let client = create_client(&app, confidential_spec());
    let svc = app.service().await;
    let unreadable = HeaderValue::from_bytes(b"Basic \xff\xfe").unwrap();
    for (path, body) in [
        ("/token", "grant_type=client_credentials"),
        ("/introspect", "token=abc"),
        // A body client_id must not turn unreadable credentials into a public-client request.
        ("/revoke", "token=abc&client_id=cli_x"),
    ] {
        let req = test::TestRequest::post()
            .uri(path)
            .insert_header((CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .insert_header((AUTHORIZATION, unreadable.clone()))
            .set_payload(body)
            .to_request();
        let reply = call(&svc, req).await;
        reply.assert_error(401, "invalid_client");

        let req = test::TestRequest::post()
            .uri(path)
            .insert_header((CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .append_header((AUTHORIZATION, client.basic()))
            .append_header((AUTHORIZATION, client.basic()))
            .set_payload(body)
            .to_request();
        let reply = call(&svc, req).await;
        reply.assert_error(400, "invalid_request");
    }
}
