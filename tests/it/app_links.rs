//! The provider app's well-known files, present and absent.

use actix_web::test as t;

use crate::support::{header, TestApp};

const FP: &str = "ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89";

#[actix_web::test]
async fn well_known_app_link_files_are_404_without_configuration() {
    let app = TestApp::new();
    let svc = app.service().await;
    for path in [
        "/.well-known/assetlinks.json",
        "/.well-known/apple-app-site-association",
    ] {
        let res = t::call_service(&svc, t::TestRequest::get().uri(path).to_request()).await;
        assert_eq!(res.status(), 404, "{path}");
    }
}

#[actix_web::test]
async fn configured_apps_get_assetlinks_and_apple_association() {
    let app = TestApp::with_settings(|s| {
        s.app_links.android_package = Some("com.example.provider".into());
        s.app_links.android_sha256_fingerprints = vec![FP.into()];
        s.app_links.ios_team_id = Some("ABCDE12345".into());
        s.app_links.ios_bundle_id = Some("com.example.provider".into());
    });
    let svc = app.service().await;
    let res = t::call_service(
        &svc,
        t::TestRequest::get()
            .uri("/.well-known/assetlinks.json")
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "content-type"), "application/json");
    let doc: serde_json::Value = t::read_body_json(res).await;
    assert_eq!(doc[0]["target"]["package_name"], "com.example.provider");
    assert_eq!(
        doc[0]["target"]["sha256_cert_fingerprints"][0],
        FP.to_uppercase()
    );
    assert_eq!(
        doc[0]["relation"][0],
        "delegate_permission/common.handle_all_urls"
    );

    let res = t::call_service(
        &svc,
        t::TestRequest::get()
            .uri("/.well-known/apple-app-site-association")
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), 200);
    let doc: serde_json::Value = t::read_body_json(res).await;
    let details = &doc["applinks"]["details"][0];
    assert_eq!(details["appIDs"][0], "ABCDE12345.com.example.provider");
    assert_eq!(details["components"][0]["/"], "/authorize");
}

#[test]
fn half_configured_app_links_are_refused() {
    let mut s = portcullis::config::Settings::default();
    s.app_links.android_package = Some("com.example.provider".into());
    assert_eq!(
        s.validate().unwrap_err().key,
        "app_links.android_sha256_fingerprints"
    );
    let mut s = portcullis::config::Settings::default();
    s.app_links.ios_team_id = Some("ABCDE12345".into());
    assert_eq!(s.validate().unwrap_err().key, "app_links.ios_bundle_id");
}
