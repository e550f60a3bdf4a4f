package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// What outlives a dataset's versions and must survive the loss of the
// node's disk: its idempotency keys (a replay is recognised after its
// version expired) and the record of compacted parts (an append whose
// part was merged away is still a replay). Both live in the metadata
// database. When a version that carries either expires, what it carried
// is written to _catalog/keys/<name>/<version>.json before its manifest
// object goes (one small object per expired version, so a commit costs
// the same whatever the history), and `catalog rebuild` (a new node over
// the bucket) reads them back. Maintenance keeps the newest
// rememberVersions of them, in the bucket and in the database.

const keysPrefix = "_catalog/keys/"

func keysKey(name string, version int) string {
	return keysPrefix + name + "/" + strconv.Itoa(version) + ".json"
}

// rememberVersions bounds the remembered keys and compacted parts: a
// replay is recognised as long as its version is among the newest
// 10,000 of the dataset.
const rememberVersions = 10000

// maxAbsorbed bounds the compacted parts remembered per dataset.
const maxAbsorbed = 100000

// carried is what one expired version leaves behind.
type carried struct {
	Name        string            `json:"name"`
	Version     int               `json:"version"`
	Idempotency []carriedKey      `json:"idempotency,omitempty"`
	Absorbed    map[string]string `json:"absorbed,omitempty"`
}

type carriedKey struct {
	Key     string `json:"key"`
	Content string `json:"content"`
}

// carriedBy reads what the versions about to expire carry (before their
// rows go): their idempotency keys and, for compactions, the parts they
// absorbed.
func (s *Store) carriedBy(ctx context.Context, name string, versions []int) ([]carried, error) {
	if len(versions) == 0 {
		return nil, nil
	}
	in := placeholders(len(versions))
	args := []any{name}
	for _, v := range versions {
		args = append(args, v)
	}
	by := map[int]*carried{}
	get := func(v int) *carried {
		if by[v] == nil {
			by[v] = &carried{Name: name, Version: v}
		}
		return by[v]
	}
	rows, err := s.db.QueryContext(ctx, `SELECT version, key, content FROM idempotency_keys WHERE name = ? AND version IN `+in, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: keys of expiring versions of %q: %w", name, err)
	}
	for rows.Next() {
		var v int
		var k carriedKey
		if err := rows.Scan(&v, &k.Key, &k.Content); err != nil {
			rows.Close()
			return nil, fmt.Errorf("catalog: keys of expiring versions: %w", err)
		}
		get(v).Idempotency = append(get(v).Idempotency, k)
	}
	rows.Close()
	mrows, err := s.db.QueryContext(ctx, `SELECT version, manifest FROM dataset_versions WHERE name = ? AND version IN `+in+` AND manifest LIKE '%"absorbed"%'`, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: compactions among expiring versions of %q: %w", name, err)
	}
	for mrows.Next() {
		var v int
		var raw string
		if err := mrows.Scan(&v, &raw); err != nil {
			mrows.Close()
			return nil, fmt.Errorf("catalog: compactions among expiring versions: %w", err)
		}
		m, err := decodeManifest(raw)
		if err != nil {
			mrows.Close()
			return nil, err
		}
		if len(m.Absorbed) > 0 {
			get(v).Absorbed = m.Absorbed
		}
	}
	mrows.Close()
	out := make([]carried, 0, len(by))
	for _, v := range versions {
		if c := by[v]; c != nil {
			out = append(out, *c)
		}
	}
	return out, nil
}

// keepCarried writes what expired versions carried to the bucket.
func (s *Store) keepCarried(ctx context.Context, cs []carried) error {
	for _, c := range cs {
		if err := s.putJSON(ctx, keysKey(c.Name, c.Version), c); err != nil {
			return fmt.Errorf("catalog: keep the keys of %s v%d: %w", c.Name, c.Version, err)
		}
	}
	return nil
}

