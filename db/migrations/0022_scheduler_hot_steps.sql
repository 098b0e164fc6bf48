-- 0022_scheduler_hot_steps.sql - a ladder step's UPDATE of its task becomes a HOT update.
--
-- Each escalation step writes tasks.step and tasks.next_step_at.  With next_step_at indexed
-- (tasks_due) every step was a non-HOT update: a new row version plus an entry in each of the
-- table's five indexes (~22 us a task at 750,000 tasks).  The due tasks are now found through
-- the open tasks' deadlines instead: a partial index on deadline (which never changes) over
-- the open tasks that still have a step to come.  "laddered" (next_step_at IS NOT NULL, a
-- stored generated column) changes only when the ladder runs out, so the predicate does not
-- block HOT for the steps before; step and next_step_at are in no index.  A task is due when
-- next_step_at <= as_of, and next_step_at >= deadline always (a step's delay is >= 0), so
-- the sweep reads the index range deadline <= as_of and checks next_step_at in the row.
-- fillfactor 50: a batch advances every task on a page in one transaction, so each page needs
-- room for a second version of all its rows (the old ones are pruned by the next step).
DROP INDEX IF EXISTS tasks_due;
ALTER TABLE tasks ADD COLUMN laddered boolean GENERATED ALWAYS AS (next_step_at IS NOT NULL) STORED;
CREATE INDEX tasks_open_laddered ON tasks (deadline, id) WHERE status = 'open' AND laddered;
ALTER TABLE tasks SET (fillfactor = 50);
