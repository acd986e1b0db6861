-- Positions and users, with the constraints that decide registration races.
CREATE TABLE positions (
    id   BIGINT PRIMARY KEY,
    name TEXT   NOT NULL UNIQUE
);

INSERT INTO positions (id, name) VALUES
    (1, 'Lawyer'),
    (2, 'Content manager'),
    (3, 'Security'),
    (4, 'Designer');

CREATE TABLE users (
    id                     BIGSERIAL PRIMARY KEY,
    name                   TEXT   NOT NULL,
    email                  TEXT   NOT NULL,
    -- lower-cased email: uniqueness is case-insensitive
    email_key              TEXT   NOT NULL UNIQUE,
    -- normalised +380XXXXXXXXX
    phone                  TEXT   NOT NULL UNIQUE,
    position_id            BIGINT NOT NULL REFERENCES positions (id),
    registration_timestamp BIGINT NOT NULL,
    photo                  TEXT   NOT NULL,
    -- SHA-256 of the token that created the user: a token is used at most once
    registration_token     TEXT   UNIQUE
);

-- The list is read newest first; this index serves the ORDER BY and the OFFSET skip.
CREATE INDEX users_newest_first ON users (registration_timestamp DESC, id DESC);
