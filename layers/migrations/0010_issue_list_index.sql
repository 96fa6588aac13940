-- The issue list and Open311's requests walk issues newest first and filter them. With the
-- columns they filter on carried in the index, the walk reads no issue row until it has its
-- page, and a count over a window (Open311's X-Total-Count, the list's bounded count) reads
-- the index alone: a rare filter over a city's 10^6 issues, or the open requests of 90 days,
-- no longer fetch every issue row they pass.
CREATE INDEX issue_reported_cover_idx ON issue (reported_at DESC, id DESC)
    INCLUDE (community_id, stage, category, channel, due_at);
DROP INDEX issue_reported_idx;
