package workflow

import (
	"encoding/json"
	"errors"
	"lakehouse/modules/kit"
	"testing"
)

// FuzzWorkflowDefinition: any JSON body decoded as a workflow and
// validated never panics, and a refusal is always a 4xx APIError (a
// definition can be wrong, never a server failure). Valid plans only
// reference nodes that exist. The seeds run in a normal `go test`.
func FuzzWorkflowDefinition(f *testing.F) {
	for _, s := range []string{
		`{"name":"w","nodes":[{"id":"a","mode":"echo","inputs":{"x":1}}]}`,
		`{"nodes":[{"id":"a","mode":"echo"},{"id":"b","mode":"echo","depends_on":["a"],"inputs":{"v":"$a.output.x"}}]}`,
		`{"nodes":[{"id":"a","mode":"echo","depends_on":["b"]},{"id":"b","mode":"echo","depends_on":["a"]}]}`,
		`{"nodes":[{"id":"a","mode":"nope"}]}`,
		`{"nodes":[{"id":"","mode":"echo"}],"timeout_ms":-1}`,
		`{"nodes":[{"id":"a","mode":"echo","timeout_ms":1000000000000}]}`,
		`{"nodes":[{"id":"a","mode":"echo","inputs":{"r":"$a.output"}}]}`,
		`{"nodes":[]}`, `{}`, `[]`, `null`,
	} {
		f.Add([]byte(s))
	}
	r, _ := testRunner(&testing.T{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var wf Workflow
		if json.Unmarshal(data, &wf) != nil {
			return
		}
		p, err := r.validate(wf)
		if err != nil {
			var ae *kit.APIError
			if !errors.As(err, &ae) || ae.Status < 400 || ae.Status >= 500 {
				t.Fatalf("validate(%s) = %v: not a 4xx", data, err)
			}
			return
		}
		if p == nil {
			t.Fatalf("validate(%s): no plan and no error", data)
		}
		_ = p.String()
	})
}
