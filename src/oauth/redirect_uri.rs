//! Redirect URI registration rules and request matching
//! (OAuth 2.1 §2.3, RFC 8252 §7 and §8, RFC 3986 §6.2.1).
//!
//! Matching works on the raw strings, never on `url`-normalised forms: the
//! `url` crate silently rewrites input (lower-cases hosts, turns `\` into `/`,
//! drops tabs and newlines, reads `127.1` as `127.0.0.1`), and anything it
//! rewrites could make two different strings look equal.

use url::{Host, Url};

/// What kind of client registered the URI; native apps get the RFC 8252
/// exceptions (loopback port, private-use schemes), web apps do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplicationType {
    /// A confidential or public client running on a web server or in a browser.
    Web,
    /// A native app (RFC 8252).
    Native,
}

/// Upper bound on a registered redirect URI, in bytes.
const MAX_URI_LEN: usize = 2000;

/// Schemes that execute or read content locally instead of redirecting.
const FORBIDDEN_SCHEMES: [&str; 4] = ["javascript", "data", "file", "vbscript"];

/// The two loopback literals RFC 8252 §7.3 allows for `http`.
const LOOPBACK_HOSTS: [&str; 2] = ["127.0.0.1", "[::1]"];

/// A `scheme://authority rest` URI cut into raw slices.
struct RawAuthorityUri<'a> {
    scheme: &'a str,
    host: &'a str,
    port: Option<&'a str>,
    /// Path, query and fragment: everything after the authority.
    rest: &'a str,
}

/// Split `uri` into `(scheme, authority, rest)` on the raw bytes, where the
/// authority runs from after `://` up to the first `/`, `?` or `#`.
fn raw_authority(uri: &str) -> Option<(&str, &str, &str)> {
    let (scheme, after) = uri.split_once("://")?;
    if scheme.is_empty() || scheme.contains(['/', '?', '#']) {
        return None;
    }
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    Some((scheme, authority, rest))
}

/// Split `uri` into scheme, host, optional port and rest, on the raw bytes.
/// Returns `None` when there is no `scheme://` prefix or the authority
/// contains userinfo (`@`), so userinfo can never slip into a "host".
fn split_raw(uri: &str) -> Option<RawAuthorityUri<'_>> {
    let (scheme, authority, rest) = raw_authority(uri)?;
    if authority.contains('@') {
        return None;
    }
    let (host, port) = if authority.starts_with('[') {
        let close = authority.find(']')?;
        let (host, tail) = authority.split_at(close + 1);
        match tail.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if tail.is_empty() => (host, None),
            None => return None,
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    Some(RawAuthorityUri {
        scheme,
        host,
        port,
        rest,
    })
}

/// True for a port of one or more ASCII digits with a value of at most 65535.
fn is_valid_port(port: &str) -> bool {
    // `u16::from_str` alone would accept a leading '+', so check digits first.
    !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok()
}

/// The raw parts of `uri` if it is an `http` URI whose host is exactly the
/// literal `127.0.0.1` or `[::1]` and whose port, if any, is valid.
fn raw_loopback(uri: &str) -> Option<RawAuthorityUri<'_>> {
    let raw = split_raw(uri)?;
    let port_ok = raw.port.is_none_or(is_valid_port);
    (raw.scheme.eq_ignore_ascii_case("http") && LOOPBACK_HOSTS.contains(&raw.host) && port_ok)
        .then_some(raw)
}

