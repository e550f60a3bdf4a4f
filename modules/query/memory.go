package query

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// duckMemoryLimit turns the [query] memory_limit setting into a value
// DuckDB's SET memory_limit accepts. DuckDB takes sizes only, so a
// percentage is resolved here against the memory this process may use
// (the cgroup limit when one is set, else physical memory). ok is false
// when a percentage cannot be resolved (no /proc): DuckDB's own default
// (80% of memory) then stays.
func duckMemoryLimit(setting string, total int64) (value string, ok bool, err error) {
	m := strings.TrimSpace(setting)
	if m == "" {
		return "", false, nil
	}
	pct, isPct := strings.CutSuffix(m, "%")
	if !isPct {
		return m, true, nil
	}
	p, err := strconv.ParseFloat(strings.TrimSpace(pct), 64)
	if err != nil || p <= 0 || p > 100 {
		return "", false, fmt.Errorf("query: memory_limit %q is not a percentage between 0 and 100", setting)
	}
	if total <= 0 {
		return "", false, nil
	}
	mib := max(int64(float64(total)*p/100)>>20, 64)
	return strconv.FormatInt(mib, 10) + "MiB", true, nil
}

// systemMemory is the memory this process may use in bytes: the smaller
// of physical memory and the cgroup (v2 or v1) limit; 0 when unknown.
func systemMemory() int64 {
	total := memTotal()
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
		// "max" (v2) or a huge number (v1) means no limit.
		if err == nil && n > 0 && (total == 0 || n < total) {
			total = n
		}
	}
	return total
}

// memTotal reads MemTotal from /proc/meminfo; 0 when unavailable.
func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
