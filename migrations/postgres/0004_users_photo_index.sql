-- Which users a stored photo belongs to: the photo maintenance check asks this of every
-- photo in the store, and without an index each question scans the table.
CREATE INDEX users_photo ON users (photo);
