// Package iceberg publishes lakehouse datasets as Apache Iceberg v2 tables
// (github.com/apache/iceberg-go) without copying data: every catalog
// version becomes one snapshot that registers the version's existing
// Parquet parts, with its metadata under datasets/<name>/metadata/ and a
// version-hint.text, so engines find a table from the bucket alone. It
// also serves the read side of the Iceberg REST catalog (rest.go).
//
// The package knows nothing of the catalog: the catalog calls Commit,
// Head, Rewind, Prune and Drop from its own commit path and recovery.
package iceberg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	ib "github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"

	"lakehouse/modules/storage"
)

// ErrNoTable means the dataset has no Iceberg table (yet, or any more).
var ErrNoTable = errors.New("iceberg: no table")

// ErrOutOfSync means the table's head is not the version the catalog
// expected it at; the catalog re-syncs the table and retries.
var ErrOutOfSync = errors.New("iceberg: table out of sync with the catalog")

// Table properties and snapshot summary keys lakehouse writes.
const (
	PropVersion     = "lakehouse.version"         // table property and summary: the catalog version
	PropFingerprint = "lakehouse.fingerprint"     // summary: the version's schema fingerprint
	PropSource      = "lakehouse.source"          // summary: the version's source (file name, ...)
	PropDataset     = "lakehouse.dataset"         // table property: the dataset name
	PropOmitted     = "lakehouse.omitted-columns" // table property: columns Iceberg cannot type, left out
	hintFile        = "version-hint.text"
)

// File is one Parquet part of a version.
type File struct {
	Key   string
	Bytes int64
	Rows  int64
}

// Version is what one catalog version contributes to its table.
type Version struct {
	Number      int
	Columns     []Column
	Files       []File
	Fingerprint string
	Source      string
	CreatedAt   time.Time
	// Rewrite marks a compaction: the same rows in fewer parts, committed
	// as a "replace" snapshot (engines know no data changed).
	Rewrite bool
	// Expire lists catalog versions whose snapshots and tags leave the
	// table in the same commit (retention), so expiry costs no metadata
	// write of its own.
	Expire []int
	// Ready, when set, runs once the commit is staged (its manifests
	// written) and before the metadata is published; an error aborts the
	// commit. The catalog writes its manifest object meanwhile, so the two
	// writes overlap instead of queueing.
	Ready func() error
}

// Tables writes and reads the Iceberg tables of every dataset in one store.
type Tables struct {
	store     storage.Store
	root      string
	namespace string
	log       *slog.Logger
	// metaFiles is how many vN.metadata.json files a table keeps.
	metaFiles int

	// loaded keeps the last metadata each table was loaded or committed
	// at, by dataset: a commit reads the hint and, when it still names
	// that file, skips reading and parsing the metadata JSON again.
	loadedMu sync.Mutex
	loaded   map[string]*Table

	// mlCache maps a manifest list's location to the manifests it names
	// (manifest lists are immutable), for the metadata sweep.
	mlMu    sync.Mutex
	mlCache map[string][]string
}

// DefaultMetadataFiles is how many metadata JSON files a table keeps
// unless SetMetadataFiles says otherwise.
const DefaultMetadataFiles = 10

// manifestMergeMin is how many manifests a snapshot may list before an
// append merges them (Iceberg's merge-append): without it every append
// adds one manifest to the list forever and each commit reads and writes
// a manifest list as long as the table's history.
const manifestMergeMin = 16

// New returns the Iceberg tables over store, in namespace.
func New(store storage.Store, namespace string, log *slog.Logger) (*Tables, error) {
	root, err := rootURI(store)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	return &Tables{store: store, root: root, namespace: namespace, log: log, metaFiles: DefaultMetadataFiles,
		loaded: map[string]*Table{}, mlCache: map[string][]string{}}, nil
}

// SetMetadataFiles sets how many vN.metadata.json files each table keeps
// (at least 2: the current one and the one a rewind goes back to).
func (t *Tables) SetMetadataFiles(n int) { t.metaFiles = max(n, 2) }

