-- Each job's targets counted by state, kept by triggers as targets are added, moved and deleted: a job's
-- state (settled after every transition) then costs a few rows to read, not a scan of all its targets
-- (quadratic over a 10 000-target job). Rows at zero stay; readers skip them.
CREATE TABLE job_target_counts (
    job_seq  INTEGER NOT NULL REFERENCES jobs (seq) ON DELETE CASCADE,
    state    TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (job_seq, state)
);
INSERT INTO job_target_counts (job_seq, state, n) SELECT job_seq, state, COUNT(*) FROM targets GROUP BY job_seq, state;

CREATE TRIGGER targets_counted_insert AFTER INSERT ON targets BEGIN
    INSERT INTO job_target_counts (job_seq, state, n) VALUES (NEW.job_seq, NEW.state, 1)
        ON CONFLICT (job_seq, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER targets_counted_update AFTER UPDATE OF state ON targets WHEN OLD.state <> NEW.state BEGIN
    UPDATE job_target_counts SET n = n - 1 WHERE job_seq = OLD.job_seq AND state = OLD.state;
    INSERT INTO job_target_counts (job_seq, state, n) VALUES (NEW.job_seq, NEW.state, 1)
        ON CONFLICT (job_seq, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER targets_counted_delete AFTER DELETE ON targets BEGIN
    UPDATE job_target_counts SET n = n - 1 WHERE job_seq = OLD.job_seq AND state = OLD.state;
END;
