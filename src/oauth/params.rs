//! Strict, duplicate-aware `application/x-www-form-urlencoded` parsing for
//! authorization request query strings and token/revocation request bodies.
//!
//! `url::form_urlencoded::parse` is deliberately not used: it passes
//! malformed `%` escapes through and replaces invalid UTF-8 with U+FFFD, so
//! two different byte strings could decode to the same parameter value.

use std::collections::{BTreeMap, BTreeSet};

/// Most bytes a decoded name or value may have.
const MAX_VALUE_LEN: usize = 4096;
/// Most `name=value` pairs one request may carry.
const MAX_PAIRS: usize = 100;
/// Most characters of a parameter name echoed back in an error message.
const MAX_NAME_IN_MESSAGE: usize = 64;

/// Why an input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    /// Invalid percent-encoding, not UTF-8, a NUL, a name over the length
    /// limit, or too many parameters; the message names the parameter if known.
    #[error("{0}")]
    Malformed(String),
    /// The named parameter's decoded value is over 4096 bytes.
    #[error("parameter '{0}' is too long")]
    TooLong(String),
}

/// Decoded request parameters.
///
/// Guarantees: every stored name and value is valid UTF-8 without NUL, at
/// most 4096 bytes; names are non-empty; at most 100 pairs were read.
#[derive(Debug, Clone, Default)]
pub struct Params {
    /// Name -> first non-empty value (or "" if it was only ever sent empty).
    values: BTreeMap<String, String>,
    /// Names sent more than once with a non-empty value.
    duplicated: BTreeSet<String>,
    /// The later non-empty values of duplicated names, in order (for the few parameters that
    /// may repeat, such as RFC 8707 `resource`).
    repeats: BTreeMap<String, Vec<String>>,
}

/// Why one name or value failed to decode.
enum DecodeError {
    BadPercent,
    NotUtf8,
    Nul,
}

/// Decode one form-urlencoded component strictly: `+` is a space, `%` must be
/// followed by exactly two hex digits, the result must be UTF-8 without NUL.
fn decode(raw: &str) -> Result<String, DecodeError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hi = bytes.get(i + 1).and_then(|&h| hex_value(h));
                let lo = bytes.get(i + 2).and_then(|&l| hex_value(l));
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                    _ => return Err(DecodeError::BadPercent),
                }
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    // A NUL would be truncated by C-based layers (databases, logs) and so
    // could make two values compare differently in different places.
    if out.contains(&0) {
        return Err(DecodeError::Nul);
    }
    String::from_utf8(out).map_err(|_| DecodeError::NotUtf8)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// A parameter name shortened for an error message.
fn short_name(name: &str) -> String {
    name.chars().take(MAX_NAME_IN_MESSAGE).collect()
}

fn malformed(what: &str, err: &DecodeError) -> ParamsError {
    let why = match err {
        DecodeError::BadPercent => "invalid percent-encoding",
        DecodeError::NotUtf8 => "invalid UTF-8",
        DecodeError::Nul => "NUL character",
    };
    ParamsError::Malformed(format!("{why} in {what}"))
}

impl Params {
    /// Parse a query string (without the `?`) or a form body.
    ///
    /// Rules: pairs are split on `&` and empty pairs skipped; name and value
    /// split at the first `=` (a pair with no `=` has an empty value); `+` is
    /// a space; `%` must be followed by two hex digits; decoded bytes must be
    /// UTF-8 without NUL. Pairs whose decoded name is empty are ignored.
    ///
    /// Errors: [`ParamsError::Malformed`] for bad encoding, more than 100
    /// pairs or a name over 4096 bytes; [`ParamsError::TooLong`] naming the
    /// parameter whose decoded value is over 4096 bytes. Never panics.
    pub fn parse(input: &str) -> Result<Params, ParamsError> {
        let mut params = Params::default();
        for (index, pair) in input.split('&').filter(|p| !p.is_empty()).enumerate() {
            // Bounded so one request cannot make us build a huge map.
            if index >= MAX_PAIRS {
                return Err(ParamsError::Malformed("too many parameters".to_owned()));
            }
            let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode(raw_name).map_err(|e| malformed("a parameter name", &e))?;
            if name.len() > MAX_VALUE_LEN {
                return Err(ParamsError::Malformed("parameter name too long".to_owned()));
            }
            let value = decode(raw_value)
                .map_err(|e| malformed(&format!("parameter '{}'", short_name(&name)), &e))?;
            if value.len() > MAX_VALUE_LEN {
                return Err(ParamsError::TooLong(short_name(&name)));
            }
            if name.is_empty() {
                continue;
            }
            params.insert(name, value);
        }
        Ok(params)
    }

    /// Record one pair, tracking names sent twice with a value.
    fn insert(&mut self, name: String, value: String) {
        match self.values.get_mut(&name) {
            // OAuth 2.1 §3.1: "Parameters sent without a value MUST be
            // treated as if they were omitted from the request", so an empty
            // repeat neither counts as a duplicate nor replaces a value.
            Some(_) if value.is_empty() => {}
            Some(existing) if existing.is_empty() => *existing = value,
            // RFC 6749 §3.1: "Request and response parameters MUST NOT be
            // included more than once." Keep the first; callers refuse it.
            Some(_) => {
                self.duplicated.insert(name.clone());
                self.repeats.entry(name).or_default().push(value);
            }
            None => {
                self.values.insert(name, value);
            }
        }
    }

