//! The master key: 32 bytes that encrypt private signing keys at rest (AES-256-GCM).

use std::fmt;
use std::io::Write;
use std::path::Path;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::config::MasterKeySource;
use crate::crypto::secrets::random_bytes;

pub struct MasterKey {
    key: LessSafeKey,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// Why the master key could not be loaded. The message names the setting.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MasterKeyError(pub String);

impl MasterKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        let key = UnboundKey::new(&AES_256_GCM, bytes).expect("32 bytes is an AES-256 key");
        Self {
            key: LessSafeKey::new(key),
        }
    }

    /// Parses the base64 text form (standard alphabet, padding optional, surrounding white
    /// space ignored).
    pub fn parse(text: &str, setting: &str) -> Result<Self, MasterKeyError> {
        let trimmed = text.trim().trim_end_matches('=');
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(trimmed)
            .map_err(|_| MasterKeyError(format!("{setting}: not valid base64")))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| MasterKeyError(format!("{setting}: must be 32 bytes in base64")))?;
        Ok(Self::from_bytes(&bytes))
    }

    /// Loads the key from where the configuration says. In the zero-config default the key is
    /// generated once, written with mode 0600, and announced loudly in the log.
    pub fn load(source: &MasterKeySource) -> Result<Self, MasterKeyError> {
        match source {
            MasterKeySource::Inline(text) => Self::parse(text, "master_key"),
            MasterKeySource::File(path) => Self::read_file(path, "master_key_file"),
            MasterKeySource::DefaultFile(path) => {
                if path.exists() {
                    Self::read_file(path, "master_key_file")
                } else {
                    Self::generate_into(path)
                }
            }
        }
    }

    fn read_file(path: &Path, setting: &str) -> Result<Self, MasterKeyError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            MasterKeyError(format!("{setting}: cannot read {}: {e}", path.display()))
        })?;
        Self::parse(&text, &format!("{setting} ({})", path.display()))
    }

    fn generate_into(path: &Path) -> Result<Self, MasterKeyError> {
        let bytes = random_bytes::<32>();
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                MasterKeyError(format!(
                    "master_key_file: cannot create {}: {e}",
                    dir.display()
                ))
            })?;
        }
        let mut options = std::fs::OpenOptions::new();
        // create_new: never overwrite a key that appeared meanwhile (another instance).
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|e| {
            MasterKeyError(format!(
                "master_key_file: cannot create {}: {e}",
                path.display()
            ))
        })?;
        file.write_all(format!("{}\n", STANDARD.encode(bytes)).as_bytes())
            .and_then(|_| file.sync_all())
            .map_err(|e| {
                MasterKeyError(format!(
                    "master_key_file: cannot write {}: {e}",
                    path.display()
                ))
            })?;
        tracing::warn!(
            path = %path.display(),
            "GENERATED A NEW MASTER KEY. It encrypts the signing keys: back it up, and set \
             PORTCULLIS_MASTER_KEY_FILE or PORTCULLIS_MASTER_KEY in production"
        );
        Ok(Self::from_bytes(&bytes))
    }

    /// Encrypts `plaintext`, binding it to `context` (the key id) so that ciphertexts cannot
    /// be swapped between rows. Output: nonce || ciphertext || tag.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Vec<u8> {
        let nonce_bytes = random_bytes::<NONCE_LEN>();
        let mut out = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(context.as_bytes()),
                &mut out,
            )
            .expect("AES-GCM sealing does not fail for in-memory buffers");
        let mut sealed = nonce_bytes.to_vec();
        sealed.extend_from_slice(&out);
        sealed
    }

    /// Decrypts what [`MasterKey::seal`] produced. Fails on a wrong key, a wrong context or
    /// tampering.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buf = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
            .ok()?;
        Some(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_with_the_same_key_and_context() {
        let key = MasterKey::from_bytes(&[7u8; 32]);
        let sealed = key.seal("kid-1", b"private");
        assert_eq!(key.open("kid-1", &sealed).unwrap(), b"private");
        assert!(key.open("kid-2", &sealed).is_none());
        assert!(MasterKey::from_bytes(&[8u8; 32])
            .open("kid-1", &sealed)
            .is_none());
        let mut tampered = sealed.clone();
        tampered[20] ^= 1;
        assert!(key.open("kid-1", &tampered).is_none());
    }

    #[test]
    fn malformed_master_keys_are_refused() {
        assert!(MasterKey::parse("not base64!", "master_key").is_err());
        assert!(MasterKey::parse(&STANDARD.encode([1u8; 16]), "master_key").is_err());
        assert!(MasterKey::parse(&STANDARD.encode([1u8; 32]), "master_key").is_ok());
    }
}
