-- Each job's targets counted by state, kept by triggers as targets are added, moved and deleted: a job's
-- state (settled after every transition) then costs a few rows to read, not a scan of all its targets
-- (quadratic over a 10 000-target job). Rows at zero stay; readers skip them. Every change of a target's
-- state holds its job's row lock (FOR UPDATE), so these rows are never updated in two orders at once.
-- A controller of the previous version may still be writing targets while this runs (a rolling upgrade):
-- the lock makes its writes wait, so that none falls between the count below and the triggers.
LOCK TABLE targets IN SHARE ROW EXCLUSIVE MODE;
CREATE TABLE job_target_counts (
    job_seq  BIGINT NOT NULL REFERENCES jobs (seq) ON DELETE CASCADE,
    state    TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (job_seq, state)
);
INSERT INTO job_target_counts (job_seq, state, n) SELECT job_seq, state, COUNT(*) FROM targets GROUP BY job_seq, state;

CREATE FUNCTION certdeploy_count_targets() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' OR TG_OP = 'DELETE' THEN
        UPDATE job_target_counts SET n = n - 1 WHERE job_seq = OLD.job_seq AND state = OLD.state;
    END IF;
    IF TG_OP = 'UPDATE' OR TG_OP = 'INSERT' THEN
        INSERT INTO job_target_counts (job_seq, state, n) VALUES (NEW.job_seq, NEW.state, 1)
            ON CONFLICT (job_seq, state) DO UPDATE SET n = job_target_counts.n + 1;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER targets_counted_insert AFTER INSERT ON targets
    FOR EACH ROW EXECUTE FUNCTION certdeploy_count_targets();
CREATE TRIGGER targets_counted_update AFTER UPDATE OF state ON targets
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION certdeploy_count_targets();
CREATE TRIGGER targets_counted_delete AFTER DELETE ON targets
    FOR EACH ROW EXECUTE FUNCTION certdeploy_count_targets();
