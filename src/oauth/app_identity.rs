//! App identities (app key hashes): what a registered Android or iOS app is, and the forms in
//! which admins may type its signing-certificate hashes.
//!
//! Tooling prints the same hash in many shapes — `keytool` as colon hex, `apksigner` as plain
//! hex, Facebook/Kakao tooling as standard base64 of a SHA-1, Android's `PackageManager` code as
//! base64url, WebAuthn/Credential Manager as an `android:apk-key-hash:` origin — so every shape
//! is accepted and decoded to bytes; the length then decides whether it is the hash asked for.
//!
//! The second half checks an identity presented by the app channel ([`read_presented`],
//! [`find_match`], [`check`]): one wire format (unpadded base64url), constant-time compares.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine;

use crate::crypto::secrets::constant_time_eq;
use crate::storage::clients::AppIdentity;

/// The origin prefix Android uses for an app signed with a given certificate (base64url of the
/// SHA-256 of the certificate, unpadded).
pub const APK_KEY_HASH_ORIGIN: &str = "android:apk-key-hash:";

/// Audit events of app identity refusals (at /authorize and at /token) are written at most
/// once per client and address in this many seconds, so that a misbehaving (or hostile) app
/// cannot flood the log.
pub const AUDIT_INTERVAL: i64 = 60;

/// The events that share that limit.
pub const AUDIT_EVENTS: [&str; 2] = ["app_identity_mismatch", "app_identity_missing"];

/// At most this many SHA-256 hashes per identity (debug, upload, Play signing, rotated keys).
pub const MAX_CERT_HASHES: usize = 20;

/// The hash algorithm of a certificate fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertAlg {
    Sha256,
    /// Legacy: the SHA-1 "key hash" Kakao and Facebook tooling print. Stored and shown
    /// flagged as legacy.
    Sha1,
}

impl CertAlg {
    /// The stored name (`sha256` / `sha1`).
    pub fn as_str(self) -> &'static str {
        match self {
            CertAlg::Sha256 => "sha256",
            CertAlg::Sha1 => "sha1",
        }
    }

    /// The digest length in bytes.
    pub fn byte_len(self) -> usize {
        match self {
            CertAlg::Sha256 => 32,
            CertAlg::Sha1 => 20,
        }
    }

    fn label(self) -> &'static str {
        match self {
            CertAlg::Sha256 => "SHA-256",
            CertAlg::Sha1 => "SHA-1",
        }
    }
}

/// A platform an app identity may be registered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Android,
    Ios,
}

impl Platform {
    pub fn parse(s: &str) -> Option<Platform> {
        match s {
            "android" => Some(Platform::Android),
            "ios" => Some(Platform::Ios),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Android => "android",
            Platform::Ios => "ios",
        }
    }
}

// Standard or URL-safe alphabets, with or without padding: the padding, when present, must
// still be correct (`Indifferent` checks it), so a truncated value is not silently accepted.
const B64_STD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const B64_URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn expected_formats(alg: CertAlg) -> String {
    let n = alg.byte_len();
    format!(
        "expected a {} certificate hash ({n} bytes) as hex ({} hex digits, with or without colons: AB:CD:…), \
         standard or URL-safe base64 (padded or not), or an {APK_KEY_HASH_ORIGIN}<base64url> origin",
        alg.label(),
        2 * n
    )
}

/// Decodes a certificate hash typed in any accepted format into its bytes. The result is
/// exactly `alg.byte_len()` bytes; anything else is an error whose message names the accepted
/// formats (and never echoes more than the input's length).
pub fn parse_cert_hash(input: &str, alg: CertAlg) -> Result<Vec<u8>, String> {
    let s = input.trim();
    let bytes = decode_any(s).ok_or_else(|| format!("not a hash: {}", expected_formats(alg)))?;
    if bytes.len() != alg.byte_len() {
        return Err(format!(
            "decodes to {} bytes: {}",
            bytes.len(),
            expected_formats(alg)
        ));
    }
    Ok(bytes)
}

