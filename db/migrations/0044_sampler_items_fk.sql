-- 0044_sampler_items_fk.sql - the drawn list is written once, by COPY, in the transaction
-- that inserts its plan row (sampler_create_plan), and never changed by the service (no
-- UPDATE/DELETE for lz_app); the foreign key to sampling_plans checked each of a province
-- plan's 90,000 rows one by one (~0.4 s of the build, bench/sampler_plan.sh) and guarded
-- nothing the code does not.  The other stored inputs keep theirs (15,000 rows or fewer).
ALTER TABLE sampling_items DROP CONSTRAINT IF EXISTS sampling_items_plan_id_fkey;
