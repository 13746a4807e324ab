-- user_ids maps an id to the e-mail that locates the user's partition, so a
-- lookup by id reads one row here and then exactly one partition of users.
-- It is written in the same transaction as the user. The foreign key keeps
-- it in step with users: deleting a user deletes the row, changing an
-- e-mail (the partition key) follows here. UNIQUE (email) keeps the mapping
-- one to one and indexes the cascade.
CREATE TABLE user_ids (
    id    uuid PRIMARY KEY,
    email text NOT NULL,
    CONSTRAINT user_ids_email_key UNIQUE (email),
    CONSTRAINT user_ids_email_fkey FOREIGN KEY (email)
        REFERENCES users (email) ON UPDATE CASCADE ON DELETE CASCADE
);
