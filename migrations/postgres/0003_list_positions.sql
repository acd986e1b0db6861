-- Every user's place in the list, oldest first: 1, 2, 3… with no gaps, given inside the
-- statement that inserts the user. A page is then a range of places (an index range),
-- whatever its offset, where OFFSET had to walk every skipped user.
--
-- The place comes from the one users_total row, updated by a BEFORE INSERT trigger: the
-- row lock makes concurrent inserts take places one after another (across connections and
-- processes), and a failed insert rolls its update back with it, so places have no gaps.
-- The list's order (registration time, then id, newest first) is the order of places:
-- the trigger takes the id from the sequence after the lock (the column has no default
-- any more), and keeps registration times from going backwards along the list.
ALTER TABLE users ADD COLUMN list_position BIGINT;

ALTER TABLE users_total ADD COLUMN last_registered BIGINT NOT NULL DEFAULT 0;

UPDATE users SET list_position = ranked.place FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY registration_timestamp, id) AS place FROM users) AS ranked WHERE users.id = ranked.id;

UPDATE users_total SET total = (SELECT COUNT(*) FROM users), last_registered = COALESCE((SELECT MAX(registration_timestamp) FROM users), 0) WHERE id = 1;

ALTER TABLE users ALTER COLUMN list_position SET NOT NULL;

CREATE UNIQUE INDEX users_list_position ON users (list_position);

DROP INDEX users_newest_first;

DROP TRIGGER users_total_insert ON users;

DROP FUNCTION users_total_add();

ALTER TABLE users ALTER COLUMN id DROP DEFAULT;

CREATE FUNCTION users_list_place() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE users_total SET total = total + 1, last_registered = GREATEST(last_registered, NEW.registration_timestamp) WHERE id = 1 RETURNING total, last_registered INTO NEW.list_position, NEW.registration_timestamp; NEW.id := nextval(pg_get_serial_sequence('users', 'id')); RETURN NEW; END $$;

CREATE TRIGGER users_list_place BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION users_list_place();

-- Places must stay gap-free: users are never deleted.
DROP TRIGGER users_total_delete ON users;

DROP FUNCTION users_total_subtract();

CREATE FUNCTION users_never_deleted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'users are never deleted: the list positions depend on it'; END $$;

CREATE TRIGGER users_never_deleted BEFORE DELETE ON users FOR EACH STATEMENT EXECUTE FUNCTION users_never_deleted();
