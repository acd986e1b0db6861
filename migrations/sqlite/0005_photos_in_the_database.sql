-- Photos in the database, for platforms whose key-value stores cannot hold one per user
-- (`photo_store = database`; Fermyon Cloud allows 1,024 keys per store).
CREATE TABLE photos (
    file TEXT PRIMARY KEY,
    jpeg BLOB NOT NULL
);

-- A registration with its photo, inserted as one statement: the photo and the user are
-- written together or not at all. (Spin runs one statement per call, and an instance's
-- connection is shared by its concurrent requests, so no transaction may span two calls.)
CREATE VIEW registrations AS SELECT u.name, u.email, u.email_key, u.phone, u.position_id, u.registration_timestamp, u.photo, u.registration_token, p.jpeg AS photo_jpeg FROM users u JOIN photos p ON p.file = u.photo;

CREATE TRIGGER registrations_insert INSTEAD OF INSERT ON registrations BEGIN INSERT INTO photos (file, jpeg) VALUES (NEW.photo, NEW.photo_jpeg); INSERT INTO users (name, email, email_key, phone, position_id, registration_timestamp, photo, registration_token) VALUES (NEW.name, NEW.email, NEW.email_key, NEW.phone, NEW.position_id, NEW.registration_timestamp, NEW.photo, NEW.registration_token); END;
