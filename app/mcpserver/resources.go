package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"lakehouse/internal/client"
)

// Dataset resources: lakehouse://dataset/<name> is the latest version,
// lakehouse://dataset/<name>@<N> one version (listed for the newest
// versionsListed; the template reaches any). Each reads as JSON: schema,
// row count, sample rows.
const (
	resourcePrefix   = "lakehouse://dataset/"
	resourceTemplate = "lakehouse://dataset/{name}@{version}"
	versionsListed   = 5
	resourceMIME     = "application/json"
)

// catalogWatch keeps one resource per dataset (and per recent version) in
// step with the catalog; adding or removing resources makes the SDK send
// notifications/resources/list_changed.
type catalogWatch struct {
	h *handler
	s *mcp.Server

	mu   sync.Mutex
	seen map[string]int      // dataset -> latest version registered
	uris map[string][]string // dataset -> its resource URIs
}

func (h *handler) addResources(s *mcp.Server) *catalogWatch {
	s.AddResourceTemplate(&mcp.ResourceTemplate{
		Name:        "dataset-version",
		Title:       "Dataset version",
		URITemplate: resourceTemplate,
		Description: "One version of a dataset: schema, row count and sample rows (JSON). Version numbers are in list_datasets and get_manifest.",
		MIMEType:    resourceMIME,
	}, h.readDataset)
	return &catalogWatch{h: h, s: s, seen: map[string]int{}, uris: map[string][]string{}}
}

// loop polls the catalog until ctx ends.
func (w *catalogWatch) loop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := w.sync(ctx); err != nil && ctx.Err() == nil {
				w.h.log.Debug("mcp: catalog poll failed", "err", err)
			}
		}
	}
}

// sync reads the catalog and adds, replaces or removes resources for the
// datasets that appeared, changed version or went away.
func (w *catalogWatch) sync(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, w.h.opts.Timeout)
	defer cancel()
	var list struct {
		Datasets []struct {
			Name     string      `json:"name"`
			Version  int         `json:"version"`
			RowCount json.Number `json:"row_count"`
			Internal bool        `json:"internal"`
		} `json:"datasets"`
	}
	if err := w.h.api.Call(ctx, "GET", "/v1/catalog/list", nil, &list); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	current := map[string]bool{}
	for _, d := range list.Datasets {
		if d.Internal {
			continue // the audit trail is not something to hand an agent as data
		}
		current[d.Name] = true
		if w.seen[d.Name] == d.Version {
			continue
		}
		uris := []string{resourcePrefix + d.Name}
		w.s.AddResource(&mcp.Resource{
			Name: d.Name, Title: d.Name + " (latest)", URI: uris[0], MIMEType: resourceMIME,
			Description: fmt.Sprintf("Dataset %s, version %d, %s rows: schema and sample rows. Query it with query_sql as table %s.",
				d.Name, d.Version, d.RowCount, quoteIdent(d.Name)),
		}, w.h.readDataset)
		for v := d.Version; v >= 1 && v > d.Version-versionsListed; v-- {
			uri := fmt.Sprintf("%s%s@%d", resourcePrefix, d.Name, v)
			uris = append(uris, uri)
			w.s.AddResource(&mcp.Resource{
				Name: fmt.Sprintf("%s@%d", d.Name, v), Title: fmt.Sprintf("%s version %d", d.Name, v), URI: uri, MIMEType: resourceMIME,
				Description: fmt.Sprintf("Version %d of dataset %s: schema and sample rows; SQL table %s.", v, d.Name, quoteIdent(fmt.Sprintf("%s@%d", d.Name, v))),
			}, w.h.readDataset)
		}
		var stale []string
		for _, u := range w.uris[d.Name] {
			if !slices.Contains(uris, u) {
				stale = append(stale, u)
			}
		}
		if len(stale) > 0 {
			w.s.RemoveResources(stale...)
		}
		w.seen[d.Name], w.uris[d.Name] = d.Version, uris
	}
	for name, uris := range w.uris {
		if !current[name] {
			w.s.RemoveResources(uris...)
			delete(w.uris, name)
			delete(w.seen, name)
		}
	}
	return nil
}

// parseDatasetURI splits lakehouse://dataset/<name>[@<version>].
func parseDatasetURI(uri string) (name string, version int, err error) {
	rest, ok := strings.CutPrefix(uri, resourcePrefix)
	if !ok || rest == "" {
		return "", 0, fmt.Errorf("not a dataset resource: %q", uri)
	}
	if u, uerr := url.PathUnescape(rest); uerr == nil {
		rest = u
	}
	if i := strings.LastIndexByte(rest, '@'); i > 0 {
		v, verr := strconv.Atoi(rest[i+1:])
		if verr != nil || v < 1 {
			return "", 0, fmt.Errorf("bad version in %q: want a positive integer after @", uri)
		}
		return rest[:i], v, nil
	}
	return rest, 0, nil
}

// readDataset answers a dataset resource: the manifest's schema and row
// count, and sample rows, capped like a tool answer.
func (h *handler) readDataset(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	uri := req.Params.URI
	name, version, err := parseDatasetURI(uri)
	if err != nil {
		return nil, mcp.ResourceNotFoundError(uri)
	}
	ctx, cancel := context.WithTimeout(ctx, h.opts.Timeout)
	defer cancel()
	man, err := h.manifest(ctx, name, version)
	if err != nil {
		if client.IsStatus(err, 404) {
			return nil, mcp.ResourceNotFoundError(uri)
		}
		return nil, err
	}
	table := name
	if version > 0 {
		table = fmt.Sprintf("%s@%d", name, version)
	}
	out := pick(man, "name", "version", "row_count", "schema", "schema_fingerprint", "created_at", "updated_at", "source")
	out["table"] = table
	var smp map[string]any
	if err := h.api.Call(ctx, "POST", "/v1/sql", map[string]any{
		"sql": "SELECT * FROM " + quoteIdent(table), "limit": h.opts.SampleRows}, &smp); err != nil {
		return nil, err
	}
	out["sample"] = pick(smp, "columns", "rows")
	out, err = capAnswer(out, h.opts.MaxRows, h.opts.MaxChars, "read fewer sample rows with describe_dataset")
	if err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode resource: %w", err)
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: resourceMIME, Text: string(data)}}}, nil
}
