-- Version 7 is another change's (it lands with it); this placeholder keeps
-- the versions without gaps until then and is replaced by it.
SELECT 1;
