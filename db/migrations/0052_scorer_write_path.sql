-- 0052_scorer_write_path.sql - cheaper writes on the scorer's event path.
--
-- Every event updates one running row (score_business_q, score_cadre_q,
-- score_visit_pairs) and inserts one score_processed row.  With full pages
-- an update cannot stay on its page (HOT), so every update also inserted
-- into every index of the table; room left on each page lets the counters'
-- updates (no indexed column changes) stay HOT.  score_processed's age index
-- only serves the purge, which scans by age in large ranges: BRIN over the
-- insertion-ordered processed_at costs next to nothing per insert, where the
-- btree added a second index entry per event.  (0053 replaces
-- score_processed by sets.)
ALTER TABLE score_business_q SET (fillfactor = 70);
ALTER TABLE score_cadre_q SET (fillfactor = 70);
ALTER TABLE score_visit_pairs SET (fillfactor = 70);
DROP INDEX IF EXISTS score_processed_age;
CREATE INDEX score_processed_age ON score_processed USING brin (processed_at);
