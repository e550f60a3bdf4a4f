package catalog

import (
	"context"
	"database/sql"
	"fmt"
)

// What outlives a dataset's versions and must survive the loss of the
// node's disk: its idempotency keys (a replay is recognised after its
// version expired) and the record of compacted parts (an append whose
// part was merged away is still a replay). Both live in the metadata
// database and are mirrored to _catalog/state/<name>.json before any
// version that carries them loses its manifest object, so `catalog
// rebuild` and a new node over the bucket restore them.

const statePrefix = "_catalog/state/"

func stateKey(name string) string { return statePrefix + name + ".json" }

// maxRemembered bounds the keys and the compacted parts remembered per
// dataset: a replay is recognised for the newest 10,000 keyed writes and
// compactions of 10,000 parts.
const maxRemembered = 10000

type stateJSON struct {
	Name        string            `json:"name"`
	Idempotency []stateKeyJSON    `json:"idempotency,omitempty"`
	Absorbed    map[string]string `json:"absorbed,omitempty"`
}

type stateKeyJSON struct {
	Key     string `json:"key"`
	Version int    `json:"version"`
	Content string `json:"content"`
}

// carriesState reports whether a dataset has keys or compacted parts to
// remember.
func (s *Store) carriesState(ctx context.Context, name string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM idempotency_keys WHERE name = ?) + (SELECT count(*) FROM absorbed_parts WHERE name = ?)`,
		name, name).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("catalog: state of %q: %w", name, err)
	}
	return n > 0, nil
}

// saveState trims a dataset's remembered keys and compacted parts to
// maxRemembered and mirrors them to the bucket (s.mu held). A dataset
// with none writes nothing.
func (s *Store) saveState(ctx context.Context, name string) error {
	has, err := s.carriesState(ctx, name)
	if err != nil || !has {
		return err
	}
	for _, q := range []string{
		`DELETE FROM idempotency_keys WHERE name = ? AND key NOT IN
			(SELECT key FROM idempotency_keys WHERE name = ? ORDER BY version DESC, key LIMIT ?)`,
		`DELETE FROM absorbed_parts WHERE name = ? AND rowid NOT IN
			(SELECT rowid FROM absorbed_parts WHERE name = ? ORDER BY rowid DESC LIMIT ?)`,
	} {
		if _, err := s.db.ExecContext(ctx, q, name, name, maxRemembered); err != nil {
			return fmt.Errorf("catalog: trim state of %q: %w", name, err)
		}
	}
	st := stateJSON{Name: name, Absorbed: map[string]string{}}
	rows, err := s.db.QueryContext(ctx, `SELECT key, version, content FROM idempotency_keys WHERE name = ? ORDER BY version, key`, name)
	if err != nil {
		return fmt.Errorf("catalog: state of %q: %w", name, err)
	}
	for rows.Next() {
		var k stateKeyJSON
		if err := rows.Scan(&k.Key, &k.Version, &k.Content); err != nil {
			rows.Close()
			return fmt.Errorf("catalog: state of %q: %w", name, err)
		}
		st.Idempotency = append(st.Idempotency, k)
	}
	rows.Close()
	arows, err := s.db.QueryContext(ctx, `SELECT key, into_key FROM absorbed_parts WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("catalog: state of %q: %w", name, err)
	}
	for arows.Next() {
		var from, into string
		if err := arows.Scan(&from, &into); err != nil {
			arows.Close()
			return fmt.Errorf("catalog: state of %q: %w", name, err)
		}
		st.Absorbed[from] = into
	}
	arows.Close()
	if err := s.putJSON(ctx, stateKey(name), st); err != nil {
		return fmt.Errorf("catalog: mirror state of %q: %w", name, err)
	}
	return nil
}

// rebuildState restores every dataset's remembered keys and compacted
// parts from the bucket (keys of versions still kept are restored from
// their manifests too, newest wins).
func (s *Store) rebuildState(ctx context.Context, tx *sql.Tx) error {
	objs, err := listAll(ctx, s.objects, statePrefix)
	if err != nil {
		return err
	}
	for _, o := range objs {
		var st stateJSON
		if err := getJSON(ctx, s.objects, o.Key, &st); err != nil || ValidateName(st.Name) != nil {
			s.log.Warn("catalog: rebuild: skip state object", "key", o.Key, "err", err)
			continue
		}
		for _, k := range st.Idempotency {
			if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO idempotency_keys (name, key, version, content) VALUES (?, ?, ?, ?)`,
				st.Name, k.Key, k.Version, k.Content); err != nil {
				return fmt.Errorf("catalog: rebuild: keys of %q: %w", st.Name, err)
			}
		}
		for from, into := range st.Absorbed {
			if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO absorbed_parts (name, key, into_key) VALUES (?, ?, ?)`,
				st.Name, from, into); err != nil {
				return fmt.Errorf("catalog: rebuild: compacted parts of %q: %w", st.Name, err)
			}
		}
	}
	return nil
}
