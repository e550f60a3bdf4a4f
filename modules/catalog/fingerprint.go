package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// DatasetNamespace is the UUIDv5 namespace dataset ids are derived in
// (the original system's value; clients depend on the ids it yields).
var DatasetNamespace = uuid.MustParse("a8f3c1d2-4e5b-5a6c-9d8e-7f0a1b2c3d4e")

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// ValidateName checks a dataset name: [a-z][a-z0-9_]{0,62}.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w: %q (use a lowercase letter then up to 62 of a-z, 0-9, _)", ErrInvalidName, name)
	}
	return nil
}

// DatasetID is the stable id of a dataset name: UUIDv5(DatasetNamespace, name).
func DatasetID(name string) string {
	return uuid.NewSHA1(DatasetNamespace, []byte(name)).String()
}

// Fingerprint is the schema fingerprint: hex SHA-256 over the (name, type)
// pairs in column order, name and type separated by 0x1f, pairs by 0x1e.
// Nullability is not part of it.
func Fingerprint(cols []Column) string {
	h := sha256.New()
	for i, c := range cols {
		if i > 0 {
			h.Write([]byte{0x1e})
		}
		h.Write([]byte(c.Name))
		h.Write([]byte{0x1f})
		h.Write([]byte(c.Type))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ColumnChange is a column whose type differs between two schemas.
type ColumnChange struct {
	Column string `json:"column"`
	From   string `json:"from"`
	To     string `json:"to"`
}

// DriftError explains a schema drift: which columns the new schema adds,
// removes or retypes compared with the latest version. It matches
// ErrSchemaDrift with errors.Is.
type DriftError struct {
	Name           string
	OldFingerprint string
	NewFingerprint string
	Added          []string
	Removed        []string
	Changed        []ColumnChange
	// Reordered is true when the same columns appear in another order.
	Reordered bool
}

// Error implements error.
func (e *DriftError) Error() string {
	var parts []string
	if len(e.Added) > 0 {
		parts = append(parts, "added "+strings.Join(e.Added, ", "))
	}
	if len(e.Removed) > 0 {
		parts = append(parts, "removed "+strings.Join(e.Removed, ", "))
	}
	for _, c := range e.Changed {
		parts = append(parts, fmt.Sprintf("%s changed %s → %s", c.Column, c.From, c.To))
	}
	if e.Reordered {
		parts = append(parts, "columns reordered")
	}
	if len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("fingerprint %s differs from %s", e.NewFingerprint, e.OldFingerprint))
	}
	return fmt.Sprintf("schema drift on dataset %q: %s (use mode=replace to change the schema)", e.Name, strings.Join(parts, "; "))
}

// Is makes errors.Is(err, ErrSchemaDrift) true.
func (e *DriftError) Is(target error) bool { return target == ErrSchemaDrift }

// HTTPStatus implements kit.StatusError: a drift is a 409.
func (e *DriftError) HTTPStatus() int { return ErrSchemaDrift.HTTPStatus() }

// ErrorCode implements kit.StatusError.
func (e *DriftError) ErrorCode() string { return ErrSchemaDrift.ErrorCode() }

// ErrorDetails implements kit.ErrorDetailer with Details.
func (e *DriftError) ErrorDetails() map[string]any { return e.Details() }

// Details is the JSON details object of the 409 answer.
func (e *DriftError) Details() map[string]any {
	changed := e.Changed
	if changed == nil {
		changed = []ColumnChange{}
	}
	return map[string]any{
		"dataset":                   e.Name,
		"added":                     nonNil(e.Added),
		"removed":                   nonNil(e.Removed),
		"changed":                   changed,
		"reordered":                 e.Reordered,
		"schema_fingerprint":        e.NewFingerprint,
		"latest_schema_fingerprint": e.OldFingerprint,
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// CheckDrift is the catalog's rule for a version that continues prev
// (ingest mode=append, Register without AllowSchemaChange): the schema
// must have prev's fingerprint (names and types in order; nullability may
// change). A nil prev (a new dataset) accepts any schema. The error is a
// *DriftError naming the columns added, removed and retyped.
func CheckDrift(name string, prev *Manifest, schema []Column) error {
	if prev == nil || Fingerprint(schema) == prev.SchemaFingerprint {
		return nil
	}
	return Diff(name, prev.Schema, schema)
}

// Diff compares an old and a new schema (by column name).
func Diff(name string, oldCols, newCols []Column) *DriftError {
	e := &DriftError{Name: name, OldFingerprint: Fingerprint(oldCols), NewFingerprint: Fingerprint(newCols)}
	oldBy := map[string]Column{}
	for _, c := range oldCols {
		oldBy[c.Name] = c
	}
	newBy := map[string]Column{}
	for _, c := range newCols {
		newBy[c.Name] = c
		o, ok := oldBy[c.Name]
		switch {
		case !ok:
			e.Added = append(e.Added, c.Name)
		case o.Type != c.Type:
			e.Changed = append(e.Changed, ColumnChange{Column: c.Name, From: o.Type, To: c.Type})
		}
	}
	for _, c := range oldCols {
		if _, ok := newBy[c.Name]; !ok {
			e.Removed = append(e.Removed, c.Name)
		}
	}
	if len(e.Added) == 0 && len(e.Removed) == 0 && len(e.Changed) == 0 && e.OldFingerprint != e.NewFingerprint {
		e.Reordered = !slices.EqualFunc(oldCols, newCols, func(a, b Column) bool { return a.Name == b.Name })
	}
	return e
}
