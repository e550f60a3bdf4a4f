package hnsw

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"unsafe"
)

// The snapshot is the slabs written as they lie in memory (little endian,
// which every platform lakehouse ships on is), so loading is a few large
// reads rather than a rebuild.
const (
	codecMagic   = "HNSW"
	codecVersion = 1
	// codecVersionQuant is an int8 graph: the rows are int8 rows, and a
	// float32 rescoring copy follows the upper lists when Rescore is set
	// (the same bytes whether the graph kept it in memory or on disk).
	// Float32 graphs keep writing version 1, byte for byte as before.
	codecVersionQuant = 2
)

type header struct {
	Dim, M, EfC, EfS   uint32
	Metric, HasEntry   uint8
	Quant, Rescore     uint8 // zero in version 1
	Seed               uint64
	N, Entry, MaxLevel uint32
	UpperUsed          uint32
}

func asBytes[T uint8 | uint32 | float32](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(s[0])))
}

// WriteTo writes the graph. Searches may run meanwhile; Adds must not (the
// caller serialises them), or the snapshot may miss links.
func (g *Graph) WriteTo(w io.Writer) (int64, error) {
	g.grow.RLock()
	defer g.grow.RUnlock()
	g.allocMu.Lock()
	n, upperUsed := int(g.n.Load()), g.upperUsed
	g.allocMu.Unlock()
	ep, maxL, has := g.getEntry()
	h := header{
		Dim: uint32(g.dim), M: uint32(g.cfg.M), EfC: uint32(g.cfg.EfConstruction), EfS: uint32(g.cfg.EfSearch),
		Metric: uint8(g.cfg.Metric), Seed: g.cfg.Seed, N: uint32(n), Entry: ep, MaxLevel: uint32(maxL),
		UpperUsed: uint32(upperUsed),
	}
	if has {
		h.HasEntry = 1
	}
	version := uint32(codecVersion)
	if g.cfg.Quantization != Float32 {
		version = codecVersionQuant
		h.Quant = uint8(g.cfg.Quantization)
		if g.cfg.Rescore {
			h.Rescore = 1
		}
	}
	cw := &countWriter{w: w}
	if _, err := cw.Write([]byte(codecMagic)); err != nil {
		return cw.n, err
	}
	if err := binary.Write(cw, binary.LittleEndian, version); err != nil {
		return cw.n, err
	}
	if err := binary.Write(cw, binary.LittleEndian, &h); err != nil {
		return cw.n, err
	}
	del := make([]uint32, n)
	for i := range del {
		if atomic.LoadUint32(&g.deleted[i]) != live {
			del[i] = dead
		}
	}
	// Level-0 lists go out in chunks through a small buffer; no writer
	// runs (see above), so plain reads are safe beside concurrent searches.
	lvl0 := make([]uint32, 0, 1<<16)
	parts := [][]byte{asBytes(g.levels[:n]), asBytes(del), asBytes(g.upperOff[:n]), asBytes(g.vecs[:n*g.stride])}
	for _, p := range parts {
		if _, err := cw.Write(p); err != nil {
			return cw.n, err
		}
	}
	stride := g.m0 + 1
	for start := 0; start < n; start += 1 << 12 {
		end := min(n, start+1<<12)
		lvl0 = append(lvl0[:0], g.lvl0[start*stride:end*stride]...)
		if _, err := cw.Write(asBytes(lvl0)); err != nil {
			return cw.n, err
		}
	}
	if _, err := cw.Write(asBytes(g.upper[:upperUsed])); err != nil {
		return cw.n, err
	}
	if g.full != nil {
		if _, err := cw.Write(asBytes(g.full[:n*g.dim])); err != nil {
			return cw.n, err
		}
	}
	if g.disk != nil {
		if err := g.DiskErr(); err != nil {
			return cw.n, fmt.Errorf("hnsw: vector file lost a vector, not writing a snapshot without it: %w", err)
		}
		buf := make([]float32, diskChunk*g.dim)
		for start := 0; start < n; start += diskChunk {
			k := min(n, start+diskChunk) - start
			if err := g.disk.readRange(uint32(start), buf[:k*g.dim]); err != nil {
				g.noteDiskErr(err)
				return cw.n, err
			}
			if _, err := cw.Write(asBytes(buf[:k*g.dim])); err != nil {
				return cw.n, err
			}
		}
	}
	return cw.n, nil
}

// diskChunk is the vectors per read or write when a snapshot moves a
// vector file's contents.
const diskChunk = 256

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Read loads a graph written by WriteTo from r, which holds at most size
// bytes: a header that claims more (a damaged or foreign file) is refused
// before anything is allocated for it, so junk cannot exhaust memory.
func Read(r io.Reader, size int64) (*Graph, error) { return read(r, size, nil) }

// ReadOnDisk is Read for an int8 graph written with its float32 copies
// (by a graph with Rescore, in memory or on disk): the copies go into vf,
// as NewOnDisk keeps them, instead of memory.
func ReadOnDisk(r io.Reader, size int64, vf *VectorFile) (*Graph, error) {
	if vf == nil {
		return nil, errors.New("hnsw: no vector file")
	}
	return read(r, size, vf)
}

