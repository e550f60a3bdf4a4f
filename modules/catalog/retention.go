package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"lakehouse/modules/catalog/iceberg"
)

// Retention decides which versions of a dataset stay: the newest
// KeepVersions (0 = no count limit) that are also younger than KeepAge
// (0 = no age limit). The latest version and tagged versions always stay.
type Retention struct {
	KeepVersions int           `json:"keep_versions"`
	KeepAge      time.Duration `json:"-"`
}

// MarshalJSON writes keep_age as a Go duration ("72h0m0s"; "0s" = none).
func (r Retention) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"keep_versions": r.KeepVersions, "keep_age": r.KeepAge.String()})
}

// RetentionPolicy is the catalog-wide default and the default of
// internal datasets (config [catalog.retention]).
type RetentionPolicy struct {
	Default  Retention
	Internal Retention
}

// WithRetention sets the default retention (the zero policy keeps every
// version).
func WithRetention(p RetentionPolicy) Option {
	return func(o *openOptions) { o.retention = p }
}

// datasetSettings are what a dataset has besides its versions: its own
// retention, its tags, its declared key and foreign keys. Mirrored to
// _catalog/settings/<name>.json so a rebuild from the bucket keeps them.
type datasetSettings struct {
	Name        string         `json:"name"`
	Retention   *Retention     `json:"-"`
	Tags        map[string]int `json:"tags,omitempty"`
	Key         []string       `json:"-"`
	ForeignKeys []ForeignKey   `json:"-"`
}

type settingsJSON struct {
	Name         string         `json:"name"`
	KeepVersions *int           `json:"keep_versions,omitempty"`
	KeepAgeSecs  *int64         `json:"keep_age_seconds,omitempty"`
	Tags         map[string]int `json:"tags,omitempty"`
	Key          []string       `json:"key,omitempty"`
	ForeignKeys  []ForeignKey   `json:"foreign_keys,omitempty"`
}

const settingsPrefix = "_catalog/settings/"

func settingsKey(name string) string { return settingsPrefix + name + ".json" }

// retentionFor is the retention that applies to name and where it comes
// from: "dataset" (its own), "internal" or "default".
func (s *Store) retentionFor(name string) (Retention, string) {
	s.settingsM.RLock()
	ds := s.settings[name]
	s.settingsM.RUnlock()
	if ds != nil && ds.Retention != nil {
		return *ds.Retention, "dataset"
	}
	if s.reservedBy(name) != "" {
		return s.policy.Internal, "internal"
	}
	return s.policy.Default, "default"
}

// pinned returns the versions tags name, and the tags by version.
func (s *Store) pinned(name string) map[int][]string {
	s.settingsM.RLock()
	defer s.settingsM.RUnlock()
	out := map[int][]string{}
	if ds := s.settings[name]; ds != nil {
		for t, v := range ds.Tags {
			out[v] = append(out[v], t)
		}
	}
	for _, ts := range out {
		slices.Sort(ts)
	}
	return out
}

type versionTime struct {
	Version int
	Created time.Time
}

