// Package query is the query module (being written).
package query
