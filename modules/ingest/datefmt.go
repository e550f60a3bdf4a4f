package ingest

import (
	"fmt"
	"strings"
)

// dtItem is one element of a compiled date/time layout: a literal byte
// (op 0) or a directive.
type dtItem struct {
	op  byte // 0 literal; Y y m d b a H I M S f p z; T: the built-in styles' optional time
	lit byte
}

// dtFormat is a compiled strftime-like layout (see compileFormat).
type dtFormat struct {
	src   string
	items []dtItem
	// stopAt is the item index where a value may end early (a date
	// without the time a timestamp layout goes on with: midnight); -1
	// when the layout has no time after its date.
	stopAt  int
	hasTime bool
}

// formatDirectives is what a 400 for a bad dateformat= lists.
const formatDirectives = "%Y (4-digit year) %y (2-digit year) %m (month 1-12) %d (day 1-31) %b/%B (month name) %a/%A (weekday name, ignored) " +
	"%H (hour 0-23) %I (hour 1-12) %M (minute) %S (second) %f (fraction) %p (AM/PM) %z (Z or ±HH[:MM]) %F (%Y-%m-%d) %T (%H:%M:%S) %%"

func isTimeOp(op byte) bool {
	switch op {
	case 'H', 'I', 'M', 'S', 'f', 'p', 'z', 'T':
		return true
	}
	return false
}

func isDateOp(op byte) bool {
	switch op {
	case 'Y', 'y', 'm', 'd', 'b', 'a':
		return true
	}
	return false
}

// compileFormat compiles a dateformat= / timestampformat= layout. It must
// name a year, a month and a day; a date layout (timestamp false) must not
// name a time.
func compileFormat(s string, timestamp bool) (*dtFormat, error) {
	what := "dateformat"
	if timestamp {
		what = "timestampformat"
	}
	s0 := s
	s = strings.NewReplacer("%F", "%Y-%m-%d", "%T", "%H:%M:%S").Replace(s)
	f := &dtFormat{src: s0}
	var year, month, day bool
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			f.items = append(f.items, dtItem{lit: c})
			continue
		}
		if i+1 == len(s) {
			return nil, fmt.Errorf("%s %q ends with a lone %%; directives: %s", what, s0, formatDirectives)
		}
		i++
		op := s[i]
		switch op {
		case '%':
			f.items = append(f.items, dtItem{lit: '%'})
			continue
		case 'B':
			op = 'b'
		case 'A':
			op = 'a'
		case 'Y', 'y', 'm', 'd', 'b', 'a', 'H', 'I', 'M', 'S', 'f', 'p', 'z':
		default:
			return nil, fmt.Errorf("%s %q: unsupported directive %%%c; directives: %s", what, s0, op, formatDirectives)
		}
		switch op {
		case 'Y', 'y':
			year = true
		case 'm', 'b':
			month = true
		case 'd':
			day = true
		}
		if isTimeOp(op) {
			if !timestamp {
				return nil, fmt.Errorf("dateformat %q names a time (%%%c): give it as timestampformat", s0, op)
			}
			f.hasTime = true
		}
		f.items = append(f.items, dtItem{op: op})
	}
	if !year || !month || !day {
		return nil, fmt.Errorf("%s %q must name a year (%%Y or %%y), a month (%%m or %%b) and a day (%%d)", what, s0)
	}
	f.setStop()
	return f, nil
}

// setStop finds where a date-only value may end: right after the last
// date directive, when only time directives and literals follow.
func (f *dtFormat) setStop() {
	f.stopAt = -1
	last := -1
	for k, it := range f.items {
		if isDateOp(it.op) {
			last = k
		}
	}
	for k := last + 1; k < len(f.items); k++ {
		if isTimeOp(f.items[k].op) {
			f.stopAt = last + 1
			return
		}
	}
}