// Namespace is the Iceberg namespace of every table.
func (t *Tables) Namespace() string { return t.namespace }

// Identifier is the table identifier of a dataset.
func (t *Tables) Identifier(name string) table.Identifier { return table.Identifier{t.namespace, name} }

// Location is the table location: the dataset's folder, as an absolute URI.
func (t *Tables) Location(name string) string { return t.root + "/datasets/" + name }

// MetadataPrefix is the storage prefix of a dataset's Iceberg metadata.
func MetadataPrefix(name string) string { return "datasets/" + name + "/metadata/" }

func hintKey(name string) string { return MetadataPrefix(name) + hintFile }

func metaKey(name string, seq int) string {
	return fmt.Sprintf("%sv%d.metadata.json", MetadataPrefix(name), seq)
}

// MetadataLocation is the absolute URI of metadata file seq.
func (t *Tables) MetadataLocation(name string, seq int) string {
	return t.root + "/" + metaKey(name, seq)
}

func (t *Tables) fio(ctx context.Context) *storeIO {
	return &storeIO{store: t.store, root: t.root, ctx: context.WithoutCancel(ctx)}
}

func (t *Tables) fsF(ctx context.Context) table.FSysF {
	io := t.fio(ctx)
	return func(context.Context) (icebergio.IO, error) { return io, nil }
}

