package demo

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Staffing-like vocabulary for GenerateStaffingCSV.
var (
	genFirst  = []string{"James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "Maria", "Jose", "Wei", "Aisha", "Olga", "Kenji", "Fatima", "Liam", "Noah", "Emma"}
	genLast   = []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Nguyen", "Kim", "Patel", "Okafor", "Schmidt", "Rossi", "O'Brien", "Kowalski", "Haddad", "Tanaka"}
	genCities = [][2]string{{"Chicago", "IL"}, {"Houston", "TX"}, {"Phoenix", "AZ"}, {"Columbus", "OH"}, {"Detroit", "MI"}, {"Atlanta", "GA"}, {"Denver", "CO"}, {"Seattle", "WA"}, {"Newark", "NJ"}, {"Memphis", "TN"}, {"Louisville", "KY"}, {"Milwaukee", "WI"}}
	genRoles  = []string{"Java Developer", "Forklift Driver", "Electrician", "CNC Operator", "Warehouse Picker", "Registered Nurse", "Welder", "Data Analyst", "Dental Hygienist", "Truck Driver", "Machinist", "Customer Service Rep"}
	genSkills = []string{"Java", "SQL", "OSHA-30", "forklift certified", "industrial wiring", "first article inspection", "bilingual", "night shift", "CDL-A", "MIG welding", "Excel", "Python", "Kubernetes", "GD&T", "CPR", "blueprint reading"}
	genWords  = []string{"reliable", "experienced", "team player", "available immediately", "prefers nights", "strong references", "relocating", "certified", "detail oriented", "fast learner", "safety record", "union member", "remote ok", "weekend availability"}
)

// StaffingHeader is the header GenerateStaffingCSV writes (15 columns).
const StaffingHeader = "candidate_id,first_name,last_name,email,phone,city,state,role,skills,years_experience,hourly_rate,reliability,available_from,last_contacted,summary\n"

// GenerateStaffingCSV writes about `bytes` bytes of a deterministic
// staffing-like candidates CSV and returns the rows written: the
// benchmark recipe of BENCHMARKS.md (ids, names, email, phone, city,
// state, role, a quoted skills list, an int, two floats, a date, an RFC
// 3339 timestamp and a quoted free-text summary, sometimes multi-line
// with doubled quotes), for benchmarks and large-input tests. It lives
// beside the demo's generator but keeps its own vocabulary, so the
// benchmark figures stay comparable from one version to the next.
func GenerateStaffingCSV(w io.Writer, bytes int64, seed uint64) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	n, err := bw.WriteString(StaffingHeader)
	if err != nil {
		return 0, err
	}
	written := int64(n)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	buf := make([]byte, 0, 1024)
	var rows int64
	for written < bytes {
		rows++
		buf = buf[:0]
		first, last := genFirst[rng.IntN(len(genFirst))], genLast[rng.IntN(len(genLast))]
		city := genCities[rng.IntN(len(genCities))]
		buf = fmt.Appendf(buf, "CAND-%07d,%s,%s,", rows, first, last)
		buf = append(buf, strings.ToLower(first)...)
		buf = append(buf, '.')
		buf = append(buf, strings.ToLower(strings.ReplaceAll(last, "'", ""))...)
		buf = fmt.Appendf(buf, "%d@example.com,+1-%03d-%03d-%04d,%s,%s,%s,\"", rows, 200+rng.IntN(800), rng.IntN(1000), rng.IntN(10000), city[0], city[1], genRoles[rng.IntN(len(genRoles))])
		k := 1 + rng.IntN(4)
		for i := 0; i < k; i++ {
			if i > 0 {
				buf = append(buf, ", "...)
			}
			buf = append(buf, genSkills[rng.IntN(len(genSkills))]...)
		}
		buf = append(buf, "\","...)
		buf = strconv.AppendInt(buf, int64(rng.IntN(40)), 10)
		buf = append(buf, ',')
		buf = strconv.AppendFloat(buf, 15+float64(rng.IntN(12000))/100, 'f', 2, 64)
		buf = append(buf, ',')
		buf = strconv.AppendFloat(buf, float64(rng.IntN(1000))/1000, 'f', 3, 64)
		buf = append(buf, ',')
		buf = time.Unix(base+int64(rng.IntN(365))*86400, 0).UTC().AppendFormat(buf, "2006-01-02")
		buf = append(buf, ',')
		buf = time.Unix(base-int64(rng.IntN(3*365*86400)), 0).UTC().AppendFormat(buf, time.RFC3339)
		buf = append(buf, ",\""...)
		buf = fmt.Appendf(buf, "%s %s in %s with %d years;", first, genRoles[rng.IntN(len(genRoles))], city[0], rng.IntN(30))
		for i := 0; i < 2+rng.IntN(4); i++ {
			buf = append(buf, ' ')
			buf = append(buf, genWords[rng.IntN(len(genWords))]...)
			buf = append(buf, ',')
		}
		switch rng.IntN(20) {
		case 0:
			buf = append(buf, "\nsecond line: \"\"will travel\"\""...)
		case 1:
			buf = append(buf, " nickname \"\"Ace\"\""...)
		}
		buf = append(buf, "\"\n"...)
		n, err := bw.Write(buf)
		if err != nil {
			return rows, err
		}
		written += int64(n)
	}
	return rows, bw.Flush()
}