fn decode_any(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || s.len() > 256 {
        return None;
    }
    if let Some(rest) = s.strip_prefix(APK_KEY_HASH_ORIGIN) {
        return B64_URL.decode(rest).ok();
    }
    if s.contains(':') {
        // Colon hex: every group exactly two hex digits (keytool's form).
        let mut out = Vec::with_capacity(32);
        for group in s.split(':') {
            if group.len() != 2 {
                return None;
            }
            out.push(u8::from_str_radix(group, 16).ok()?);
        }
        return Some(out);
    }
    // Plain hex first: a SHA-1 or SHA-256 in hex (40 or 64 digits) is never a valid base64
    // form of 20 or 32 bytes (27/28 or 43/44 characters), so the order cannot mislead.
    if s.len() % 2 == 0
        && (s.len() == 40 || s.len() == 64)
        && s.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
            .collect();
    }
    if s.contains(['-', '_']) {
        B64_URL.decode(s).ok()
    } else {
        B64_STD.decode(s).ok()
    }
}

/// `AB:CD:…`, upper case, as keytool prints it.
pub fn to_colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// `android:apk-key-hash:<base64url, unpadded>` — the form Android apps present.
pub fn to_origin(sha256: &[u8]) -> String {
    format!("{APK_KEY_HASH_ORIGIN}{}", URL_SAFE_NO_PAD.encode(sha256))
}

/// What an admin asks to register, as typed.
#[derive(Debug, Clone, Default)]
pub struct IdentitySpec {
    pub platform: String,
    pub app_id: String,
    pub team_id: Option<String>,
    pub cert_sha256: Vec<String>,
    pub cert_sha1: Option<String>,
}

/// A checked identity: decoded hashes, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidIdentity {
    pub platform: Platform,
    pub app_id: String,
    pub team_id: Option<String>,
    /// (algorithm, hash bytes), SHA-256 first.
    pub certs: Vec<(CertAlg, Vec<u8>)>,
}

/// A validation failure naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityError {
    pub field: &'static str,
    pub message: String,
}

fn err(field: &'static str, message: impl Into<String>) -> Result<ValidIdentity, IdentityError> {
    Err(IdentityError {
        field,
        message: message.into(),
    })
}

