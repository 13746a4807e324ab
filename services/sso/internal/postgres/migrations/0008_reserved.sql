-- Placeholder for issue 16's migration 0008, which is on another branch: the
-- versions must run without gaps. Delete this file when merging that branch.
SELECT 1;
