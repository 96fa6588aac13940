-- A merged issue's link to the issue it was merged into is a pair (merged_into_community_id,
-- merged_into_id): both or neither. On one machine the foreign key MATCH FULL says so; on
-- Citus that key is dropped (the target may be on another shard, docs/scaling.md §3.2), so
-- the rule is also a CHECK on the row, which holds on both.
ALTER TABLE issue ADD CONSTRAINT issue_merged_into_whole
    CHECK ((merged_into_id IS NULL) = (merged_into_community_id IS NULL));
