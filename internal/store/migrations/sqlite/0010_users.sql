-- People who run statusd from a browser (the admin): a name and a
-- password hash (bcrypt). There is no user, and no default password,
-- until `statusd user add` makes one.
CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
