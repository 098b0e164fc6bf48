-- 0021_scheduler_grades.sql - risk grades as the scorer announces them (score.grade_changed),
-- kept by the scheduler: the grade decides which cadre level owes a business its visits
-- (DOMAIN.md: D -> county, C -> township, A/B -> village; setting LZ_VISIT_LEVEL_BY_GRADE),
-- and so how often.  A visit period uses the grade in effect at its start (the latest row
-- changed at or before it, else businesses.risk_grade, the imported grade): a change applies
-- from the next period.
CREATE TABLE scheduler_grades (
    business_id  bigint NOT NULL,
    changed_at   timestamptz NOT NULL,
    grade        char(1) NOT NULL CHECK (grade IN ('A', 'B', 'C', 'D')),
    old_grade    char(1),
    quarter      text,
    PRIMARY KEY (business_id, changed_at)
);
