-- Servers that enrolled themselves while enrolmentApproval is "manual" wait for an admin's approval: no job
-- is dispatched to a pending server.
ALTER TABLE servers ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
