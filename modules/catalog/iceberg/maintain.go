package iceberg

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/apache/iceberg-go/table"

	"lakehouse/modules/storage"
)

// MetadataStats is what a table's metadata folder holds.
type MetadataStats struct {
	Files     int   `json:"files"`
	Bytes     int64 `json:"bytes"`
	Snapshots int   `json:"snapshots"`
	Seq       int   `json:"seq"` // the current metadata file's sequence
}

// SweepReport says what SweepMetadata removed.
type SweepReport struct {
	Removed      int   `json:"removed"`
	RemovedBytes int64 `json:"removed_bytes"`
	Kept         MetadataStats
}

// SweepMetadata deletes the objects under a table's metadata folder that
// its current metadata no longer needs: manifest lists and manifests of
// expired snapshots, manifests a merge replaced, and metadata JSON files
// outside the kept window. An unreferenced manifest or manifest list
// goes only once due says its grace period is over: a reader that loaded
// an older metadata file may still be reading it.
//
// A commit writes its manifests before the metadata file that names
// them, so what the sweep found unreferenced is confirmed under locked
// (the catalog's writer lock, which every commit holds) against the
// metadata as it is then; only that check holds the lock. What the
// metadata of that moment does not name no later commit can name again
// (a commit carries manifests over from the current snapshot or writes
// new ones), so the deletes run after the lock is released. With dryRun
// nothing is deleted.
func (t *Tables) SweepMetadata(ctx context.Context, name string, due func(storage.ObjectInfo) bool, locked func(func() error) error, dryRun bool) (SweepReport, error) {
	var rep SweepReport
	cur, err := t.Load(ctx, name)
	if errors.Is(err, ErrNoTable) {
		return rep, nil
	}
	if err != nil {
		return rep, err
	}
	keep, err := t.referenced(ctx, name, cur)
	if err != nil {
		return rep, err
	}
	var cands []storage.ObjectInfo
	err = t.eachMetadataObject(ctx, name, func(o storage.ObjectInfo) error {
		seq := metaSeq(name, o.Key)
		switch {
		case keep[o.Key], o.Key == hintKey(name):
		case seq > cur.Seq: // a commit in flight (or a stray one SyncIceberg removes)
		case seq > 0 && seq > cur.Seq-t.metaFiles:
		case seq == 0 && !due(o):
		default:
			cands = append(cands, o)
			return nil
		}
		rep.Kept.Files++
		rep.Kept.Bytes += o.Size
		return nil
	})
	if err != nil {
		return rep, err
	}
	now := cur
	if len(cands) > 0 {
		err = locked(func() error {
			latest, err := t.Load(ctx, name)
			if err != nil {
				return err
			}
			if latest.Seq != cur.Seq {
				more, err := t.referenced(ctx, name, latest)
				if err != nil {
					return err
				}
				maps.Copy(keep, more)
				now = latest
			}
			return nil
		})
		if errors.Is(err, ErrNoTable) {
			return rep, nil
		}
		if err != nil {
			return rep, err
		}
	}
	for _, o := range cands {
		if seq := metaSeq(name, o.Key); keep[o.Key] || (seq > 0 && seq > now.Seq-t.metaFiles) {
			rep.Kept.Files++
			rep.Kept.Bytes += o.Size
			continue
		}
		rep.Removed++
		rep.RemovedBytes += o.Size
		if !dryRun {
			if err := t.store.Delete(ctx, o.Key); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return rep, fmt.Errorf("iceberg: sweep %s: %w", o.Key, err)
			}
		}
	}
	rep.Kept.Snapshots, rep.Kept.Seq = len(now.Metadata().Snapshots()), now.Seq
	t.forgetManifestLists(now)
	return rep, nil
}

// Stats counts a table's metadata objects and snapshots (zero when there
// is no table).
func (t *Tables) Stats(ctx context.Context, name string) (MetadataStats, error) {
	var st MetadataStats
	cur, err := t.Load(ctx, name)
	if errors.Is(err, ErrNoTable) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	st.Snapshots, st.Seq = len(cur.Metadata().Snapshots()), cur.Seq
	err = t.eachMetadataObject(ctx, name, func(o storage.ObjectInfo) error {
		st.Files++
		st.Bytes += o.Size
		return nil
	})
	return st, err
}

// referenced is every metadata object key the current metadata needs:
// itself, each snapshot's manifest list and the manifests those lists
// name. (Older metadata files are kept by sequence, see SweepMetadata.)
func (t *Tables) referenced(ctx context.Context, name string, cur *Table) (map[string]bool, error) {
	fio := t.fio(ctx)
	keep := map[string]bool{metaKey(name, cur.Seq): true}
	add := func(loc string) {
		if k, err := fio.key(loc); err == nil {
			keep[k] = true
		}
	}
	meta := cur.Metadata()
	for _, s := range meta.Snapshots() {
		add(s.ManifestList)
		paths, err := t.manifestsOf(fio, s)
		if err != nil {
			return nil, err
		}
		for _, p := range paths {
			add(p)
		}
	}
	return keep, nil
}

