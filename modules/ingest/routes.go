package ingest

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"lakehouse/modules/catalog"
	"lakehouse/modules/kit"
)

// Routes implements kit.Router.
func (m *Module) Routes(g *echo.Group) {
	g.POST("", m.handleIngest, kit.BodyLimit(int64(m.maxUpload)), kit.MediaTypes(IngestMediaTypes...))
}

// IngestResponse is the answer of POST /v1/ingest: the version's manifest
// (as the catalog routes show it), existing, and the run's statistics.
type IngestResponse struct {
	catalog.ManifestResponse
	Ingest Stats `json:"ingest"`
}

// params are the request's settings from the query string, an
// Idempotency-Key header, or multipart fields sent before the file.
type params struct {
	name, mode, idem, delim string
	quote, encoding         string
	dateFormat, tsFormat    string
	format, sheet, header   string
	filename, key           string
}

// paramNames are the settings read from the query string (and from
// multipart fields before the file).
var paramNames = []string{"dataset", "name", "mode", "idempotency_key", "delimiter", "quote", "encoding",
	"dateformat", "date_format", "timestampformat", "timestamp_format", "format", "sheet", "header_row", "filename", "key"}

func (p *params) set(k, v string) {
	switch k {
	case "name", "dataset":
		p.name = v
	case "mode":
		p.mode = v
	case "idempotency_key":
		p.idem = v
	case "delimiter":
		p.delim = v
	case "quote":
		p.quote = v
	case "encoding":
		p.encoding = v
	case "dateformat", "date_format":
		p.dateFormat = v
	case "timestampformat", "timestamp_format":
		p.tsFormat = v
	case "format":
		p.format = v
	case "sheet":
		p.sheet = v
	case "header_row":
		p.header = v
	case "filename":
		p.filename = v
	case "key":
		p.key = v
	}
}

func (m *Module) handleIngest(c echo.Context) error {
	r := c.Request()
	var ps params
	for _, k := range paramNames {
		if v := c.QueryParam(k); v != "" {
			ps.set(k, v)
		}
	}
	if v := r.Header.Get("Idempotency-Key"); v != "" && ps.idem == "" {
		ps.idem = v
	}
	ctx := r.Context()
	mt, mp, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		if mp["boundary"] == "" {
			return kit.BadRequest("malformed multipart body: no boundary in Content-Type")
		}
		mr := multipart.NewReader(r.Body, mp["boundary"])
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return kit.BadRequest("multipart body has no \"file\" field (send the CSV as form field \"file\")")
			}
			if err != nil {
				if errors.Is(err, kit.ErrBodyTooLarge) {
					return err
				}
				return kit.BadRequest("malformed multipart body: %v", err)
			}
			field := part.FormName()
			if field == "file" {
				res, err := m.run(ctx, part, ps, part.FileName(), part.Header.Get("Content-Type"))
				return m.answer(c, res, err)
			}
			val, err := io.ReadAll(io.LimitReader(part, 4096))
			if err != nil {
				return kit.BadRequest("malformed multipart body: %v", err)
			}
			ps.set(field, strings.TrimSpace(string(val)))
		}
	}
	res, err := m.run(ctx, r.Body, ps, ps.filename, r.Header.Get("Content-Type"))
	return m.answer(c, res, err)
}

func (m *Module) run(ctx context.Context, body io.Reader, ps params, source, contentType string) (Result, error) {
	if ps.name == "" {
		return Result{}, kit.BadRequest("name is required (POST /v1/ingest?name=<dataset>)")
	}
	delim, err := parseDelimiter(ps.delim)
	if err != nil {
		return Result{}, kit.BadRequest("%v", err)
	}
	key, err := ParseKey(ps.key)
	if err != nil {
		return Result{}, err
	}
	headerRow := 0
	if ps.header != "" {
		if headerRow, err = strconv.Atoi(ps.header); err != nil || headerRow < 1 {
			return Result{}, kit.BadRequest("header_row must be a row number (1 is the first row), not %q", ps.header)
		}
	}
	fileName := source
	if fileName == "" {
		fileName = ps.filename
	}
	if source == "" {
		source = "upload"
	}
	return m.ing.IngestReader(ctx, body, Request{
		Dataset: ps.name, Mode: ps.mode, Key: key, IdempotencyKey: ps.idem, Source: "ingest:" + source, Delimiter: delim,
		Quote: ps.quote, Encoding: ps.encoding, DateFormat: ps.dateFormat, TimestampFormat: ps.tsFormat,
		Format: ps.format, FileName: fileName, ContentType: contentType, Sheet: ps.sheet, HeaderRow: headerRow,
	})
}

func (m *Module) answer(c echo.Context, res Result, err error) error {
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if res.Existing {
		status = http.StatusOK
	}
	existing := res.Existing
	kit.AuditNote(c, "dataset", res.Manifest.Name)
	kit.AuditNote(c, "version", res.Manifest.Version)
	kit.AuditNote(c, "rows", res.Stats.Rows)
	kit.AuditNote(c, "existing", res.Existing)
	if ch := res.Stats.Change; ch != nil { // an upsert or a delete by key: what changed, not rows read
		kit.AuditNote(c, "change", map[string]any{"key": ch.Key, "inserted": ch.Inserted, "updated": ch.Updated, "deleted": ch.Deleted})
	}
	return c.JSON(status, IngestResponse{ManifestResponse: catalog.Response(res.Manifest, &existing), Ingest: res.Stats})
}

// CSVMediaTypes are the Content-Types /v1/ingest takes for CSV: a
// multipart form with the file, or the CSV itself as the body.
var CSVMediaTypes = []string{"multipart/form-data", "text/csv", "text/plain", "application/csv",
	"application/octet-stream", "text/tab-separated-values"}

// IngestMediaTypes are every Content-Type /v1/ingest takes: CSV's, and
// those naming JSON, NDJSON, Parquet and xlsx (which also decide the
// format; see formatByMediaType).
var IngestMediaTypes = append(slices.Clone(CSVMediaTypes),
	"application/json", "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines",
	"application/jsonlines", "text/json", "application/vnd.apache.parquet", "application/x-parquet", "application/parquet",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/vnd.ms-excel.sheet.macroenabled.12")
