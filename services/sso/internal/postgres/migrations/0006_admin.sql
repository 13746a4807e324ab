-- When an administrator disabled the account; NULL for an account in use.
-- A disabled account cannot log in or refresh (see auth.Service).
ALTER TABLE users ADD COLUMN disabled_at timestamptz;

-- The admin listing pages by (created_at, id): each partition's index
-- gives its rows in that order and the planner merges them (Merge Append),
-- so a page reads page_size rows per partition at most instead of sorting
-- the table.
CREATE INDEX users_created_idx ON users (created_at, id);

-- The admin search by e-mail prefix (email LIKE 'ada%'). users is
-- partitioned by a hash of the e-mail, so a prefix cannot be pruned to one
-- partition: every partition is searched, each through its own copy of
-- this index. text_pattern_ops compares bytewise, which is what serves a
-- LIKE prefix whatever the database's collation (the primary key's
-- collation-ordered index cannot, outside the C collation).
CREATE INDEX users_email_pattern_idx ON users (email text_pattern_ops);