// hint reads version-hint.text: the sequence number of the current
// metadata file, 0 when there is no table.
func (t *Tables) hint(ctx context.Context, name string) (int, error) {
	rc, _, err := t.store.Get(ctx, hintKey(name))
	if errors.Is(err, storage.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("iceberg: read %s: %w", hintKey(name), err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(rc); err != nil {
		return 0, fmt.Errorf("iceberg: read %s: %w", hintKey(name), err)
	}
	seq, err := strconv.Atoi(strings.TrimSpace(buf.String()))
	if err != nil || seq < 1 {
		return 0, fmt.Errorf("iceberg: %s holds %q, not a metadata version", hintKey(name), buf.String())
	}
	return seq, nil
}

// Table is a loaded table with the facts lakehouse needs about it.
type Table struct {
	*table.Table
	Seq     int // metadata file sequence (v<Seq>.metadata.json)
	Version int // the catalog version its current state is (0 = none)
}

// Load reads the current table of a dataset (ErrNoTable when none).
func (t *Tables) Load(ctx context.Context, name string) (*Table, error) {
	seq, err := t.hint(ctx, name)
	if err != nil {
		return nil, err
	}
	if seq == 0 {
		return nil, fmt.Errorf("%w for dataset %q", ErrNoTable, name)
	}
	return t.loadSeq(ctx, name, seq)
}

func (t *Tables) loadSeq(ctx context.Context, name string, seq int) (*Table, error) {
	t.loadedMu.Lock()
	c := t.loaded[name]
	t.loadedMu.Unlock()
	if c != nil && c.Seq == seq {
		return c, nil
	}
	tbl, err := table.NewFromLocation(ctx, t.Identifier(name), t.MetadataLocation(name, seq), t.fsF(ctx), nil)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("iceberg: %s names metadata v%d, which is missing: %w", hintKey(name), seq, err)
	}
	if err != nil {
		return nil, fmt.Errorf("iceberg: load %s v%d: %w", name, seq, err)
	}
	v, _ := strconv.Atoi(tbl.Properties().Get(PropVersion, "0"))
	tb := &Table{Table: tbl, Seq: seq, Version: v}
	t.remember(name, tb)
	return tb, nil
}

// remember caches a table's current metadata (see Tables.loaded).
func (t *Tables) remember(name string, tb *Table) {
	t.loadedMu.Lock()
	defer t.loadedMu.Unlock()
	if tb == nil {
		delete(t.loaded, name)
		return
	}
	t.loaded[name] = tb
}

// Relocated reports whether name's table was written under another root
// than the store's now: a local data dir that was moved (or a volume
// mounted at another path), a bucket that was renamed. Iceberg metadata
// holds absolute locations, so such a table can be read by nobody and
// committed to by nothing until it is written again (the catalog
// rebuilds it at start). A dataset without a table is not relocated.
func (t *Tables) Relocated(ctx context.Context, name string) (bool, error) {
	seq, err := t.hint(ctx, name)
	if err != nil || seq == 0 {
		return false, err
	}
	tb, err := t.loadSeq(ctx, name, seq)
	if err != nil {
		return false, err
	}
	return tb.Location() != t.Location(name), nil
}

// Head is the catalog version the dataset's current Iceberg metadata holds
// (0 when there is no table).
func (t *Tables) Head(ctx context.Context, name string) (int, error) {
	tb, err := t.Load(ctx, name)
	if errors.Is(err, ErrNoTable) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return tb.Version, nil
}

// Commit makes v the table's current snapshot: an append snapshot when it
// only adds parts to prev (append mode), an overwrite when it drops some
// (replace mode), the schema evolved first when it changed, tag v<N> on
// the snapshot, and the metadata file and version-hint.text written last.
// prev is the version the table holds now; nil creates the table. On an
// error nothing visible changed: the hint still names the old metadata.
func (t *Tables) Commit(ctx context.Context, name string, prev *Version, v Version) error {
	var cur *Table
	if prev != nil {
		var err error
		cur, err = t.Load(ctx, name)
		if errors.Is(err, ErrNoTable) {
			return fmt.Errorf("%w: %s has no table, the catalog is at version %d", ErrOutOfSync, name, prev.Number)
		}
		if err != nil {
			return err
		}
		if cur.Version != prev.Number {
			return fmt.Errorf("%w: table %s is at version %d, the catalog at %d", ErrOutOfSync, name, cur.Version, prev.Number)
		}
	} else if seq, err := t.hint(ctx, name); err != nil {
		return err
	} else if seq > 0 {
		// A table left from a deleted incarnation of the name: start over.
		if err := t.Drop(ctx, name); err != nil {
			return err
		}
	}
	meta, err := t.stage(ctx, name, cur, prev, v)
	if err != nil {
		return fmt.Errorf("iceberg: commit %s v%d: %w", name, v.Number, err)
	}
	if v.Ready != nil {
		if err := v.Ready(); err != nil {
			return err
		}
	}
	seq := 1
	if cur != nil {
		seq = cur.Seq + 1
	}
	return t.publish(ctx, name, seq, meta)
}

// publish writes metadata file seq, then points version-hint.text at it:
// the hint write is the commit point. A failed hint write removes the
// metadata file again (a reader probing v<N+1> must not find it).
func (t *Tables) publish(ctx context.Context, name string, seq int, meta table.Metadata) error {
	data, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("iceberg: encode metadata of %s: %w", name, err)
	}
	if _, err := t.store.Put(ctx, metaKey(name, seq), bytes.NewReader(data), int64(len(data))); err != nil {
		return fmt.Errorf("iceberg: write metadata of %s: %w", name, err)
	}
	if beforeHint != nil {
		beforeHint()
	}
	hint := []byte(strconv.Itoa(seq))
	if _, err := t.store.Put(ctx, hintKey(name), bytes.NewReader(hint), int64(len(hint))); err != nil {
		_ = t.store.Delete(context.WithoutCancel(ctx), metaKey(name, seq))
		t.remember(name, nil)
		return fmt.Errorf("iceberg: write %s: %w", hintKey(name), err)
	}
	v, _ := strconv.Atoi(meta.Properties().Get(PropVersion, "0"))
	t.remember(name, &Table{Table: table.New(t.Identifier(name), meta, t.MetadataLocation(name, seq), t.fsF(ctx), nil), Seq: seq, Version: v})
	// The metadata file that fell out of the kept window goes now (one
	// delete per commit keeps the folder bounded; SweepMetadata removes
	// any a crash left). Readers hold the file they loaded in memory.
	if old := seq - t.metaFiles; old >= 1 {
		if err := t.store.Delete(context.WithoutCancel(ctx), metaKey(name, old)); err != nil && !errors.Is(err, storage.ErrNotFound) {
			t.log.Warn("iceberg: delete an old metadata file", "dataset", name, "seq", old, "err", err)
		}
	}
	return nil
}

