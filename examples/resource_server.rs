//! A tiny API protected by portcullis access tokens.
//!
//! ```text
//! PORTCULLIS_ISSUER=https://auth.example.com \
//! RESOURCE_AUDIENCE=https://api.example.com \
//! cargo run --example resource_server --no-default-features --features verify
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:9090/projects
//! ```
//!
//! Register the API first: `portcullis resource create --audience https://api.example.com
//! --scope "projects:read"`, and let a client request that scope.

use actix_web::{web, App, HttpResponse, HttpServer};
use portcullis::verify::{Authenticated, Requirements, Verifier};

/// `GET /projects`: needs a valid token for this audience with scope `projects:read`.
async fn projects(auth: Authenticated) -> HttpResponse {
    let Authenticated(claims) = auth;
    HttpResponse::Ok().json(serde_json::json!({
        "owner": claims.sub,
        "client_id": claims.client_id,
        "projects": ["apollo", "gemini"],
    }))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let issuer =
        std::env::var("PORTCULLIS_ISSUER").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let audience =
        std::env::var("RESOURCE_AUDIENCE").unwrap_or_else(|_| "https://api.example.com".into());
    // Reads the discovery document and the JWKS once; refetches keys on an unknown kid.
    let verifier = Verifier::new(&issuer)
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let verifier = web::Data::new(verifier);
    let requirements = web::Data::new(Requirements::new(audience).scope("projects:read"));
    println!("resource server on http://127.0.0.1:9090, trusting {issuer}");
    HttpServer::new(move || {
        App::new()
            .app_data(verifier.clone())
            .app_data(requirements.clone())
            .route("/projects", web::get().to(projects))
    })
    .bind(("127.0.0.1", 9090))?
    .run()
    .await
}
