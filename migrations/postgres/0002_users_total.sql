-- The number of users, kept by triggers: COUNT(*) scans the table (tens of ms at a
-- million users on every list request); this is one row. The triggers run once per
-- statement with the statement's rows as a transition table, so a bulk insert updates the
-- row once, not once per user.
CREATE TABLE users_total (
    id    INT    PRIMARY KEY CHECK (id = 1),
    total BIGINT NOT NULL
);

INSERT INTO users_total (id, total) SELECT 1, COUNT(*) FROM users;

CREATE FUNCTION users_total_add() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE users_total SET total = total + (SELECT COUNT(*) FROM inserted) WHERE id = 1; RETURN NULL; END $$;

CREATE FUNCTION users_total_subtract() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE users_total SET total = total - (SELECT COUNT(*) FROM deleted) WHERE id = 1; RETURN NULL; END $$;

CREATE TRIGGER users_total_insert AFTER INSERT ON users REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION users_total_add();

CREATE TRIGGER users_total_delete AFTER DELETE ON users REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION users_total_subtract();
