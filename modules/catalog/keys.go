package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"lakehouse/modules/kit"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// Limits that keep a dataset's keys small: they are read whole by every
// row page.
const (
	maxKeyColumns  = 16
	maxForeignKeys = 64
)

// ForeignKey says that Columns of a dataset hold the RefColumns of
// another dataset's rows (References): call_log.candidate_id →
// candidates.candidate_id. Nothing enforces it on ingest; it is what the
// workbench follows from a row to the rows it names and back.
type ForeignKey struct {
	Columns    []string `json:"columns"`
	References string   `json:"references"`
	RefColumns []string `json:"ref_columns"`
}

// Reference is a foreign key of another dataset that points at this one,
// as GET /v1/catalog/keys/<name> lists it under referenced_by.
type Reference struct {
	Dataset    string   `json:"dataset"`
	Columns    []string `json:"columns"`
	RefColumns []string `json:"ref_columns"`
}

// KeysInfo is a dataset's key, its foreign keys and the foreign keys of
// other datasets that reference it.
type KeysInfo struct {
	Name string   `json:"name"`
	Key  []string `json:"key"`
	// KeySource says where Key comes from: "declared" (PUT
	// /v1/catalog/keys), "ingest" (the first upsert or delete by key) or
	// "" (no key).
	KeySource    string       `json:"key_source"`
	ForeignKeys  []ForeignKey `json:"foreign_keys"`
	ReferencedBy []Reference  `json:"referenced_by"`
}

// keysBody is PUT /v1/catalog/keys/<name>: a field left out keeps what
// the dataset has; "key": [] drops the declared key (the ingest key, if
// any, applies again); "foreign_keys": [] drops every foreign key.
type keysBody struct {
	Key         *[]string     `json:"key"`
	ForeignKeys *[]ForeignKey `json:"foreign_keys"`
}

