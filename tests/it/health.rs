//! Probes and the headers every response carries.

use actix_web::test;

use crate::support::{header, TestApp};

#[actix_web::test]
async fn probes_answer_and_every_response_carries_the_security_headers() {
    let app = TestApp::new();
    let svc = app.service().await;
    for path in ["/healthz", "/readyz"] {
        let res = test::call_service(&svc, test::TestRequest::get().uri(path).to_request()).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(header(&res, "x-frame-options"), "DENY");
        assert_eq!(header(&res, "referrer-policy"), "no-referrer");
        assert_eq!(header(&res, "x-content-type-options"), "nosniff");
        assert!(header(&res, "content-security-policy").contains("frame-ancestors 'none'"));
        assert!(res.headers().contains_key("x-request-id"));
        assert!(
            !res.headers().contains_key("strict-transport-security"),
            "no HSTS over http"
        );
    }
}

#[actix_web::test]
async fn hsts_is_sent_when_the_issuer_is_https() {
    let app = TestApp::with_settings(|s| s.issuer = Some("https://auth.example.com".into()));
    let svc = app.service().await;
    let res = test::call_service(&svc, test::TestRequest::get().uri("/healthz").to_request()).await;
    assert!(header(&res, "strict-transport-security").starts_with("max-age="));
}
