//! Which audience (`aud`) an access token gets (RFC 8707, RFC 9068 §3), and the rules for
//! registering a resource server.

use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::scope::{self, Scope};
use crate::storage::resources::Resource;

/// Scopes defined by OpenID Connect. They belong to the authorization server itself, never to
/// a resource server.
pub const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// Whether `scope` is one of the OIDC scopes.
pub fn is_oidc_scope(scope: &str) -> bool {
    OIDC_SCOPES.contains(&scope)
}

fn invalid_target(description: impl Into<std::borrow::Cow<'static, str>>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidTarget, description)
}

/// The audiences of a token for `scopes`, requested with the `resource` parameters
/// `requested_resources` (possibly none).
///
/// Guarantees: every audience returned is a registered resource, the default audience, or
/// the issuer; never an ambiguous mix.
/// - With `resource`: each must be registered, and each requested scope must belong to one
///   of them or be an OIDC scope; otherwise `invalid_target` (RFC 8707 §2).
/// - Without: the one resource owning the requested scopes; scopes of two resources are
///   `invalid_target` (RFC 9068 §5: never an ambiguous audience); none: `default_audience`.
/// - `openid` adds the issuer, the audience of `/userinfo`.
pub fn resolve(
    requested_resources: &[&str],
    scopes: &Scope,
    resources: &[Resource],
    default_audience: &str,
    issuer: &str,
) -> Result<Vec<String>, OAuthError> {
    let mut audiences: Vec<String> = Vec::new();
    if requested_resources.is_empty() {
        for s in scopes.iter().filter(|s| !is_oidc_scope(s)) {
            if let Some(owner) = resources.iter().find(|r| r.owns(s)) {
                if !audiences.contains(&owner.audience) {
                    audiences.push(owner.audience.clone());
                }
            }
        }
        if audiences.len() > 1 {
            return Err(invalid_target(
                "the requested scopes belong to more than one resource; name one with the resource parameter",
            ));
        }
        if audiences.is_empty() {
            audiences.push(default_audience.to_string());
        }
    } else {
        let mut chosen: Vec<&Resource> = Vec::new();
        for requested in requested_resources {
            let found = resources
                .iter()
                .find(|r| r.audience == *requested)
                .ok_or_else(|| {
                    invalid_target("the resource parameter names no registered resource")
                })?;
            if !chosen.iter().any(|c| c.audience == found.audience) {
                chosen.push(found);
            }
        }
        for s in scopes.iter().filter(|s| !is_oidc_scope(s)) {
            if !chosen.iter().any(|r| r.owns(s)) {
                return Err(invalid_target(format!(
                    "scope {s} does not belong to the requested resource"
                )));
            }
        }
        audiences.extend(chosen.iter().map(|r| r.audience.clone()));
    }
    if scopes.contains("openid") && !audiences.iter().any(|a| a == issuer) {
        audiences.push(issuer.to_string());
    }
    Ok(audiences)
}

/// The RFC 8707 `resource` parameters of a request: each "MUST be an absolute URI" and "MUST
/// NOT include a fragment component" (§2), else `invalid_target`. At most 10 distinct values.
/// Returns them deduplicated, in request order.
pub fn requested_resources<'p>(values: &[&'p str]) -> Result<Vec<&'p str>, OAuthError> {
    let mut out: Vec<&str> = Vec::new();
    for value in values {
        let absolute = url::Url::parse(value)
            .is_ok_and(|u| !u.cannot_be_a_base() || value.starts_with("urn:"));
        if !absolute || value.contains('#') {
            return Err(invalid_target(
                "resource must be an absolute URI without a fragment",
            ));
        }
        if !out.contains(value) {
            out.push(value);
        }
    }
    if out.len() > 10 {
        return Err(invalid_target("too many resource parameters"));
    }
    Ok(out)
}

/// Checks a resource's audience: an absolute URI without a fragment (RFC 8707 §2), at most
/// 2048 bytes, and not the issuer (which is the audience of `/userinfo`).
pub fn validate_audience(audience: &str, issuer: &str) -> Result<(), String> {
    if audience.len() > 2048 {
        return Err("audience: at most 2048 characters".into());
    }
    let url = url::Url::parse(audience).map_err(|_| "audience: must be an absolute URI")?;
    if url.fragment().is_some() || audience.contains('#') {
        return Err("audience: must not have a fragment".into());
    }
    if url.cannot_be_a_base() && !audience.starts_with("urn:") {
        return Err("audience: must be an absolute URI such as https://api.example.com".into());
    }
    if audience == issuer {
        return Err("audience: the issuer is not a resource".into());
    }
    Ok(())
}