// loadKeys reads every dataset's declared key and foreign keys into the
// settings get returns.
func loadKeys(ctx context.Context, db *sql.DB, get func(string) *datasetSettings) error {
	rows, err := db.QueryContext(ctx, `SELECT name, key_columns, foreign_keys FROM dataset_keys`)
	if err != nil {
		return fmt.Errorf("catalog: load keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var key, fks sql.NullString
		if err := rows.Scan(&name, &key, &fks); err != nil {
			return fmt.Errorf("catalog: load keys: %w", err)
		}
		ds := get(name)
		if key.Valid {
			if err := json.Unmarshal([]byte(key.String), &ds.Key); err != nil {
				return fmt.Errorf("catalog: load key of %q: %w", name, err)
			}
		}
		if fks.Valid {
			if err := json.Unmarshal([]byte(fks.String), &ds.ForeignKeys); err != nil {
				return fmt.Errorf("catalog: load foreign keys of %q: %w", name, err)
			}
		}
	}
	return rows.Err()
}

// insertKeys writes a dataset's keys row (none when it has neither).
func insertKeys(ctx context.Context, tx *sql.Tx, name string, key []string, fks []ForeignKey, now time.Time) error {
	if len(key) == 0 && len(fks) == 0 {
		return nil
	}
	var k, f any
	if len(key) > 0 {
		b, _ := json.Marshal(key)
		k = string(b)
	}
	if len(fks) > 0 {
		b, _ := json.Marshal(fks)
		f = string(b)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO dataset_keys (name, key_columns, foreign_keys, updated_at) VALUES (?, ?, ?, ?)`,
		name, k, f, now); err != nil {
		return fmt.Errorf("catalog: keys of %q: %w", name, err)
	}
	return nil
}

// keyOf is a dataset's key: the declared one, else its manifest's.
func (s *Store) keyOf(m Manifest) ([]string, string) {
	s.settingsM.RLock()
	ds := s.settings[m.Name]
	s.settingsM.RUnlock()
	if ds != nil && len(ds.Key) > 0 {
		return slices.Clone(ds.Key), "declared"
	}
	if len(m.Key) > 0 {
		return slices.Clone(m.Key), "ingest"
	}
	return []string{}, ""
}

// KeysOf returns a dataset's key, foreign keys and the live datasets
// whose foreign keys reference it.
func (s *Store) KeysOf(ctx context.Context, name string) (KeysInfo, error) {
	m, err := s.Get(ctx, name)
	if err != nil {
		return KeysInfo{}, err
	}
	info := KeysInfo{Name: name, ForeignKeys: []ForeignKey{}, ReferencedBy: []Reference{}}
	info.Key, info.KeySource = s.keyOf(m)
	s.settingsM.RLock()
	if ds := s.settings[name]; ds != nil {
		info.ForeignKeys = append(info.ForeignKeys, ds.ForeignKeys...)
	}
	var refs []Reference
	for other, ds := range s.settings {
		for _, fk := range ds.ForeignKeys {
			if fk.References == name {
				refs = append(refs, Reference{Dataset: other, Columns: fk.Columns, RefColumns: fk.RefColumns})
			}
		}
	}
	s.settingsM.RUnlock()
	for _, r := range refs {
		if _, err := s.Get(ctx, r.Dataset); err == nil { // a deleted dataset's keys went with it
			info.ReferencedBy = append(info.ReferencedBy, r)
		}
	}
	slices.SortFunc(info.ReferencedBy, func(a, b Reference) int {
		return strings.Compare(a.Dataset+"\x00"+strings.Join(a.Columns, ","), b.Dataset+"\x00"+strings.Join(b.Columns, ","))
	})
	return info, nil
}

// SetKeys declares a dataset's key and/or foreign keys (nil leaves one
// as it is). Every column named must exist in the latest version of its
// dataset; a foreign key's ref_columns default to the referenced
// dataset's key.
func (s *Store) SetKeys(ctx context.Context, name string, key *[]string, fks *[]ForeignKey) (KeysInfo, error) {
	m, err := s.Get(ctx, name)
	if err != nil {
		return KeysInfo{}, err
	}
	if key != nil {
		if err := checkColumns("key", *key, m.Schema, name); err != nil {
			return KeysInfo{}, err
		}
	}
	var clean []ForeignKey
	if fks != nil {
		if len(*fks) > maxForeignKeys {
			return KeysInfo{}, fmt.Errorf("%w: foreign_keys: at most %d", ErrInvalidRequest, maxForeignKeys)
		}
		seen := map[string]bool{}
		for i, fk := range *fks {
			where := fmt.Sprintf("foreign_keys[%d]", i)
			if err := checkColumns(where+".columns", fk.Columns, m.Schema, name); err != nil {
				return KeysInfo{}, err
			}
			if fk.References == "" {
				return KeysInfo{}, fmt.Errorf("%w: %s.references: the referenced dataset is required", ErrInvalidRequest, where)
			}
			ref, err := s.Get(ctx, fk.References)
			if err != nil {
				return KeysInfo{}, fmt.Errorf("%w: %s.references: %q is not a dataset", ErrInvalidRequest, where, fk.References)
			}
			refCols := fk.RefColumns
			if len(refCols) == 0 {
				if fk.References == name && key != nil {
					refCols = *key // a self-reference to the key declared in the same request
				} else {
					refCols, _ = s.keyOf(ref)
				}
				if len(refCols) == 0 {
					return KeysInfo{}, fmt.Errorf("%w: %s.ref_columns: %q declares no key; name the columns it references", ErrInvalidRequest, where, fk.References)
				}
			}
			if err := checkColumns(where+".ref_columns", refCols, ref.Schema, fk.References); err != nil {
				return KeysInfo{}, err
			}
			if len(refCols) != len(fk.Columns) {
				return KeysInfo{}, fmt.Errorf("%w: %s: %d columns reference %d ref_columns", ErrInvalidRequest, where, len(fk.Columns), len(refCols))
			}
			id := strings.Join(fk.Columns, ",") + "→" + fk.References
			if seen[id] {
				return KeysInfo{}, fmt.Errorf("%w: %s: columns %v already reference %q", ErrInvalidRequest, where, fk.Columns, fk.References)
			}
			seen[id] = true
			clean = append(clean, ForeignKey{Columns: slices.Clone(fk.Columns), References: fk.References, RefColumns: slices.Clone(refCols)})
		}
	}
	unlock := s.lockDataset(name)
	ds := s.settingsCopy(name)
	if key != nil {
		ds.Key = slices.Clone(*key)
		if len(ds.Key) == 0 {
			ds.Key = nil
		}
	}
	if fks != nil {
		ds.ForeignKeys = clean
	}
	err = s.saveSettings(ctx, ds)
	unlock()
	if err != nil {
		return KeysInfo{}, err
	}
	return s.KeysOf(ctx, name)
}

// checkColumns requires cols to be distinct columns of schema.
func checkColumns(what string, cols []string, schema []Column, dataset string) error {
	if len(cols) > maxKeyColumns {
		return fmt.Errorf("%w: %s: at most %d columns", ErrInvalidRequest, what, maxKeyColumns)
	}
	seen := map[string]bool{}
	for _, c := range cols {
		if seen[c] {
			return fmt.Errorf("%w: %s: column %q named twice", ErrInvalidRequest, what, c)
		}
		seen[c] = true
		if !slices.ContainsFunc(schema, func(x Column) bool { return x.Name == c }) {
			return fmt.Errorf("%w: %s: %q has no column %q", ErrInvalidRequest, what, dataset, c)
		}
	}
	if strings.HasSuffix(what, "columns") && len(cols) == 0 {
		return fmt.Errorf("%w: %s: at least one column", ErrInvalidRequest, what)
	}
	return nil
}

// keyRoutes mounts the key and foreign-key routes.
func (m *Module) keyRoutes(g *echo.Group) {
	g.GET("/keys", m.handleAllKeys)
	g.GET("/keys/:name", m.handleKeys)
	g.PUT("/keys/:name", m.handlePutKeys)
}

// visible drops the references from datasets beyond the caller's grants.
func visible(ctx context.Context, info KeysInfo) KeysInfo {
	refs := info.ReferencedBy[:0:0]
	for _, r := range info.ReferencedBy {
		if kit.SeesDataset(ctx, r.Dataset) {
			refs = append(refs, r)
		}
	}
	info.ReferencedBy = refs
	return info
}

func (m *Module) handleKeys(c echo.Context) error {
	ctx := c.Request().Context()
	info, err := m.store.KeysOf(ctx, c.Param("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, visible(ctx, info))
}

func (m *Module) handlePutKeys(c echo.Context) error {
	// An unknown dataset is a 404 whatever the body says: the same answer
	// a caller without the dataset's grant gets.
	if _, err := m.store.Get(c.Request().Context(), c.Param("name")); err != nil {
		return err
	}
	var b keysBody
	if err := kit.DecodeJSON(c.Request().Body, &b, kit.Strict()); err != nil {
		return err
	}
	if b.Key == nil && b.ForeignKeys == nil {
		return kit.BadRequest("give key and/or foreign_keys (an empty list drops them)")
	}
	ctx := c.Request().Context()
	if b.ForeignKeys != nil {
		for i, fk := range *b.ForeignKeys {
			if fk.References != "" && !kit.SeesDataset(ctx, fk.References) {
				return kit.BadRequest("foreign_keys[%d].references: %q is not a dataset", i, fk.References)
			}
		}
	}
	info, err := m.store.SetKeys(ctx, c.Param("name"), b.Key, b.ForeignKeys)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, visible(ctx, info))
}

// handleAllKeys answers every visible dataset that has a key or foreign
// keys, so a client maps the relations in one call.
func (m *Module) handleAllKeys(c echo.Context) error {
	ctx := c.Request().Context()
	ms, err := m.store.List(ctx)
	if err != nil {
		return err
	}
	out := []KeysInfo{}
	for _, x := range ms {
		if !kit.SeesDataset(ctx, x.Name) {
			continue
		}
		info, err := m.store.KeysOf(ctx, x.Name)
		if err != nil {
			continue // deleted since the listing
		}
		if len(info.Key) > 0 || len(info.ForeignKeys) > 0 {
			out = append(out, visible(ctx, info))
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"datasets": out, "count": len(out)})
}
