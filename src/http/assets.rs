//! `GET /static/style.css`: the one stylesheet of the pages, served by us (the CSP allows
//! `style-src 'self'` and nothing else).

use actix_web::HttpResponse;

const STYLE: &str = include_str!("../../static/style.css");

pub async fn style() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(STYLE)
}
