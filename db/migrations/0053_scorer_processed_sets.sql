-- 0053_scorer_processed_sets.sql - idempotency by sets of outbox ids.
--
-- A transaction that counts a batch of events stores their outbox ids as one
-- row (lo, hi, the sorted ids) instead of one score_processed row (and its
-- index entries) per event; a batch finds the ids counted before through the
-- sets whose range overlaps its own (GiST on int8range).  The rows of
-- score_processed are carried over, 5,000 ids a set, so an event counted
-- before this migration still counts once.
--
-- A business's running row is updated about once a day (its daily ledger):
-- half a page free holds a day's new versions (HOT) until the old ones are
-- pruned.
CREATE TABLE score_processed_sets (
    lo            bigint NOT NULL,
    hi            bigint NOT NULL,
    ids           bigint[] NOT NULL,
    processed_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (lo <= hi)
);
CREATE INDEX score_processed_sets_range ON score_processed_sets USING gist (int8range(lo, hi, '[]'));
CREATE INDEX score_processed_sets_age ON score_processed_sets (processed_at);
INSERT INTO score_processed_sets (lo, hi, ids, processed_at)
SELECT min(outbox_id), max(outbox_id), array_agg(outbox_id ORDER BY outbox_id), max(processed_at)
FROM (SELECT outbox_id, processed_at, (row_number() OVER (ORDER BY outbox_id) - 1) / 5000 AS g
      FROM score_processed) p
GROUP BY g;
DROP TABLE score_processed;

ALTER TABLE score_business_q SET (fillfactor = 50);
