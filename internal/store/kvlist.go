package store

import "context"

// KV is one record of a kv namespace.
type KV struct {
	Key   string
	Value []byte
}

// ListKV returns up to limit records of namespace ns whose key sorts after after ("" = from the
// first), in key order. Callers page by passing the last key they got.
func (s *SQLStore) ListKV(ctx context.Context, ns, after string, limit int) ([]KV, error) {
	if limit <= 0 {
		limit = 500
	}
	rows, err := s.db.QueryContext(ctx, `SELECT key, value FROM kv WHERE ns = ? AND key > ? ORDER BY key LIMIT ?`, ns, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []KV
	for rows.Next() {
		var kv KV
		if err := rows.Scan(&kv.Key, &kv.Value); err != nil {
			return nil, err
		}
		out = append(out, kv)
	}
	return out, rows.Err()
}
