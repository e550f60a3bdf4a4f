//go:build tools

// Package tools pins modules that are used only by benchmarks, later
// modules or build steps, so `go mod tidy` keeps them in go.mod while the
// packages that use them are being written.
package tools

import (
	_ "github.com/apache/arrow-go/v18/parquet/pqarrow"
	_ "github.com/coder/hnsw"
	_ "github.com/duckdb/duckdb-go/v2"
	_ "github.com/google/uuid"
	_ "github.com/labstack/echo/v4"
	_ "github.com/minio/minio-go/v7"
	_ "github.com/modelcontextprotocol/go-sdk/mcp"
	_ "github.com/pelletier/go-toml/v2"
	_ "github.com/spf13/cobra"
	_ "github.com/viterin/vek/vek32"
	_ "golang.org/x/text/unicode/norm"
)
