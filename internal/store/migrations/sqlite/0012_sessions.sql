-- The admin's sessions: the cookie holds a random id, the database its
-- SHA-256 (a stolen database opens no session), the user, the session's
-- CSRF token and its values (JSON: flash messages). A session ends at its
-- expiry, at logout, or with its user (password changed, user removed).
-- They replace the first schema's admin_users and admin_sessions, never
-- used: the admin's users are the table users (0010).
DROP TABLE admin_sessions;
DROP TABLE admin_users;

CREATE TABLE admin_sessions (
    id_hash    TEXT PRIMARY KEY,
    user_name  TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,
    data       TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX admin_sessions_expires ON admin_sessions (expires_at);
