-- The commission app's sessions, kept in the database so that a restart of the server keeps
-- people signed in. A session is found by the SHA-256 (hex) of its token, never by the token:
-- whoever reads this table cannot present a row as a cookie. `user_id` is null until the browser
-- signs in (the sign-in form's session). `used_at` is the last use in seconds since the Unix
-- epoch; a session unused for the app's session time is expired and deleted.

CREATE TABLE app_sessions (
    token_sha256 TEXT PRIMARY KEY,
    user_id BIGINT REFERENCES users (id),
    csrf TEXT NOT NULL,
    lang TEXT NOT NULL,
    created_at TEXT NOT NULL,
    used_at BIGINT NOT NULL
);

CREATE INDEX app_sessions_by_use ON app_sessions (used_at);
