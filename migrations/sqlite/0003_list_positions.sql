-- Every user's place in the list, oldest first: 1, 2, 3… with no gaps, given inside the
-- statement that inserts the user. A page is then a range of places (an index range),
-- whatever its offset, where OFFSET had to walk every skipped user.
--
-- The list's order (registration time, then id, newest first) is the order of places:
-- SQLite runs one writer at a time, so ids grow with places, and the trigger keeps
-- registration times from going backwards along the list (a user registered a moment
-- after another, but inserted first, gets the later time of the two).
ALTER TABLE users ADD COLUMN list_position INTEGER;

ALTER TABLE users_total ADD COLUMN last_registered INTEGER NOT NULL DEFAULT 0;

UPDATE users SET list_position = ranked.place FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY registration_timestamp, id) AS place FROM users) AS ranked WHERE users.id = ranked.id;

UPDATE users_total SET total = (SELECT COUNT(*) FROM users), last_registered = COALESCE((SELECT MAX(registration_timestamp) FROM users), 0) WHERE id = 1;

CREATE UNIQUE INDEX users_list_position ON users (list_position);

DROP INDEX users_newest_first;

DROP TRIGGER users_total_insert;

CREATE TRIGGER users_list_insert AFTER INSERT ON users BEGIN UPDATE users_total SET total = total + 1, last_registered = MAX(last_registered, NEW.registration_timestamp) WHERE id = 1; UPDATE users SET list_position = (SELECT total FROM users_total WHERE id = 1), registration_timestamp = (SELECT last_registered FROM users_total WHERE id = 1) WHERE id = NEW.id; END;

-- Places must stay gap-free: users are never deleted.
DROP TRIGGER users_total_delete;

CREATE TRIGGER users_never_deleted BEFORE DELETE ON users BEGIN SELECT RAISE(ABORT, 'users are never deleted: the list positions depend on it'); END;