func (t *Tables) eachMetadataObject(ctx context.Context, name string, fn func(storage.ObjectInfo) error) error {
	return storage.Each(ctx, t.store, MetadataPrefix(name), fn)
}

// Pin points tag at the snapshot of catalog version v (a user's named
// version, kept by retention); Unpin removes it. Both write a metadata
// file of their own.
func (t *Tables) Pin(ctx context.Context, name, tag string, v int) error {
	return t.updateRefs(ctx, name, func(meta table.Metadata) ([]table.Update, error) {
		ref, ok := lookupRef(meta, TagName(v))
		if !ok {
			return nil, fmt.Errorf("iceberg: %s has no snapshot of version %d", name, v)
		}
		return []table.Update{table.NewSetSnapshotRefUpdate(tag, ref.SnapshotID, table.TagRef, -1, -1, -1)}, nil
	})
}

// Unpin removes a user's tag (a missing tag is no error).
func (t *Tables) Unpin(ctx context.Context, name, tag string) error {
	return t.updateRefs(ctx, name, func(meta table.Metadata) ([]table.Update, error) {
		if _, ok := lookupRef(meta, tag); !ok {
			return nil, nil
		}
		return []table.Update{table.NewRemoveSnapshotRefUpdate(tag)}, nil
	})
}

func (t *Tables) updateRefs(ctx context.Context, name string, fn func(table.Metadata) ([]table.Update, error)) error {
	cur, err := t.Load(ctx, name)
	if errors.Is(err, ErrNoTable) {
		return nil
	}
	if err != nil {
		return err
	}
	ups, err := fn(cur.Metadata())
	if err != nil || len(ups) == 0 {
		return err
	}
	next, err := table.UpdateTableMetadata(cur.Metadata(), ups, cur.MetadataLocation())
	if err != nil {
		return fmt.Errorf("iceberg: tag %s: %w", name, err)
	}
	return t.publish(ctx, name, cur.Seq+1, next)
}

// IsVersionTag reports whether a ref name is one lakehouse gives each
// catalog version (v<N>), which user tags may not take.
func IsVersionTag(ref string) bool {
	rest, ok := strings.CutPrefix(ref, "v")
	if !ok || rest == "" {
		return false
	}
	_, err := strconv.Atoi(rest)
	return err == nil
}

func lookupRef(meta table.Metadata, name string) (table.SnapshotRef, bool) {
	for n, r := range meta.Refs() {
		if n == name {
			return r, true
		}
	}
	return table.SnapshotRef{}, false
}

// Tagged returns the catalog versions whose v<N> tag the table holds
// (nil, nil when there is no table): the versions retention kept.
func (t *Tables) Tagged(ctx context.Context, name string) (map[int]bool, error) {
	cur, err := t.Load(ctx, name)
	if errors.Is(err, ErrNoTable) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[int]bool{}
	for n := range cur.Metadata().Refs() {
		if IsVersionTag(n) {
			v, _ := strconv.Atoi(n[1:])
			out[v] = true
		}
	}
	return out, nil
}

// manifestsOf lists the manifests a snapshot's manifest list names. A
// manifest list never changes once written, so what it names is cached
// by its path (forgetManifestLists drops the snapshots gone).
func (t *Tables) manifestsOf(fio *storeIO, s table.Snapshot) ([]string, error) {
	t.mlMu.Lock()
	paths, ok := t.mlCache[s.ManifestList]
	t.mlMu.Unlock()
	if ok {
		return paths, nil
	}
	mfs, err := s.Manifests(fio)
	if err != nil {
		return nil, fmt.Errorf("iceberg: read manifest list of snapshot %d: %w", s.SnapshotID, err)
	}
	paths = make([]string, len(mfs))
	for i, mf := range mfs {
		paths[i] = mf.FilePath()
	}
	t.mlMu.Lock()
	t.mlCache[s.ManifestList] = paths
	t.mlMu.Unlock()
	return paths, nil
}

// forgetManifestLists drops cached manifest lists of snapshots a table no
// longer has.
func (t *Tables) forgetManifestLists(cur *Table) {
	live := map[string]bool{}
	for _, s := range cur.Metadata().Snapshots() {
		live[s.ManifestList] = true
	}
	prefix := t.root + "/" + MetadataPrefix(cur.Identifier()[len(cur.Identifier())-1])
	t.mlMu.Lock()
	defer t.mlMu.Unlock()
	for p := range t.mlCache {
		if strings.HasPrefix(p, prefix) && !live[p] {
			delete(t.mlCache, p)
		}
	}
}
