-- The number of users, kept by a trigger: COUNT(*) scans the table (tens of ms at a
-- million users on every list request); this is one row.
CREATE TABLE users_total (
    id    INT    PRIMARY KEY CHECK (id = 1),
    total BIGINT NOT NULL
);

INSERT INTO users_total (id, total) SELECT 1, COUNT(*) FROM users;

CREATE FUNCTION users_total_bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'INSERT' THEN UPDATE users_total SET total = total + 1 WHERE id = 1; ELSE UPDATE users_total SET total = total - 1 WHERE id = 1; END IF; RETURN NULL; END $$;

CREATE TRIGGER users_total_bump AFTER INSERT OR DELETE ON users FOR EACH ROW EXECUTE FUNCTION users_total_bump();
