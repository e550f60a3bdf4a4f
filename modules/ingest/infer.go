// Package ingest turns CSV into Parquet parts (arrow-go, Snappy) written
// through storage and registered in the catalog as a new dataset version.
package ingest

import (
	"math"
	"strconv"
	"unsafe"
)

// kind is an inferred column type. The order matters only for readability;
// join defines the lattice: null < bool; null < int < float < string;
// null < date < timestamp < string; anything else meets at string.
type kind uint8

const (
	kNull kind = iota // no non-empty value seen yet
	kBool
	kInt
	kFloat
	kDate
	kTimestamp
	kString
)

// duckType is the catalog (DuckDB) type name of a kind.
func (k kind) duckType() string {
	switch k {
	case kBool:
		return "BOOLEAN"
	case kInt:
		return "BIGINT"
	case kFloat:
		return "DOUBLE"
	case kDate:
		return "DATE"
	case kTimestamp:
		return "TIMESTAMP"
	default:
		return "VARCHAR"
	}
}

// kindOf maps a catalog type name back to a kind (append mode starts from
// the existing schema's types).
func kindOf(duck string) (kind, bool) {
	switch duck {
	case "BOOLEAN":
		return kBool, true
	case "BIGINT":
		return kInt, true
	case "DOUBLE":
		return kFloat, true
	case "DATE":
		return kDate, true
	case "TIMESTAMP":
		return kTimestamp, true
	case "VARCHAR":
		return kString, true
	}
	return kString, false
}

// join is the narrowest kind holding values of both kinds.
func join(a, b kind) kind {
	switch {
	case a == b:
		return a
	case a == kNull:
		return b
	case b == kNull:
		return a
	case (a == kInt && b == kFloat) || (a == kFloat && b == kInt):
		return kFloat
	case (a == kDate && b == kTimestamp) || (a == kTimestamp && b == kDate):
		return kTimestamp
	}
	return kString
}

// classify returns the narrowest kind of one non-empty value, reading
// dates and timestamps as ISO only (colInfer tries every style).
func classify(b []byte) kind {
	if _, ok := parseBool(b); ok {
		return kBool
	}
	if _, ok := parseInt(b); ok {
		return kInt
	}
	if _, ok := parseFloat(b); ok {
		return kFloat
	}
	if _, ok := parseDate(b); ok {
		return kDate
	}
	if _, ok := parseTimestamp(b); ok {
		return kTimestamp
	}
	return kString
}

// classifyBasic is kBool, kInt or kFloat for a value of those kinds, else
// kString.
func classifyBasic(b []byte) kind {
	if _, ok := parseBool(b); ok {
		return kBool
	}
	if _, ok := parseInt(b); ok {
		return kInt
	}
	if _, ok := parseFloat(b); ok {
		return kFloat
	}
	return kString
}

// colInfer is what the values seen so far say about a column's type.
// k is the join of the values' kinds, where kDate stands for "a date or a
// timestamp in some style": sk then holds, per style (the plan's styles
// slice), the join of those values' kinds read in that style, kString
// once a value did not read in it. States merge by joining both.
type colInfer struct {
	k  kind
	sk [maxStyles]kind
}

// observe adds one non-empty value.
func (c *colInfer) observe(v []byte, styles []*dateStyle) {
	switch c.k {
	case kString:
		return
	case kBool, kInt, kFloat:
		if fits(c.k, v) {
			return
		}
	}
	vk := classifyBasic(v)
	if vk == kString && c.k != kBool && c.k != kInt && c.k != kFloat {
		for s, st := range styles {
			if c.sk[s] == kString {
				continue
			}
			if c.sk[s] = join(c.sk[s], st.classify(v)); c.sk[s] != kString {
				vk = kDate
			}
		}
	}
	c.k = join(c.k, vk)
}

// merge joins another state of the same column into c.
func (c *colInfer) merge(o colInfer) {
	c.k = join(c.k, o.k)
	for s := range c.sk {
		c.sk[s] = join(c.sk[s], o.sk[s])
	}
}

