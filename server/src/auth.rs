//! Bearer tokens with roles, read from a token file and kept only as argon2 hashes.
//!
//! The token file (TOML) lists each token's name, roles and the argon2 hash of its secret:
//!
//! ```toml
//! [[token]]
//! name = "case-system"
//! roles = ["evaluate", "record", "read"]
//! hash = "$argon2id$v=19$m=19456,t=2,p=1$…"
//! ```
//!
//! A presented secret is checked against the hashes with argon2 the first time it is seen;
//! then the SHA-256 of the secret is remembered with the token it opened, and later requests
//! compare that digest with every remembered one in constant time (`subtle`), so a request
//! costs microseconds, not argon2's milliseconds, and the file never holds a secret.

use std::path::Path;
use std::sync::RwLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// `POST /v1/evaluate`, `/v1/policies`, `/v1/parameters`.
    Evaluate,
    /// `POST /v1/decisions`: keep records.
    Record,
    /// Read records and their explanations.
    Read,
    /// `POST /v1/admin/reload`.
    Admin,
}

impl Role {
    /// The role's name in the token file.
    pub fn name(self) -> &'static str {
        match self {
            Role::Evaluate => "evaluate",
            Role::Record => "record",
            Role::Read => "read",
            Role::Admin => "admin",
        }
    }
}

/// Who made a request: a token's name and roles, or `anonymous` with every role on a
/// loopback service without a token file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub roles: Vec<Role>,
}

impl Caller {
    /// The caller of a service without tokens.
    pub fn anonymous() -> Caller {
        Caller {
            name: "anonymous".to_string(),
            roles: vec![Role::Evaluate, Role::Record, Role::Read, Role::Admin],
        }
    }

    /// Whether the caller holds `role`.
    pub fn may(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// Why a token file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    #[error("cannot read the token file `{path}`: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("the token file `{path}` is not valid: {message}")]
    Invalid { path: String, message: String },
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFile {
    #[serde(default)]
    token: Vec<TokenEntry>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    name: String,
    roles: Vec<Role>,
    hash: String,
}

/// The tokens of a token file, with the secrets already checked.
#[derive(Debug)]
pub struct Tokens {
    entries: Vec<(Caller, String)>,
    /// SHA-256 of a checked secret and the index of its entry.
    checked: RwLock<Vec<([u8; 32], usize)>>,
}

impl Tokens {
    /// Reads a token file; every hash must be a valid argon2 PHC string.
    pub fn load(path: &Path) -> Result<Tokens, TokenFileError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| TokenFileError::Read {
            path: shown.clone(),
            error,
        })?;
        Tokens::parse(&text).map_err(|message| TokenFileError::Invalid {
            path: shown,
            message,
        })
    }

    /// Reads the text of a token file.
    pub fn parse(text: &str) -> Result<Tokens, String> {
        let file: TokenFile = toml::from_str(text).map_err(|error| error.to_string())?;
        if file.token.is_empty() {
            return Err("it has no [[token]] table".to_string());
        }
        let mut entries = Vec::with_capacity(file.token.len());
        for entry in file.token {
            PasswordHash::new(&entry.hash).map_err(|error| {
                format!(
                    "the hash of the token `{}` is not an argon2 hash: {error}",
                    entry.name
                )
            })?;
            entries.push((
                Caller {
                    name: entry.name,
                    roles: entry.roles,
                },
                entry.hash,
            ));
        }
        Ok(Tokens {
            entries,
            checked: RwLock::new(Vec::new()),
        })
    }

    /// The caller a secret belongs to, or `None` when it opens no token.
    pub fn caller(&self, secret: &str) -> Option<Caller> {
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        if let Ok(checked) = self.checked.read() {
            let mut found = None;
            for (known, index) in checked.iter() {
                if bool::from(known.ct_eq(&digest)) {
                    found = Some(*index);
                }
            }
            if let Some(index) = found {
                return self.entries.get(index).map(|(caller, _)| caller.clone());
            }
        }
        let index = self
            .entries
            .iter()
            .position(|(_, hash)| secret_matches(secret, hash))?;
        if let Ok(mut checked) = self.checked.write() {
            checked.push((digest, index));
        }
        self.entries.get(index).map(|(caller, _)| caller.clone())
    }
}

/// A new token: a random secret and its `[[token]]` table for the token file.
pub fn new_token(name: &str, roles: &[Role]) -> Result<(String, String), String> {
    let secret = random_hex(32)?;
    let hash = hash_secret(&secret)?;
    let roles: Vec<String> = roles
        .iter()
        .map(|role| format!("\"{}\"", role.name()))
        .collect();
    let table = format!(
        "[[token]]\nname = {}\nroles = [{}]\nhash = \"{hash}\"\n",
        toml::Value::String(name.to_string()),
        roles.join(", ")
    );
    Ok((secret, table))
}

/// The argon2 hash (PHC string) of a secret: a token or a user's password.
pub fn hash_secret(secret: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Ok(Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map_err(|error| error.to_string())?
        .to_string())
}

/// Whether `secret` is the one `hash` (a PHC string) was made from.
pub fn secret_matches(secret: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(secret.as_bytes(), &hash)
            .is_ok()
    })
}

/// `count` random bytes as hex: a session id or a CSRF token.
pub fn random_hex(count: usize) -> Result<String, String> {
    let mut bytes = vec![0u8; count];
    getrandom(&mut bytes)?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// Fills `bytes` from the system's random source.
pub fn fill_random(bytes: &mut [u8]) -> Result<(), String> {
    getrandom(bytes)
}

fn getrandom(bytes: &mut [u8]) -> Result<(), String> {
    use argon2::password_hash::rand_core::RngCore;
    argon2::password_hash::rand_core::OsRng
        .try_fill_bytes(bytes)
        .map_err(|error| error.to_string())
}
