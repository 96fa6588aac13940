-- Idempotency keys of issue records (the map's record form, API clients, Open311 POST). A
-- client that retries a request whose answer it never saw sends the same key again and gets
-- the issue the first attempt stored, never a second copy. The key is written in the
-- transaction that writes the issue: both are there or neither.
--
-- fingerprint  a hash of who sent what (the actor and the issue's fields), so that a key
--              reused for another request is refused instead of answered with the wrong issue.
-- The key belongs to the request, not to the issue: its primary key is the key alone, so the
-- database itself stores a key once. It is a log of requests, not a table hanging off issue
-- (no foreign key into it; issues are never deleted): on Citus it is distributed by its own
-- key, and the pair (issue_id, community_id) finds the issue on its shard.
CREATE TABLE issue_request_key (
    key           text PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 200),
    fingerprint   text NOT NULL,
    issue_id      int NOT NULL,
    community_id  int NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
