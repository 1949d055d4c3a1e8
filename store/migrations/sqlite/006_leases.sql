-- Several controllers on one database share the work by claims: a running target is claimed by one
-- controller (its id) until its lease ends. The claimant renews the lease while the attempt runs; a target
-- whose lease ended (its controller died, or lost the database) is taken over by another.
ALTER TABLE targets ADD COLUMN claimed_by TEXT;
ALTER TABLE targets ADD COLUMN lease_until TEXT;