// resolve is the column's kind and, for a date or timestamp, the index of
// its style: the first style (in the styles' order) that reads every
// value, except that when both a month-first and a day-first style do
// (every value ambiguous, like 01/02/2025) the one of order pref is taken
// and ambiguous is true. floor is a kind the column must at least have
// (append: the existing type). style is -1 when the kind is not a date or
// timestamp; a date or timestamp floor on a column without values is ISO.
func (c *colInfer) resolve(styles []*dateStyle, pref byte, floor kind) (k kind, style int, ambiguous bool) {
	k, style = c.k, -1
	if k == kDate {
		k = kString
		both := 0
		for s, st := range styles {
			if sk := c.sk[s]; sk == kDate || sk == kTimestamp {
				if st.order != 0 {
					both++
				}
				if style < 0 || (both == 2 && st.order == pref) {
					style, k = s, sk
				}
			}
		}
		ambiguous = both == 2 && style >= 0 && styles[style].order != 0
	}
	k = join(floor, k)
	if (k == kDate || k == kTimestamp) && style < 0 {
		for s, st := range styles {
			if st.iso {
				style = s
			}
		}
	}
	if k != kDate && k != kTimestamp {
		style, ambiguous = -1, false
	}
	return k, style, ambiguous
}

// restrict keeps only style s alive (the column's style is decided), so
// later values either read in it or widen the column.
func (c *colInfer) restrict(s int) {
	for i := range c.sk {
		if i != s {
			c.sk[i] = kString
		}
	}
}

// fitsStyle reports whether a non-empty value can be stored in a column
// of kind k whose dates and timestamps are written in style st (nil: ISO).
func fitsStyle(k kind, st *dateStyle, b []byte) bool {
	switch k {
	case kDate:
		_, ok := st.parseDate(b)
		return ok
	case kTimestamp:
		_, ok := st.parseTimestamp(b)
		return ok
	}
	return fits(k, b)
}

// fits reports whether a non-empty value can be stored in a column of kind k.
func fits(k kind, b []byte) bool {
	switch k {
	case kBool:
		_, ok := parseBool(b)
		return ok
	case kInt:
		_, ok := parseInt(b)
		return ok
	case kFloat:
		_, ok := parseFloat(b)
		return ok
	case kDate:
		_, ok := parseDate(b)
		return ok
	case kTimestamp:
		_, ok := parseTimestamp(b)
		return ok
	case kNull:
		return false
	}
	return true
}

func parseBool(b []byte) (bool, bool) {
	switch len(b) {
	case 4:
		if (b[0]|0x20) == 't' && (b[1]|0x20) == 'r' && (b[2]|0x20) == 'u' && (b[3]|0x20) == 'e' {
			return true, true
		}
	case 5:
		if (b[0]|0x20) == 'f' && (b[1]|0x20) == 'a' && (b[2]|0x20) == 'l' && (b[3]|0x20) == 's' && (b[4]|0x20) == 'e' {
			return false, true
		}
	}
	return false, false
}

// parseInt accepts an optional sign and 1-19 decimal digits that fit int64.
func parseInt(b []byte) (int64, bool) {
	i, neg := 0, false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg, i = b[0] == '-', 1
	}
	if i == len(b) || len(b)-i > 19 {
		return 0, false
	}
	var u uint64
	for ; i < len(b); i++ {
		c := b[i] - '0'
		if c > 9 {
			return 0, false
		}
		u = u*10 + uint64(c)
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// parseFloat accepts decimal notation ([sign] digits [. digits] [e [sign]
// digits], at least one digit); not "NaN", "Inf" or hex floats, which
// stay strings.
func parseFloat(b []byte) (float64, bool) {
	i, digits := 0, 0
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		i++
	}
	for i < len(b) && b[i]-'0' <= 9 {
		i, digits = i+1, digits+1
	}
	if i < len(b) && b[i] == '.' {
		i++
		for i < len(b) && b[i]-'0' <= 9 {
			i, digits = i+1, digits+1
		}
	}
	if digits == 0 {
		return 0, false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '-' || b[i] == '+') {
			i++
		}
		ed := 0
		for i < len(b) && b[i]-'0' <= 9 {
			i, ed = i+1, ed+1
		}
		if ed == 0 {
			return 0, false
		}
	}
	if i != len(b) {
		return 0, false
	}
	f, err := strconv.ParseFloat(unsafe.String(&b[0], len(b)), 64)
	if err != nil { // out of range
		return 0, false
	}
	return f, true
}