/// Check a redirect URI submitted at client registration.
///
/// Guarantees that an accepted URI is at most 2000 bytes of printable ASCII
/// (no spaces, no `\`), is absolute, has no fragment, no `*`, no userinfo,
/// is not `javascript:`/`data:`/`file:`/`vbscript:`, and is one of:
/// - `https` with a host;
/// - `http` whose host is exactly `127.0.0.1` or `[::1]` (any port);
/// - for [`ApplicationType::Native`] only, a private-use scheme containing `.`.
///
/// The `Err` string is a human-readable message naming the problem.
pub fn validate_for_registration(uri: &str, app_type: ApplicationType) -> Result<(), String> {
    if uri.len() > MAX_URI_LEN {
        return Err(format!("redirect URI is longer than {MAX_URI_LEN} bytes"));
    }
    // The raw string is what we store and compare byte-for-byte later, but
    // the url crate strips or rewrites whitespace, control characters and
    // '\', so such a URI would be validated as something other than itself.
    if let Some(c) = uri.chars().find(|c| !c.is_ascii_graphic() || *c == '\\') {
        return Err(format!("redirect URI contains a forbidden character {c:?}"));
    }
    // RFC 6749 §3.1.2 / OAuth 2.1 §2.3: "The endpoint URI MUST NOT include
    // a fragment component." Checked on the raw string: no '#' at all, whatever the
    // parser would make of it.
    if uri.contains('#') {
        return Err("redirect URI must not contain a fragment ('#')".to_owned());
    }
    // OAuth 2.1 §2.3.1 requires exact string matching, so a wildcard could
    // only ever be a mistake or an attempt to register a pattern.
    if uri.contains('*') {
        return Err("redirect URI must not contain a wildcard ('*')".to_owned());
    }
    // RFC 6749 §3.1.2: "The redirection endpoint URI MUST be an absolute URI
    // as defined by [RFC3986] Section 4.3."
    let url = Url::parse(uri).map_err(|e| format!("redirect URI is not an absolute URI: {e}"))?;
    let scheme = url.scheme();
    if FORBIDDEN_SCHEMES.contains(&scheme) {
        return Err(format!("redirect URI scheme '{scheme}' is not allowed"));
    }
    // Userinfo lets "https://good.example@evil.example/" read as good.example
    // to a human; checked raw too because url drops an empty "@".
    let raw_userinfo = raw_authority(uri).is_some_and(|(_, authority, _)| authority.contains('@'));
    if !url.username().is_empty() || url.password().is_some() || raw_userinfo {
        return Err("redirect URI must not contain userinfo ('user@')".to_owned());
    }
    match scheme {
        "https" if url.host().is_some() => Ok(()),
        "https" => Err("https redirect URI must have a host".to_owned()),
        "http" => {
            // RFC 8252 §7.3: loopback redirects use "http" with the loopback
            // IP literal; the exact literal is required so that nothing the
            // url crate would normalise (e.g. "127.1") is accepted.
            if raw_loopback(uri).is_some() {
                Ok(())
            } else if url
                .host_str()
                .is_some_and(|h| h.eq_ignore_ascii_case("localhost"))
            {
                // RFC 8252 §8.3: "the use of localhost is NOT RECOMMENDED",
                // since the name may resolve to a non-loopback interface.
                Err("http://localhost is not allowed; use http://127.0.0.1 or http://[::1] (RFC 8252 §8.3)".to_owned())
            } else {
                Err("http is allowed only for loopback redirect URIs (http://127.0.0.1 or http://[::1])".to_owned())
            }
        }
        _ => match app_type {
            ApplicationType::Web => Err(format!(
                "web applications must use https redirect URIs, not '{scheme}'"
            )),
            // RFC 8252 §7.1: "When choosing a URI scheme to associate with
            // the app, apps MUST use a URI scheme based on a domain name
            // under their control, expressed in reverse order".
            ApplicationType::Native if scheme.contains('.') => Ok(()),
            ApplicationType::Native => Err(format!(
                "private-use URI scheme '{scheme}' must be in reverse domain name form, e.g. com.example.app (RFC 8252 §7.1)"
            )),
        },
    }
}

/// Decide whether a `requested` redirect URI matches a `registered` one.
///
/// Guarantees:
/// - a `requested` URI containing `#` never matches;
/// - byte-for-byte equal strings match (simple string comparison);
/// - otherwise, only for [`ApplicationType::Native`], when `registered` is an
///   `http` loopback URI (host exactly `127.0.0.1` or `[::1]`) and `requested`
///   is `http` with the same raw host, they match iff the two raw strings are
///   byte-identical once the `:port` (digits, at most 65535) is removed from
///   each authority;
/// - nothing else matches: no case folding, no normalisation.
pub fn matches(registered: &str, requested: &str, app_type: ApplicationType) -> bool {
    // RFC 6749 §3.1.2: "The endpoint URI MUST NOT include a fragment
    // component."
    if requested.contains('#') {
        return false;
    }
    // OAuth 2.1 §2.3.1: "Authorization servers MUST require clients to
    // register their complete redirect URI" and compare "using simple string
    // comparison as defined in [RFC3986], Section 6.2.1."
    if registered.as_bytes() == requested.as_bytes() {
        return true;
    }
    if app_type != ApplicationType::Native {
        return false;
    }
    // RFC 8252 §7.3: "The authorization server MUST allow any port to be
    // specified at the time of the request for loopback IP redirect URIs, to
    // accommodate clients that obtain an available ephemeral port from the
    // operating system at the time of the request."
    match (raw_loopback(registered), raw_loopback(requested)) {
        (Some(reg), Some(req)) => {
            reg.scheme.as_bytes() == req.scheme.as_bytes()
                && reg.host.as_bytes() == req.host.as_bytes()
                && reg.rest.as_bytes() == req.rest.as_bytes()
        }
        _ => false,
    }
}

