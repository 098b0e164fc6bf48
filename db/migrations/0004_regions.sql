-- 0004_regions.sql - the region tree (12-digit statistical division codes).
CREATE TABLE regions (
    code         char(12) PRIMARY KEY CHECK (code ~ '^[0-9]{12}$'),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    level        text NOT NULL CHECK (level IN ('province', 'city', 'district', 'township', 'community')),
    parent_code  char(12) REFERENCES regions (code),
    CHECK ((level IN ('province', 'city')) OR parent_code IS NOT NULL)
);
CREATE INDEX regions_parent ON regions (parent_code);