/// Parses the scopes of a resource: valid scope tokens, at least one, none of them OIDC.
pub fn validate_resource_scope(scope_text: &str) -> Result<Vec<String>, String> {
    let parsed = Scope::parse(scope_text).map_err(|e| format!("scope: {}", e.description))?;
    if parsed.is_empty() {
        return Err("scope: a resource owns at least one scope".into());
    }
    if let Some(s) = parsed.iter().find(|s| is_oidc_scope(s)) {
        return Err(format!(
            "scope: {s} is an OpenID Connect scope, not a resource's"
        ));
    }
    debug_assert!(parsed.iter().all(scope::is_valid_token));
    Ok(parsed.iter().map(str::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISS: &str = "https://auth.example.com";
    const DEFAULT: &str = "https://default.example.com";

    fn resources() -> Vec<Resource> {
        let r = |aud: &str, scopes: &[&str]| Resource {
            audience: aud.into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            introspection_client_id: None,
            created_at: 0,
        };
        vec![
            r("https://api.example.com", &["api:read", "api:write"]),
            r("https://billing.example.com", &["billing"]),
        ]
    }

    #[test]
    fn audiences_follow_the_resource_parameter_and_the_scopes() {
        let ok: &[(&[&str], &str, &[&str])] = &[
            (&[], "api:read", &["https://api.example.com"]),
            (&[], "api:read api:write", &["https://api.example.com"]),
            (&[], "", &[DEFAULT]),
            (&[], "unowned", &[DEFAULT]),
            (&[], "openid", &[DEFAULT, ISS]),
            (
                &[],
                "openid email api:read",
                &["https://api.example.com", ISS],
            ),
            (
                &["https://billing.example.com"],
                "billing",
                &["https://billing.example.com"],
            ),
            (
                &["https://billing.example.com"],
                "openid billing",
                &["https://billing.example.com", ISS],
            ),
            (
                &["https://billing.example.com"],
                "",
                &["https://billing.example.com"],
            ),
            (
                &["https://api.example.com", "https://billing.example.com"],
                "api:read billing",
                &["https://api.example.com", "https://billing.example.com"],
            ),
            (
                &["https://api.example.com", "https://api.example.com"],
                "api:read",
                &["https://api.example.com"],
            ),
        ];
        for (requested, scope, want) in ok {
            let got = resolve(
                requested,
                &Scope::parse(scope).unwrap(),
                &resources(),
                DEFAULT,
                ISS,
            )
            .unwrap_or_else(|e| panic!("{requested:?} {scope}: {e}"));
            assert_eq!(got, want.to_vec(), "{requested:?} {scope}");
        }
    }

    #[test]
    fn ambiguous_or_unknown_targets_are_invalid_target() {
        let bad: &[(&[&str], &str)] = &[
            (&[], "api:read billing"),
            (&["https://unknown.example.com"], "api:read"),
            (&["https://api.example.com"], "billing"),
            (&["https://api.example.com"], "unowned"),
            (&["not a uri"], ""),
        ];
        for (requested, scope) in bad {
            let err = resolve(
                requested,
                &Scope::parse(scope).unwrap(),
                &resources(),
                DEFAULT,
                ISS,
            )
            .unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidTarget, "{requested:?} {scope}");
        }
    }

    #[test]
    fn resource_registration_rules() {
        for good in [
            "https://api.example.com",
            "https://api.example.com/v1",
            "urn:example:api",
        ] {
            assert!(validate_audience(good, ISS).is_ok(), "{good}");
        }
        for bad in ["api", "/relative", "https://api.example.com/#frag", ISS, ""] {
            assert!(validate_audience(bad, ISS).is_err(), "{bad}");
        }
        assert_eq!(
            validate_resource_scope("b a a").unwrap(),
            vec!["a".to_string(), "b".to_string()]
        );
        for bad in ["", "openid", "a\tb", "email x"] {
            assert!(validate_resource_scope(bad).is_err(), "{bad}");
        }
    }
}