// dateOnly is the layout up to its time (nil when a time comes before the
// date): a timestamp layout's date part.
func (f *dtFormat) dateOnly() *dtFormat {
	if f.stopAt < 0 {
		if f.hasTime {
			return nil
		}
		return f
	}
	for _, it := range f.items[:f.stopAt] {
		if isTimeOp(it.op) {
			return nil
		}
	}
	d := &dtFormat{items: f.items[:f.stopAt:f.stopAt]}
	d.src = d.layout()
	d.setStop()
	return d
}

// withFlexTime is the layout followed by the built-in optional time.
func (f *dtFormat) withFlexTime() *dtFormat {
	items := append(append([]dtItem(nil), f.items...), dtItem{op: 'T'})
	t := &dtFormat{items: items, hasTime: true}
	t.src = f.src + flexTimeLayout
	t.setStop()
	return t
}

// flexTimeLayout describes the built-in optional time: a space or T, the
// hour (1 or 2 digits), minutes, optional seconds and fraction, optional
// AM/PM.
const flexTimeLayout = " %H:%M[:%S[.%f]][ %p]"

// layout renders the items back as a format string.
func (f *dtFormat) layout() string {
	var b strings.Builder
	for _, it := range f.items {
		switch it.op {
		case 0:
			if it.lit == '%' {
				b.WriteString("%%")
			} else {
				b.WriteByte(it.lit)
			}
		case 'T':
			b.WriteString(flexTimeLayout)
		default:
			b.WriteByte('%')
			b.WriteByte(it.op)
		}
	}
	return b.String()
}

// num reads lo..hi decimal digits (as many as there are, up to hi).
func num(b []byte, lo, hi int) (v, n int) {
	for n < hi && n < len(b) && b[n]-'0' <= 9 {
		v = v*10 + int(b[n]-'0')
		n++
	}
	if n < lo {
		return 0, 0
	}
	return v, n
}

var monthNames = [12]string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}
var dayNames = [7]string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

// matchName matches a full or 3-letter name of names at the start of b
// (ignoring case); it returns the index and the bytes matched.
func matchName(b []byte, names []string) (int, int) {
	for i, full := range names {
		for _, n := range []int{len(full), 3} {
			if len(b) >= n && strings.EqualFold(string(b[:n]), full[:n]) {
				return i, n
			}
		}
	}
	return -1, 0
}

// hmsf holds a parsed time of day.
type hmsf struct {
	h, m, s int
	frac    int64 // microseconds
	pm      int   // -1 no AM/PM, 0 AM, 1 PM
}

// micros validates the time and returns it in microseconds.
func (t hmsf) micros() (int64, bool) {
	h := t.h
	if t.pm >= 0 {
		if h < 1 || h > 12 {
			return 0, false
		}
		h = h%12 + 12*t.pm
	}
	if h > 23 || t.m > 59 || t.s > 60 {
		return 0, false
	}
	return int64(h*3600+t.m*60+t.s)*1_000_000 + t.frac, true
}

// fraction reads 1-9 digits of a second's fraction as microseconds.
func fraction(b []byte) (int64, int) {
	n := 0
	var f int64
	for n < len(b) && n < 9 && b[n]-'0' <= 9 {
		if n < 6 {
			f = f*10 + int64(b[n]-'0')
		}
		n++
	}
	for k := n; k < 6; k++ {
		f *= 10
	}
	return f, n
}

// ampm reads AM or PM (any case) at the start of b.
func ampm(b []byte) (int, bool) {
	if len(b) < 2 || (b[1]|0x20) != 'm' {
		return -1, false
	}
	switch b[0] | 0x20 {
	case 'a':
		return 0, true
	case 'p':
		return 1, true
	}
	return -1, false
}

