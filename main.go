// Command lakehouse is one binary serving storage, catalog, ingest, SQL,
// vector search, embeddings, trace memory and an audit witness.
package main

import (
	"os"

	"lakehouse/app/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