func read(r io.Reader, size int64, vf *VectorFile) (*Graph, error) {
	magic := make([]byte, 4)
	if _, err := io.ReadFull(r, magic); err != nil {
		return nil, fmt.Errorf("hnsw: read header: %w", err)
	}
	if string(magic) != codecMagic {
		return nil, errors.New("hnsw: not a graph snapshot (bad magic)")
	}
	var ver uint32
	if err := binary.Read(r, binary.LittleEndian, &ver); err != nil {
		return nil, fmt.Errorf("hnsw: read header: %w", err)
	}
	if ver != codecVersion && ver != codecVersionQuant {
		return nil, fmt.Errorf("hnsw: snapshot version %d, this build reads %d and %d", ver, codecVersion, codecVersionQuant)
	}
	var h header
	if err := binary.Read(r, binary.LittleEndian, &h); err != nil {
		return nil, fmt.Errorf("hnsw: read header: %w", err)
	}
	if ver == codecVersion && (h.Quant != 0 || h.Rescore != 0) {
		return nil, errors.New("hnsw: version 1 snapshot with quantization flags")
	}
	if ver == codecVersionQuant && (h.Quant != uint8(Int8) || h.Rescore > 1) {
		return nil, fmt.Errorf("hnsw: snapshot quantization %d is unknown", h.Quant)
	}
	g, err := New(Config{Dim: int(h.Dim), Metric: Metric(h.Metric), M: int(h.M), EfConstruction: int(h.EfC), EfSearch: int(h.EfS), Seed: h.Seed,
		Quantization: Quantization(h.Quant), Rescore: h.Rescore == 1})
	if err != nil {
		return nil, err
	}
	if vf != nil {
		if !g.cfg.Rescore || vf.dim != g.dim {
			return nil, errors.New("hnsw: snapshot holds no float32 vectors of the vector file's dimension to rescore with")
		}
		g.disk = vf
	}
	n := int(h.N)
	if n > 1<<31 || int64(n)*int64(h.Dim) > 1<<36 || int(h.UpperUsed) > n*int(h.M+1)*31+1 {
		return nil, fmt.Errorf("hnsw: implausible snapshot size (n=%d dim=%d)", n, h.Dim)
	}
	// levels (1 byte), tombstone and upper offset (4 each), the vector and
	// the level-0 list per node, then the upper lists.
	body := int64(n)*(1+4+4+4*int64(g.stride)+4*int64(g.m0+1)) + 4*int64(h.UpperUsed)
	if g.cfg.Rescore {
		body += int64(n) * 4 * int64(g.dim)
	}
	if body > size {
		return nil, fmt.Errorf("hnsw: snapshot header claims %d bytes of graph (n=%d dim=%d), the file holds at most %d", body, n, h.Dim, size)
	}
	g.upperUsed = int(h.UpperUsed)
	g.growLocked(n)
	g.n.Store(uint32(n))
	g.entry, g.maxLevel, g.hasEntry = h.Entry, int(h.MaxLevel), h.HasEntry == 1
	parts := [][]byte{asBytes(g.levels[:n]), asBytes(g.deleted[:n]), asBytes(g.upperOff[:n]),
		asBytes(g.vecs[:n*g.stride]), asBytes(g.lvl0[:n*(g.m0+1)]), asBytes(g.upper[:g.upperUsed])}
	if g.full != nil {
		parts = append(parts, asBytes(g.full[:n*g.dim]))
	}
	for _, p := range parts {
		if _, err := io.ReadFull(r, p); err != nil {
			return nil, fmt.Errorf("hnsw: read snapshot body: %w", err)
		}
	}
	if g.disk != nil {
		buf := make([]float32, diskChunk*g.dim)
		for start := 0; start < n; start += diskChunk {
			k := min(n, start+diskChunk) - start
			if _, err := io.ReadFull(r, asBytes(buf[:k*g.dim])); err != nil {
				return nil, fmt.Errorf("hnsw: read snapshot body: %w", err)
			}
			if err := g.disk.writeRange(uint32(start), buf[:k*g.dim]); err != nil {
				return nil, err
			}
		}
	}
	// Validate what the search trusts, so a corrupt file cannot index out
	// of range.
	if g.hasEntry && (int(g.entry) >= n || int(g.levels[g.entry]) < g.maxLevel) {
		return nil, errors.New("hnsw: snapshot entry point out of range")
	}
	stride := g.m0 + 1
	for i := 0; i < n; i++ {
		if g.levels[i] > 0 && int(g.upperOff[i])+int(g.levels[i])*(g.cfg.M+1) > g.upperUsed {
			return nil, fmt.Errorf("hnsw: snapshot node %d upper lists out of range", i)
		}
		if err := checkList(g.lvl0[i*stride:(i+1)*stride], n); err != nil {
			return nil, fmt.Errorf("hnsw: snapshot node %d: %w", i, err)
		}
		for l := 1; l <= int(g.levels[i]); l++ {
			if err := checkList(g.list(uint32(i), l), n); err != nil {
				return nil, fmt.Errorf("hnsw: snapshot node %d level %d: %w", i, l, err)
			}
		}
	}
	return g, nil
}

func checkList(ls []uint32, n int) error {
	if int(ls[0]) > len(ls)-1 {
		return errors.New("neighbour count out of range")
	}
	for _, id := range ls[1 : 1+ls[0]] {
		if int(id) >= n {
			return errors.New("neighbour id out of range")
		}
	}
	return nil
}
