package builtin

import (
	"embed"
	"errors"
	"io/fs"
	"lakehouse/modules/kit"
	"net/http"
)

// modelDir holds the converted model when `make deps` has run; README.md
// keeps the pattern matching (and `go build ./...` working) when it has not.
//
//go:embed model/*
var modelDir embed.FS

// ModelFileName is the converted model's path under the embedded directory.
const ModelFileName = "model/use-lite.bin"

// ErrModelMissing is returned when the binary was built without the
// converted model (the generated file is made by `make deps`).
var ErrModelMissing = kit.NewKind(http.StatusBadGateway, "embed_model_missing", "builtin embed model not embedded in this binary: run `make deps` (or `make build`) to fetch and convert "+NPMPackage)

// embeddedPresent reports whether the model file was embedded, without
// reading it (cheap enough for every server start and /ready).
func embeddedPresent() error {
	f, err := modelDir.Open(ModelFileName)
	if err != nil {
		return ErrModelMissing
	}
	return f.Close()
}

func embeddedModel() ([]byte, error) {
	b, err := modelDir.ReadFile(ModelFileName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrModelMissing
	}
	return b, err
}
