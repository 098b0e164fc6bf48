-- 0042_sampler_frame_strata.sql - a plan's stored frame, one row per stratum instead of one
-- per business: (plan, stratum, business ids, weights), the ids ascending.  A province plan
-- stores 15,000 rows instead of 1,000,000, which is what keeps building and verifying it
-- within seconds (bench/sampler_plan.sh).  Same content, so the frame digest of every
-- stored plan is unchanged; existing rows are carried over.

ALTER TABLE sampling_frame RENAME TO sampling_frame_v1;
ALTER TABLE sampling_frame_v1 RENAME CONSTRAINT sampling_frame_pkey TO sampling_frame_v1_pkey;

CREATE TABLE sampling_frame (
    plan_id       bigint NOT NULL REFERENCES sampling_plans (id),
    stratum       char(12) NOT NULL,
    business_ids  bigint[] NOT NULL,
    weights       int[] NOT NULL,
    PRIMARY KEY (plan_id, stratum),
    CHECK (cardinality(business_ids) = cardinality(weights) AND cardinality(business_ids) >= 1)
);

INSERT INTO sampling_frame (plan_id, stratum, business_ids, weights)
SELECT plan_id, stratum, array_agg(business_id ORDER BY business_id),
       array_agg(weight ORDER BY business_id)
FROM sampling_frame_v1 GROUP BY plan_id, stratum;

DROP TABLE sampling_frame_v1;

REVOKE UPDATE, DELETE, TRUNCATE ON sampling_frame FROM lz_app;
