//! The app's sessions in the database (`app_sessions`, migration 0003), so that a restart of the
//! server keeps people signed in.
//!
//! The cookie carries a random token; the table keeps only its SHA-256, so whoever reads the
//! database (a backup, a replica) cannot sign in as anyone. A session unused for the session time
//! is expired: it is never found again and is deleted when the next session is made. Sign-out
//! deletes the row. The time of last use is written at most once a [`TOUCH_INTERVAL`], so that a
//! signed-in browser's every request does not write.
//!
//! Only a signed-in browser has a row. Before sign-in a browser holds an anonymous cookie that
//! the database never sees ([`AnonymousCookie`]): its CSRF token is an HMAC-SHA256 of the
//! cookie's random part under a key made at the server's start ([`AnonymousKey`]), so a request
//! without a cookie (a bot's) writes nothing, and the sign-in form's CSRF check still needs the
//! cookie the form was given. Sign-in replaces the anonymous cookie with a new session token.
//!
//! Every function takes the present time (`now`, seconds since the Unix epoch) so that the unit
//! tests can move the clock.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::storage::{Sql, SqlValue, StoreError};

/// How long a session lasts without use.
pub const SESSION_SECONDS: i64 = 12 * 60 * 60;
/// The last use of a session is written again once it is older than this.
pub const TOUCH_INTERVAL: i64 = 60;

/// How long an anonymous cookie (before sign-in) is accepted after it was made.
pub const ANONYMOUS_SECONDS: i64 = 2 * 60 * 60;

/// The first part of an anonymous cookie's value; a session token is hex and never has it.
const ANONYMOUS_PREFIX: &str = "anon";

/// The server's key for the anonymous cookies' CSRF tokens: 32 random bytes made on first use
/// and kept in memory only. A restart makes a new one, so a sign-in form shown before a restart
/// is refused once (the browser gets a new anonymous cookie with the refusal).
#[derive(Debug, Default)]
pub struct AnonymousKey {
    key: std::sync::OnceLock<Vec<u8>>,
}

impl AnonymousKey {
    /// The key, made now if this is its first use; `None` when the system has no random bytes.
    pub fn bytes(&self) -> Option<&[u8]> {
        if let Some(key) = self.key.get() {
            return Some(key);
        }
        let mut made = vec![0u8; 32];
        crate::auth::fill_random(&mut made).ok()?;
        Some(self.key.get_or_init(|| made))
    }
}

/// A browser's cookie before sign-in, which no table holds: its language, when it was made and
/// a random part. Its value is `anon.<lang>.<made>.<random>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnonymousCookie {
    /// The pages' language code.
    pub lang: String,
    /// When the cookie was made, in seconds since the Unix epoch.
    pub made_at: i64,
    /// 32 random bytes in hex.
    pub random: String,
}

impl AnonymousCookie {
    /// The cookie's value.
    pub fn value(&self) -> String {
        format!(
            "{ANONYMOUS_PREFIX}.{}.{}.{}",
            self.lang, self.made_at, self.random
        )
    }

    /// Whether a cookie's value is an anonymous cookie's (well formed or not), which is never
    /// looked up in the database.
    pub fn is_anonymous(value: &str) -> bool {
        value.starts_with(ANONYMOUS_PREFIX)
    }

    /// The anonymous cookie of a value, unless it is malformed, made in the future or older
    /// than [`ANONYMOUS_SECONDS`].
    pub fn parse(value: &str, now: i64) -> Option<AnonymousCookie> {
        let mut parts = value.split('.');
        let (prefix, lang, made_at, random) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if prefix != ANONYMOUS_PREFIX || parts.next().is_some() {
            return None;
        }
        let made_at: i64 = made_at.parse().ok()?;
        let fresh = made_at <= now + 60 && now - made_at < ANONYMOUS_SECONDS;
        let well_formed = random.len() == 64 && random.bytes().all(|byte| byte.is_ascii_hexdigit());
        (fresh && well_formed).then(|| AnonymousCookie {
            lang: lang.to_string(),
            made_at,
            random: random.to_string(),
        })
    }

