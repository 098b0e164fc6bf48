-- 0051_scorer_dirty_urgency.sql - businesses touched by an event are regraded
-- before the daily sweep's.
--
-- The daily job marks every active business for a regrade; without an order
-- of urgency, a business that just crossed a band waited behind the whole
-- registry.  Marks from events are urgent (false sorts first).
ALTER TABLE score_dirty ADD COLUMN daily boolean NOT NULL DEFAULT false;
CREATE INDEX score_dirty_order ON score_dirty (daily, business_id);