    /// The value of `name`, or `None` when it is absent or was only sent
    /// with an empty value (OAuth 2.1 §3.1: "Parameters sent without a value
    /// MUST be treated as if they were omitted from the request").
    /// For a duplicated name this is the first non-empty value; callers must
    /// check [`Params::is_duplicated`] and refuse the request.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// True when `name` appeared more than once with a non-empty value.
    pub fn is_duplicated(&self, name: &str) -> bool {
        self.duplicated.contains(name)
    }

    /// The first of `names`, in the given order, that is duplicated.
    pub fn first_duplicate<'a>(&self, names: &[&'a str]) -> Option<&'a str> {
        names.iter().copied().find(|n| self.is_duplicated(n))
    }

    /// Some duplicated name, deterministically the lexicographically
    /// smallest, or `None` when nothing is duplicated.
    pub fn any_duplicate(&self) -> Option<&str> {
        self.duplicated.first().map(String::as_str)
    }

    /// Every distinct non-empty name seen, including those sent only with an
    /// empty value, in lexicographic order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// Every non-empty value of `name`, in request order (empty when absent). For the
    /// parameters that may repeat (RFC 8707 `resource`); everything else must be refused
    /// when [`Params::is_duplicated`].
    pub fn all(&self, name: &str) -> Vec<&str> {
        let mut out: Vec<&str> = self.get(name).into_iter().collect();
        if let Some(more) = self.repeats.get(name) {
            out.extend(more.iter().map(String::as_str));
        }
        out
    }

    /// The first name sent more than once, ignoring the names in `repeatable`.
    pub fn any_duplicate_except(&self, repeatable: &[&str]) -> Option<&str> {
        self.duplicated
            .iter()
            .map(String::as_str)
            .find(|n| !repeatable.contains(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a nasty input must produce.
    enum Expect {
        /// Parsed; these `get` results hold and these names are duplicated.
        Ok(
            &'static [(&'static str, Option<&'static str>)],
            &'static [&'static str],
        ),
        /// Refused as malformed, the message containing this text.
        Malformed(&'static str),
        /// Refused as too long, naming this parameter.
        TooLong(&'static str),
    }

    fn pairs(n: usize) -> String {
        (0..n)
            .map(|i| format!("p{i}=v"))
            .collect::<Vec<_>>()
            .join("&")
    }

    #[test]
    fn nasty_inputs_never_panic_and_give_the_documented_result() {
        let long_ok = format!("state={}", "a".repeat(4096));
        let long_bad = format!("state={}", "a".repeat(4097));
        let long_encoded = format!("state={}", "%41".repeat(4097));
        let long_name = format!("{}=1", "n".repeat(4097));
        let cases: Vec<(String, Expect)> = vec![
            ("".into(), Expect::Ok(&[("a", None)], &[])),
            ("%".into(), Expect::Malformed("percent-encoding")),
            ("%zz".into(), Expect::Malformed("percent-encoding")),
            ("a=%".into(), Expect::Malformed("parameter 'a'")),
            ("a=%4".into(), Expect::Malformed("percent-encoding")),
            ("a=%4g".into(), Expect::Malformed("percent-encoding")),
            ("a=%%41".into(), Expect::Malformed("percent-encoding")),
            ("%C3%28=1".into(), Expect::Malformed("UTF-8")),
            (
                "a=%C3%28".into(),
                Expect::Malformed("UTF-8 in parameter 'a'"),
            ),
            ("a=%C3".into(), Expect::Malformed("UTF-8")),
            ("a=%FF".into(), Expect::Malformed("UTF-8")),
            (
                "a=%00".into(),
                Expect::Malformed("NUL character in parameter 'a'"),
            ),
            ("a%00=1".into(), Expect::Malformed("NUL")),
            ("a=x\0y".into(), Expect::Malformed("NUL")),
            ("=&&=".into(), Expect::Ok(&[("", None)], &[])),
            ("&&&".into(), Expect::Ok(&[], &[])),
            ("=1".into(), Expect::Ok(&[("", None)], &[])),
            ("a=1&a=2".into(), Expect::Ok(&[("a", Some("1"))], &["a"])),
            ("a=1&a=1".into(), Expect::Ok(&[("a", Some("1"))], &["a"])),
            ("a=&a=2".into(), Expect::Ok(&[("a", Some("2"))], &[])),
            ("a=1&a=".into(), Expect::Ok(&[("a", Some("1"))], &[])),
            ("a&a".into(), Expect::Ok(&[("a", None)], &[])),
            ("a".into(), Expect::Ok(&[("a", None)], &[])),
            ("a=".into(), Expect::Ok(&[("a", None)], &[])),
            ("a==b".into(), Expect::Ok(&[("a", Some("=b"))], &[])),
            ("a=b+c%20d".into(), Expect::Ok(&[("a", Some("b c d"))], &[])),
            ("a=%2B%26%3D".into(), Expect::Ok(&[("a", Some("+&="))], &[])),
            ("a=%c3%a9".into(), Expect::Ok(&[("a", Some("\u{e9}"))], &[])),
            (
                "a=\u{e9}t\u{e9}".into(),
                Expect::Ok(&[("a", Some("\u{e9}t\u{e9}"))], &[]),
            ),
            (
                "\u{1F600}=%F0%9F%98%80".into(),
                Expect::Ok(&[("\u{1F600}", Some("\u{1F600}"))], &[]),
            ),
            (
                "a%3Db=c".into(),
                Expect::Ok(&[("a=b", Some("c")), ("a", None)], &[]),
            ),
            (
                "A=1&a=2".into(),
                Expect::Ok(&[("A", Some("1")), ("a", Some("2"))], &[]),
            ),
            (long_ok, Expect::Ok(&[], &[])),
            (long_bad, Expect::TooLong("state")),
            (long_encoded, Expect::TooLong("state")),
            (long_name, Expect::Malformed("name too long")),
            (
                pairs(100),
                Expect::Ok(&[("p0", Some("v")), ("p99", Some("v"))], &[]),
            ),
            (pairs(101), Expect::Malformed("too many parameters")),
            (
                format!("{}&&&", pairs(100)),
                Expect::Ok(&[("p99", Some("v"))], &[]),
            ),
        ];
        for (input, expect) in &cases {
            let shown: String = input.chars().take(40).collect();
            let result = Params::parse(input);
            match (expect, result) {
                (Expect::Ok(gets, dups), Ok(params)) => {
                    for (name, value) in *gets {
                        assert_eq!(params.get(name), *value, "{shown:?}: get({name:?})");
                    }
                    for dup in *dups {
                        assert!(params.is_duplicated(dup), "{shown:?}: {dup} duplicated");
                    }
                    assert_eq!(params.any_duplicate(), dups.first().copied(), "{shown:?}");
                }
                (Expect::Malformed(needle), Err(ParamsError::Malformed(msg))) => {
                    assert!(msg.contains(needle), "{shown:?}: {msg:?} lacks {needle:?}");
                }
                (Expect::TooLong(name), Err(ParamsError::TooLong(got))) => {
                    assert_eq!(got, *name, "{shown:?}");
                }
                (_, other) => panic!("{shown:?}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn pseudo_random_inputs_never_panic_and_keep_the_invariants() {
        // Fixed-seed xorshift so the test is reproducible without extra crates.
        const PIECES: &[&str] = &[
            "a", "b", "=", "&", "%", "%4", "%41", "%C3", "%A9", "%00", "%zz", "+", "\u{e9}", "%FF",
            "", " ", "==", "&&",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..5000 {
            let len = (next() % 24) as usize;
            let input: String = (0..len)
                .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                .collect();
            if let Ok(params) = Params::parse(&input) {
                for name in params.names() {
                    assert!(!name.is_empty(), "{input:?}");
                    assert!(!name.contains('\0'), "{input:?}");
                    if let Some(v) = params.get(name) {
                        assert!(!v.is_empty() && !v.contains('\0'), "{input:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn first_duplicate_follows_the_given_order() {
        let params = Params::parse("z=1&a=1&z=2&a=2&m=1").expect("well-formed");
        assert_eq!(params.first_duplicate(&["m", "z", "a"]), Some("z"));
        assert_eq!(params.first_duplicate(&["a", "z"]), Some("a"));
        assert_eq!(params.first_duplicate(&["m", "x"]), None);
        assert_eq!(params.any_duplicate(), Some("a"));
        assert!(!params.is_duplicated("m"));
    }

    #[test]
    fn names_lists_every_name_once_in_order_including_empty_valued_ones() {
        let params = Params::parse("b=1&a=&c&b=").expect("well-formed");
        assert_eq!(params.names().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(params.get("a"), None);
        assert_eq!(params.get("b"), Some("1"));
    }

    #[test]
    fn typical_authorization_query_parses() {
        let params = Params::parse(
            "response_type=code&client_id=s6BhdRkqt3&state=xyz\
             &redirect_uri=https%3A%2F%2Fclient%2Eexample%2Ecom%2Fcb\
             &code_challenge=6fdkQaPm51l13DSukcAH3Mdx7_ntecHYd1vi3n0hMZY\
             &code_challenge_method=S256",
        )
        .expect("well-formed");
        assert_eq!(params.get("response_type"), Some("code"));
        assert_eq!(
            params.get("redirect_uri"),
            Some("https://client.example.com/cb")
        );
        assert_eq!(params.get("code_challenge_method"), Some("S256"));
        assert_eq!(params.any_duplicate(), None);
    }

    #[test]
    fn errors_display_their_message() {
        assert_eq!(
            ParamsError::TooLong("state".into()).to_string(),
            "parameter 'state' is too long"
        );
        assert_eq!(ParamsError::Malformed("x".into()).to_string(), "x");
    }
}
