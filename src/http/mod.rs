//! The HTTP layer: one file per endpoint, thin handlers. [`build_app`] is used by the server
//! and by the tests, so both run exactly the same app.

pub mod account;
pub mod admin;
pub mod admin_console;
pub mod app_links;
pub mod assets;
pub mod authorize;
pub mod consent;
pub mod cors;
pub mod discovery;
pub mod errors;
pub mod form;
pub mod health;
pub mod introspect;
pub mod login;
pub mod logout;
pub mod methods;
pub mod middleware;
pub mod revoke;
pub mod session;
pub mod token;
pub mod userinfo;

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
        .wrap(actix_web::middleware::from_fn(methods::head_as_get))
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
    admin_console::configure(cfg);
    resource_routes(cfg);
    methods::fallbacks(cfg);
}

/// Discovery, JWKS, introspection, revocation and userinfo.
fn resource_routes(cfg: &mut web::ServiceConfig) {
    use crate::oauth::discovery::paths;
    cfg.route(
        "/.well-known/oauth-authorization-server",
        web::get().to(discovery::metadata),
    )
    .route(
        "/.well-known/openid-configuration",
        web::get().to(discovery::metadata),
    )
    .route(paths::JWKS, web::get().to(discovery::jwks))
    .route(paths::INTROSPECT, web::post().to(introspect::introspect))
    .route(paths::REVOKE, web::post().to(revoke::revoke))
    .route(paths::USERINFO, web::get().to(userinfo::userinfo_get))
    .route(paths::USERINFO, web::post().to(userinfo::userinfo_post))
    .route(
        paths::INTROSPECT,
        web::method(actix_web::http::Method::OPTIONS).to(cors::preflight),
    )
    .route(
        paths::REVOKE,
        web::method(actix_web::http::Method::OPTIONS).to(cors::preflight),
    )
    .route(
        paths::USERINFO,
        web::method(actix_web::http::Method::OPTIONS).to(cors::preflight_get_post),
    );
    cfg.route("/authorize", web::get().to(authorize::get))
        .route("/authorize", web::post().to(authorize::post))
        .route("/login", web::get().to(login::get))
        .route("/login", web::post().to(login::post))
        .route("/register", web::get().to(login::register_get))
        .route("/register", web::post().to(login::register_post))
        .route("/consent", web::post().to(consent::post))
        .route("/logout", web::post().to(logout::post))
        .route("/account", web::get().to(account::get))
        .route(
            "/account/sessions/revoke",
            web::post().to(account::revoke_session),
        )
        .route("/account/apps/revoke", web::post().to(account::revoke_app))
        .route("/static/style.css", web::get().to(assets::style));
}