/// True when `uri` is an `http` URI whose raw host is exactly the loopback
/// literal `127.0.0.1` or `[::1]`, with no userinfo and a valid port if any.
/// `localhost` and other spellings of the loopback address are not loopback
/// here (RFC 8252 §8.3).
pub fn is_loopback(uri: &str) -> bool {
    raw_loopback(uri).is_some()
}

/// True when `uri` parses as an absolute `https` URI whose host is not a
/// loopback address: not `localhost` or `*.localhost`, and not an IP in
/// 127.0.0.0/8 or `::1` (RFC 8252 §7.2 "claimed https scheme" redirects).
pub fn is_claimed_https(uri: &str) -> bool {
    let Ok(url) = Url::parse(uri) else {
        return false;
    };
    if url.scheme() != "https" {
        return false;
    }
    match url.host() {
        Some(Host::Domain(d)) => {
            let d = d.trim_end_matches('.');
            !d.is_empty() && d != "localhost" && !d.ends_with(".localhost")
        }
        Some(Host::Ipv4(ip)) => !ip.is_loopback(),
        Some(Host::Ipv6(ip)) => !ip.is_loopback(),
        None => false,
    }
}

/// Append `params`, `application/x-www-form-urlencoded`, to the query of
/// `uri`, keeping any existing query as is.
///
/// Guarantees: the result starts with `uri`'s text up to any `#`; the new
/// pairs follow after `?` (no query yet) or `&` (a query that does not already
/// end in `?` or `&`); with no params `uri` is returned unchanged. A fragment,
/// which registration forbids anyway, is kept after the query.
pub fn append_query(uri: &str, params: &[(&str, &str)]) -> String {
    if params.is_empty() {
        return uri.to_owned();
    }
    // RFC 6749 §3.1.2 / OAuth 2.1 §2.3: the endpoint URI "MAY include ... a
    // query component ..., which MUST be retained when adding additional
    // query parameters."
    let (base, fragment) = match uri.find('#') {
        Some(i) => uri.split_at(i),
        None => (uri, ""),
    };
    let encoded = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let separator = match base.find('?') {
        None => "?",
        Some(_) if base.ends_with('?') || base.ends_with('&') => "",
        Some(_) => "&",
    };
    let mut out =
        String::with_capacity(base.len() + separator.len() + encoded.len() + fragment.len());
    out.push_str(base);
    out.push_str(separator);
    out.push_str(&encoded);
    out.push_str(fragment);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ApplicationType::{Native, Web};

    #[test]
    fn acceptable_redirect_uris_are_registered() {
        let cases: &[(&str, ApplicationType)] = &[
            ("https://client.example.com/cb", Web),
            ("https://client.example.com/cb", Native),
            ("https://client.example.com/cb?tenant=a&x=1", Web),
            ("https://client.example.com:8443/cb", Web),
            ("https://client.example.com", Web),
            ("https://192.0.2.10/cb", Web),
            ("http://127.0.0.1/cb", Native),
            ("http://127.0.0.1:8080/cb", Native),
            ("http://[::1]/cb", Native),
            ("http://[::1]:51234/cb", Native),
            ("http://127.0.0.1:8080/cb", Web),
            ("com.example.app:/callback", Native),
            ("com.example.app://callback", Native),
            ("com.example.app:/oauth2redirect/example-provider", Native),
        ];
        for (uri, app_type) in cases {
            assert_eq!(
                validate_for_registration(uri, *app_type),
                Ok(()),
                "{uri} for {app_type:?}"
            );
        }
    }

    #[test]
    fn unacceptable_redirect_uris_are_refused_with_a_message_naming_the_problem() {
        let too_long = format!("https://client.example.com/{}", "a".repeat(2000));
        let cases: &[(&str, ApplicationType, &str)] = &[
            ("", Native, "absolute"),
            ("/cb", Web, "absolute"),
            ("client.example.com/cb", Web, "absolute"),
            (&too_long, Web, "longer than 2000"),
            ("https://client.example.com/cb#frag", Web, "fragment"),
            ("https://client.example.com/cb#", Web, "fragment"),
            ("http://127.0.0.1/cb#x", Native, "fragment"),
            ("https://*.example.com/cb", Web, "wildcard"),
            ("https://client.example.com/*", Web, "wildcard"),
            ("com.example.*:/cb", Native, "wildcard"),
            ("https://user:pw@client.example.com/cb", Web, "userinfo"),
            ("https://user@client.example.com/cb", Web, "userinfo"),
            ("https://@client.example.com/cb", Web, "userinfo"),
            ("http://user@127.0.0.1/cb", Native, "userinfo"),
            ("https://client.example.com/c b", Web, "forbidden character"),
            (
                "https://client.example.com/c\tb",
                Web,
                "forbidden character",
            ),
            (
                "https://client.example.com\\@evil.example/",
                Web,
                "forbidden character",
            ),
            (
                "https://cli\u{e9}nt.example.com/cb",
                Web,
                "forbidden character",
            ),
            ("https://client.example.com:99999/cb", Web, "absolute"),
            ("http://localhost/cb", Native, "RFC 8252 §8.3"),
            ("http://localhost:8080/cb", Native, "RFC 8252 §8.3"),
            ("http://LOCALHOST/cb", Native, "RFC 8252 §8.3"),
            ("http://client.example.com/cb", Web, "only for loopback"),
            ("http://client.example.com/cb", Native, "only for loopback"),
            ("http://127.0.0.2/cb", Native, "only for loopback"),
            ("http://127.1/cb", Native, "only for loopback"),
            ("http://0x7f.0.0.1/cb", Native, "only for loopback"),
            ("http://[0:0:0:0:0:0:0:1]/cb", Native, "only for loopback"),
            ("myapp://cb", Native, "RFC 8252 §7.1"),
            ("myapp:/cb", Native, "RFC 8252 §7.1"),
            (
                "com.example.app:/callback",
                Web,
                "web applications must use https",
            ),
            (
                "ftp://client.example.com/cb",
                Web,
                "web applications must use https",
            ),
            ("javascript:alert(1)", Native, "not allowed"),
            ("JavaScript:alert(1)", Web, "not allowed"),
            ("data:text/html,hi", Native, "not allowed"),
            ("file:///etc/passwd", Native, "not allowed"),
            ("vbscript:msgbox", Native, "not allowed"),
        ];
        for (uri, app_type, needle) in cases {
            let err = validate_for_registration(uri, *app_type)
                .expect_err(&format!("{uri} for {app_type:?} must be refused"));
            assert!(
                err.contains(needle),
                "{uri} for {app_type:?}: {err:?} should mention {needle:?}"
            );
        }
    }

    #[test]
    fn uri_of_exactly_2000_bytes_is_accepted() {
        let prefix = "https://client.example.com/";
        let uri = format!("{prefix}{}", "a".repeat(2000 - prefix.len()));
        assert_eq!(uri.len(), 2000);
        assert_eq!(validate_for_registration(&uri, Web), Ok(()));
    }

    #[test]
    fn redirect_uris_match_only_as_documented() {
        let cases: &[(&str, &str, ApplicationType, bool)] = &[
            // Simple string comparison, both client types.
            ("https://c.example/cb", "https://c.example/cb", Web, true),
            ("https://c.example/cb", "https://c.example/cb", Native, true),
            ("https://c.example/cb", "https://c.example/cb/", Web, false),
            ("https://c.example/cb", "https://C.example/cb", Web, false),
            ("https://c.example/cb", "https://c.example/CB", Web, false),
            (
                "https://c.example/cb",
                "https://c.example:443/cb",
                Web,
                false,
            ),
            (
                "https://c.example/cb",
                "https://c.example/cb?x=1",
                Web,
                false,
            ),
            (
                "https://c.example/cb?a=1",
                "https://c.example/cb?a=1",
                Web,
                true,
            ),
            ("https://c.example/cb", "https://c.example/%63b", Web, false),
            ("https://c.example/cb", "https://c.example/cb#", Web, false),
            ("https://c.example/cb#", "https://c.example/cb#", Web, false),
            ("com.example.app:/cb", "com.example.app:/cb", Native, true),
            ("com.example.app:/cb", "com.example.app:/cb2", Native, false),
            // Port is not ignored for non-loopback https, even for native apps.
            (
                "https://c.example:8443/cb",
                "https://c.example:9443/cb",
                Native,
                false,
            ),
            // RFC 8252 §7.3: any port for native loopback.
            (
                "http://127.0.0.1:8080/cb",
                "http://127.0.0.1:51234/cb",
                Native,
                true,
            ),
            (
                "http://127.0.0.1:8080/cb",
                "http://127.0.0.1/cb",
                Native,
                true,
            ),
            ("http://127.0.0.1/cb", "http://127.0.0.1:5/cb", Native, true),
            (
                "http://127.0.0.1/cb",
                "http://127.0.0.1:65535/cb",
                Native,
                true,
            ),
            (
                "http://127.0.0.1/cb?x=1",
                "http://127.0.0.1:5/cb?x=1",
                Native,
                true,
            ),
            ("http://127.0.0.1", "http://127.0.0.1:5", Native, true),
            ("http://[::1]/cb", "http://[::1]:5/cb", Native, true),
            ("http://[::1]:80/cb", "http://[::1]/cb", Native, true),
            (
                "http://127.0.0.1:5/cb",
                "http://127.0.0.1:5/cb/",
                Native,
                false,
            ),
            (
                "http://127.0.0.1:5/cb",
                "http://127.0.0.1:6/CB",
                Native,
                false,
            ),
            (
                "http://127.0.0.1:5/cb",
                "http://127.0.0.1:6/cb?x",
                Native,
                false,
            ),
            (
                "http://127.0.0.1:5/cb",
                "http://127.0.0.1:6/cb#x",
                Native,
                false,
            ),
            (
                "http://127.0.0.1:5/cb",
                "http://127.0.0.1:5/cb#",
                Native,
                false,
            ),
            ("http://127.0.0.1/cb", "http://[::1]:5/cb", Native, false),
            ("http://[::1]/cb", "http://127.0.0.1:5/cb", Native, false),
            (
                "http://127.0.0.1/cb",
                "http://localhost:5/cb",
                Native,
                false,
            ),
            ("http://127.0.0.1/cb", "http://127.1:5/cb", Native, false),
            (
                "http://127.0.0.1/cb",
                "https://127.0.0.1:5/cb",
                Native,
                false,
            ),
            (
                "http://127.0.0.1/cb",
                "HTTP://127.0.0.1:5/cb",
                Native,
                false,
            ),
            (
                "http://127.0.0.1/cb",
                "http://127.0.0.1:65536/cb",
                Native,
                false,
            ),
            (
                "http://127.0.0.1/cb",
                "http://127.0.0.1:5a/cb",
                Native,
                false,
            ),
            ("http://127.0.0.1/cb", "http://127.0.0.1:/cb", Native, false),
            (
                "http://127.0.0.1/cb",
                "http://127.0.0.1:+5/cb",
                Native,
                false,
            ),
            (
                "http://127.0.0.1/cb",
                "http://127.0.0.1:-1/cb",
                Native,
                false,
            ),
            (
                "http://127.0.0.1/cb",
                "http://127.0.0.1:5:6/cb",
                Native,
                false,
            ),
            (
                "http://127.0.0.1/cb",
                "http://127.0.0.1:5@evil.example/cb",
                Native,
                false,
            ),
            (
                "http://127.0.0.1/cb",
                "http://evil@127.0.0.1:5/cb",
                Native,
                false,
            ),
            (
                "http://127.0.0.1/cb",
                "http://127.0.0.1:5\\@evil.example/cb",
                Native,
                false,
            ),
            ("http://[::1]/cb", "http://[::1]x:5/cb", Native, false),
            // Only a loopback registration earns the exception.
            (
                "http://localhost/cb",
                "http://localhost:5/cb",
                Native,
                false,
            ),
            // Web clients: the port is NOT ignored.
            (
                "http://127.0.0.1:8080/cb",
                "http://127.0.0.1:51234/cb",
                Web,
                false,
            ),
            (
                "http://127.0.0.1:8080/cb",
                "http://127.0.0.1/cb",
                Web,
                false,
            ),
            ("http://[::1]/cb", "http://[::1]:5/cb", Web, false),
            (
                "http://127.0.0.1:8080/cb",
                "http://127.0.0.1:8080/cb",
                Web,
                true,
            ),
        ];
        for (registered, requested, app_type, expected) in cases {
            assert_eq!(
                matches(registered, requested, *app_type),
                *expected,
                "registered {registered} requested {requested} for {app_type:?}"
            );
        }
    }

    #[test]
    fn loopback_means_http_with_an_exact_loopback_literal() {
        let cases: &[(&str, bool)] = &[
            ("http://127.0.0.1/cb", true),
            ("http://127.0.0.1:8080/cb", true),
            ("http://127.0.0.1", true),
            ("http://[::1]:8080/cb", true),
            ("HTTP://127.0.0.1/cb", true),
            ("https://127.0.0.1/cb", false),
            ("http://localhost/cb", false),
            ("http://127.0.0.2/cb", false),
            ("http://127.1/cb", false),
            ("http://[0:0:0:0:0:0:0:1]/cb", false),
            ("http://127.0.0.1:99999/cb", false),
            ("http://user@127.0.0.1/cb", false),
            ("http://127.0.0.1.evil.example/cb", false),
            ("127.0.0.1/cb", false),
            ("", false),
        ];
        for (uri, expected) in cases {
            assert_eq!(is_loopback(uri), *expected, "{uri}");
        }
    }

    #[test]
    fn claimed_https_means_https_with_a_non_loopback_host() {
        let cases: &[(&str, bool)] = &[
            ("https://app.example.com/cb", true),
            ("https://192.0.2.1/cb", true),
            ("https://127.0.0.1/cb", false),
            ("https://127.0.0.2/cb", false),
            ("https://[::1]/cb", false),
            ("https://localhost/cb", false),
            ("https://LOCALHOST./cb", false),
            ("https://dev.localhost/cb", false),
            ("http://app.example.com/cb", false),
            ("com.example.app:/cb", false),
            ("not a uri", false),
            ("", false),
        ];
        for (uri, expected) in cases {
            assert_eq!(is_claimed_https(uri), *expected, "{uri}");
        }
    }

    #[test]
    fn append_query_keeps_the_existing_query_and_encodes_params() {
        // (uri, params, expected)
        type Case = (
            &'static str,
            &'static [(&'static str, &'static str)],
            &'static str,
        );
        let cases: &[Case] = &[
            (
                "https://c.example/cb",
                &[("code", "abc")],
                "https://c.example/cb?code=abc",
            ),
            (
                "https://c.example/cb?tenant=a",
                &[("code", "abc"), ("state", "x y")],
                "https://c.example/cb?tenant=a&code=abc&state=x+y",
            ),
            (
                "https://c.example/cb?",
                &[("code", "1")],
                "https://c.example/cb?code=1",
            ),
            (
                "https://c.example/cb?a=1&",
                &[("code", "1")],
                "https://c.example/cb?a=1&code=1",
            ),
            (
                "https://c.example/cb",
                &[("state", "a&b=c/d?e#f%")],
                "https://c.example/cb?state=a%26b%3Dc%2Fd%3Fe%23f%25",
            ),
            (
                "https://c.example/cb",
                &[("error_description", "caf\u{e9}")],
                "https://c.example/cb?error_description=caf%C3%A9",
            ),
            (
                "com.example.app:/cb",
                &[("code", "1")],
                "com.example.app:/cb?code=1",
            ),
            ("https://c.example/cb?a=1", &[], "https://c.example/cb?a=1"),
            (
                "https://c.example/cb#frag",
                &[("code", "1")],
                "https://c.example/cb?code=1#frag",
            ),
        ];
        for (uri, params, expected) in cases {
            assert_eq!(append_query(uri, params), *expected, "{uri} {params:?}");
        }
    }
}
