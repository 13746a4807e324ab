-- An account is closed when its user is deleted (a UserDeleted event): its
-- balance and transaction amounts stay, so the ledger still adds up, but it
-- takes no deposit, withdrawal or welcome bonus any more. closed_by_event
-- is the UserDeleted event's id. An account closed before it ever opened
-- (the deletion's event overtook the registration's) is a row with a zero
-- balance, so a late welcome bonus finds it closed.
ALTER TABLE accounts
    ADD COLUMN closed_at       timestamptz,
    ADD COLUMN closed_by_event uuid;
