//! The HTTP layer: one file per endpoint, thin handlers. [`build_app`] is used by the server
//! and by the tests, so both run exactly the same app.

pub mod admin;
pub mod app_links;
pub mod cors;
pub mod errors;
pub mod form;
pub mod health;
pub mod middleware;
pub mod token;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{web, App};

use crate::AppState;

/// Largest form or JSON body any endpoint reads.
pub const BODY_LIMIT: usize = 16 * 1024;

/// The whole application: state, middleware and routes.
pub fn build_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let secure = state.settings.secure_cookies();
    App::new()
        .app_data(web::Data::new(state))
        .configure(configure)
        .wrap(middleware::security_headers(secure))
        .wrap(actix_web::middleware::from_fn(middleware::request_log))
}

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route(
            "/.well-known/assetlinks.json",
            web::get().to(app_links::assetlinks),
        )
        .route(
            "/.well-known/apple-app-site-association",
            web::get().to(app_links::apple_app_site_association),
        );
    cfg.service(
        web::resource("/token")
            .route(web::post().to(token::token))
            .route(web::method(actix_web::http::Method::OPTIONS).to(cors::preflight))
            .default_service(web::to(token::method_not_allowed)),
    );
    admin::configure(cfg);
}
