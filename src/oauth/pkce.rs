//! Proof Key for Code Exchange (RFC 7636), `S256` only.
//!
//! OAuth 2.1 §7.5.2 lets servers refuse `plain`; we do, because `plain`
//! gives no protection if the authorization request is observed.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::oauth::error::OAuthError;

/// Length of BASE64URL-NOPAD(SHA-256(..)): 32 bytes encode to 43 characters.
const S256_CHALLENGE_LEN: usize = 43;
/// RFC 7636 §4.1: "with a minimum length of 43 characters and a maximum
/// length of 128 characters".
const VERIFIER_MIN_LEN: usize = 43;
const VERIFIER_MAX_LEN: usize = 128;

/// True for the base64url alphabet without padding (RFC 4648 §5).
fn is_base64url_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// True for RFC 3986 unreserved characters, the verifier alphabet.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Validate the `code_challenge` / `code_challenge_method` pair of an
/// authorization request.
///
/// Guarantees `Ok(())` only when the method is exactly `"S256"` and the
/// challenge is exactly 43 base64url characters (a SHA-256 digest with no
/// padding). Checks run in this order, each failing with `invalid_request`:
/// 1. missing or empty challenge: "code challenge required";
/// 2. method missing or not exactly `"S256"`: "transform algorithm not supported";
/// 3. malformed challenge: "code_challenge must be 43 base64url characters".
pub fn validate_challenge(challenge: Option<&str>, method: Option<&str>) -> Result<(), OAuthError> {
    // OAuth 2.1 makes PKCE mandatory for the authorization code grant; we
    // require it of every client, public or confidential.
    let challenge = match challenge {
        Some(c) if !c.is_empty() => c,
        _ => return Err(OAuthError::invalid_request("code challenge required")),
    };
    // RFC 7636 §4.3: "Defaults to "plain" if not present in the request."
    // So a missing method means `plain`, which we refuse like any other
    // non-S256 value. The comparison is case-sensitive: the registered
    // method name is "S256", and "s256" is not it.
    // RFC 7636 §4.4.1: "If the server supporting PKCE does not support the
    // requested transformation, the authorization endpoint MUST return the
    // authorization error response with "error" value set to
    // "invalid_request". The "error_description" or the response of
    // "error_uri" SHOULD explain the nature of error, e.g., transform
    // algorithm not supported."
    if method != Some("S256") {
        return Err(OAuthError::invalid_request(
            "transform algorithm not supported",
        ));
    }
    // An S256 challenge is BASE64URL-ENCODE(SHA256(..)) (RFC 7636 §4.2) and
    // RFC 7636 §3 defines base64url with trailing '=' omitted, so
    // anything but 43 characters of that alphabet can never match a verifier.
    if challenge.len() != S256_CHALLENGE_LEN || !challenge.bytes().all(is_base64url_char) {
        return Err(OAuthError::invalid_request(
            "code_challenge must be 43 base64url characters",
        ));
    }
    Ok(())
}

/// Validate a `code_verifier` from a token request.
///
/// Guarantees `Ok(())` only for 43 to 128 characters, each an RFC 3986
/// unreserved character `[A-Za-z0-9-._~]`; otherwise `invalid_request`.
pub fn validate_verifier(verifier: &str) -> Result<(), OAuthError> {
    // RFC 7636 §4.1: code-verifier = 43*128unreserved
    let len = verifier.len();
    if !(VERIFIER_MIN_LEN..=VERIFIER_MAX_LEN).contains(&len) {
        return Err(OAuthError::invalid_request(
            "code_verifier must be 43 to 128 characters",
        ));
    }
    if !verifier.bytes().all(is_unreserved) {
        return Err(OAuthError::invalid_request(
            "code_verifier contains characters outside [A-Za-z0-9-._~]",
        ));
    }
    Ok(())
}

