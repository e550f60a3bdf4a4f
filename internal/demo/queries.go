package demo

import (
	"context"
	"net/http"

	"lakehouse/internal/client"
)

// Param is one parameter of a saved query; the SQL refers to the i-th
// parameter as $i (1-based), in the order given.
type Param struct {
	Name    string `json:"name"`
	Type    string `json:"type"` // "text" or "number"
	Default any    `json:"default"`
}

// SavedQuery is a named query as the workbench stores it.
type SavedQuery struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Description string  `json:"description,omitempty"`
	SQL         string  `json:"sql"`
	Params      []Param `json:"params,omitempty"`
}

// ExampleQueries are saved with the demo data so the canonical question
// (and two chartable ones) are one click away in the SQL console.
var ExampleQueries = []SavedQuery{
	{
		ID:          "java-chicago-called-never-placed",
		Name:        "Java developers in Chicago called 5+ times, never placed",
		Description: "Candidates of a role in a city whom recruiters called at least N times and who have no placement.",
		SQL:         CanonicalSQL,
		Params: []Param{
			{Name: "role", Type: "text", Default: CanonicalParams[0]},
			{Name: "city", Type: "text", Default: CanonicalParams[1]},
			{Name: "min_calls", Type: "number", Default: CanonicalParams[2]},
		},
	},
	{
		ID:          "billing-by-industry",
		Name:        "Billed amount by client industry",
		Description: "Timesheet billing joined to clients; chart it as bars.",
		SQL: `SELECT cl.industry, ROUND(SUM(t.amount_billed), 2) AS billed, COUNT(DISTINCT t.placement_id) AS placements
FROM timesheets t JOIN clients cl ON cl.client_id = t.client_id
GROUP BY cl.industry ORDER BY billed DESC`,
	},
	{
		ID:          "placements-per-month",
		Name:        "Placements started per month",
		Description: "A time series for the line chart.",
		SQL: `SELECT strftime(start_date, '%Y-%m') AS month, COUNT(*) AS placements
FROM placements GROUP BY month ORDER BY month`,
	},
}

// saveQueries stores ExampleQueries through the workbench's saved-query
// route and returns how many were new or changed. A server without the
// workbench (404) is not an error: the data is what matters.
func (c Client) saveQueries(ctx context.Context) (int, error) {
	changed := 0
	for _, q := range ExampleQueries {
		var out struct {
			Changed bool `json:"changed"`
		}
		err := c.api().Call(ctx, http.MethodPut, "/v1/workbench/queries/"+q.ID, q, &out)
		if client.IsStatus(err, http.StatusNotFound) {
			return changed, nil
		}
		if err != nil {
			return changed, err
		}
		if out.Changed {
			changed++
		}
	}
	return changed, nil
}
