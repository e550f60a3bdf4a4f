package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"lakehouse/modules/storage"
)

// ErrReserved is storage.ErrReserved: the dataset name belongs to a
// module (the observer's audit dataset) and user requests may not
// register, ingest into or delete it (403).
var ErrReserved = storage.ErrReserved

var _ storage.ReferenceChecker = (*Store)(nil)

// Reserve marks name as an internal dataset owned by module owner: from
// now on only a RegisterRequest whose Owner is owner may register it, and
// neither Delete nor the storage API may change its objects. Modules call
// it at Init, before the server listens.
func (s *Store) Reserve(name, owner string) {
	s.cacheM.Lock()
	defer s.cacheM.Unlock()
	if s.reserved == nil {
		s.reserved = map[string]string{}
	}
	s.reserved[name] = owner
}

// reservedBy returns the module owning name, or "".
func (s *Store) reservedBy(name string) string {
	s.cacheM.RLock()
	defer s.cacheM.RUnlock()
	return s.reserved[name]
}

// CheckName reports whether a user request (ingest, register, delete) may
// write dataset name: nil, or an error wrapping ErrInvalidName or
// ErrReserved. Prepare (ingest's call before it reads an upload),
// Register and Delete apply it.
func (s *Store) CheckName(name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if owner := s.reservedBy(name); owner != "" {
		return fmt.Errorf("%w: dataset %q is internal (the %s module writes it); choose another name", ErrReserved, name, owner)
	}
	return nil
}

// Prepare implements Catalog: CheckName, then the latest live version.
func (s *Store) Prepare(_ context.Context, name string) (*Manifest, error) {
	if err := s.CheckName(name); err != nil {
		return nil, err
	}
	s.cacheM.RLock()
	defer s.cacheM.RUnlock()
	if m, ok := s.latest[name]; ok {
		return &m, nil
	}
	return nil, nil
}

// checkFileKey allows a version's files only under datasets/<name>/ and
// outside its metadata/ (the catalog's), so a dataset can never claim, and
// gc never delete, another module's objects or another dataset's parts.
func checkFileKey(name, key string) error {
	dir := storage.DatasetsPrefix + name + "/"
	if !strings.HasPrefix(key, dir) {
		return fmt.Errorf("%q is not under %s (upload the dataset's files there)", key, dir)
	}
	if storage.CheckPublicKey(key) != nil {
		return fmt.Errorf("%q is under %smetadata/, which the catalog owns", key, dir)
	}
	return nil
}

// CheckMutable implements storage.ReferenceChecker: through the public
// storage API, objects of an internal dataset may not be written at all,
// and an object any registered version references (of a live or a deleted
// but not yet collected dataset) may not be overwritten or deleted; a new
// key under datasets/<name>/ is fine (upload, then register it).
func (s *Store) CheckMutable(ctx context.Context, key string) error {
	rest, ok := strings.CutPrefix(key, storage.DatasetsPrefix)
	if !ok {
		return nil
	}
	if name, _, _ := strings.Cut(rest, "/"); s.reservedBy(name) != "" {
		return fmt.Errorf("%w: %q belongs to the internal dataset %q (the %s module writes it)", ErrReserved, key, name, s.reservedBy(name))
	}
	var name string
	var version int
	err := s.db.QueryRowContext(ctx, `SELECT name, version FROM dataset_files WHERE key = ? ORDER BY version DESC, name LIMIT 1`, key).Scan(&name, &version)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("catalog: check references to %s: %w", key, err)
	}
	return fmt.Errorf("%w: %q is part of dataset %q version %d; write new keys and register them as a new version instead",
		storage.ErrReferenced, key, name, version)
}