/// Android package name: at least two segments of `[A-Za-z][A-Za-z0-9_]*` joined by `.`.
pub fn is_android_package(s: &str) -> bool {
    s.len() <= 255
        && s.split('.').count() >= 2
        && s.split('.').all(|seg| {
            let mut chars = seg.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// iOS bundle identifier: `[A-Za-z0-9.-]+`.
pub fn is_ios_bundle_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

/// Apple team id: ten upper-case letters or digits.
pub fn is_team_id(s: &str) -> bool {
    s.len() == 10
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// Checks an identity; the error names the first bad field.
pub fn validate(spec: &IdentitySpec) -> Result<ValidIdentity, IdentityError> {
    let Some(platform) = Platform::parse(&spec.platform) else {
        return err("platform", "must be `android` or `ios`");
    };
    let app_id = spec.app_id.trim();
    let team_id = spec
        .team_id
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let mut certs: Vec<(CertAlg, Vec<u8>)> = Vec::new();
    match platform {
        Platform::Android => {
            if !is_android_package(app_id) {
                return err(
                    "app_id",
                    "must be an Android package name (segments of [A-Za-z][A-Za-z0-9_]* joined by '.', at least two)",
                );
            }
            if team_id.is_some() {
                return err("team_id", "a team id is for iOS apps only");
            }
            if spec.cert_sha256.is_empty() {
                return err(
                    "cert_sha256",
                    "an Android app needs at least one SHA-256 signing-certificate hash",
                );
            }
            if spec.cert_sha256.len() > MAX_CERT_HASHES {
                return err(
                    "cert_sha256",
                    format!("at most {MAX_CERT_HASHES} hashes per app"),
                );
            }
            for input in &spec.cert_sha256 {
                let bytes = parse_cert_hash(input, CertAlg::Sha256).map_err(|m| IdentityError {
                    field: "cert_sha256",
                    message: m,
                })?;
                if certs.iter().any(|(_, b)| *b == bytes) {
                    return err(
                        "cert_sha256",
                        format!("{} is listed twice", to_colon_hex(&bytes)),
                    );
                }
                certs.push((CertAlg::Sha256, bytes));
            }
            if let Some(input) = spec.cert_sha1.as_deref().filter(|s| !s.trim().is_empty()) {
                let bytes = parse_cert_hash(input, CertAlg::Sha1).map_err(|m| IdentityError {
                    field: "cert_sha1",
                    message: m,
                })?;
                certs.push((CertAlg::Sha1, bytes));
            }
        }
        Platform::Ios => {
            if !is_ios_bundle_id(app_id) {
                return err("app_id", "must be an iOS bundle id ([A-Za-z0-9.-]+)");
            }
            if let Some(t) = team_id {
                if !is_team_id(t) {
                    return err("team_id", "must be 10 upper-case letters or digits");
                }
            }
            if !spec.cert_sha256.is_empty()
                || spec.cert_sha1.as_deref().is_some_and(|s| !s.is_empty())
            {
                return err(
                    "cert_sha256",
                    "iOS apps are identified by bundle id (and team id), not certificate hashes",
                );
            }
        }
    }
    Ok(ValidIdentity {
        platform,
        app_id: app_id.to_string(),
        team_id: team_id.map(str::to_string),
        certs,
    })
}

// ── Presented identities: what the app channel sends to /authorize and /token ──────────────

/// The app identity parameters, in the order they are checked (names are a stable contract,
/// see docs/app-to-app.md).
pub const PARAMS: [&str; 5] = [
    "app_platform",
    "app_id",
    "app_team_id",
    "app_cert_sha256",
    "app_cert_sha1",
];

/// An app identity as presented in a request, syntax-checked: the platform is known, the app
/// id has the platform's shape, a team id only comes with iOS, an Android identity carries at
/// least one certificate hash of the exact length of its algorithm, an iOS one none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented {
    pub platform: Platform,
    pub app_id: String,
    pub team_id: Option<String>,
    /// SHA-256 over the DER signing certificate (32 bytes).
    pub cert_sha256: Option<Vec<u8>>,
    /// Legacy SHA-1 key hash (20 bytes).
    pub cert_sha1: Option<Vec<u8>>,
}

/// What a request said about the calling app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    /// None of the [`PARAMS`] was sent (or all were empty).
    Absent,
    Present(Presented),
    /// Some were sent but they do not form a well-formed identity; the message says why.
    Invalid(String),
}

/// Decodes a presented hash: base64url without padding only (the form Android's
/// `Base64.URL_SAFE | NO_PADDING` produces), canonical, exactly `alg.byte_len()` bytes.
/// Registration accepts many shapes; the wire format is one.
pub fn decode_presented_hash(value: &str, alg: CertAlg) -> Option<Vec<u8>> {
    // 4n/3 rounded up: 43 characters for 32 bytes, 27 for 20.
    let expected_len = (alg.byte_len() * 4).div_ceil(3);
    if value.len() != expected_len {
        return None;
    }
    URL_SAFE_NO_PAD
        .decode(value)
        .ok()
        .filter(|b| b.len() == alg.byte_len())
}

/// Reads and syntax-checks the app identity parameters. A duplicated parameter is invalid
/// (OAuth 2.1 §3.1: parameters MUST NOT be included more than once).
pub fn read_presented(params: &crate::oauth::params::Params) -> Presence {
    if let Some(name) = params.first_duplicate(&PARAMS) {
        return Presence::Invalid(format!("the {name} parameter was sent more than once"));
    }
    if PARAMS.iter().all(|n| params.get(n).is_none()) {
        return Presence::Absent;
    }
    let (Some(platform), Some(app_id)) = (params.get("app_platform"), params.get("app_id")) else {
        return Presence::Invalid("an app identity needs both app_platform and app_id".to_string());
    };
    let Some(platform) = Platform::parse(platform) else {
        return Presence::Invalid("app_platform must be android or ios".to_string());
    };
    let team_id = params.get("app_team_id");
    let sha256 = params.get("app_cert_sha256");
    let sha1 = params.get("app_cert_sha1");
    match platform {
        Platform::Android => {
            if !is_android_package(app_id) {
                return Presence::Invalid("app_id is not an Android package name".to_string());
            }
            if team_id.is_some() {
                return Presence::Invalid("app_team_id is for iOS apps only".to_string());
            }
            if sha256.is_none() && sha1.is_none() {
                return Presence::Invalid(
                    "an Android app identity needs app_cert_sha256".to_string(),
                );
            }
        }
        Platform::Ios => {
            if !is_ios_bundle_id(app_id) {
                return Presence::Invalid("app_id is not an iOS bundle id".to_string());
            }
            if team_id.is_some_and(|t| !is_team_id(t)) {
                return Presence::Invalid(
                    "app_team_id must be 10 upper-case letters or digits".to_string(),
                );
            }
            if sha256.is_some() || sha1.is_some() {
                return Presence::Invalid(
                    "iOS apps are identified by bundle id and team id, not certificate hashes"
                        .to_string(),
                );
            }
        }
    }
    let cert_sha256 = match sha256 {
        None => None,
        Some(v) => match decode_presented_hash(v, CertAlg::Sha256) {
            Some(b) => Some(b),
            None => {
                return Presence::Invalid(
                    "app_cert_sha256 must be the unpadded base64url SHA-256 of the signing certificate (43 characters)"
                        .to_string(),
                )
            }
        },
    };
    let cert_sha1 =
        match sha1 {
            None => None,
            Some(v) => match decode_presented_hash(v, CertAlg::Sha1) {
                Some(b) => Some(b),
                None => return Presence::Invalid(
                    "app_cert_sha1 must be the unpadded base64url SHA-1 key hash (27 characters)"
                        .to_string(),
                ),
            },
        };
    Presence::Present(Presented {
        platform,
        app_id: app_id.to_string(),
        team_id: team_id.map(str::to_string),
        cert_sha256,
        cert_sha1,
    })
}

/// Why a presented identity matched none of the registered ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mismatch {
    /// No identity with this platform and app id is registered for the client.
    UnknownApp,
    /// The app is registered but the team id differs (or is missing).
    TeamId,
    /// The app is registered but no registered hash equals the presented one.
    Certificate,
}

impl Mismatch {
    /// A sentence for the error description.
    pub fn describe(self) -> &'static str {
        match self {
            Mismatch::UnknownApp => "this app is not registered for the application",
            Mismatch::TeamId => "the team id does not match the registered app",
            Mismatch::Certificate => {
                "the signing certificate does not match any registered for this app"
            }
        }
    }
}

