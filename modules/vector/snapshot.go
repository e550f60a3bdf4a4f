package vector

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"

	"lakehouse/modules/vector/bm25"
	"lakehouse/modules/vector/hnsw"
)

// A snapshot is the whole index at one WAL sequence:
//
//	"LHVS" | version u32 | seq u64 | specLen u32 | spec JSON |
//	nodes u32 | per node: idLen u32 | id | metaLen u32 | meta JSON |
//	[version 2: textLen u32 | text] |
//	graph (hnsw codec: the slabs as they lie in memory) | crc32c u32
//
// An index holding text is written as version 2 (older builds leave it
// alone); one without as version 1. Loading is a few large reads, not a
// graph rebuild; the keyword index is rebuilt from the texts.
const (
	snapMagic       = "LHVS"
	snapVersion     = 1
	snapVersionText = 2
)

// writeSnapshot streams the index to w. Call with writeMu held (no batch
// runs); searches may continue.
func (ix *index) writeSnapshot(w io.Writer) error {
	h := crc32.New(castagnoli)
	bw := bufio.NewWriterSize(io.MultiWriter(w, h), 1<<20)
	le := binary.LittleEndian
	var s [8]byte
	put32 := func(v uint32) { le.PutUint32(s[:4], v); bw.Write(s[:4]) }

	ix.mu.RLock()
	defer ix.mu.RUnlock()
	spec, err := json.Marshal(ix.spec)
	if err != nil {
		return err
	}
	version := uint32(snapVersion)
	if ix.kw.Docs() > 0 {
		version = snapVersionText
	}
	bw.WriteString(snapMagic)
	put32(version)
	le.PutUint64(s[:], ix.seq)
	bw.Write(s[:])
	put32(uint32(len(spec)))
	bw.Write(spec)
	// Nodes the graph holds but no id names (tombstones, or the spent id
	// of a failed add) are written as "".
	n := ix.g.Len()
	put32(uint32(n))
	for i := 0; i < n; i++ {
		id, text := "", ""
		var md map[string]any
		if i < len(ix.ids) {
			id, md, text = ix.ids[i], ix.meta[i], ix.texts[i]
		}
		put32(uint32(len(id)))
		bw.WriteString(id)
		if md == nil {
			put32(0)
		} else {
			b, err := json.Marshal(md)
			if err != nil {
				return fmt.Errorf("vector: snapshot metadata of %q: %w", id, err)
			}
			put32(uint32(len(b)))
			bw.Write(b)
		}
		if version == snapVersionText {
			put32(uint32(len(text)))
			bw.WriteString(text)
		}
	}
	if _, err := ix.g.WriteTo(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	le.PutUint32(s[:4], h.Sum32())
	_, err = w.Write(s[:4])
	return err
}

// hashingReader feeds everything read through it to a hash.
type hashingReader struct {
	r *bufio.Reader
	h hash.Hash32
}

func (hr *hashingReader) Read(p []byte) (int, error) {
	n, err := hr.r.Read(p)
	hr.h.Write(p[:n])
	return n, err
}

// readSnapshot loads an index written by writeSnapshot from r, which holds
// size bytes (-1: unknown). Counts in the file are checked against size
// before anything is allocated for them, so a damaged or foreign file
// cannot exhaust memory. A "rescore": "disk" index gets a new vector file
// from files, filled from the snapshot's float32 copies.
func readSnapshot(r io.Reader, size int64, files *rescoreDir) (_ *index, err error) {
	if size < 0 {
		size = 1 << 62
	}
	br := bufio.NewReaderSize(r, 1<<20)
	hr := &hashingReader{r: br, h: crc32.New(castagnoli)}
	le := binary.LittleEndian
	var s [8]byte
	read := func(n int) ([]byte, error) {
		b := make([]byte, n)
		_, err := io.ReadFull(hr, b)
		return b, err
	}
	u32 := func() (uint32, error) {
		_, err := io.ReadFull(hr, s[:4])
		return le.Uint32(s[:4]), err
	}
	head, err := read(8)
	if err != nil {
		return nil, fmt.Errorf("%w: snapshot header: %v", errCorrupt, err)
	}
	if string(head[:4]) != snapMagic {
		return nil, fmt.Errorf("%w: not a snapshot (bad magic)", errCorrupt)
	}
	version := le.Uint32(head[4:])
	if version != snapVersion && version != snapVersionText {
		if version > snapVersionText && version < 1<<16 {
			return nil, fmt.Errorf("%w: snapshot version %d, this build reads %d and %d", errNewer, version, snapVersion, snapVersionText)
		}
		return nil, fmt.Errorf("%w: snapshot version %d", errCorrupt, version)
	}
	if _, err := io.ReadFull(hr, s[:]); err != nil {
		return nil, fmt.Errorf("%w: snapshot header: %v", errCorrupt, err)
	}
	seq := le.Uint64(s[:])
	specLen, err := u32()
	if err != nil || specLen > 1<<20 {
		return nil, fmt.Errorf("%w: snapshot spec length", errCorrupt)
	}
	specRaw, err := read(int(specLen))
	if err != nil {
		return nil, fmt.Errorf("%w: snapshot spec: %v", errCorrupt, err)
	}
	var spec IndexSpec
	if err := json.Unmarshal(specRaw, &spec); err != nil {
		return nil, fmt.Errorf("%w: snapshot spec: %v", errCorrupt, err)
	}
	ix, err := newIndex(spec, files)
	if errors.Is(err, errStorage) {
		return nil, err // the local rescore file, not the snapshot
	}
	if err != nil {
		return nil, fmt.Errorf("%w: snapshot spec: %v", errCorrupt, err)
	}
	defer func() {
		if err != nil {
			release(ix.g)
		}
	}()
	n, err := u32()
	// Every node takes at least its id and metadata lengths (8 bytes).
	if err != nil || n > 1<<31 || int64(n) > size/8 {
		return nil, fmt.Errorf("%w: snapshot node count", errCorrupt)
	}
	ix.ids = make([]string, n)
	ix.meta = make([]map[string]any, n)
	ix.texts = make([]string, n)
	for i := range ix.ids {
		l, err := u32()
		if err != nil || l > 1<<20 {
			return nil, fmt.Errorf("%w: snapshot id %d", errCorrupt, i)
		}
		id, err := read(int(l))
		if err != nil {
			return nil, fmt.Errorf("%w: snapshot id %d: %v", errCorrupt, i, err)
		}
		ml, err := u32()
		if err != nil || ml > 1<<26 {
			return nil, fmt.Errorf("%w: snapshot metadata %d", errCorrupt, i)
		}
		if ml > 0 {
			raw, err := read(int(ml))
			if err != nil {
				return nil, fmt.Errorf("%w: snapshot metadata %d: %v", errCorrupt, i, err)
			}
			if err := json.Unmarshal(raw, &ix.meta[i]); err != nil {
				return nil, fmt.Errorf("%w: snapshot metadata %d: %v", errCorrupt, i, err)
			}
		}
		if version == snapVersionText {
			tl, err := u32()
			if err != nil || tl > maxTextBytes || int64(tl) > size {
				return nil, fmt.Errorf("%w: snapshot text %d", errCorrupt, i)
			}
			text, err := read(int(tl))
			if err != nil {
				return nil, fmt.Errorf("%w: snapshot text %d: %v", errCorrupt, i, err)
			}
			ix.texts[i] = string(text)
		}
		if len(id) > 0 {
			ix.ids[i] = string(id)
			ix.byID[ix.ids[i]] = uint32(i)
			if ix.texts[i] != "" {
				ix.kw.Add(uint32(i), bm25.Tokenize(ix.texts[i]))
			}
		} else {
			ix.texts[i] = ""
		}
	}
	var g *hnsw.Graph
	if vf := ix.g.VectorFile(); vf != nil {
		g, err = hnsw.ReadOnDisk(hr, size, vf)
	} else {
		g, err = hnsw.Read(hr, size)
	}
	if errors.Is(err, hnsw.ErrVectorFile) {
		return nil, ioFailure(err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	if g.Len() != int(n) || g.Config().Dim != spec.Dim {
		return nil, fmt.Errorf("%w: snapshot graph holds %d nodes of dimension %d, ids %d of %d",
			errCorrupt, g.Len(), g.Config().Dim, n, spec.Dim)
	}
	want := hr.h.Sum32()
	if _, err := io.ReadFull(br, s[:4]); err != nil {
		return nil, fmt.Errorf("%w: snapshot checksum missing: %v", errCorrupt, err)
	}
	if le.Uint32(s[:4]) != want {
		return nil, fmt.Errorf("%w: snapshot checksum mismatch", errCorrupt)
	}
	ix.g = g
	ix.live = len(ix.byID)
	ix.seq, ix.snapSeq = seq, seq
	return ix, nil
}