// flexTime parses the built-in styles' time: (space or T) H[H]:MM, then
// optional :SS, .fraction, and [space]AM/PM, to the end of b.
func flexTime(b []byte) (hmsf, bool) {
	t := hmsf{pm: -1}
	if len(b) < 5 || (b[0] != ' ' && b[0] != 'T') {
		return t, false
	}
	i := 1
	var n int
	if t.h, n = num(b[i:], 1, 2); n == 0 {
		return t, false
	}
	i += n
	if i >= len(b) || b[i] != ':' {
		return t, false
	}
	i++
	if t.m, n = num(b[i:], 2, 2); n == 0 {
		return t, false
	}
	i += n
	if i < len(b) && b[i] == ':' {
		if t.s, n = num(b[i+1:], 2, 2); n == 0 {
			return t, false
		}
		i += 1 + n
		if i < len(b) && (b[i] == '.' || b[i] == ',') {
			if t.frac, n = fraction(b[i+1:]); n == 0 {
				return t, false
			}
			i += 1 + n
		}
	}
	if i < len(b) {
		j := i
		if b[j] == ' ' {
			j++
		}
		pm, ok := ampm(b[j:])
		if !ok || j+2 != len(b) {
			return t, false
		}
		t.pm, i = pm, len(b)
	}
	return t, i == len(b)
}

// parse reads a value in the layout: days since the epoch, the time of
// day in microseconds (shifted by a %z offset to UTC, so possibly outside
// one day), and whether a time was given.
func (f *dtFormat) parse(b []byte) (days int64, tod int64, timed bool, ok bool) {
	y, m, d := 0, 0, 0
	t := hmsf{pm: -1}
	off := 0
	i := 0
	for k, it := range f.items {
		if i == len(b) && k == f.stopAt {
			break
		}
		var n int
		switch it.op {
		case 0:
			if i >= len(b) || b[i] != it.lit {
				return
			}
			n = 1
		case 'Y':
			y, n = num(b[i:], 4, 4)
		case 'y':
			if y, n = num(b[i:], 2, 2); n > 0 {
				if y < 69 {
					y += 2000
				} else {
					y += 1900
				}
			}
		case 'm':
			m, n = num(b[i:], 1, 2)
		case 'd':
			d, n = num(b[i:], 1, 2)
		case 'b':
			var idx int
			idx, n = matchName(b[i:], monthNames[:])
			m = idx + 1
		case 'a':
			_, n = matchName(b[i:], dayNames[:])
		case 'H', 'I':
			t.h, n = num(b[i:], 1, 2)
			timed = true
		case 'M':
			t.m, n = num(b[i:], 2, 2)
		case 'S':
			t.s, n = num(b[i:], 2, 2)
		case 'f':
			t.frac, n = fraction(b[i:])
		case 'p':
			var okp bool
			if t.pm, okp = ampm(b[i:]); okp {
				n = 2
			}
		case 'z':
			off, n = zone(b[i:])
		case 'T':
			var okt bool
			if t, okt = flexTime(b[i:]); !okt {
				return
			}
			n, timed = len(b)-i, true
		}
		if n == 0 {
			return
		}
		i += n
	}
	if i != len(b) || m < 1 || m > 12 || d < 1 || d > monthDays[m] || (m == 2 && d == 29 && !leap(y)) {
		return 0, 0, false, false
	}
	us, okt := t.micros()
	if !okt {
		return 0, 0, false, false
	}
	return daysFromCivil(y, m, d), us - int64(off)*1_000_000, timed, true
}

// zone reads Z or ±HH[[:]MM]; it returns seconds east of UTC.
func zone(b []byte) (int, int) {
	if len(b) > 0 && (b[0] == 'Z' || b[0] == 'z') {
		return 0, 1
	}
	if len(b) < 3 || (b[0] != '+' && b[0] != '-') {
		return 0, 0
	}
	sign := 1
	if b[0] == '-' {
		sign = -1
	}
	h, n := num(b[1:], 2, 2)
	if n == 0 || h > 23 {
		return 0, 0
	}
	i := 3
	mm := 0
	j := i
	if j < len(b) && b[j] == ':' {
		j++
	}
	if v, n := num(b[j:], 2, 2); n > 0 && v <= 59 {
		mm, i = v, j+2
	}
	return sign * (h*3600 + mm*60), i
}