/// Whether `presented` is this registered identity: same platform and app id; for iOS the
/// team id when one is registered; for Android every presented hash equal (constant time) to
/// one registered hash of its algorithm — a SHA-1 matches only a registered legacy SHA-1 row.
pub fn check(presented: &Presented, identity: &AppIdentity) -> Result<(), Mismatch> {
    if identity.platform != presented.platform.as_str() || identity.app_id != presented.app_id {
        return Err(Mismatch::UnknownApp);
    }
    if let Some(registered) = &identity.team_id {
        let ok = presented
            .team_id
            .as_deref()
            .is_some_and(|t| constant_time_eq(t.as_bytes(), registered.as_bytes()));
        if !ok {
            return Err(Mismatch::TeamId);
        }
    }
    if presented.platform == Platform::Android {
        let has = |alg: CertAlg, bytes: &[u8]| {
            // No early exit: every registered hash of the algorithm is compared.
            identity
                .certs
                .iter()
                .filter(|(a, _)| a == alg.as_str())
                .fold(false, |found, (_, h)| constant_time_eq(h, bytes) | found)
        };
        let sha256_ok = presented
            .cert_sha256
            .as_deref()
            .is_none_or(|b| has(CertAlg::Sha256, b));
        let sha1_ok = presented
            .cert_sha1
            .as_deref()
            .is_none_or(|b| has(CertAlg::Sha1, b));
        if !(sha256_ok && sha1_ok) {
            return Err(Mismatch::Certificate);
        }
    }
    Ok(())
}

/// The registered identity `presented` matches among a client's `identities` (at most one
/// per platform and app id, see docs/decisions.md), or why none does.
pub fn find_match<'a>(
    presented: &Presented,
    identities: &'a [AppIdentity],
) -> Result<&'a AppIdentity, Mismatch> {
    let row = identities
        .iter()
        .find(|i| i.platform == presented.platform.as_str() && i.app_id == presented.app_id)
        .ok_or(Mismatch::UnknownApp)?;
    check(presented, row).map(|()| row)
}