    /// The CSRF token of the cookie: the HMAC-SHA256 of its time and random part under the
    /// server's key, in hex. The language is not in it, so changing the language keeps it.
    pub fn csrf(&self, key: &[u8]) -> String {
        let message = format!("csrf.{}.{}", self.made_at, self.random);
        hmac_sha256(key, message.as_bytes())
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

/// HMAC-SHA256 (RFC 2104) of a message under a key.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC pads a key to the hash's block (64 bytes) with zeros, and hashes a longer key
    // first; done here, the block goes to the infallible `KeyInit::new`.
    let mut block = [0u8; 64];
    if key.len() > block.len() {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut mac = <Hmac<Sha256> as KeyInit>::new(&block.into());
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// A session as the table keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// The signed-in user (`None` only in rows an older version made before sign-in, which
    /// open nothing now).
    pub user_id: Option<i64>,
    /// The session's CSRF token (not a credential by itself: it opens nothing without the
    /// cookie, so it is kept as it is).
    pub csrf: String,
    /// The pages' language code.
    pub lang: String,
    /// The last use, in seconds since the Unix epoch.
    pub used_at: i64,
}

/// The present time in seconds since the Unix epoch.
pub fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The SHA-256 of a session token, in hex: the only form of it the database holds.
pub fn token_sha256(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The session of a token, unless there is none or it has expired. Its last use is written
/// (and its language set, when `lang` is given and differs) in the same transaction.
pub fn find(
    sql: &mut dyn Sql,
    token: &str,
    lang: Option<&str>,
    now: i64,
) -> Result<Option<StoredSession>, StoreError> {
    let digest = token_sha256(token);
    let rows = sql.query(
        "SELECT user_id, csrf, lang, used_at FROM app_sessions WHERE token_sha256 = $1",
        &[digest.clone().into()],
    )?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let mut session = StoredSession {
        user_id: row.first().and_then(SqlValue::integer),
        csrf: row
            .get(1)
            .and_then(SqlValue::text)
            .unwrap_or_default()
            .to_string(),
        lang: row
            .get(2)
            .and_then(SqlValue::text)
            .unwrap_or_default()
            .to_string(),
        used_at: row.get(3).and_then(SqlValue::integer).unwrap_or(0),
    };
    if now - session.used_at >= SESSION_SECONDS || session.csrf.is_empty() {
        sql.execute(
            "DELETE FROM app_sessions WHERE token_sha256 = $1",
            &[digest.into()],
        )?;
        return Ok(None);
    }
    let new_lang = lang.filter(|lang| *lang != session.lang);
    if let Some(lang) = new_lang {
        session.lang = lang.to_string();
    }
    if new_lang.is_some() || now - session.used_at >= TOUCH_INTERVAL {
        session.used_at = now;
        sql.execute(
            "UPDATE app_sessions SET lang = $1, used_at = $2 WHERE token_sha256 = $3",
            &[session.lang.clone().into(), now.into(), digest.into()],
        )?;
    }
    Ok(Some(session))
}

/// Keeps a new session under the SHA-256 of `token`, and deletes the expired ones.
pub fn create(
    sql: &mut dyn Sql,
    token: &str,
    session: &StoredSession,
    now: i64,
) -> Result<(), StoreError> {
    sql.execute(
        "DELETE FROM app_sessions WHERE used_at <= $1",
        &[(now - SESSION_SECONDS).into()],
    )?;
    sql.execute(
        "INSERT INTO app_sessions (token_sha256, user_id, csrf, lang, created_at, used_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            token_sha256(token).into(),
            session.user_id.map_or(SqlValue::Null, SqlValue::Integer),
            session.csrf.clone().into(),
            session.lang.clone().into(),
            crate::storage::now_rfc3339().into(),
            now.into(),
        ],
    )?;
    Ok(())
}

/// Deletes the session of a token (sign-out, or the session replaced at sign-in).
pub fn delete(sql: &mut dyn Sql, token: &str) -> Result<(), StoreError> {
    sql.execute(
        "DELETE FROM app_sessions WHERE token_sha256 = $1",
        &[token_sha256(token).into()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::storage::{in_transaction, open_database, Database};

    /// A fresh SQLite database in memory, with the migrations applied.
    fn database() -> Box<dyn Database> {
        open_database(":memory:").unwrap()
    }

    fn anonymous(csrf: &str) -> StoredSession {
        StoredSession {
            user_id: None,
            csrf: csrf.to_string(),
            lang: "ru".to_string(),
            used_at: 0,
        }
    }

    #[test]
    fn hmac_sha256_gives_the_rfc_4231_values() {
        let hex = |bytes: [u8; 32]| -> String {
            bytes.iter().map(|byte| format!("{byte:02x}")).collect()
        };
        assert_eq!(
            hex(hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        // A key longer than the block is hashed first (test case 6).
        assert_eq!(
            hex(hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn an_anonymous_cookie_is_accepted_only_well_formed_and_for_its_time() {
        let cookie = AnonymousCookie {
            lang: "kk".to_string(),
            made_at: 1_000,
            random: "ab".repeat(32),
        };
        let value = cookie.value();
        assert!(AnonymousCookie::is_anonymous(&value));
        assert_eq!(AnonymousCookie::parse(&value, 1_000), Some(cookie.clone()));
        assert_eq!(
            AnonymousCookie::parse(&value, 1_000 + ANONYMOUS_SECONDS),
            None
        );
        assert_eq!(
            AnonymousCookie::parse(&value, 0),
            None,
            "made in the future"
        );
        assert_eq!(AnonymousCookie::parse(&format!("{value}.x"), 1_000), None);
        assert_eq!(AnonymousCookie::parse("anon.ru.1000.abcd", 1_000), None);
        // The CSRF token depends on the key and the random part, not on the language.
        let other_lang = AnonymousCookie {
            lang: "en".to_string(),
            ..cookie.clone()
        };
        let other_random = AnonymousCookie {
            random: "cd".repeat(32),
            ..cookie.clone()
        };
        assert_eq!(cookie.csrf(b"key"), other_lang.csrf(b"key"));
        assert_ne!(cookie.csrf(b"key"), other_random.csrf(b"key"));
        assert_ne!(cookie.csrf(b"key"), cookie.csrf(b"another key"));
        assert_eq!(cookie.csrf(b"key").len(), 64);
    }

    #[test]
    fn a_session_is_kept_by_the_hash_of_its_token_only() {
        let mut database = database();
        let token = "0123456789abcdef";
        in_transaction(database.as_mut(), |sql| {
            create(sql, token, &anonymous("csrf-1"), 1_000)
        })
        .unwrap();
        let keys = in_transaction(database.as_mut(), |sql| {
            sql.query("SELECT token_sha256 FROM app_sessions", &[])
        })
        .unwrap();
        assert_eq!(keys, vec![vec![SqlValue::Text(token_sha256(token))]]);
        assert_eq!(
            token_sha256("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let found = in_transaction(database.as_mut(), |sql| find(sql, token, None, 1_010))
            .unwrap()
            .unwrap();
        assert_eq!(found.csrf, "csrf-1");
        let wrong = in_transaction(database.as_mut(), |sql| {
            find(sql, &token_sha256(token), None, 1_010)
        })
        .unwrap();
        assert_eq!(wrong, None, "the stored hash worked as a token");
    }

    #[test]
    fn a_session_expires_after_the_session_time_without_use() {
        let mut database = database();
        in_transaction(database.as_mut(), |sql| {
            create(sql, "kept", &anonymous("a"), 1_000)?;
            create(sql, "dropped", &anonymous("b"), 1_000)
        })
        .unwrap();
        // Used within the session time, it lasts past the time since it was made.
        let later = 1_000 + SESSION_SECONDS - 1;
        let found = in_transaction(database.as_mut(), |sql| {
            find(sql, "kept", Some("en"), later)
        })
        .unwrap()
        .unwrap();
        assert_eq!((found.lang.as_str(), found.used_at), ("en", later));
        let found = in_transaction(database.as_mut(), |sql| {
            find(sql, "kept", None, later + SESSION_SECONDS - 1)
        })
        .unwrap();
        assert!(found.is_some(), "a session in use expired");
        // Unused for the session time, it is gone, and the next session made deletes it.
        let found = in_transaction(database.as_mut(), |sql| {
            find(sql, "dropped", None, 1_000 + SESSION_SECONDS)
        })
        .unwrap();
        assert_eq!(found, None);
        in_transaction(database.as_mut(), |sql| {
            create(sql, "third", &anonymous("c"), 4 * SESSION_SECONDS)
        })
        .unwrap();
        let count = in_transaction(database.as_mut(), |sql| {
            sql.query("SELECT COUNT(*) FROM app_sessions", &[])
        })
        .unwrap();
        assert_eq!(count, vec![vec![SqlValue::Integer(1)]]);
    }

    #[test]
    fn a_deleted_session_is_not_found() {
        let mut database = database();
        in_transaction(database.as_mut(), |sql| {
            create(sql, "one", &anonymous("a"), 1_000)?;
            create(sql, "two", &anonymous("b"), 1_000)?;
            delete(sql, "one")
        })
        .unwrap();
        let (one, two) = in_transaction(database.as_mut(), |sql| {
            Ok::<_, StoreError>((
                find(sql, "one", None, 1_001)?,
                find(sql, "two", None, 1_001)?,
            ))
        })
        .unwrap();
        assert_eq!(one, None);
        assert!(two.is_some());
    }
}