// dateStyle is one way a file writes dates: a date layout and the
// timestamp layout that goes with it. The ISO style uses the fast
// parseDate/parseTimestamp.
type dateStyle struct {
	name     string // iso, mdy, dmy, dmy_dot, ymd_slash, custom
	iso      bool
	order    byte // 'm' month first, 'd' day first (the pair a sample may not tell apart), 0 other
	date, ts *dtFormat
	detected bool // built in (false: from dateformat= / timestampformat=)
}

var (
	isoStyle = &dateStyle{name: "iso", iso: true, detected: true}
	// builtinStyles are tried in this order; it is also the preference
	// when a column fits several (m/d/Y before d/m/Y).
	builtinStyles = []*dateStyle{isoStyle, builtin("mdy", 'm', "%m/%d/%Y"), builtin("dmy", 'd', "%d/%m/%Y"),
		builtin("dmy_dot", 0, "%d.%m.%Y"), builtin("ymd_slash", 0, "%Y/%m/%d")}
)

func builtin(n string, order byte, layout string) *dateStyle {
	d, err := compileFormat(layout, false)
	if err != nil {
		panic(err)
	}
	return &dateStyle{name: n, order: order, date: d, ts: d.withFlexTime(), detected: true}
}

// maxStyles bounds the styles a column is judged under.
const maxStyles = 5

// dateStyles returns the styles to try: the built-in ones, or, when a
// dateformat= or timestampformat= is given, that layout (first) and ISO.
func dateStyles(dateFormat, tsFormat string) ([]*dateStyle, error) {
	if dateFormat == "" && tsFormat == "" {
		return builtinStyles, nil
	}
	st := &dateStyle{name: "custom"}
	var err error
	if dateFormat != "" {
		if st.date, err = compileFormat(dateFormat, false); err != nil {
			return nil, err
		}
	}
	if tsFormat != "" {
		if st.ts, err = compileFormat(tsFormat, true); err != nil {
			return nil, err
		}
	}
	if st.date == nil {
		st.date = st.ts.dateOnly()
	}
	if st.ts == nil {
		st.ts = st.date.withFlexTime()
	}
	return []*dateStyle{st, isoStyle}, nil
}

func (s *dateStyle) parseDate(b []byte) (int32, bool) {
	if s == nil || s.iso {
		return parseDate(b)
	}
	if s.date == nil {
		return 0, false
	}
	days, _, _, ok := s.date.parse(b)
	return int32(days), ok && days >= -1<<31 && days < 1<<31
}

// parseTimestamp reads a timestamp, or a date of the style as midnight
// (so a date column that widens to timestamp keeps its values).
func (s *dateStyle) parseTimestamp(b []byte) (int64, bool) {
	if s == nil || s.iso {
		return parseTimestamp(b)
	}
	days, tod, _, ok := s.ts.parse(b)
	if !ok {
		d, okd := s.parseDate(b)
		return int64(d) * 86400_000_000, okd
	}
	if days > 100_000_000 || days < -100_000_000 {
		return 0, false
	}
	return days*86400_000_000 + tod, true
}

// classify is the kind of a value in this style: kDate, kTimestamp, or
// kString when it is neither.
func (s *dateStyle) classify(b []byte) kind {
	if _, ok := s.parseDate(b); ok {
		return kDate
	}
	if _, ok := s.parseTimestamp(b); ok {
		return kTimestamp
	}
	return kString
}

// layoutFor is the layout the answer reports for a column of kind k.
func (s *dateStyle) layoutFor(k kind) string {
	if s.iso {
		if k == kDate {
			return "%Y-%m-%d"
		}
		return "%Y-%m-%d[T| ]%H:%M[:%S[.%f]][%z]"
	}
	if k == kDate {
		return s.date.src
	}
	return s.ts.src
}
