// Package web serves lakehouse's web UI from files embedded in the binary.
// The UI is static HTML/JS calling the same gated /v1 API as every client;
// the page itself holds no data, so it is served without a token.
package web

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/labstack/echo/v4"
)

//go:embed static
var static embed.FS

// UI mounts the embedded web UI at / and /ui/.
type UI struct{ files fs.FS }

// New returns the UI backed by the embedded files.
func New() *UI {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic("web: embedded static dir missing: " + err.Error())
	}
	return &UI{files: sub}
}

// Mount registers GET / (the page) and GET /ui/* (its assets).
func (u *UI) Mount(e *echo.Echo) {
	assets := http.StripPrefix("/ui/", http.FileServer(http.FS(u.files)))
	e.GET("/", func(c echo.Context) error {
		data, err := fs.ReadFile(u.files, "index.html")
		if err != nil {
			return err
		}
		c.Response().Header().Set("Cache-Control", "no-cache")
		return c.HTMLBlob(http.StatusOK, data)
	})
	e.GET("/ui/*", echo.WrapHandler(assets))
}