/// The presented values as shown on the refusal page and written to the audit log: raw
/// strings shortened, hashes as colon hex when they decode (else the raw value, shortened).
/// Never more than a few hundred characters, whatever was sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ShownIdentity {
    pub platform: Option<String>,
    pub app_id: Option<String>,
    pub team_id: Option<String>,
    pub cert_sha256: Option<String>,
    pub cert_sha1: Option<String>,
}

impl ShownIdentity {
    pub fn of(params: &crate::oauth::params::Params) -> Self {
        let short = |name: &str, max: usize| {
            params.get(name).map(|v| {
                let mut s: String = v.chars().take(max).collect();
                if v.chars().count() > max {
                    s.push('…');
                }
                s
            })
        };
        let hash = |name: &str, alg: CertAlg| {
            params
                .get(name)
                .map(|v| match decode_presented_hash(v, alg) {
                    Some(bytes) => to_colon_hex(&bytes),
                    None => short(name, 64).unwrap_or_default(),
                })
        };
        ShownIdentity {
            platform: short("app_platform", 16),
            app_id: short("app_id", 128),
            team_id: short("app_team_id", 16),
            cert_sha256: hash("app_cert_sha256", CertAlg::Sha256),
            cert_sha1: hash("app_cert_sha1", CertAlg::Sha1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA256_HEX: &str = "14:6D:E9:83:C5:73:06:50:D8:EE:B9:95:2F:34:FC:64:16:A0:83:42:E6:1D:BE:A8:8A:04:96:B2:3F:CF:44:E5";

    fn sha256() -> Vec<u8> {
        parse_cert_hash(SHA256_HEX, CertAlg::Sha256).unwrap()
    }

    #[test]
    fn every_accepted_format_decodes_to_the_same_bytes() {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE};
        let bytes = sha256();
        let plain = SHA256_HEX.replace(':', "");
        let forms = [
            SHA256_HEX.to_string(),
            SHA256_HEX.to_lowercase(),
            plain.clone(),
            plain.to_lowercase(),
            STANDARD.encode(&bytes),
            STANDARD.encode(&bytes).trim_end_matches('=').to_string(),
            URL_SAFE.encode(&bytes),
            URL_SAFE_NO_PAD.encode(&bytes),
            to_origin(&bytes),
            format!("  {SHA256_HEX}\n"),
        ];
        for form in forms {
            assert_eq!(
                parse_cert_hash(&form, CertAlg::Sha256).as_ref(),
                Ok(&bytes),
                "{form}"
            );
        }
    }

    #[test]
    fn legacy_sha1_key_hashes_decode_as_20_bytes() {
        use base64::engine::general_purpose::STANDARD;
        let sha1 = [0xABu8; 20];
        for form in [
            to_colon_hex(&sha1),
            "ab".repeat(20),
            STANDARD.encode(sha1),
            URL_SAFE_NO_PAD.encode(sha1),
        ] {
            assert_eq!(
                parse_cert_hash(&form, CertAlg::Sha1),
                Ok(sha1.to_vec()),
                "{form}"
            );
        }
    }

    #[test]
    fn bad_hashes_are_refused_naming_the_formats() {
        let cases = [
            ("empty", ""),
            ("too short hex", "AB:CD"),
            ("sha1 where sha256 is expected", &"ab".repeat(20)),
            ("odd colon group", "ABC:DE"),
            ("not hex in colon form", &format!("{}ZZ", "ZZ:".repeat(31))),
            ("63 hex digits", &"a".repeat(63)),
            ("junk", "not a hash at all!"),
            (
                "bad padding",
                "FG3pg8VzBlDY7rmVLzT8ZBagg0LmHb6oigSWsj/PROU==",
            ),
            ("origin of a wrong length", "android:apk-key-hash:AAAA"),
            ("too long", &"A".repeat(300)),
        ];
        for (name, input) in cases {
            let message = parse_cert_hash(input, CertAlg::Sha256).unwrap_err();
            assert!(message.contains("base64"), "{name}: {message}");
            assert!(message.contains("32 bytes"), "{name}: {message}");
        }
        let sha256_where_sha1 = parse_cert_hash(SHA256_HEX, CertAlg::Sha1).unwrap_err();
        assert!(sha256_where_sha1.contains("20 bytes"));
    }

    #[test]
    fn hashes_are_shown_as_colon_hex_and_as_the_android_origin() {
        let bytes = sha256();
        assert_eq!(to_colon_hex(&bytes), SHA256_HEX);
        assert_eq!(
            to_origin(&bytes),
            "android:apk-key-hash:FG3pg8VzBlDY7rmVLzT8ZBagg0LmHb6oigSWsj_PROU"
        );
    }

    fn android() -> IdentitySpec {
        IdentitySpec {
            platform: "android".into(),
            app_id: "com.example.app".into(),
            cert_sha256: vec![SHA256_HEX.into()],
            ..IdentitySpec::default()
        }
    }

    #[test]
    fn valid_identities_are_accepted() {
        let v = validate(&android()).unwrap();
        assert_eq!(v.certs, vec![(CertAlg::Sha256, sha256())]);
        let mut with_sha1 = android();
        with_sha1.cert_sha1 = Some("ab".repeat(20));
        assert_eq!(validate(&with_sha1).unwrap().certs.len(), 2);
        let ios = IdentitySpec {
            platform: "ios".into(),
            app_id: "com.example.App-Beta".into(),
            team_id: Some("ABCDE12345".into()),
            ..IdentitySpec::default()
        };
        assert_eq!(
            validate(&ios).unwrap().team_id.as_deref(),
            Some("ABCDE12345")
        );
    }

    #[test]
    fn bad_identities_name_their_field() {
        type Case = (&'static str, fn(&mut IdentitySpec), &'static str);
        let cases: [Case; 13] = [
            (
                "unknown platform",
                |s| s.platform = "windows".into(),
                "platform",
            ),
            (
                "one-segment package",
                |s| s.app_id = "example".into(),
                "app_id",
            ),
            (
                "segment starting with a digit",
                |s| s.app_id = "com.1example".into(),
                "app_id",
            ),
            (
                "empty segment",
                |s| s.app_id = "com..example".into(),
                "app_id",
            ),
            (
                "dash in a package",
                |s| s.app_id = "com.ex-ample".into(),
                "app_id",
            ),
            ("no sha256", |s| s.cert_sha256.clear(), "cert_sha256"),
            (
                "bad sha256",
                |s| s.cert_sha256 = vec!["xyz".into()],
                "cert_sha256",
            ),
            (
                "duplicate sha256",
                |s| s.cert_sha256.push(SHA256_HEX.to_lowercase()),
                "cert_sha256",
            ),
            (
                "bad sha1",
                |s| s.cert_sha1 = Some(SHA256_HEX.into()),
                "cert_sha1",
            ),
            (
                "team id on android",
                |s| s.team_id = Some("ABCDE12345".into()),
                "team_id",
            ),
            (
                "ios with hashes",
                |s| s.platform = "ios".into(),
                "cert_sha256",
            ),
            (
                "ios bad bundle id",
                |s| {
                    s.platform = "ios".into();
                    s.cert_sha256.clear();
                    s.app_id = "com.example/app".into();
                },
                "app_id",
            ),
            (
                "ios bad team id",
                |s| {
                    s.platform = "ios".into();
                    s.cert_sha256.clear();
                    s.team_id = Some("abcde12345".into());
                },
                "team_id",
            ),
        ];
        for (name, change, field) in cases {
            let mut s = android();
            change(&mut s);
            assert_eq!(validate(&s).unwrap_err().field, field, "{name}");
        }
    }

    fn registered() -> AppIdentity {
        AppIdentity {
            identity_id: "aid_1".into(),
            client_id: "cli_1".into(),
            platform: "android".into(),
            app_id: "com.example.app".into(),
            team_id: None,
            created_at: 0,
            certs: vec![
                ("sha1".into(), vec![0xAB; 20]),
                ("sha256".into(), vec![0x11; 32]),
                ("sha256".into(), sha256()),
            ],
        }
    }

    fn read(query: &str) -> Presence {
        read_presented(&crate::oauth::params::Params::parse(query).unwrap())
    }

    #[test]
    fn presented_identities_are_read_strictly() {
        let cert = URL_SAFE_NO_PAD.encode(sha256());
        assert_eq!(read("client_id=x&app_id="), Presence::Absent);
        let Presence::Present(p) = read(&format!(
            "app_platform=android&app_id=com.example.app&app_cert_sha256={cert}"
        )) else {
            panic!("valid")
        };
        assert_eq!(p.cert_sha256, Some(sha256()));
        for bad in [
            format!("app_cert_sha256={cert}"),
            "app_platform=android".to_string(),
            format!("app_platform=android&app_id=com.example.app&app_cert_sha256={cert}=="),
            format!("app_platform=android&app_id=com.example.app&app_cert_sha256={}", SHA256_HEX),
            "app_platform=android&app_id=com.example.app".to_string(),
            format!("app_platform=android&app_id=a&app_cert_sha256={cert}"),
            format!("app_platform=android&app_platform=android&app_id=com.example.app&app_cert_sha256={cert}"),
            "app_platform=ios&app_id=com.example.app&app_team_id=short".to_string(),
            format!("app_platform=ios&app_id=com.example.app&app_cert_sha256={cert}"),
            // Non-canonical: the last character carries bits beyond the 32 bytes.
            format!("app_platform=android&app_id=com.example.app&app_cert_sha256={}F", &cert[..42]),
        ] {
            assert!(matches!(read(&bad), Presence::Invalid(_)), "{bad}");
        }
    }

    #[test]
    fn a_presented_identity_matches_only_its_registered_row_and_hashes() {
        let row = registered();
        let android = |sha256: Option<Vec<u8>>, sha1: Option<Vec<u8>>| Presented {
            platform: Platform::Android,
            app_id: "com.example.app".into(),
            team_id: None,
            cert_sha256: sha256,
            cert_sha1: sha1,
        };
        assert_eq!(check(&android(Some(sha256()), None), &row), Ok(()));
        assert_eq!(check(&android(None, Some(vec![0xAB; 20])), &row), Ok(()));
        assert_eq!(
            check(&android(Some(vec![0x22; 32]), None), &row),
            Err(Mismatch::Certificate)
        );
        // A SHA-256 value never matches a SHA-1 row of the same bytes, nor the reverse.
        assert_eq!(
            check(&android(None, Some(vec![0x11; 20])), &row),
            Err(Mismatch::Certificate)
        );
        let mut other = android(Some(sha256()), None);
        other.app_id = "com.example.other".into();
        assert_eq!(
            find_match(&other, std::slice::from_ref(&row)).unwrap_err(),
            Mismatch::UnknownApp
        );
        let ios_row = AppIdentity {
            platform: "ios".into(),
            team_id: Some("ABCDE12345".into()),
            certs: vec![],
            ..registered()
        };
        let mut ios = Presented {
            platform: Platform::Ios,
            app_id: "com.example.app".into(),
            team_id: Some("ABCDE12345".into()),
            cert_sha256: None,
            cert_sha1: None,
        };
        assert_eq!(
            find_match(&ios, &[row.clone(), ios_row.clone()])
                .unwrap()
                .platform,
            "ios"
        );
        ios.team_id = None;
        assert_eq!(check(&ios, &ios_row), Err(Mismatch::TeamId));
        ios.team_id = Some("ZZZZZ99999".into());
        assert_eq!(check(&ios, &ios_row), Err(Mismatch::TeamId));
    }

    #[test]
    fn shown_identities_are_bounded_and_hashes_are_colon_hex() {
        let cert = URL_SAFE_NO_PAD.encode(sha256());
        let long = "a".repeat(1000);
        let q = format!(
            "app_platform=android&app_id={long}&app_cert_sha256={cert}&app_cert_sha1={long}"
        );
        let shown = ShownIdentity::of(&crate::oauth::params::Params::parse(&q).unwrap());
        assert_eq!(shown.cert_sha256.as_deref(), Some(SHA256_HEX));
        assert!(shown.app_id.unwrap().chars().count() <= 129);
        assert!(shown.cert_sha1.unwrap().chars().count() <= 65);
        assert_eq!(shown.team_id, None);
    }
}
