package hnsw

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"sync"
)

// VectorFile keeps float32 vectors in a local file, one fixed-size slot per
// node id (dim little-endian float32 values, then a CRC-32C of them), read
// back with pread: an int8 graph's full-precision copies for rescoring,
// outside the Go heap (see NewOnDisk). A slot that fails its checksum, or
// is not there (a truncated file), reads as an error, so a damaged file
// never yields a wrong vector. The file is a cache of what its owner keeps
// durable elsewhere; it is created empty and holds no header.
type VectorFile struct {
	f    *os.File
	path string
	dim  int
	slot int       // bytes per node: 4·dim + 4
	bufs sync.Pool // *[]byte of slot bytes
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// ErrVectorFile marks a failure of the local file system under a
// VectorFile (create, write, read), as opposed to bad input: the caller's
// data is intact, only the cache could not be written or read.
var ErrVectorFile = errors.New("vector file")

// CreateVectorFile creates (or truncates) the file at path for vectors of
// dim values.
func CreateVectorFile(path string, dim int) (*VectorFile, error) {
	if dim <= 0 {
		return nil, fmt.Errorf("hnsw: vector file dimension must be positive, got %d", dim)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("hnsw: create %w: %w", ErrVectorFile, err)
	}
	vf := &VectorFile{f: f, path: path, dim: dim, slot: 4*dim + 4}
	vf.bufs.New = func() any { b := make([]byte, vf.slot); return &b }
	return vf, nil
}

// Path is the file's name.
func (vf *VectorFile) Path() string { return vf.path }

// Close closes the file; reads after it fail (and rescoring falls back to
// the codes).
func (vf *VectorFile) Close() error { return vf.f.Close() }

// Remove closes and deletes the file.
func (vf *VectorFile) Remove() error {
	vf.f.Close()
	if err := os.Remove(vf.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("hnsw: remove %w: %w", ErrVectorFile, err)
	}
	return nil
}

// write stores v (dim values) as node id's slot. Concurrent writes of
// different ids are safe (pwrite).
func (vf *VectorFile) write(id uint32, v []float32) error {
	bp := vf.bufs.Get().(*[]byte)
	defer vf.bufs.Put(bp)
	vf.encode(*bp, v)
	if _, err := vf.f.WriteAt(*bp, int64(id)*int64(vf.slot)); err != nil {
		return fmt.Errorf("hnsw: %w: write vector %d: %w", ErrVectorFile, id, err)
	}
	return nil
}

// writeRange stores vs (k·dim values) as the slots of ids first..first+k-1
// in one write.
func (vf *VectorFile) writeRange(first uint32, vs []float32) error {
	k := len(vs) / vf.dim
	buf := make([]byte, k*vf.slot)
	for i := 0; i < k; i++ {
		vf.encode(buf[i*vf.slot:(i+1)*vf.slot], vs[i*vf.dim:(i+1)*vf.dim])
	}
	if _, err := vf.f.WriteAt(buf, int64(first)*int64(vf.slot)); err != nil {
		return fmt.Errorf("hnsw: %w: write vectors %d..%d: %w", ErrVectorFile, first, int(first)+k-1, err)
	}
	return nil
}

func (vf *VectorFile) encode(slot []byte, v []float32) {
	copy(slot, asBytes(v))
	binary.LittleEndian.PutUint32(slot[4*vf.dim:], crc32.Checksum(slot[:4*vf.dim], crcTable))
}

// read fills dst (dim values) with node id's vector.
func (vf *VectorFile) read(id uint32, dst []float32) error {
	bp := vf.bufs.Get().(*[]byte)
	defer vf.bufs.Put(bp)
	if _, err := vf.f.ReadAt(*bp, int64(id)*int64(vf.slot)); err != nil {
		return fmt.Errorf("hnsw: %w: read vector %d: %w", ErrVectorFile, id, err)
	}
	return vf.decode(id, *bp, dst)
}

// readRange fills dst (k·dim values) with the vectors of ids
// first..first+k-1 in one read.
func (vf *VectorFile) readRange(first uint32, dst []float32) error {
	k := len(dst) / vf.dim
	buf := make([]byte, k*vf.slot)
	if _, err := vf.f.ReadAt(buf, int64(first)*int64(vf.slot)); err != nil {
		return fmt.Errorf("hnsw: %w: read vectors %d..%d: %w", ErrVectorFile, first, int(first)+k-1, err)
	}
	for i := 0; i < k; i++ {
		if err := vf.decode(first+uint32(i), buf[i*vf.slot:(i+1)*vf.slot], dst[i*vf.dim:(i+1)*vf.dim]); err != nil {
			return err
		}
	}
	return nil
}

func (vf *VectorFile) decode(id uint32, slot []byte, dst []float32) error {
	body := slot[:4*vf.dim]
	if binary.LittleEndian.Uint32(slot[4*vf.dim:]) != crc32.Checksum(body, crcTable) {
		return fmt.Errorf("hnsw: %w: vector %d in %s fails its checksum", ErrVectorFile, id, vf.path)
	}
	copy(asBytes(dst), body)
	return nil
}