// retained lists a dataset's versions, newest first.
func (s *Store) retained(ctx context.Context, name string) ([]versionTime, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT version, created_at FROM dataset_versions WHERE name = ? ORDER BY version DESC`, name)
	if err != nil {
		return nil, fmt.Errorf("catalog: versions of %q: %w", name, err)
	}
	defer rows.Close()
	var out []versionTime
	for rows.Next() {
		var vt versionTime
		if err := rows.Scan(&vt.Version, &vt.Created); err != nil {
			return nil, fmt.Errorf("catalog: versions of %q: %w", name, err)
		}
		out = append(out, vt)
	}
	return out, rows.Err()
}

// expiring returns the versions retention drops once version newV
// (created now) commits, oldest first. newV = 0 asks about the versions
// as they are (maintenance).
func (s *Store) expiring(ctx context.Context, name string, newV int, now time.Time) ([]int, error) {
	r, _ := s.retentionFor(name)
	if r.KeepVersions == 0 && r.KeepAge == 0 {
		return nil, nil
	}
	vs, err := s.retained(ctx, name)
	if err != nil {
		return nil, err
	}
	slack := 0
	if newV > 0 {
		vs = append([]versionTime{{newV, now}}, vs...)
		// A commit lets the count run a tenth over the limit before it
		// expires back down to it: the expiry's work (rows, pending
		// deletes, dropped snapshots) then comes once per keep/10
		// commits instead of with every one, for at most 10% more
		// snapshots. Maintenance and policy changes expire exactly.
		slack = r.KeepVersions / 10
	}
	return expiredOf(vs, r, s.pinned(name), now, slack), nil
}

// expiredOf applies a retention to versions listed newest first; the
// count limit applies once the versions exceed it by more than slack.
func expiredOf(vs []versionTime, r Retention, pins map[int][]string, now time.Time, slack int) []int {
	var out []int
	overCount := r.KeepVersions > 0 && len(vs) > r.KeepVersions+slack
	for i, vt := range vs {
		if i == 0 || len(pins[vt.Version]) > 0 {
			continue
		}
		if (overCount && i >= r.KeepVersions) || (r.KeepAge > 0 && now.Sub(vt.Created) > r.KeepAge) {
			out = append(out, vt.Version)
		}
	}
	slices.Sort(out)
	return out
}

// loadSettings reads every dataset's own retention and tags.
func (s *Store) loadSettings(ctx context.Context) error {
	all := map[string]*datasetSettings{}
	get := func(name string) *datasetSettings {
		if all[name] == nil {
			all[name] = &datasetSettings{Name: name, Tags: map[string]int{}}
		}
		return all[name]
	}
	rows, err := s.db.QueryContext(ctx, `SELECT name, keep_versions, keep_age_seconds FROM dataset_retention`)
	if err != nil {
		return fmt.Errorf("catalog: load retention: %w", err)
	}
	for rows.Next() {
		var name string
		var kv sql.NullInt64
		var ka sql.NullInt64
		if err := rows.Scan(&name, &kv, &ka); err != nil {
			rows.Close()
			return fmt.Errorf("catalog: load retention: %w", err)
		}
		get(name).Retention = &Retention{KeepVersions: int(kv.Int64), KeepAge: time.Duration(ka.Int64) * time.Second}
	}
	rows.Close()
	trows, err := s.db.QueryContext(ctx, `SELECT name, tag, version FROM dataset_tags`)
	if err != nil {
		return fmt.Errorf("catalog: load tags: %w", err)
	}
	for trows.Next() {
		var name, tag string
		var v int
		if err := trows.Scan(&name, &tag, &v); err != nil {
			trows.Close()
			return fmt.Errorf("catalog: load tags: %w", err)
		}
		get(name).Tags[tag] = v
	}
	trows.Close()
	if err := loadKeys(ctx, s.db, get); err != nil {
		return err
	}
	s.settingsM.Lock()
	s.settings = all
	s.settingsM.Unlock()
	return nil
}

// saveSettings writes a dataset's settings to the database and the
// bucket (the dataset's writer lock held).
func (s *Store) saveSettings(ctx context.Context, ds *datasetSettings) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("catalog: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, q := range []string{`DELETE FROM dataset_retention WHERE name = ?`, `DELETE FROM dataset_tags WHERE name = ?`, `DELETE FROM dataset_keys WHERE name = ?`} {
		if _, err := tx.ExecContext(ctx, q, ds.Name); err != nil {
			return fmt.Errorf("catalog: settings of %q: %w", ds.Name, err)
		}
	}
	now := time.Now().UTC()
	out := settingsJSON{Name: ds.Name, Tags: ds.Tags, Key: ds.Key, ForeignKeys: ds.ForeignKeys}
	if err := insertKeys(ctx, tx, ds.Name, ds.Key, ds.ForeignKeys, now); err != nil {
		return err
	}
	if r := ds.Retention; r != nil {
		secs := int64(r.KeepAge / time.Second)
		out.KeepVersions, out.KeepAgeSecs = &r.KeepVersions, &secs
		if _, err := tx.ExecContext(ctx, `INSERT INTO dataset_retention (name, keep_versions, keep_age_seconds, updated_at) VALUES (?, ?, ?, ?)`,
			ds.Name, r.KeepVersions, secs, now); err != nil {
			return fmt.Errorf("catalog: retention of %q: %w", ds.Name, err)
		}
	}
	for _, t := range slices.Sorted(maps.Keys(ds.Tags)) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO dataset_tags (name, tag, version, created_at) VALUES (?, ?, ?, ?)`,
			ds.Name, t, ds.Tags[t], now); err != nil {
			return fmt.Errorf("catalog: tag %q of %q: %w", t, ds.Name, err)
		}
	}
	// The bucket copy first: a rebuild must never lose a pin that the
	// database already acted on.
	if err := s.putJSON(ctx, settingsKey(ds.Name), out); err != nil {
		return fmt.Errorf("catalog: mirror settings of %q: %w", ds.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("catalog: settings of %q: %w", ds.Name, err)
	}
	s.settingsM.Lock()
	s.settings[ds.Name] = ds
	s.settingsM.Unlock()
	return nil
}

// settingsCopy returns a copy of a dataset's settings to change.
func (s *Store) settingsCopy(name string) *datasetSettings {
	s.settingsM.RLock()
	defer s.settingsM.RUnlock()
	ds := &datasetSettings{Name: name, Tags: map[string]int{}}
	if cur := s.settings[name]; cur != nil {
		ds.Retention = cur.Retention
		maps.Copy(ds.Tags, cur.Tags)
		ds.Key, ds.ForeignKeys = cur.Key, cur.ForeignKeys // replaced whole, never changed in place
	}
	return ds
}

