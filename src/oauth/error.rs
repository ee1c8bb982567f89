//! The one OAuth error type used by every endpoint (RFC 6749 §4.1.2.1, §5.2;
//! RFC 6750 §3.1; RFC 7009 §2.2.1; RFC 8707 §2; OpenID Connect Core §3.1.2.6).

use std::borrow::Cow;
use std::fmt;

/// The registered OAuth error codes this server can emit.
///
/// Guarantee: [`ErrorCode::as_str`] returns exactly the registered
/// `error` value, which is always within the RFC 6749 §5.2 character set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// RFC 6749 §5.2 `invalid_request`.
    InvalidRequest,
    /// RFC 6749 §5.2 `invalid_client`.
    InvalidClient,
    /// RFC 6749 §5.2 `invalid_grant`.
    InvalidGrant,
    /// RFC 6749 §5.2 `unauthorized_client`.
    UnauthorizedClient,
    /// RFC 6749 §5.2 `unsupported_grant_type`.
    UnsupportedGrantType,
    /// RFC 6749 §4.1.2.1 `unsupported_response_type`.
    UnsupportedResponseType,
    /// RFC 6749 §5.2 `invalid_scope`.
    InvalidScope,
    /// RFC 6749 §4.1.2.1 `access_denied`.
    AccessDenied,
    /// RFC 6749 §4.1.2.1 `server_error`.
    ServerError,
    /// RFC 6749 §4.1.2.1 `temporarily_unavailable`.
    TemporarilyUnavailable,
    /// OpenID Connect Core §3.1.2.6 `login_required`.
    LoginRequired,
    /// OpenID Connect Core §3.1.2.6 `consent_required`.
    ConsentRequired,
    /// OpenID Connect Core §3.1.2.6 `interaction_required`.
    InteractionRequired,
    /// RFC 8707 §2 `invalid_target`.
    InvalidTarget,
    /// RFC 7009 §2.2.1 `unsupported_token_type`.
    UnsupportedTokenType,
    /// RFC 6750 §3.1 `invalid_token`.
    InvalidToken,
    /// RFC 6750 §3.1 `insufficient_scope`.
    InsufficientScope,
    /// OpenID Connect Core §3.1.2.6 `request_not_supported`.
    RequestNotSupported,
    /// OpenID Connect Core §3.1.2.6 `request_uri_not_supported`.
    RequestUriNotSupported,
}

