-- 0043_sampler_brief_index.sql - an inspection brief reads every assignment of one business
-- during the plan's quarter, ended ones included (assignments_business covers only current
-- ones); without this index that is a scan of all assignments per brief and per inspection.
CREATE INDEX IF NOT EXISTS assignments_business_all ON assignments (business_id, since);
