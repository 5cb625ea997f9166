CREATE TABLE claims (
	key TEXT PRIMARY KEY,
	owner TEXT NOT NULL,
	token BIGINT NOT NULL,
	held INTEGER NOT NULL,
	done INTEGER NOT NULL,
	result {{bytes}} NOT NULL,
	expires_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