func digits(b []byte, n int) (int, bool) {
	v := 0
	for i := 0; i < n; i++ {
		c := b[i] - '0'
		if c > 9 {
			return 0, false
		}
		v = v*10 + int(c)
	}
	return v, true
}

// daysFromCivil is days since 1970-01-01 of a proleptic Gregorian date
// (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

var monthDays = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

func leap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// parseDate accepts YYYY-MM-DD and returns days since the Unix epoch.
func parseDate(b []byte) (int32, bool) {
	if len(b) != 10 || b[4] != '-' || b[7] != '-' {
		return 0, false
	}
	y, ok1 := digits(b, 4)
	m, ok2 := digits(b[5:], 2)
	d, ok3 := digits(b[8:], 2)
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > monthDays[m] || (m == 2 && d == 29 && !leap(y)) {
		return 0, false
	}
	return int32(daysFromCivil(y, m, d)), true
}

// parseTimestamp accepts YYYY-MM-DD[T ]HH:MM[:SS[.fraction]] with an
// optional Z or ±HH[:MM] offset (RFC 3339 and the common SQL forms), and
// returns microseconds since the epoch in UTC. No offset means UTC. A
// plain YYYY-MM-DD is accepted as midnight.
func parseTimestamp(b []byte) (int64, bool) {
	if len(b) == 10 { // a plain date is midnight (date joins into timestamp)
		d, ok := parseDate(b)
		return int64(d) * 86400_000_000, ok
	}
	if len(b) < 16 || (b[10] != 'T' && b[10] != ' ' && b[10] != 't') {
		return 0, false
	}
	days, ok := parseDate(b[:10])
	if !ok || b[13] != ':' {
		return 0, false
	}
	hh, ok1 := digits(b[11:], 2)
	mm, ok2 := digits(b[14:], 2)
	if !ok1 || !ok2 || hh > 23 || mm > 59 {
		return 0, false
	}
	i, ss, frac := 16, 0, int64(0)
	if i < len(b) && b[i] == ':' {
		if len(b) < 19 {
			return 0, false
		}
		var ok bool
		if ss, ok = digits(b[17:], 2); !ok || ss > 60 {
			return 0, false
		}
		i = 19
		if i < len(b) && (b[i] == '.' || b[i] == ',') {
			i++
			n := 0
			for i < len(b) && b[i]-'0' <= 9 {
				if n < 6 {
					frac = frac*10 + int64(b[i]-'0')
				}
				i, n = i+1, n+1
			}
			if n == 0 {
				return 0, false
			}
			for ; n < 6; n++ {
				frac *= 10
			}
		}
	}
	off := 0
	if i < len(b) {
		switch b[i] {
		case 'Z', 'z':
			i++
		case '+', '-':
			sign := 1
			if b[i] == '-' {
				sign = -1
			}
			rest := b[i+1:]
			var oh, om int
			var ok bool
			switch {
			case len(rest) == 2:
				oh, ok = digits(rest, 2)
			case len(rest) == 4:
				oh, ok = digits(rest, 2)
				if ok {
					om, ok = digits(rest[2:], 2)
				}
			case len(rest) == 5 && rest[2] == ':':
				oh, ok = digits(rest, 2)
				if ok {
					om, ok = digits(rest[3:], 2)
				}
			}
			if !ok || oh > 23 || om > 59 {
				return 0, false
			}
			off = sign * (oh*3600 + om*60)
			i = len(b)
		}
	}
	if i != len(b) {
		return 0, false
	}
	secs := int64(days)*86400 + int64(hh*3600+mm*60+ss) - int64(off)
	return secs*1_000_000 + frac, true
}
