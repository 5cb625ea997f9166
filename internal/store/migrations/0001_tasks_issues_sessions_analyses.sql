CREATE TABLE a2a_tasks (
	id TEXT PRIMARY KEY,
	context_id TEXT NOT NULL,
	state TEXT NOT NULL,
	version BIGINT NOT NULL,
	owner TEXT NOT NULL DEFAULT '',
	data TEXT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX a2a_tasks_context ON a2a_tasks(context_id);
CREATE INDEX a2a_tasks_updated ON a2a_tasks(updated_at DESC, id DESC);
CREATE TABLE issues (
	fingerprint TEXT PRIMARY KEY,
	data TEXT NOT NULL
);
CREATE TABLE fixer_sessions (
	fingerprint TEXT PRIMARY KEY,
	data TEXT NOT NULL
);
CREATE TABLE analyses (
	namespace TEXT NOT NULL,
	rollout TEXT NOT NULL,
	canary_hash TEXT NOT NULL,
	data TEXT NOT NULL,
	PRIMARY KEY (namespace, rollout, canary_hash)
);
