package demo

import (
	"context"
	"fmt"
	"net/http"

	"lakehouse/internal/client"
)

// FK is one foreign key of a demo table: Columns hold the key of the
// References table.
type FK struct {
	Columns    []string `json:"columns"`
	References string   `json:"references"`
}

// TableKeys is a demo table's key and foreign keys, as the catalog's
// PUT /v1/catalog/keys/<name> takes them.
type TableKeys struct {
	Name        string
	Key         []string
	ForeignKeys []FK
}

// Keys relate the demo tables, in an order where every referenced table
// comes first (a foreign key's ref_columns default to the referenced
// table's key, which must be declared by then). They give each row a
// page and let a candidate's page list its calls, emails, placements and
// timesheets.
var Keys = []TableKeys{
	{Name: "candidates", Key: []string{"candidate_id"}},
	{Name: "clients", Key: []string{"client_id"}},
	{Name: "job_orders", Key: []string{"job_order_id"}, ForeignKeys: []FK{{[]string{"client_id"}, "clients"}}},
	{Name: "placements", Key: []string{"placement_id"}, ForeignKeys: []FK{
		{[]string{"candidate_id"}, "candidates"}, {[]string{"job_order_id"}, "job_orders"}, {[]string{"client_id"}, "clients"}}},
	{Name: "timesheets", Key: []string{"timesheet_id"}, ForeignKeys: []FK{
		{[]string{"placement_id"}, "placements"}, {[]string{"candidate_id"}, "candidates"}, {[]string{"client_id"}, "clients"}}},
	{Name: "call_log", Key: []string{"call_id"}, ForeignKeys: []FK{{[]string{"candidate_id"}, "candidates"}}},
	{Name: "email_log", Key: []string{"email_id"}, ForeignKeys: []FK{{[]string{"candidate_id"}, "candidates"}}},
}

// declareKeys stores Keys in the catalog (the same declaration again
// changes nothing).
func (c Client) declareKeys(ctx context.Context) error {
	for _, k := range Keys {
		fks := k.ForeignKeys
		if fks == nil {
			fks = []FK{}
		}
		body := map[string]any{"key": k.Key, "foreign_keys": fks}
		if err := c.api().Call(ctx, http.MethodPut, "/v1/catalog/keys/"+k.Name, body, nil); err != nil {
			if client.IsStatus(err, http.StatusNotFound) {
				return fmt.Errorf("keys of %s: the server has no PUT /v1/catalog/keys (upgrade it): %w", k.Name, err)
			}
			return fmt.Errorf("keys of %s: %w", k.Name, err)
		}
	}
	return nil
}
