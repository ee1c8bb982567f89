//! Access token scope (RFC 6749 §3.3).

use std::collections::BTreeSet;
use std::fmt;

use crate::oauth::error::OAuthError;

/// Upper bound on the length of a `scope` parameter, in bytes.
const MAX_SCOPE_LEN: usize = 2048;

/// A set of scope tokens.
///
/// Guarantees: tokens are unique and iterate in sorted (byte-wise) order, so
/// [`fmt::Display`] is canonical. A `Scope` from [`Scope::parse`] holds only
/// tokens for which [`is_valid_token`] is true.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scope(BTreeSet<String>);

/// True when `token` is a valid RFC 6749 §3.3 `scope-token`:
/// one or more `NQCHAR = %x21 / %x23-5B / %x5D-7E`.
pub fn is_valid_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

impl Scope {
    /// Parse a `scope` parameter.
    ///
    /// Guarantees `Ok` only when `s` is at most 2048 bytes and every token
    /// between spaces is a valid `scope-token`; empty tokens from repeated,
    /// leading or trailing spaces are ignored, so `""` is the empty scope.
    /// Otherwise returns `invalid_scope` ("malformed scope" for bad
    /// characters such as tab, `"`, `\` or non-ASCII).
    pub fn parse(s: &str) -> Result<Scope, OAuthError> {
        // Bounded so a hostile request cannot make us allocate a huge set.
        if s.len() > MAX_SCOPE_LEN {
            return Err(OAuthError::invalid_scope("scope is too long"));
        }
        // RFC 6749 §3.3: scope = scope-token *( SP scope-token ). Only SP
        // separates tokens; we are lenient only in skipping empty tokens.
        let mut tokens = BTreeSet::new();
        for token in s.split(' ').filter(|t| !t.is_empty()) {
            // scope-token = 1*NQCHAR; anything else (tab, '"', '\', non-ASCII,
            // control characters) is not a token.
            if !is_valid_token(token) {
                return Err(OAuthError::invalid_scope("malformed scope"));
            }
            tokens.insert(token.to_owned());
        }
        Ok(Scope(tokens))
    }

    /// Build a scope from tokens the server itself trusts (configuration,
    /// stored grants). Empty strings are skipped; nothing else is checked, so
    /// use [`Scope::parse`] for anything a client sent.
    pub fn from_tokens<I, S>(it: I) -> Scope
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Scope(
            it.into_iter()
                .map(Into::into)
                .filter(|t| !t.is_empty())
                .collect(),
        )
    }

    /// True when `token` is one of this scope's tokens (exact, case-sensitive:
    /// RFC 6749 §3.3 says the strings are "case-sensitive").
    pub fn contains(&self, token: &str) -> bool {
        self.0.contains(token)
    }

    /// True when every token of `self` is in `other`; the empty scope is a
    /// subset of everything.
    pub fn is_subset_of(&self, other: &Scope) -> bool {
        self.0.is_subset(&other.0)
    }

    /// True when there are no tokens.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The tokens in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The tokens present in both scopes.
    pub fn intersection(&self, other: &Scope) -> Scope {
        Scope(self.0.intersection(&other.0).cloned().collect())
    }
}

/// The tokens, sorted, joined by single spaces: the canonical `scope` value.
impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, token) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(token)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::error::ErrorCode;

    #[test]
    fn well_formed_scopes_parse_to_sorted_unique_tokens() {
        let cases: &[(&str, &str)] = &[
            ("", ""),
            (" ", ""),
            ("openid", "openid"),
            ("openid profile email", "email openid profile"),
            ("  openid   profile ", "openid profile"),
            ("read read write", "read write"),
            ("Read read", "Read read"),
            (
                "!#[]~ https://api.example/x:read",
                "!#[]~ https://api.example/x:read",
            ),
        ];
        for (input, expected) in cases {
            let scope = Scope::parse(input).expect(input);
            assert_eq!(scope.to_string(), *expected, "{input:?}");
        }
    }

    #[test]
    fn malformed_scopes_are_refused_as_invalid_scope() {
        let too_long = "a ".repeat(1025);
        let cases: &[&str] = &[
            "open\tid",
            "openid\tprofile",
            "\"openid\"",
            "back\\slash",
            "caf\u{e9}",
            "openid\nprofile",
            "nul\0",
            "del\x7f",
            "openid\u{a0}profile",
            &too_long,
        ];
        for input in cases {
            let err = Scope::parse(input).expect_err(&format!("{input:?} must be refused"));
            assert_eq!(err.code, ErrorCode::InvalidScope, "{input:?}");
        }
    }

    #[test]
    fn bad_characters_are_reported_as_malformed_scope() {
        let err = Scope::parse("a\"b").expect_err("quote is not NQCHAR");
        assert_eq!(err.description, "malformed scope");
    }

    #[test]
    fn scope_of_exactly_2048_bytes_is_accepted() {
        let s = "a".repeat(2048);
        assert!(Scope::parse(&s).is_ok());
        assert!(Scope::parse(&format!("{s}b")).is_err());
    }

    #[test]
    fn token_validity_follows_nqchar() {
        let cases: &[(&str, bool)] = &[
            ("a", true),
            ("!", true),
            ("#", true),
            ("[", true),
            ("]", true),
            ("~", true),
            ("", false),
            (" ", false),
            ("\"", false),
            ("\\", false),
            ("\x7f", false),
            ("\u{e9}", false),
            ("a b", false),
        ];
        for (token, expected) in cases {
            assert_eq!(is_valid_token(token), *expected, "{token:?}");
        }
    }

    #[test]
    fn set_operations_behave_like_sets() {
        let granted = Scope::from_tokens(["openid", "profile", "email"]);
        let requested = Scope::parse("profile openid").expect("valid");
        let other = Scope::parse("admin openid").expect("valid");
        assert!(requested.is_subset_of(&granted));
        assert!(!other.is_subset_of(&granted));
        assert!(Scope::default().is_subset_of(&granted));
        assert!(Scope::default().is_empty());
        assert!(!granted.is_empty());
        assert_eq!(other.intersection(&granted).to_string(), "openid");
        assert!(granted.contains("email"));
        assert!(!granted.contains("Email"));
        assert_eq!(
            granted.iter().collect::<Vec<_>>(),
            ["email", "openid", "profile"]
        );
    }

    #[test]
    fn from_tokens_skips_empty_strings_and_deduplicates() {
        let scope = Scope::from_tokens(vec![
            String::from("b"),
            String::new(),
            "a".into(),
            "b".into(),
        ]);
        assert_eq!(scope.to_string(), "a b");
    }

    #[test]
    fn display_round_trips_through_parse() {
        let scope = Scope::parse("z y x").expect("valid");
        assert_eq!(Scope::parse(&scope.to_string()).expect("valid"), scope);
    }
}