impl ErrorCode {
    /// The wire value of the `error` parameter, e.g. `"invalid_request"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::InteractionRequired => "interaction_required",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OAuth protocol error.
///
/// Guarantees:
/// - `description` only contains characters in `%x20-21 / %x23-5B / %x5D-7E`
///   when built with [`OAuthError::new`] or any helper, so it can be sent as
///   `error_description` as is.
/// - `source` is an internal cause meant for logs only; it is never part of
///   [`fmt::Display`] output and must never be sent to a client.
#[derive(Debug, Clone)]
pub struct OAuthError {
    /// The `error` code sent to the client.
    pub code: ErrorCode,
    /// The `error_description` sent to the client (already sanitised).
    pub description: Cow<'static, str>,
    /// Internal cause, only logged, never sent.
    pub source: Option<String>,
}

/// True when `c` may appear in `error_description`.
///
/// RFC 6749 §5.2: "Values for the "error_description" parameter MUST NOT
/// include characters outside the set %x20-21 / %x23-5B / %x5D-7E."
fn is_description_char(c: char) -> bool {
    matches!(c, '\x20'..='\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

/// Replace every character outside the RFC 6749 §5.2 set with '?'.
/// Borrows when nothing needs replacing, so static messages stay free.
fn sanitise(description: Cow<'static, str>) -> Cow<'static, str> {
    if description.chars().all(is_description_char) {
        description
    } else {
        Cow::Owned(
            description
                .chars()
                .map(|c| if is_description_char(c) { c } else { '?' })
                .collect(),
        )
    }
}

impl OAuthError {
    /// Build an error; the description is sanitised to the RFC 6749 §5.2
    /// character set (each other character becomes `'?'`).
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        OAuthError {
            code,
            description: sanitise(description.into()),
            source: None,
        }
    }

    /// Attach an internal cause for logging. It is never sent to a client,
    /// so it is not sanitised.
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// `invalid_request` with the given (sanitised) description.
    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    /// `invalid_grant` with the given (sanitised) description.
    pub fn invalid_grant(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    /// `invalid_client` with the given (sanitised) description.
    pub fn invalid_client(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidClient, description)
    }

    /// `invalid_scope` with the given (sanitised) description.
    pub fn invalid_scope(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidScope, description)
    }

    /// `server_error` with the generic description `"internal error"`; the
    /// real cause goes only into `source` so internals never leak to clients.
    pub fn server_error(source: impl Into<String>) -> Self {
        Self::new(ErrorCode::ServerError, "internal error").with_source(source)
    }

    /// `temporarily_unavailable` with a generic description.
    pub fn temporarily_unavailable() -> Self {
        Self::new(
            ErrorCode::TemporarilyUnavailable,
            "the server is temporarily unavailable",
        )
    }
}

/// Formats as `code: description`; `source` is deliberately left out.
impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

impl std::error::Error for OAuthError {}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_CODES: [(ErrorCode, &str); 17] = [
        (ErrorCode::InvalidRequest, "invalid_request"),
        (ErrorCode::InvalidClient, "invalid_client"),
        (ErrorCode::InvalidGrant, "invalid_grant"),
        (ErrorCode::UnauthorizedClient, "unauthorized_client"),
        (ErrorCode::UnsupportedGrantType, "unsupported_grant_type"),
        (
            ErrorCode::UnsupportedResponseType,
            "unsupported_response_type",
        ),
        (ErrorCode::InvalidScope, "invalid_scope"),
        (ErrorCode::AccessDenied, "access_denied"),
        (ErrorCode::ServerError, "server_error"),
        (ErrorCode::TemporarilyUnavailable, "temporarily_unavailable"),
        (ErrorCode::LoginRequired, "login_required"),
        (ErrorCode::ConsentRequired, "consent_required"),
        (ErrorCode::InteractionRequired, "interaction_required"),
        (ErrorCode::InvalidTarget, "invalid_target"),
        (ErrorCode::UnsupportedTokenType, "unsupported_token_type"),
        (ErrorCode::InvalidToken, "invalid_token"),
        (ErrorCode::InsufficientScope, "insufficient_scope"),
    ];

    #[test]
    fn every_code_has_its_registered_wire_name() {
        for (code, name) in ALL_CODES {
            assert_eq!(code.as_str(), name);
            assert!(name.chars().all(is_description_char));
        }
    }

    #[test]
    fn description_outside_the_allowed_set_is_replaced_by_question_marks() {
        let cases: &[(&str, &str)] = &[
            ("plain text is kept", "plain text is kept"),
            ("quote \" here", "quote ? here"),
            ("back\\slash", "back?slash"),
            ("tab\there", "tab?here"),
            ("new\nline", "new?line"),
            ("del\x7f", "del?"),
            ("nul\0", "nul?"),
            ("caf\u{e9}", "caf?"),
            ("emoji \u{1F600}!", "emoji ?!"),
            ("", ""),
        ];
        for (input, expected) in cases {
            let e = OAuthError::new(ErrorCode::InvalidRequest, input.to_string());
            assert_eq!(e.description, *expected, "input {input:?}");
            assert!(e.description.chars().all(is_description_char));
        }
    }

    #[test]
    fn helpers_sanitise_their_descriptions_too() {
        let e = OAuthError::invalid_scope(String::from("bad \"scope\""));
        assert_eq!(e.code, ErrorCode::InvalidScope);
        assert_eq!(e.description, "bad ?scope?");
    }

    #[test]
    fn clean_static_description_is_borrowed_not_copied() {
        let e = OAuthError::invalid_request("missing parameter");
        assert!(matches!(e.description, Cow::Borrowed(_)));
    }

    #[test]
    fn helpers_set_the_matching_code() {
        assert_eq!(
            OAuthError::invalid_request("x").code,
            ErrorCode::InvalidRequest
        );
        assert_eq!(OAuthError::invalid_grant("x").code, ErrorCode::InvalidGrant);
        assert_eq!(
            OAuthError::invalid_client("x").code,
            ErrorCode::InvalidClient
        );
        assert_eq!(
            OAuthError::temporarily_unavailable().code,
            ErrorCode::TemporarilyUnavailable
        );
    }

    #[test]
    fn server_error_hides_its_cause_from_the_description_and_display() {
        let e = OAuthError::server_error("db password \"hunter2\" rejected");
        assert_eq!(e.code, ErrorCode::ServerError);
        assert_eq!(e.description, "internal error");
        assert_eq!(
            e.source.as_deref(),
            Some("db password \"hunter2\" rejected")
        );
        assert_eq!(e.to_string(), "server_error: internal error");
    }

    #[test]
    fn display_is_code_colon_description() {
        let e = OAuthError::invalid_grant("code expired").with_source("row 42");
        assert_eq!(e.to_string(), "invalid_grant: code expired");
    }

    #[test]
    fn oauth_error_is_a_std_error() {
        let e: Box<dyn std::error::Error> = Box::new(OAuthError::invalid_request("x"));
        assert_eq!(e.to_string(), "invalid_request: x");
    }
}
