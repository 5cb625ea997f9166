CREATE TABLE kv (
	ns TEXT NOT NULL,
	key TEXT NOT NULL,
	value {{bytes}} NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (ns, key)
);