/// The S256 transformation: `BASE64URL-NOPAD(SHA256(ASCII(verifier)))`
/// (RFC 7636 §4.2). Always returns 43 base64url characters.
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// True when `s256(verifier)` equals `challenge`, compared in constant time
/// so the comparison does not leak how many leading characters matched.
///
/// It does not check the verifier's syntax: call [`validate_verifier`] first.
pub fn verify(verifier: &str, challenge: &str) -> bool {
    // RFC 7636 §4.6: "If the values are equal, the token endpoint MUST
    // continue processing as normal ... If the values are not equal, an
    // error response indicating "invalid_grant" ... MUST be returned."
    let computed = s256(verifier);
    computed.as_bytes().ct_eq(challenge.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::error::ErrorCode;

    const RFC7636_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const RFC7636_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const OAUTH21_VERIFIER: &str = "3641a2d12d66101249cdf7a79c000c1f8c05d2aafcf14bf146497bed";
    const OAUTH21_CHALLENGE: &str = "6fdkQaPm51l13DSukcAH3Mdx7_ntecHYd1vi3n0hMZY";

    #[test]
    fn rfc7636_appendix_b_vector_transforms_to_its_challenge() {
        assert_eq!(s256(RFC7636_VERIFIER), RFC7636_CHALLENGE);
        assert!(verify(RFC7636_VERIFIER, RFC7636_CHALLENGE));
    }

    #[test]
    fn oauth21_example_vector_transforms_to_its_challenge() {
        assert_eq!(s256(OAUTH21_VERIFIER), OAUTH21_CHALLENGE);
        assert!(verify(OAUTH21_VERIFIER, OAUTH21_CHALLENGE));
    }

    #[test]
    fn example_vectors_are_valid_verifiers_and_challenges() {
        for (v, c) in [
            (RFC7636_VERIFIER, RFC7636_CHALLENGE),
            (OAUTH21_VERIFIER, OAUTH21_CHALLENGE),
        ] {
            assert!(validate_verifier(v).is_ok());
            assert!(validate_challenge(Some(c), Some("S256")).is_ok());
        }
    }

    #[test]
    fn wrong_verifier_does_not_verify() {
        let cases: &[(&str, &str)] = &[
            (OAUTH21_VERIFIER, RFC7636_CHALLENGE),
            (RFC7636_VERIFIER, ""),
            (
                RFC7636_VERIFIER,
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c",
            ),
            (
                RFC7636_VERIFIER,
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM=",
            ),
            // `plain` would compare the verifier itself; that must not pass.
            (RFC7636_VERIFIER, RFC7636_VERIFIER),
        ];
        for (verifier, challenge) in cases {
            assert!(!verify(verifier, challenge), "{verifier} / {challenge}");
        }
    }

    #[test]
    fn bad_challenges_are_refused_with_the_documented_message() {
        let ok = RFC7636_CHALLENGE;
        let c42 = &RFC7636_CHALLENGE[..42];
        let c44 = format!("{RFC7636_CHALLENGE}A");
        let with_pad = format!("{c42}=");
        let with_plus = format!("{}+{}", &ok[..10], &ok[11..]);
        let with_slash = format!("{}/{}", &ok[..10], &ok[11..]);
        let cases: &[(Option<&str>, Option<&str>, &str)] = &[
            (None, Some("S256"), "code challenge required"),
            (Some(""), Some("S256"), "code challenge required"),
            (None, None, "code challenge required"),
            (Some(ok), None, "transform algorithm not supported"),
            (Some(ok), Some("plain"), "transform algorithm not supported"),
            (Some(ok), Some("s256"), "transform algorithm not supported"),
            (Some(ok), Some("S256 "), "transform algorithm not supported"),
            (Some(ok), Some(""), "transform algorithm not supported"),
            (Some(ok), Some("S512"), "transform algorithm not supported"),
            (
                Some(c42),
                Some("S256"),
                "code_challenge must be 43 base64url characters",
            ),
            (
                Some(&c44),
                Some("S256"),
                "code_challenge must be 43 base64url characters",
            ),
            (
                Some(&with_pad),
                Some("S256"),
                "code_challenge must be 43 base64url characters",
            ),
            (
                Some(&with_plus),
                Some("S256"),
                "code_challenge must be 43 base64url characters",
            ),
            (
                Some(&with_slash),
                Some("S256"),
                "code_challenge must be 43 base64url characters",
            ),
        ];
        for (challenge, method, message) in cases {
            let err = validate_challenge(*challenge, *method)
                .expect_err(&format!("{challenge:?} / {method:?} must be refused"));
            assert_eq!(err.code, ErrorCode::InvalidRequest);
            assert_eq!(err.description, *message, "{challenge:?} / {method:?}");
        }
    }

    #[test]
    fn plain_method_is_refused_even_with_a_well_formed_challenge() {
        let err = validate_challenge(Some(RFC7636_CHALLENGE), Some("plain"))
            .expect_err("plain must be refused");
        assert_eq!(err.code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn bad_verifiers_are_refused_as_invalid_request() {
        let v42 = "a".repeat(42);
        let v129 = "a".repeat(129);
        let base = &RFC7636_VERIFIER[..42];
        let with_plus = format!("{base}+");
        let with_slash = format!("{base}/");
        let with_eq = format!("{base}=");
        let with_space = format!("{base} ");
        let with_unicode = format!("{}\u{e9}", &RFC7636_VERIFIER[..41]);
        let cases: &[&str] = &[
            "",
            &v42,
            &v129,
            &with_plus,
            &with_slash,
            &with_eq,
            &with_space,
            &with_unicode,
        ];
        for verifier in cases {
            let err =
                validate_verifier(verifier).expect_err(&format!("{verifier:?} must be refused"));
            assert_eq!(err.code, ErrorCode::InvalidRequest, "{verifier:?}");
        }
    }

    #[test]
    fn verifier_length_bounds_are_inclusive() {
        assert!(validate_verifier(&"a".repeat(43)).is_ok());
        assert!(validate_verifier(&"Z".repeat(128)).is_ok());
        assert!(validate_verifier("-._~-._~-._~-._~-._~-._~-._~-._~-._~-._~abc").is_ok());
    }

    #[test]
    fn s256_output_is_always_a_valid_challenge() {
        for v in ["", "a", RFC7636_VERIFIER, &"x".repeat(128)] {
            let c = s256(v);
            assert!(validate_challenge(Some(&c), Some("S256")).is_ok(), "{v}");
        }
    }
}
