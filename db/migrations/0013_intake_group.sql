-- 0013_intake_group.sql - support for intake's one-statement group commit.
--
-- intake.submit_record writes a whole group (claims with their stored
-- answers, records, problems, outbox events, audit entries) in ONE
-- statement, i.e. one implicit transaction and one round trip.  The
-- statement ends with lz_intake_assert(every claim and every record went
-- in): when a request id or a record already existed, the assertion raises,
-- the statement (and so everything it wrote) is rolled back, and the worker
-- falls back to the step-by-step path that answers each case.
CREATE FUNCTION lz_intake_assert(ok boolean, what text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF ok IS NOT TRUE THEN
        RAISE EXCEPTION 'group commit: %', what USING ERRCODE = '23L01';
    END IF;
    RETURN true;
END
$$;
