// Package app is the composition root: the HTTP server around the modules
// (the route table, OpenAPI, the auth gate and sessions, the error handler,
// the audit and metrics middleware, the edge's limits), with app/cli (the
// one place concrete modules are named), app/mcpserver and the test
// harness app/apptest beneath it. Modules build on modules/kit and never
// import app.
package app
