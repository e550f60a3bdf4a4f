package observer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"lakehouse/modules/catalog"
)

// eventColumns is the dataset's schema as the catalog records it; it
// must stay in step with eventSchema (same names, order and types).
var eventColumns = []catalog.Column{
	{Name: "id", Type: "BIGINT"},
	{Name: "timestamp", Type: "TIMESTAMP"},
	{Name: "source", Type: "VARCHAR"},
	{Name: "endpoint", Type: "VARCHAR"},
	{Name: "success", Type: "BOOLEAN"},
	{Name: "status", Type: "INTEGER"},
	{Name: "duration_ms", Type: "DOUBLE"},
	{Name: "error", Type: "VARCHAR"},
	{Name: "principal", Type: "VARCHAR"},
	{Name: "client_ip", Type: "VARCHAR"},
	{Name: "module", Type: "VARCHAR"},
	{Name: "method", Type: "VARCHAR"},
	{Name: "route", Type: "VARCHAR"},
	{Name: "path", Type: "VARCHAR"},
	{Name: "request_id", Type: "VARCHAR"},
	{Name: "workflow", Type: "VARCHAR"},
	{Name: "run_id", Type: "VARCHAR"},
	{Name: "node", Type: "VARCHAR"},
	{Name: "mode", Type: "VARCHAR"},
	{Name: "fields", Type: "VARCHAR", Nullable: true},
}

// eventSchema is the Arrow schema of a Parquet part. The timestamp has no
// time zone so DuckDB reads it as TIMESTAMP (values are UTC).
var eventSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "timestamp", Type: &arrow.TimestampType{Unit: arrow.Microsecond}},
	{Name: "source", Type: arrow.BinaryTypes.String},
	{Name: "endpoint", Type: arrow.BinaryTypes.String},
	{Name: "success", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "status", Type: arrow.PrimitiveTypes.Int32},
	{Name: "duration_ms", Type: arrow.PrimitiveTypes.Float64},
	{Name: "error", Type: arrow.BinaryTypes.String},
	{Name: "principal", Type: arrow.BinaryTypes.String},
	{Name: "client_ip", Type: arrow.BinaryTypes.String},
	{Name: "module", Type: arrow.BinaryTypes.String},
	{Name: "method", Type: arrow.BinaryTypes.String},
	{Name: "route", Type: arrow.BinaryTypes.String},
	{Name: "path", Type: arrow.BinaryTypes.String},
	{Name: "request_id", Type: arrow.BinaryTypes.String},
	{Name: "workflow", Type: arrow.BinaryTypes.String},
	{Name: "run_id", Type: arrow.BinaryTypes.String},
	{Name: "node", Type: arrow.BinaryTypes.String},
	{Name: "mode", Type: arrow.BinaryTypes.String},
	{Name: "fields", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// eventsRecord builds one Arrow record batch from events.
func eventsRecord(events []Event) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, eventSchema)
	defer b.Release()
	b.Reserve(len(events))
	strs := func(i int, v string) { b.Field(i).(*array.StringBuilder).Append(v) }
	for i := range events {
		ev := &events[i]
		b.Field(0).(*array.Int64Builder).Append(ev.ID)
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(ev.Timestamp.UTC().UnixMicro()))
		strs(2, ev.Source)
		strs(3, ev.Endpoint)
		b.Field(4).(*array.BooleanBuilder).Append(ev.Success)
		b.Field(5).(*array.Int32Builder).Append(int32(ev.Status))
		b.Field(6).(*array.Float64Builder).Append(ev.DurationMS)
		for j, s := range []string{ev.Error, ev.Principal, ev.ClientIP, ev.Module, ev.Method, ev.Route,
			ev.Path, ev.RequestID, ev.Workflow, ev.RunID, ev.Node, ev.Mode} {
			strs(7+j, s)
		}
		fb := b.Field(19).(*array.StringBuilder)
		if len(ev.Fields) == 0 {
			fb.AppendNull()
		} else if raw, err := json.Marshal(ev.Fields); err != nil {
			fb.AppendNull()
		} else {
			fb.Append(string(raw))
		}
	}
	return b.NewRecordBatch()
}

func parquetProps() (*parquet.WriterProperties, pqarrow.ArrowWriterProperties) {
	return parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy)),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema())
}

// writeParquet encodes events as one Parquet file.
func writeParquet(events []Event) ([]byte, error) {
	rec := eventsRecord(events)
	defer rec.Release()
	var buf bytes.Buffer
	props, aprops := parquetProps()
	fw, err := pqarrow.NewFileWriter(eventSchema, &buf, props, aprops)
	if err != nil {
		return nil, fmt.Errorf("observer: parquet writer: %w", err)
	}
	if err := fw.Write(rec); err != nil {
		_ = fw.Close()
		return nil, fmt.Errorf("observer: write parquet: %w", err)
	}
	if err := fw.Close(); err != nil {
		return nil, fmt.Errorf("observer: close parquet: %w", err)
	}
	return buf.Bytes(), nil
}

// concatParquet rewrites several parts (in order) as one file.
func concatParquet(ctx context.Context, parts [][]byte) ([]byte, error) {
	var buf bytes.Buffer
	props, aprops := parquetProps()
	fw, err := pqarrow.NewFileWriter(eventSchema, &buf, props, aprops)
	if err != nil {
		return nil, fmt.Errorf("observer: parquet writer: %w", err)
	}
	for i, p := range parts {
		tbl, err := pqarrow.ReadTable(ctx, bytes.NewReader(p), nil, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		if err != nil {
			_ = fw.Close()
			return nil, fmt.Errorf("observer: read part %d: %w", i, err)
		}
		err = copyTable(fw, tbl)
		tbl.Release()
		if err != nil {
			_ = fw.Close()
			return nil, fmt.Errorf("observer: copy part %d: %w", i, err)
		}
	}
	if err := fw.Close(); err != nil {
		return nil, fmt.Errorf("observer: close parquet: %w", err)
	}
	return buf.Bytes(), nil
}

// copyTable writes a part read back from Parquet under eventSchema: the
// reader adds field metadata (PARQUET:field_id) that the writer would
// reject as a different schema, so each batch is re-labelled; a part
// whose column types differ is still an error.
func copyTable(fw *pqarrow.FileWriter, tbl arrow.Table) error {
	if int(tbl.NumCols()) != eventSchema.NumFields() {
		return fmt.Errorf("part has %d columns, want %d", tbl.NumCols(), eventSchema.NumFields())
	}
	for i, f := range eventSchema.Fields() {
		if got := tbl.Schema().Field(i); got.Name != f.Name || !arrow.TypeEqual(got.Type, f.Type) {
			return fmt.Errorf("part column %d is %s %s, want %s %s", i, got.Name, got.Type, f.Name, f.Type)
		}
	}
	tr := array.NewTableReader(tbl, 64<<10)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		out := array.NewRecordBatch(eventSchema, rec.Columns(), rec.NumRows())
		err := fw.Write(out)
		out.Release()
		if err != nil {
			return err
		}
	}
	return tr.Err()
}