// beforeHint, when set (tests only), runs between writing a metadata file
// and the version hint that commits it.
var beforeHint func()

// stage computes the metadata after v without writing anything but the
// new manifest files (unreferenced until the metadata is published).
func (t *Tables) stage(ctx context.Context, name string, cur *Table, prev *Version, v Version) (table.Metadata, error) {
	var (
		base    table.Metadata
		baseLoc string
		curSch  *ib.Schema
		lastID  int
		known   = map[string]int{}
	)
	if cur != nil {
		base, baseLoc = cur.Metadata(), cur.MetadataLocation()
		curSch, lastID, known = base.CurrentSchema(), base.LastColumnID(), knownIDs(base.Schemas())
	}
	sch, _, changed, omitted := evolve(curSch, known, lastID, v.Columns)
	if len(omitted) > 0 {
		t.log.Warn("iceberg: columns without an Iceberg type are left out of the table", "dataset", name, "version", v.Number, "columns", omitted)
	}
	all := knownIDs([]*ib.Schema{sch})
	for n, id := range known {
		if _, ok := all[n]; !ok {
			all[n] = id
		}
	}
	mapping, err := json.Marshal(nameMapping(all))
	if err != nil {
		return nil, err
	}
	props := ib.Properties{PropVersion: strconv.Itoa(v.Number), table.DefaultNameMappingKey: string(mapping),
		PropOmitted:                               strings.Join(omitted, ", "),
		table.ManifestMergeEnabledKey:             "true",
		table.ManifestMinMergeCountKey:            strconv.Itoa(manifestMergeMin),
		table.MetadataPreviousVersionsMaxKey:      strconv.Itoa(t.metaFiles - 1),
		table.MetadataDeleteAfterCommitEnabledKey: "true",
	}
	if base == nil {
		props[table.PropertyFormatVersion] = "2"
		props[PropDataset] = name
		base, err = table.NewMetadataWithUUID(sch, ib.UnpartitionedSpec, table.UnsortedSortOrder, t.Location(name), props, uuid.New())
		if err != nil {
			return nil, err
		}
	} else {
		ups := []table.Update{table.NewSetPropertiesUpdate(props)}
		if changed {
			ups = append([]table.Update{table.NewAddSchemaUpdate(sch), table.NewSetCurrentSchemaUpdate(-1)}, ups...)
		}
		if base, err = table.UpdateTableMetadata(base, ups, baseLoc); err != nil {
			return nil, fmt.Errorf("evolve schema: %w", err)
		}
	}

	summary := ib.Properties{PropVersion: strconv.Itoa(v.Number), PropFingerprint: v.Fingerprint}
	if v.Source != "" {
		summary[PropSource] = v.Source
	}
	var prevFiles []File
	if prev != nil {
		prevFiles = prev.Files
	}
	add, del := diffFiles(prevFiles, v.Files)
	tx := table.New(t.Identifier(name), base, "", t.fsF(ctx), nil).NewTransaction()
	adds, err := t.dataFiles(ctx, base, add)
	if err != nil {
		return nil, err
	}
	switch {
	case len(del) > 0 && v.Rewrite && len(adds) > 0:
		dels, err := t.dataFiles(ctx, nil, del)
		if err != nil {
			return nil, err
		}
		rw := tx.NewRewrite(summary)
		for _, d := range dels {
			rw.DeleteFile(d)
		}
		for _, a := range adds {
			rw.AddDataFile(a)
		}
		err = rw.Commit(ctx)
	case len(del) > 0:
		dels, err := t.dataFiles(ctx, nil, del)
		if err != nil {
			return nil, err
		}
		err = tx.ReplaceDataFilesWithDataFiles(ctx, dels, adds, summary)
	case len(adds) > 0:
		err = tx.AddDataFiles(ctx, adds, summary, table.WithoutDuplicateCheck())
	default:
		// Same parts (a schema-only change): still one snapshot, so every
		// catalog version has its own snapshot and tag.
		err = tx.AddFiles(ctx, nil, summary, true)
	}
	if err != nil {
		return nil, fmt.Errorf("register parts: %w", err)
	}
	tc, err := tx.TableCommit()
	if err != nil {
		return nil, err
	}
	meta, err := table.UpdateTableMetadata(base, tc.Updates, "")
	if err != nil {
		return nil, err
	}
	snap := meta.CurrentSnapshot()
	if snap == nil {
		return nil, errors.New("no snapshot staged")
	}
	ups := []table.Update{table.NewSetSnapshotRefUpdate(TagName(v.Number), snap.SnapshotID, table.TagRef, -1, -1, -1)}
	ups = append(ups, expireUpdates(meta, v.Expire, snap.SnapshotID)...)
	return table.UpdateTableMetadata(meta, ups, "")
}