// RetentionInfo is GET /v1/catalog/retention/<name>.
type RetentionInfo struct {
	Name         string         `json:"name"`
	KeepVersions int            `json:"keep_versions"`
	KeepAge      string         `json:"keep_age"`
	Source       string         `json:"source"` // dataset, internal or default
	Versions     []int          `json:"versions"`
	Latest       int            `json:"latest"`
	Tags         map[string]int `json:"tags"`
}

// RetentionOf says which retention applies to a dataset and which
// versions it keeps now.
func (s *Store) RetentionOf(ctx context.Context, name string) (RetentionInfo, error) {
	m, err := s.Get(ctx, name)
	if err != nil {
		return RetentionInfo{}, err
	}
	r, src := s.retentionFor(name)
	vs, err := s.retained(ctx, name)
	if err != nil {
		return RetentionInfo{}, err
	}
	info := RetentionInfo{Name: name, KeepVersions: r.KeepVersions, KeepAge: r.KeepAge.String(), Source: src, Latest: m.Version, Tags: map[string]int{}}
	for i := len(vs) - 1; i >= 0; i-- {
		info.Versions = append(info.Versions, vs[i].Version)
	}
	s.settingsM.RLock()
	if ds := s.settings[name]; ds != nil {
		maps.Copy(info.Tags, ds.Tags)
	}
	s.settingsM.RUnlock()
	return info, nil
}

// SetRetention gives a dataset its own retention (nil: back to the
// default) and applies it at once; it returns the versions it expired.
func (s *Store) SetRetention(ctx context.Context, name string, r *Retention) ([]int, error) {
	if r != nil && (r.KeepVersions < 0 || r.KeepAge < 0) {
		return nil, fmt.Errorf("%w: keep_versions and keep_age must not be negative", ErrInvalidRequest)
	}
	// Stored (and mirrored to the bucket) in whole seconds: a finer age
	// would silently become another one, or none, at the next start.
	if r != nil && r.KeepAge%time.Second != 0 {
		return nil, fmt.Errorf("%w: keep_age must be a whole number of seconds, got %s", ErrInvalidRequest, r.KeepAge)
	}
	if _, err := s.Get(ctx, name); err != nil {
		return nil, err
	}
	unlock := s.lockDataset(name)
	ds := s.settingsCopy(name)
	ds.Retention = r
	err := s.saveSettings(ctx, ds)
	var expired []int
	if err == nil {
		expired, err = s.expireNow(ctx, name, false)
	}
	unlock()
	if len(expired) > 0 {
		s.notify(Change{Name: name, Pruned: expired})
	}
	return expired, err
}

var tagRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,62}$`)

// ValidateTag checks a tag name: a letter, then letters, digits, '_',
// '-' or '.', at most 63 bytes, and not a name lakehouse gives (main,
// v<N>).
func ValidateTag(tag string) error {
	if !tagRE.MatchString(tag) {
		return fmt.Errorf("%w: tag %q must start with a letter and hold only letters, digits, '_', '-' and '.' (at most 63)", ErrInvalidRequest, tag)
	}
	if tag == "main" || iceberg.IsVersionTag(tag) {
		return fmt.Errorf("%w: tag %q is reserved (main and v<N> name the latest version and each version)", ErrInvalidRequest, tag)
	}
	return nil
}

// Tag pins version v of a dataset under tag: retention keeps it (and its
// files) until the tag is removed. Moving a tag to another version is
// allowed; the version it pinned before is then subject to retention
// again at once, as after Untag.
func (s *Store) Tag(ctx context.Context, name, tag string, v int) error {
	if err := ValidateTag(tag); err != nil {
		return err
	}
	if _, err := s.GetVersion(ctx, name, v); err != nil {
		return err
	}
	expired, err := s.tag(ctx, name, tag, v)
	if len(expired) > 0 {
		s.notify(Change{Name: name, Pruned: expired})
	}
	return err
}

func (s *Store) tag(ctx context.Context, name, tag string, v int) ([]int, error) {
	defer s.lockDataset(name)()
	// Under the writer lock: the version may have expired since.
	if _, err := s.versionRow(ctx, name, v); err != nil {
		return nil, s.versionGone(ctx, name, v)
	}
	ds := s.settingsCopy(name)
	old, moved := ds.Tags[tag]
	ds.Tags[tag] = v
	if err := s.saveSettings(ctx, ds); err != nil {
		return nil, err
	}
	if s.ice != nil {
		if err := s.ice.Pin(ctx, name, tag, v); err != nil {
			s.log.Warn("catalog: tag the iceberg snapshot", "dataset", name, "tag", tag, "err", err)
		}
	}
	if !moved || old == v {
		return nil, nil
	}
	return s.expireNow(ctx, name, false)
}

// Untag removes a tag; the version it pinned is then subject to
// retention again (ErrNotFound for an unknown tag).
func (s *Store) Untag(ctx context.Context, name, tag string) error {
	if _, err := s.Get(ctx, name); err != nil {
		return err
	}
	unlock := s.lockDataset(name)
	ds := s.settingsCopy(name)
	if _, ok := ds.Tags[tag]; !ok {
		unlock()
		return fmt.Errorf("catalog: %q has no tag %q: %w", name, tag, ErrNotFound)
	}
	delete(ds.Tags, tag)
	err := s.saveSettings(ctx, ds)
	if err == nil && s.ice != nil {
		if ierr := s.ice.Unpin(ctx, name, tag); ierr != nil {
			s.log.Warn("catalog: untag the iceberg snapshot", "dataset", name, "tag", tag, "err", ierr)
		}
	}
	var expired []int
	if err == nil {
		expired, err = s.expireNow(ctx, name, false)
	}
	unlock()
	if len(expired) > 0 {
		s.notify(Change{Name: name, Pruned: expired})
	}
	return err
}

// expireNow applies retention to a dataset outside a commit (a changed
// policy, an age limit passing, a removed tag): the snapshots go in one
// metadata write, then the rows (the dataset's writer lock held).
func (s *Store) expireNow(ctx context.Context, name string, dryRun bool) ([]int, error) {
	expired, err := s.expiring(ctx, name, 0, time.Now().UTC())
	if err != nil || len(expired) == 0 || dryRun {
		return expired, err
	}
	// Manifest objects first: a rebuild must not bring a version back
	// once its files may be deleted; what they carried that outlives
	// them is mirrored before.
	carried, err := s.carriedBy(ctx, name, expired)
	if err != nil {
		return nil, err
	}
	if err := s.keepCarried(ctx, carried); err != nil {
		return nil, err
	}
	for _, v := range expired {
		if err := s.objects.Delete(ctx, ManifestKey(name, v)); err != nil {
			return nil, fmt.Errorf("catalog: expire %s v%d: %w", name, v, err)
		}
	}
	if s.ice != nil {
		if err := s.ice.Prune(ctx, name, expired); err != nil {
			return nil, fmt.Errorf("catalog: expire iceberg snapshots of %s: %w", name, err)
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("catalog: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := expireRows(ctx, tx, name, expired, time.Now().UTC()); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("catalog: expire versions of %q: %w", name, err)
	}
	s.met.expired.Add(int64(len(expired)))
	s.log.Info("catalog: versions expired under retention", "dataset", name, "versions", FormatVersions(expired))
	return expired, nil
}

// versionGone is the error for a version a dataset does not hold: 410
// when retention expired it (it is below the latest), naming what
// remains; 404 when it never existed.
func (s *Store) versionGone(ctx context.Context, name string, v int) error {
	m, err := s.Get(ctx, name)
	if err != nil {
		return err
	}
	if v > m.Version || v < 1 {
		return fmt.Errorf("catalog: %q version %d does not exist (latest is %d): %w", name, v, m.Version, ErrNotFound)
	}
	vs, err := s.retained(ctx, name)
	if err != nil {
		return err
	}
	kept := make([]int, 0, len(vs))
	for i := len(vs) - 1; i >= 0; i-- {
		kept = append(kept, vs[i].Version)
	}
	r, _ := s.retentionFor(name)
	return fmt.Errorf("%w: %q version %d expired (retention keeps %s); versions %s remain",
		ErrExpired, name, v, describeRetention(r), FormatVersions(kept))
}

func describeRetention(r Retention) string {
	var parts []string
	if r.KeepVersions > 0 {
		parts = append(parts, fmt.Sprintf("the newest %d", r.KeepVersions))
	}
	if r.KeepAge > 0 {
		parts = append(parts, "versions younger than "+r.KeepAge.String())
	}
	if len(parts) == 0 {
		return "every version"
	}
	return strings.Join(parts, " and ") + ", plus tagged ones"
}

// FormatVersions writes sorted versions as "1-3, 7, 9-12" (the versions
// a dataset keeps, in 410 answers).
func FormatVersions(vs []int) string {
	var b strings.Builder
	for i := 0; i < len(vs); {
		j := i
		for j+1 < len(vs) && vs[j+1] == vs[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(vs[i]))
		if j > i {
			b.WriteString("-" + strconv.Itoa(vs[j]))
		}
		i = j + 1
	}
	return b.String()
}

// errNoRows reports sql.ErrNoRows through wrapping.
func errNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
