package query

// printfWidths adds up the widths and precisions of a printf format
// (%[arg$][flags][width|*][.precision|*][length]type; %% is a literal %),
// which is what they can make fmt allocate beyond the format's own text.
// Every digit run inside a specification counts, except an argument
// index (digits before '$'), so a '0' flag or a length modifier can only
// make the sum larger, never hide a width; digits outside specifications
// are text. dynamic is true when a width or precision comes from an
// argument (*).
func printfWidths(f string) (sum int64, dynamic bool) {
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		run := int64(-1)
		flush := func() {
			if run >= 0 {
				sum = satAdd(sum, run)
			}
			run = -1
		}
		for i++; i < len(f); i++ {
			c := f[i]
			if c >= '0' && c <= '9' {
				run = satAdd(satMul(max(run, 0), 10), int64(c-'0'))
				continue
			}
			if c == '$' {
				run = -1 // an argument index, not a size
				continue
			}
			flush()
			if c == '*' {
				dynamic = true
				continue
			}
			if isPrintfModifier(c) {
				continue
			}
			break // the conversion type ends the specification
		}
		flush()
	}
	return sum, dynamic
}

// isPrintfModifier reports whether c may appear inside a printf
// specification before its type: flags, '.', and length modifiers.
func isPrintfModifier(c byte) bool {
	switch c {
	case '-', '+', ' ', '#', '.', 'h', 'l', 'L', 'j', 'z', 't', 'q', '\'':
		return true
	}
	return false
}

// fmtWidths adds up the widths and precisions of a {fmt} format
// ({[arg][:[fill]align][sign][#][0][width][.precision][type]}, with
// {{ and }} as literal braces). Every digit run after the ':' counts (a
// digit fill character only makes the sum larger); the argument id before
// it does not. dynamic is true when a width or precision is itself a
// replacement field ({:{}} or {:.{}}).
func fmtWidths(f string) (sum int64, dynamic bool) {
	for i := 0; i < len(f); i++ {
		if f[i] != '{' {
			continue
		}
		if i+1 < len(f) && f[i+1] == '{' {
			i++ // {{ is a literal brace
			continue
		}
		inSpec := false
		run := int64(-1)
		for i++; i < len(f) && f[i] != '}'; i++ {
			c := f[i]
			switch {
			case c == '{':
				dynamic = true
			case !inSpec && c == ':':
				inSpec = true
				continue
			case inSpec && c >= '0' && c <= '9':
				run = satAdd(satMul(max(run, 0), 10), int64(c-'0'))
				continue
			}
			if run >= 0 {
				sum = satAdd(sum, run)
			}
			run = -1
		}
		if run >= 0 {
			sum = satAdd(sum, run)
		}
	}
	return sum, dynamic
}
