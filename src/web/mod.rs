//! HTML pages: one askama struct per page, templates in `templates/` extending `base.html`.
//! Autoescaping is on for every `.html` template and nothing a user or client typed is ever
//! marked `|safe`. Every page with a form carries its `csrf_token`.

pub mod admin;

use askama::Template;

/// The sign-in form.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub csrf_token: String,
    /// The authorization request to resume (a relative `/authorize?…` URL) or empty.
    pub return_to: String,
    pub email: String,
    pub error: Option<String>,
    /// The application asking, when the login continues an authorization request.
    pub client_name: Option<String>,
    pub self_registration: bool,
    /// Link to the registration page (carries `return_to`).
    pub register_href: String,
}

/// The self-registration form.
#[derive(Template)]
#[template(path = "register.html")]
pub struct RegisterPage {
    pub csrf_token: String,
    pub return_to: String,
    pub email: String,
    pub error: Option<String>,
    pub login_href: String,
}

/// One requested scope, in plain words.
pub struct ScopeLine {
    pub name: String,
    pub description: String,
}

/// The consent page: who asks, for what, and where the answer goes.
#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage {
    pub client_name: String,
    pub user_email: String,
    pub scopes: Vec<ScopeLine>,
    pub redirect_host: String,
    pub return_to: String,
    pub csrf_token: String,
    /// The registered app identity the request presented (native apps).
    pub registered_app: Option<crate::account::authorization::RegisteredApp>,
}

/// The refusal of an app identity (step 2 of /authorize): who asked, what the app presented,
/// and the error code a developer can look up. Never a redirect.
#[derive(Template)]
#[template(path = "app_identity_error.html")]
pub struct AppIdentityErrorPage {
    pub client_name: String,
    /// `invalid_app_identity` or `app_identity_required`.
    pub error_code: String,
    pub description: String,
    pub platform: Option<String>,
    pub app_id: Option<String>,
    pub team_id: Option<String>,
    /// Colon hex when it decoded, else the raw value shortened.
    pub cert_sha256: Option<String>,
    pub cert_sha1: Option<String>,
}

/// An error shown to the user instead of a redirect.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub title: String,
    pub message: String,
}

/// One SSO session on the account page.
pub struct SessionLine {
    /// Opaque handle for the revoke form (hex of the stored hash, never the cookie value).
    pub handle: String,
    pub created: String,
    pub last_seen: String,
    pub user_agent: String,
    pub ip: String,
    pub current: bool,
}

/// One connected application on the account page.
pub struct AppLine {
    pub client_id: String,
    pub client_name: String,
    pub scope: String,
    pub since: String,
}

/// The account page: sessions and connected apps, each with a revoke button.
#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub email: String,
    pub csrf_token: String,
    pub sessions: Vec<SessionLine>,
    pub apps: Vec<AppLine>,
}

/// Renders a page; a template failure becomes a plain message (never a panic).
pub fn render(page: &impl Template) -> String {
    page.render().unwrap_or_else(|err| {
        tracing::error!(error = %err, "template rendering failed");
        "<!doctype html><title>Error</title><p>Something went wrong.</p>".to_string()
    })
}

/// A Unix time as `YYYY-MM-DD HH:MM UTC`.
pub fn format_time(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        secs / 3600,
        (secs % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_formatted_in_utc() {
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_time(1_795_611_600), "2026-11-25 13:00 UTC");
    }

    #[test]
    fn pages_escape_what_clients_typed() {
        let html = render(&ErrorPage {
            title: "t".into(),
            message: "<script>alert(1)</script>".into(),
        });
        assert!(!html.contains("<script>"));
        assert!(html.contains("&#60;script&#62;"));
    }
}