// trimRemembered forgets keys, compacted parts and their objects older
// than the newest rememberVersions versions of a dataset (maintenance).
func (s *Store) trimRemembered(ctx context.Context, name string, latest int) error {
	floor := max(latest-rememberVersions, 0)
	if _, err := s.db.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE name = ? AND version <= ?`, name, floor); err != nil {
		return fmt.Errorf("catalog: trim keys of %q: %w", name, err)
	}
	// Compacted parts carry no version: the newest maxAbsorbed are kept
	// (older ones only matter to a replay of a part from long ago).
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM absorbed_parts WHERE name = ?`, name).Scan(&n); err != nil {
		return fmt.Errorf("catalog: compacted parts of %q: %w", name, err)
	}
	if n > maxAbsorbed {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM absorbed_parts WHERE name = ? AND rowid NOT IN
			(SELECT rowid FROM absorbed_parts WHERE name = ? ORDER BY rowid DESC LIMIT ?)`, name, name, maxAbsorbed); err != nil {
			return fmt.Errorf("catalog: trim compacted parts of %q: %w", name, err)
		}
	}
	objs, err := listAll(ctx, s.objects, keysPrefix+name+"/")
	if err != nil {
		return err
	}
	for _, o := range objs {
		v, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(o.Key, keysPrefix+name+"/"), ".json"))
		if err == nil && v <= floor {
			if err := s.objects.Delete(ctx, o.Key); err != nil {
				return fmt.Errorf("catalog: trim %s: %w", o.Key, err)
			}
		}
	}
	return nil
}

// rebuildRemembered restores the keys and compacted parts expired
// versions left in the bucket (keys of versions still kept come from
// their manifests).
func (s *Store) rebuildRemembered(ctx context.Context, tx *sql.Tx) error {
	objs, err := listAll(ctx, s.objects, keysPrefix)
	if err != nil {
		return err
	}
	for _, o := range objs {
		var c carried
		if err := getJSON(ctx, s.objects, o.Key, &c); err != nil || ValidateName(c.Name) != nil {
			s.log.Warn("catalog: rebuild: skip kept keys", "key", o.Key, "err", err)
			continue
		}
		keys := make([][]any, 0, len(c.Idempotency))
		for _, k := range c.Idempotency {
			keys = append(keys, []any{c.Name, k.Key, c.Version, k.Content})
		}
		if err := insertRows(ctx, tx, `INSERT OR REPLACE INTO idempotency_keys (name, key, version, content)`, keys); err != nil {
			return fmt.Errorf("catalog: rebuild: keys of %q: %w", c.Name, err)
		}
		absorbed := make([][]any, 0, len(c.Absorbed))
		for from, into := range c.Absorbed {
			absorbed = append(absorbed, []any{c.Name, from, into})
		}
		if err := insertRows(ctx, tx, `INSERT OR REPLACE INTO absorbed_parts (name, key, into_key)`, absorbed); err != nil {
			return fmt.Errorf("catalog: rebuild: compacted parts of %q: %w", c.Name, err)
		}
	}
	return nil
}

func decodeManifest(raw string) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return Manifest{}, fmt.Errorf("catalog: decode manifest: %w", err)
	}
	return m, nil
}

// keepCarriedOf keeps what an expired version carried, read from its
// manifest object (its keys' content from the database when it still
// has them), unless that was kept already.
func (s *Store) keepCarriedOf(ctx context.Context, name string, v int, manifestKey string) error {
	if _, err := s.objects.Stat(ctx, keysKey(name, v)); err == nil {
		return nil
	}
	var m Manifest
	if err := getJSON(ctx, s.objects, manifestKey, &m); err != nil {
		return nil // unreadable: nothing to keep from it
	}
	c := carried{Name: name, Version: v, Absorbed: m.Absorbed}
	for _, k := range keysOf(m) {
		content := k.content
		var recorded string
		if err := s.db.QueryRowContext(ctx, `SELECT content FROM idempotency_keys WHERE name = ? AND key = ?`, name, k.key).Scan(&recorded); err == nil {
			content = recorded
		}
		c.Idempotency = append(c.Idempotency, carriedKey{Key: k.key, Content: content})
	}
	if len(c.Idempotency) == 0 && len(c.Absorbed) == 0 {
		return nil
	}
	return s.keepCarried(ctx, []carried{c})
}
