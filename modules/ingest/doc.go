// Package ingest is the ingest module (being written).
package ingest
