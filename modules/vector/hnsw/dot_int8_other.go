//go:build !amd64 || purego

package hnsw

// dotInt8Fast has no assembly here: the Go loop does everything.
func dotInt8Fast(x, y []int8) (int32, int) { return 0, 0 }
