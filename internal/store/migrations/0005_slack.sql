CREATE TABLE slack_once (
	key TEXT PRIMARY KEY,
	expires_at BIGINT NOT NULL
);
CREATE INDEX slack_once_expires ON slack_once(expires_at);
CREATE TABLE slack_threads (
	key TEXT PRIMARY KEY,
	turn {{bytes}} NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX slack_threads_expires ON slack_threads(expires_at);
