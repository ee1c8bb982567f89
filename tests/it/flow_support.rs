//! Helpers for driving the browser-facing flow through the real app: a cookie jar, fixtures
//! made through the registry and account code, and readers for pages and redirects.

use std::collections::HashMap;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test;
use portcullis::account::users as account_users;
use portcullis::registry::{self, ClientSpec};
use portcullis::storage::now;

use crate::support::TestApp;

/// RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const PASSWORD: &str = "correct horse battery";

/// A response read whole.
pub struct Resp {
    pub status: u16,
    pub headers: actix_web::http::header::HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }

    pub fn location(&self) -> String {
        self.header("location")
    }

    /// The query parameters of the `Location`.
    pub fn redirect_params(&self) -> HashMap<String, String> {
        query_params(&self.location())
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    }

    /// The value of a hidden or text input, unescaped.
    pub fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no field {name} in {}", self.body))
            + marker.len();
        let end = self.body[start..].find('"').unwrap() + start;
        unescape(&self.body[start..end])
    }
}

pub fn query_params(url: &str) -> HashMap<String, String> {
    let query = url.split_once('?').map(|x| x.1).unwrap_or("");
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(';').unwrap() + i;
        let entity = &rest[i + 1..end];
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            e if e.starts_with("#x") => {
                char::from_u32(u32::from_str_radix(&e[2..], 16).unwrap()).unwrap()
            }
            e if e.starts_with('#') => char::from_u32(e[1..].parse().unwrap()).unwrap(),
            e => panic!("unknown entity {e}"),
        };
        out.push(c);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Cookies kept between requests, like a browser would.
#[derive(Default, Clone)]
pub struct Jar(pub HashMap<String, String>);

impl Jar {
    pub fn update(&mut self, resp: &Resp) {
        for c in resp.set_cookies() {
            let first = c.split(';').next().unwrap();
            let (name, value) = first.split_once('=').unwrap();
            if value.is_empty() || c.contains("Max-Age=0") {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_string(), value.to_string());
            }
        }
    }

    pub fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn session(&self) -> Option<String> {
        self.0.get("portcullis_session").cloned()
    }
}

/// Sends a request with the jar's cookies, updates the jar, and reads the whole response.
pub async fn send<S, B>(svc: &S, jar: &mut Jar, req: test::TestRequest) -> Resp
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut req = req.peer_addr("192.0.2.7:40000".parse().unwrap());
    if !jar.0.is_empty() {
        req = req.insert_header(("cookie", jar.header()));
    }
    let res = test::call_service(svc, req.to_request()).await;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = test::read_body(res).await;
    let resp = Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    jar.update(&resp);
    resp
}

pub async fn get<S, B>(svc: &S, jar: &mut Jar, uri: &str) -> Resp
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    send(svc, jar, test::TestRequest::get().uri(uri)).await
}

pub async fn post_form<S, B>(svc: &S, jar: &mut Jar, uri: &str, pairs: &[(&str, &str)]) -> Resp
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    send(
        svc,
        jar,
        test::TestRequest::post()
            .uri(uri)
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(body),
    )
    .await
}

/// A client made through the registry; returns its id.
pub fn client(app: &TestApp, name: &str, kind: &str, uris: &[&str], scope: &str) -> String {
    client_with(app, name, kind, uris, scope, |_| {})
}

pub fn client_with(
    app: &TestApp,
    name: &str,
    kind: &str,
    uris: &[&str],
    scope: &str,
    change: impl FnOnce(&mut ClientSpec),
) -> String {
    let mut spec = ClientSpec {
        client_name: name.into(),
        client_type: kind.into(),
        redirect_uris: uris.iter().map(|s| s.to_string()).collect(),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scope: scope.into(),
        enabled: true,
        ..ClientSpec::default()
    };
    change(&mut spec);
    app.with_conn(|conn| {
        registry::create(conn, &spec, "test", now())
            .map(|(c, _)| c.row.client_id)
            .map_err(|e| portcullis::storage::StorageError::Other(e.to_string()))
    })
}

/// A user made through the account code; returns the user id.
pub fn user(app: &TestApp, email: &str) -> String {
    let row = account_users::new_user(email, PASSWORD, false, now()).unwrap();
    let id = row.user_id.clone();
    app.with_conn(|conn| {
        account_users::create(conn, &row)
            .map_err(|e| portcullis::storage::StorageError::Other(e.to_string()))
    });
    id
}

/// An /authorize URL with the RFC 7636 Appendix B challenge.
pub fn authorize_uri(client_id: &str, redirect_uri: &str, scope: &str, extra: &str) -> String {
    let mut s = url::form_urlencoded::Serializer::for_suffix(String::from("/authorize?"), 11);
    s.append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", scope)
        .append_pair("state", "st ate/é&=")
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256");
    let mut uri = s.finish();
    if !extra.is_empty() {
        uri.push('&');
        uri.push_str(extra);
    }
    uri
}

/// Follows the redirect to the login page and signs in; returns the login POST's response.
pub async fn login_via<S, B>(svc: &S, jar: &mut Jar, login_location: &str, email: &str) -> Resp
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let page = get(svc, jar, login_location).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.field("csrf_token");
    let return_to = page.field("return_to");
    post_form(
        svc,
        jar,
        "/login",
        &[
            ("csrf_token", &csrf),
            ("return_to", &return_to),
            ("email", email),
            ("password", PASSWORD),
        ],
    )
    .await
}

/// Answers a consent page.
pub async fn answer<S, B>(svc: &S, jar: &mut Jar, consent_page: &Resp, decision: &str) -> Resp
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let csrf = consent_page.field("csrf_token");
    let return_to = consent_page.field("return_to");
    post_form(
        svc,
        jar,
        "/consent",
        &[
            ("csrf_token", &csrf),
            ("return_to", &return_to),
            ("decision", decision),
        ],
    )
    .await
}

/// Runs /authorize → login → consent page for a fresh jar; returns the consent page.
pub async fn to_consent<S, B>(svc: &S, jar: &mut Jar, uri: &str, email: &str) -> Resp
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let first = get(svc, jar, uri).await;
    assert_eq!(first.status, 303, "{}", first.body);
    assert!(
        first.location().starts_with("/login?return_to="),
        "{}",
        first.location()
    );
    let logged_in = login_via(svc, jar, &first.location(), email).await;
    assert_eq!(logged_in.status, 303, "{}", logged_in.body);
    let back = get(svc, jar, &logged_in.location()).await;
    assert_eq!(back.status, 200, "{}", back.body);
    back
}
