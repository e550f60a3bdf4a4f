// Package catalog is the catalog module (being written).
package catalog
