//! CORS on /introspect, /revoke and /userinfo (issue 6): a preflight is allowed for an origin
//! some client registered; a real response allows the origin only when the identified client
//! registered it; `Vary: Origin` always; never `*`, never credentials.

use actix_web::test;
use portcullis::registry::ClientSpec;
use portcullis::storage::now;

use crate::support::TestApp;
use crate::token_support::*;

const OTHER: &str = "https://evil.example";

fn request(
    method: &str,
    path: &str,
    body: &str,
    authorization: Option<&str>,
    origin: &str,
) -> actix_http::Request {
    let mut req = match method {
        "GET" => test::TestRequest::get().uri(path),
        "OPTIONS" => test::TestRequest::default()
            .method(actix_web::http::Method::OPTIONS)
            .uri(path)
            .insert_header(("access-control-request-method", "POST")),
        _ => test::TestRequest::post()
            .uri(path)
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(body.to_string()),
    };
    if let Some(a) = authorization {
        req = req.insert_header(("authorization", a.to_string()));
    }
    req.insert_header(("origin", origin.to_string()))
        .to_request()
}

fn assert_cors(reply: &Reply, allowed: Option<&str>, why: &str) {
    assert!(
        reply
            .headers
            .get_all("vary")
            .any(|v| v.to_str().unwrap_or("").contains("Origin")),
        "{why}: Vary: Origin"
    );
    let acao = reply.header("access-control-allow-origin");
    assert_eq!(acao, allowed.unwrap_or(""), "{why}");
    assert_eq!(
        reply.header("access-control-allow-credentials"),
        "",
        "{why}"
    );
}

#[actix_rt::test]
async fn introspection_revocation_and_userinfo_answer_registered_origins_only() {
    let app = TestApp::new();
    let public = create_client(&app, public_spec());
    let backend = create_client(
        &app,
        ClientSpec {
            cors_origins: vec![ORIGIN.into()],
            ..confidential_spec()
        },
    );
    let user = create_user(&app);
    let svc = app.service().await;
    let code = issue_code(&app, public.id(), &user, "openid", None, now() + 60);
    let body = format!("{}&client_id={}", code_body(&code), public.id());
    let tokens = post_token(&svc, &body, None).await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    let access = tokens.str("access_token");
    let bearer = format!("Bearer {access}");

    let introspect = format!("token={access}");
    let revoke = format!("token=unknown&client_id={}", public.id());
    let cases: [(&str, &str, &str, Option<&str>); 4] = [
        ("POST", "/introspect", &introspect, Some(&backend.basic())),
        ("POST", "/revoke", &revoke, None),
        ("GET", "/userinfo", "", Some(&bearer)),
        ("POST", "/userinfo", "", Some(&bearer)),
    ];
    for (method, path, body, auth) in cases {
        let why = format!("{method} {path}");
        let ok = call(&svc, request(method, path, body, auth, ORIGIN)).await;
        assert_eq!(ok.status, 200, "{why}: {}", ok.json);
        assert_cors(&ok, Some(ORIGIN), &why);
        let other = call(&svc, request(method, path, body, auth, OTHER)).await;
        assert_eq!(other.status, 200, "{why}: {}", other.json);
        assert_cors(&other, None, &format!("{why} from another origin"));
    }
    // A failure identifies no client: no grant, but still `Vary: Origin`.
    let bad = call(
        &svc,
        request("GET", "/userinfo", "", Some("Bearer nope"), ORIGIN),
    )
    .await;
    assert_eq!(bad.status, 401);
    assert_cors(&bad, None, "userinfo with a bad token");
    let unauthenticated = call(
        &svc,
        request("POST", "/introspect", &introspect, None, ORIGIN),
    )
    .await;
    assert_eq!(unauthenticated.status, 401);
    assert_cors(&unauthenticated, None, "introspection without credentials");
}

#[actix_rt::test]
async fn preflights_are_granted_to_origins_some_client_registered() {
    let app = TestApp::new();
    create_client(&app, public_spec());
    let svc = app.service().await;
    for (path, methods) in [
        ("/introspect", "POST"),
        ("/revoke", "POST"),
        ("/userinfo", "GET, POST"),
    ] {
        let ok = call(&svc, request("OPTIONS", path, "", None, ORIGIN)).await;
        assert_eq!(ok.status, 204, "{path}");
        assert_cors(&ok, Some(ORIGIN), path);
        assert_eq!(ok.header("access-control-allow-methods"), methods, "{path}");
        let other = call(&svc, request("OPTIONS", path, "", None, OTHER)).await;
        assert_eq!(other.status, 204, "{path}");
        assert_cors(&other, None, &format!("{path} from another origin"));
        assert_eq!(other.header("access-control-allow-methods"), "", "{path}");
    }
}

/// A request refused before it identifies a client (a body that is not a form, two
/// `Authorization` headers) still answers an origin some client registered, so that the app
/// reads the 4xx instead of a CORS failure; other origins get `Vary: Origin` only.
#[actix_rt::test]
async fn refusals_before_a_client_is_identified_answer_registered_origins() {
    let app = TestApp::new();
    create_client(
        &app,
        ClientSpec {
            cors_origins: vec![ORIGIN.into()],
            ..confidential_spec()
        },
    );
    let svc = app.service().await;
    for path in ["/token", "/introspect", "/revoke"] {
        for (origin, allowed) in [(ORIGIN, Some(ORIGIN)), (OTHER, None)] {
            let not_a_form = test::TestRequest::post()
                .uri(path)
                .insert_header(("content-type", "application/json"))
                .insert_header(("origin", origin))
                .set_payload("{}")
                .to_request();
            let reply = call(&svc, not_a_form).await;
            assert_eq!(reply.status, 400, "{path}: {}", reply.json);
            assert_eq!(reply.json["error"], "invalid_request", "{path}");
            assert_cors(
                &reply,
                allowed,
                &format!("{path} not a form, from {origin}"),
            );

            let two_headers = test::TestRequest::post()
                .uri(path)
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .append_header(("authorization", "Basic YTpi"))
                .append_header(("authorization", "Basic YzpK"))
                .insert_header(("origin", origin))
                .set_payload("token=x&grant_type=client_credentials")
                .to_request();
            let reply = call(&svc, two_headers).await;
            assert_eq!(reply.status, 400, "{path}: {}", reply.json);
            assert_eq!(reply.json["error"], "invalid_request", "{path}");
            assert_cors(&reply, allowed, &format!("{path} 400 from {origin}"));
        }
    }
}
