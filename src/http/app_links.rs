//! `/.well-known/assetlinks.json` (Android App Links) and
//! `/.well-known/apple-app-site-association` (iOS Universal Links) for the provider's own
//! apps, so that authorization URLs open the provider app when it is installed. Rendered once
//! from configuration; 404 when not configured.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::config::AppLinkSettings;
use crate::AppState;

/// The Digital Asset Links statement list, or `None` when no Android app is configured.
pub fn assetlinks_document(settings: &AppLinkSettings) -> Option<String> {
    let package = settings.android_package.as_ref()?;
    let fingerprints: Vec<String> = settings
        .android_sha256_fingerprints
        .iter()
        .map(|fp| normalize_fingerprint(fp))
        .collect();
    Some(
        json!([{
            "relation": ["delegate_permission/common.handle_all_urls"],
            "target": {
                "namespace": "android_app",
                "package_name": package,
                "sha256_cert_fingerprints": fingerprints,
            }
        }])
        .to_string(),
    )
}

/// The apple-app-site-association document, or `None` when no iOS app is configured. Both the
/// current `components` form and the older `paths` form cover `/authorize`.
pub fn apple_association_document(settings: &AppLinkSettings) -> Option<String> {
    let app_id = format!(
        "{}.{}",
        settings.ios_team_id.as_ref()?,
        settings.ios_bundle_id.as_ref()?
    );
    Some(
        json!({
            "applinks": {
                "apps": [],
                "details": [{
                    "appID": app_id,
                    "appIDs": [app_id],
                    "paths": ["/authorize", "/authorize?*"],
                    "components": [{"/": "/authorize", "comment": "authorization requests"}],
                }]
            }
        })
        .to_string(),
    )
}

/// Upper-case colon hex, the form Digital Asset Links expects.
fn normalize_fingerprint(fp: &str) -> String {
    let hex: Vec<char> = fp
        .chars()
        .filter(|c| *c != ':')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    hex.chunks(2)
        .map(|pair| pair.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(":")
}

fn json_or_404(doc: Option<String>) -> HttpResponse {
    match doc {
        Some(body) => HttpResponse::Ok()
            .content_type("application/json")
            .insert_header(("Cache-Control", "public, max-age=3600"))
            .body(body),
        None => HttpResponse::NotFound()
            .content_type("application/json")
            .body(r#"{"error":"not_found"}"#),
    }
}

pub async fn assetlinks(state: web::Data<AppState>) -> HttpResponse {
    json_or_404(assetlinks_document(&state.settings.app_links))
}

pub async fn apple_app_site_association(state: web::Data<AppState>) -> HttpResponse {
    json_or_404(apple_association_document(&state.settings.app_links))
}
