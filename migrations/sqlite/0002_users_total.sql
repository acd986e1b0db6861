-- The number of users, kept by triggers: COUNT(*) walks a whole index (about 10 ms at a
-- million users on every list request); this is one row. (SQLite has no statement-level
-- triggers; its row triggers update the row in place, which stays cheap in bulk.)
CREATE TABLE users_total (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    total INTEGER NOT NULL
);

INSERT INTO users_total (id, total) SELECT 1, COUNT(*) FROM users;

CREATE TRIGGER users_total_insert AFTER INSERT ON users BEGIN UPDATE users_total SET total = total + 1 WHERE id = 1; END;

CREATE TRIGGER users_total_delete AFTER DELETE ON users BEGIN UPDATE users_total SET total = total - 1 WHERE id = 1; END;