// expireUpdates removes the tags of catalog versions and the snapshots
// they point at, except keep (the current snapshot) and any snapshot
// another remaining ref (a later version's tag over the same parts, a
// user's pin) still names.
func expireUpdates(meta table.Metadata, versions []int, keep int64) []table.Update {
	if len(versions) == 0 {
		return nil
	}
	refs := map[string]table.SnapshotRef{}
	for n, r := range meta.Refs() {
		refs[n] = r
	}
	var ups []table.Update
	gone := map[string]bool{}
	cand := map[int64]bool{}
	for _, v := range versions {
		ref, ok := refs[TagName(v)]
		if !ok {
			continue
		}
		ups = append(ups, table.NewRemoveSnapshotRefUpdate(TagName(v)))
		gone[TagName(v)] = true
		if ref.SnapshotID != keep {
			cand[ref.SnapshotID] = true
		}
	}
	for n, r := range refs {
		if !gone[n] {
			delete(cand, r.SnapshotID)
		}
	}
	var ids []int64
	for id := range cand {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if len(ids) > 0 {
		ups = append(ups, table.NewRemoveSnapshotsUpdate(ids, false))
	}
	return ups
}

// TagName is the tag of a catalog version's snapshot.
func TagName(version int) string { return "v" + strconv.Itoa(version) }

// diffFiles returns the files next adds to prev and the ones it drops.
func diffFiles(prev, next []File) (add, del []File) {
	had := map[string]bool{}
	for _, f := range prev {
		had[f.Key] = true
	}
	has := map[string]bool{}
	for _, f := range next {
		if !has[f.Key] && !had[f.Key] {
			add = append(add, f)
		}
		has[f.Key] = true
	}
	for _, f := range prev {
		if !has[f.Key] {
			del = append(del, f)
			has[f.Key] = true
		}
	}
	return add, del
}

// dataFiles describes parts for a manifest. With a schema, each part's
// Parquet footer gives its column statistics (what lets engines skip
// files); a part whose footer cannot be read is still registered from the
// catalog's own facts (path, rows, bytes), without statistics, because
// the table must name every part the catalog version names. Without a
// schema (parts being removed) only the path matters.
func (t *Tables) dataFiles(ctx context.Context, meta table.Metadata, files []File) ([]ib.DataFile, error) {
	out := make([]ib.DataFile, len(files))
	if meta != nil {
		fio := t.fio(ctx)
		spec := meta.PartitionSpec()
		sem := make(chan struct{}, 4)
		done := make(chan struct{}, len(files))
		for i, f := range files {
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; done <- struct{}{} }()
				df, err := table.FileToDataFile(ctx, fio, t.root+"/"+f.Key, meta.CurrentSchema(), spec, 0, meta.Properties())
				if err != nil {
					t.log.Warn("iceberg: part has no readable Parquet footer; registered without column statistics", "key", f.Key, "err", err)
					return
				}
				out[i] = df
			}()
		}
		for range files {
			<-done
		}
	}
	for i, f := range files {
		if out[i] != nil {
			continue
		}
		b, err := ib.NewDataFileBuilder(*ib.UnpartitionedSpec, ib.EntryContentData, t.root+"/"+f.Key, ib.ParquetFile,
			map[int]any{}, nil, nil, f.Rows, f.Bytes)
		if err != nil {
			return nil, fmt.Errorf("describe %s: %w", f.Key, err)
		}
		out[i] = b.Build()
	}
	return out, nil
}

