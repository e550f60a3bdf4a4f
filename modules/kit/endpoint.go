package kit

import "net/http"

// Endpoint is a handler the server mounts at one path, for GET, POST and
// DELETE (what MCP's Streamable HTTP uses), behind the auth gate and the edge's rules, with the role it needs: the
// MCP server over Streamable HTTP, which the composition root provides
// (app cannot import it). The handler sees the request's principal in
// its context (PrincipalOf).
type Endpoint interface {
	Path() string
	Need() Role
	// Handler builds the handler; api is the server itself, for the calls
	// the handler makes in-process (through the same gate and routes).
	Handler(api http.Handler) http.Handler
}
