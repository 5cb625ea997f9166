CREATE TABLE monitor_runs (
	id TEXT PRIMARY KEY,
	status TEXT NOT NULL,
	started_at BIGINT NOT NULL,
	data TEXT NOT NULL
);
CREATE INDEX monitor_runs_started ON monitor_runs(started_at DESC);
CREATE TABLE monitor_steps (
	run_id TEXT NOT NULL,
	name TEXT NOT NULL,
	seq BIGINT NOT NULL,
	data TEXT NOT NULL,
	PRIMARY KEY (run_id, name)
);
CREATE TABLE monitor_findings (
	run_id TEXT NOT NULL,
	seq BIGINT NOT NULL,
	data TEXT NOT NULL,
	PRIMARY KEY (run_id, seq)
);
CREATE TABLE monitor_actions (
	key TEXT PRIMARY KEY,
	run_id TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	data TEXT NOT NULL
);
CREATE INDEX monitor_actions_run ON monitor_actions(run_id);