// Drop removes a dataset's table: the hint first (readers stop finding
// it), then every metadata and manifest object.
func (t *Tables) Drop(ctx context.Context, name string) error {
	t.remember(name, nil)
	if err := t.store.Delete(ctx, hintKey(name)); err != nil {
		return fmt.Errorf("iceberg: drop %s: %w", name, err)
	}
	return t.deleteWhere(ctx, name, func(string) bool { return true })
}

func (t *Tables) deleteWhere(ctx context.Context, name string, match func(key string) bool) error {
	// The keys are collected first: deleting while listing could make an
	// object store's cursor skip keys.
	objs, err := storage.ListAll(ctx, t.store, MetadataPrefix(name))
	if err != nil {
		return fmt.Errorf("iceberg: %w", err)
	}
	for _, o := range objs {
		if !match(o.Key) {
			continue
		}
		if err := t.store.Delete(ctx, o.Key); err != nil {
			return fmt.Errorf("iceberg: delete %s: %w", o.Key, err)
		}
	}
	return nil
}

// metaSeq parses the sequence of a v<N>.metadata.json key (0 otherwise).
func metaSeq(name, key string) int {
	rest, ok := strings.CutPrefix(key, MetadataPrefix(name)+"v")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSuffix(rest, ".metadata.json"))
	if err != nil || !strings.HasSuffix(rest, ".metadata.json") {
		return 0
	}
	return n
}

// Rewind makes the table hold catalog version `to` again, undoing Iceberg
// commits the catalog never recorded (a crash between the two): the hint
// goes back to the newest metadata file at or below `to` and every newer
// metadata file is removed. to = 0 drops the table.
func (t *Tables) Rewind(ctx context.Context, name string, to int) error {
	cur, err := t.Load(ctx, name)
	if errors.Is(err, ErrNoTable) {
		return nil
	}
	if err != nil {
		return err
	}
	if cur.Version <= to {
		return t.removeStray(ctx, name, cur.Seq)
	}
	for seq := cur.Seq - 1; seq >= 1 && to > 0; seq-- {
		old, err := t.loadSeq(ctx, name, seq)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if old.Version > to {
			continue
		}
		hint := []byte(strconv.Itoa(seq))
		t.remember(name, nil)
		if _, err := t.store.Put(ctx, hintKey(name), bytes.NewReader(hint), int64(len(hint))); err != nil {
			return fmt.Errorf("iceberg: rewind %s: %w", name, err)
		}
		t.log.Warn("iceberg: rewound a commit the catalog never recorded", "dataset", name, "from", cur.Version, "to", old.Version)
		return t.removeStray(ctx, name, seq)
	}
	t.log.Warn("iceberg: dropped a table the catalog never recorded", "dataset", name, "version", cur.Version)
	return t.Drop(ctx, name)
}

// removeStray deletes metadata files newer than the current one (written
// by a commit that died before its hint).
func (t *Tables) removeStray(ctx context.Context, name string, seq int) error {
	return t.deleteWhere(ctx, name, func(key string) bool { return metaSeq(name, key) > seq })
}

// Prune removes the snapshots (and tags) of catalog versions the catalog
// pruned, in a new metadata file; the current snapshot always stays.
func (t *Tables) Prune(ctx context.Context, name string, versions []int) error {
	cur, err := t.Load(ctx, name)
	if errors.Is(err, ErrNoTable) {
		return nil
	}
	if err != nil {
		return err
	}
	meta := cur.Metadata()
	var keep int64 = -1
	if cs := meta.CurrentSnapshot(); cs != nil {
		keep = cs.SnapshotID
	}
	ups := expireUpdates(meta, versions, keep)
	if len(ups) == 0 {
		return nil
	}
	next, err := table.UpdateTableMetadata(meta, ups, cur.MetadataLocation())
	if err != nil {
		return fmt.Errorf("iceberg: prune %s: %w", name, err)
	}
	return t.publish(ctx, name, cur.Seq+1, next)
}
