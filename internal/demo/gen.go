// Package demo generates the staffing reference set (7 related tables,
// about 286 000 rows at scale 1) and seeds a lakehouse with it through the
// ordinary HTTP API, so a newcomer can try the workbench in one command.
//
// The data is deterministic: the same scale always yields byte-identical
// CSV files, which is what makes a re-run of `lakehouse demo seed` a no-op
// (ingest is content-addressed).
package demo

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Table is one generated dataset as CSV.
type Table struct {
	Name string
	CSV  []byte
	Rows int
}

// Base row counts at scale 1 (286 000 rows in all; the call and email
// logs and timesheets are drawn per candidate/placement, so their counts
// land near these figures rather than on them).
const (
	baseCandidates = 100_000
	baseClients    = 2_000
	baseJobOrders  = 10_000
	basePlacements = 14_000
)

// epoch anchors every date, so the data does not depend on when it is made.
var epoch = time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)

// CanonicalSQL answers "every Java developer in Chicago called 5+ times
// but never placed" over the seeded tables.
const CanonicalSQL = `SELECT c.candidate_id, c.name, c.phone, c.availability, COUNT(*) AS calls
FROM candidates c
JOIN call_log l ON l.candidate_id = c.candidate_id
WHERE c.role = $1 AND c.city = $2
  AND c.candidate_id NOT IN (SELECT candidate_id FROM placements)
GROUP BY c.candidate_id, c.name, c.phone, c.availability
HAVING COUNT(*) >= $3
ORDER BY calls DESC, c.candidate_id`

// CanonicalParams are CanonicalSQL's parameters for the question as asked.
var CanonicalParams = []any{"Java Developer", "Chicago", 5}

type candidate struct {
	id         string
	city       city
	role       *role
	hot        bool // actively recruited: called 5+ times
	roleIndex  int
	cityIndex  int
	hourlyRate float64
}

type jobOrder struct {
	id, clientID string
	role         *role
	city         city
	opened       time.Time
	billRate     float64
	payRate      float64
}

type gen struct {
	scale      float64
	candidates []candidate
	byRoleCity map[[2]int][]int // (role, city) -> candidate indexes
	byRole     map[int][]int
	clients    []struct{ id, industry string }
	jobs       []jobOrder
	placements []struct {
		id, candidateID, clientID string
		start                     time.Time
		weeks                     int
		pay, bill                 float64
	}
}

// rng returns the random stream of one table: each table has its own, so
// a change to one table's recipe never reshuffles the others.
func rng(table string) *rand.Rand {
	var h uint64 = 14695981039346656037
	for _, b := range []byte(table) {
		h = (h ^ uint64(b)) * 1099511628211
	}
	return rand.New(rand.NewPCG(h, 0x5eed_1a4e_4005e))
}

func count(base int, scale float64, least int) int {
	return max(int(math.Round(float64(base)*scale)), least)
}

// Generate builds the seven tables at scale (1 = 100 000 candidates) in
// dependency order: candidates, clients, job_orders, placements,
// timesheets, call_log, email_log.
func Generate(scale float64) ([]Table, error) {
	if !(scale > 0) || scale > 10 {
		return nil, fmt.Errorf("demo: scale must be in (0, 10], got %v", scale)
	}
	g := &gen{scale: scale, byRoleCity: map[[2]int][]int{}, byRole: map[int][]int{}}
	steps := []func() Table{g.genCandidates, g.genClients, g.genJobOrders, g.genPlacements, g.genTimesheets, g.genCalls, g.genEmails}
	out := make([]Table, 0, len(steps))
	for _, s := range steps {
		out = append(out, s())
	}
	return out, nil
}

// csvTable collects rows into CSV bytes.
type csvTable struct {
	name string
	buf  bytes.Buffer
	w    *csv.Writer
	rows int
}

func newTable(name string, header ...string) *csvTable {
	t := &csvTable{name: name}
	t.w = csv.NewWriter(&t.buf)
	_ = t.w.Write(header)
	return t
}

func (t *csvTable) add(fields ...string) {
	_ = t.w.Write(fields)
	t.rows++
}

func (t *csvTable) done() Table {
	t.w.Flush()
	return Table{Name: t.name, CSV: t.buf.Bytes(), Rows: t.rows}
}

func pickWeighted[T any](r *rand.Rand, items []T, weight func(T) int) int {
	total := 0
	for _, it := range items {
		total += weight(it)
	}
	n := r.IntN(total)
	for i, it := range items {
		n -= weight(it)
		if n < 0 {
			return i
		}
	}
	return len(items) - 1
}

// pickN returns n distinct items of list in a random order.
func pickN(r *rand.Rand, list []string, n int) []string {
	idx := r.Perm(len(list))
	n = min(n, len(list))
	out := make([]string, n)
	for i := range n {
		out[i] = list[idx[i]]
	}
	return out
}

func money(f float64) string { return strconv.FormatFloat(math.Round(f*100)/100, 'f', 2, 64) }
func day(t time.Time) string { return t.Format("2006-01-02") }
func stamp(t time.Time) string {
	return t.Format("2006-01-02 15:04:05")
}

func joinList(items []string, last string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " " + last + " " + items[len(items)-1]
}

func (g *gen) genCandidates() Table {
	r := rng("candidates")
	n := count(baseCandidates, g.scale, 200)
	t := newTable("candidates", "candidate_id", "name", "email", "phone", "city", "state", "role", "skills",
		"certifications", "languages", "shift", "years", "hourly_rate", "reliability", "availability", "created_at", "summary")
	for i := 1; i <= n; i++ {
		ci := pickWeighted(r, cities, func(c city) int { return c.weight })
		ri := pickWeighted(r, roles, func(x role) int { return x.weight })
		// Chicago is a Java hub in this data set: tech recruiters there
		// chase developers, which is what the canonical question finds.
		if cities[ci].name == "Chicago" && r.IntN(100) < 10 {
			ri = 0
		}
		c, ro := cities[ci], &roles[ri]
		first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
		id := fmt.Sprintf("CAND-%06d", i)
		email := strings.ToLower(first+"."+strings.ReplaceAll(last, "'", "")) + fmt.Sprintf("%d@example.com", i)
		phone := fmt.Sprintf("+1-%03d-555-%04d", 200+r.IntN(800), r.IntN(10000))
		skills := pickN(r, ro.skills, 2+r.IntN(3))
		var certs []string
		for _, cert := range ro.certs {
			if r.IntN(100) < 45 {
				certs = append(certs, cert)
			}
		}
		langs := []string{"English"}
		if r.IntN(100) < 26 {
			li := pickWeighted(r, secondLanguages, func(x struct {
				lang   string
				weight int
			}) int {
				return x.weight
			})
			langs = append(langs, secondLanguages[li].lang)
		}
		shift := "day"
		switch p := r.IntN(100); {
		case p < ro.nights:
			shift = "night"
		case p < ro.nights+10:
			shift = "swing"
		case p < ro.nights+25:
			shift = "any"
		}
		years := 1 + r.IntN(25)
		rate := ro.minRate + (ro.maxRate-ro.minRate)*(0.3*r.Float64()+0.7*float64(years)/25)
		reliability := math.Round((0.55+0.45*math.Sqrt(r.Float64()))*1000) / 1000
		avail := availabilities[pickWeighted(r, availabilities, func(x struct {
			name   string
			weight int
		}) int {
			return x.weight
		})].name
		created := epoch.AddDate(0, 0, -r.IntN(3*365))
		summary := candidateSummary(r, ro, years, skills, certs, langs, shift, c, avail)
		hot := r.IntN(100) < 4
		if ri == 0 {
			hot = r.IntN(100) < 35
		}
		g.candidates = append(g.candidates, candidate{id: id, city: c, role: ro, hot: hot, roleIndex: ri, cityIndex: ci, hourlyRate: rate})
		k := [2]int{ri, ci}
		g.byRoleCity[k] = append(g.byRoleCity[k], i-1)
		g.byRole[ri] = append(g.byRole[ri], i-1)
		t.add(id, first+" "+last, email, phone, c.name, c.state, ro.name, strings.Join(skills, "; "),
			strings.Join(certs, "; "), strings.Join(langs, "; "), shift, strconv.Itoa(years), money(rate),
			strconv.FormatFloat(reliability, 'f', 3, 64), avail, day(created), summary)
	}
	return t.done()
}

// candidateSummary writes the free-text note the vector index embeds.
func candidateSummary(r *rand.Rand, ro *role, years int, skills, certs, langs []string, shift string, c city, avail string) string {
	var b strings.Builder
	context := ro.contexts[r.IntN(len(ro.contexts))]
	switch r.IntN(3) {
	case 0:
		fmt.Fprintf(&b, "%s with %d years of experience in %s.", ro.name, years, context)
	case 1:
		fmt.Fprintf(&b, "Experienced %s (%d years) from %s.", strings.ToLower(ro.name), years, context)
	default:
		fmt.Fprintf(&b, "%d-year %s background in %s.", years, strings.ToLower(ro.name), context)
	}
	fmt.Fprintf(&b, " Skilled in %s.", joinList(skills, "and"))
	if len(certs) > 0 {
		fmt.Fprintf(&b, " Holds %s.", joinList(certs, "and"))
	}
	switch shift {
	case "night":
		b.WriteString(" Prefers night shift.")
	case "swing":
		b.WriteString(" Works swing shifts.")
	case "any":
		b.WriteString(" Open to any shift, including nights and weekends.")
	}
	if len(langs) > 1 {
		fmt.Fprintf(&b, " Bilingual in English and %s.", langs[1])
	}
	fmt.Fprintf(&b, " Based in %s, %s; availability: %s.", c.name, c.state, strings.ToLower(avail))
	return b.String()
}

func (g *gen) genClients() Table {
	r := rng("clients")
	n := count(baseClients, g.scale, 12)
	t := newTable("clients", "client_id", "name", "industry", "city", "state", "account_manager", "tier", "since")
	for i := 1; i <= n; i++ {
		ind := industries[(i-1)%len(industries)]
		if i > len(industries) {
			ind = industries[r.IntN(len(industries))]
		}
		c := cities[pickWeighted(r, cities, func(c city) int { return c.weight })]
		nouns := companyNoun[ind]
		name := fmt.Sprintf("%s %s %s", companyPrefix[r.IntN(len(companyPrefix))], nouns[r.IntN(len(nouns))],
			companySuffix[r.IntN(len(companySuffix))])
		tier := []string{"A", "B", "B", "C", "C", "C"}[r.IntN(6)]
		id := fmt.Sprintf("CL-%05d", i)
		g.clients = append(g.clients, struct{ id, industry string }{id, ind})
		t.add(id, name, ind, c.name, c.state, recruiters[r.IntN(len(recruiters))], tier, day(epoch.AddDate(0, -r.IntN(96), -r.IntN(28))))
	}
	return t.done()
}

func (g *gen) genJobOrders() Table {
	r := rng("job_orders")
	n := count(baseJobOrders, g.scale, 40)
	t := newTable("job_orders", "job_order_id", "client_id", "title", "city", "state", "openings", "bill_rate",
		"pay_rate", "shift", "status", "opened_at")
	var rolesOf = map[string][]int{}
	for i, ro := range roles {
		rolesOf[ro.industry] = append(rolesOf[ro.industry], i)
	}
	for i := 1; i <= n; i++ {
		cl := g.clients[r.IntN(len(g.clients))]
		ro := &roles[rolesOf[cl.industry][r.IntN(len(rolesOf[cl.industry]))]]
		// Most orders are local to a candidate pool; pick the city by weight.
		c := cities[pickWeighted(r, cities, func(c city) int { return c.weight })]
		pay := ro.minRate + (ro.maxRate-ro.minRate)*r.Float64()
		bill := pay * (1.35 + 0.3*r.Float64())
		status := []string{"filled", "filled", "filled", "filled", "open", "open", "cancelled"}[r.IntN(7)]
		shift := "day"
		if r.IntN(100) < ro.nights {
			shift = "night"
		}
		opened := epoch.AddDate(0, 0, -r.IntN(540))
		id := fmt.Sprintf("JO-%06d", i)
		g.jobs = append(g.jobs, jobOrder{id: id, clientID: cl.id, role: ro, city: c, opened: opened, billRate: bill, payRate: pay})
		t.add(id, cl.id, ro.name, c.name, c.state, strconv.Itoa(1+r.IntN(5)), money(bill), money(pay), shift, status, day(opened))
	}
	return t.done()
}

func (g *gen) genPlacements() Table {
	r := rng("placements")
	n := count(basePlacements, g.scale, 50)
	t := newTable("placements", "placement_id", "candidate_id", "job_order_id", "client_id", "start_date", "end_date",
		"pay_rate", "bill_rate", "status")
	roleIdx := map[*role]int{}
	for i := range roles {
		roleIdx[&roles[i]] = i
	}
	cityIdx := map[string]int{}
	for i, c := range cities {
		cityIdx[c.name] = i
	}
	for i := 1; i <= n; i++ {
		jo := g.jobs[r.IntN(len(g.jobs))]
		ri := roleIdx[jo.role]
		pool := g.byRoleCity[[2]int{ri, cityIdx[jo.city.name]}]
		if len(pool) == 0 {
			pool = g.byRole[ri]
		}
		if len(pool) == 0 {
			pool = g.byRole[0]
			if len(pool) == 0 {
				continue
			}
		}
		cand := g.candidates[pool[r.IntN(len(pool))]]
		// The actively recruited are, by definition, not yet placed: a
		// placement drawn for one goes to another candidate of the pool.
		if cand.hot {
			alt := g.candidates[pool[r.IntN(len(pool))]]
			if !alt.hot {
				cand = alt
			}
		}
		start := jo.opened.AddDate(0, 0, 3+r.IntN(30))
		weeks := 1 + r.IntN(8)
		end, status := "", "active"
		if e := start.AddDate(0, 0, 7*weeks); e.Before(epoch) {
			end, status = day(e), "completed"
			if r.IntN(10) == 0 {
				status = "ended_early"
			}
		} else {
			weeks = max(1, int(epoch.Sub(start).Hours()/24/7))
		}
		id := fmt.Sprintf("PL-%06d", i)
		g.placements = append(g.placements, struct {
			id, candidateID, clientID string
			start                     time.Time
			weeks                     int
			pay, bill                 float64
		}{id, cand.id, jo.clientID, start, weeks, jo.payRate, jo.billRate})
		t.add(id, cand.id, jo.id, jo.clientID, day(start), end, money(jo.payRate), money(jo.billRate), status)
	}
	return t.done()
}

func (g *gen) genTimesheets() Table {
	r := rng("timesheets")
	t := newTable("timesheets", "timesheet_id", "placement_id", "candidate_id", "client_id", "week_ending", "hours",
		"overtime_hours", "amount_billed", "approved")
	n := 0
	for _, p := range g.placements {
		for w := 1; w <= p.weeks; w++ {
			n++
			hours := float64(24 + r.IntN(17))
			ot := 0.0
			if r.IntN(4) == 0 {
				ot = float64(1 + r.IntN(10))
			}
			billed := hours*p.bill + ot*p.bill*1.5
			t.add(fmt.Sprintf("TS-%07d", n), p.id, p.candidateID, p.clientID, day(p.start.AddDate(0, 0, 7*w)),
				strconv.FormatFloat(hours, 'f', 1, 64), strconv.FormatFloat(ot, 'f', 1, 64), money(billed),
				strconv.FormatBool(r.IntN(20) != 0))
		}
	}
	return t.done()
}

func (g *gen) genCalls() Table {
	r := rng("call_log")
	t := newTable("call_log", "call_id", "candidate_id", "recruiter", "called_at", "direction", "duration_sec", "outcome")
	n := 0
	for _, c := range g.candidates {
		calls := 0
		switch {
		case c.hot:
			calls = 5 + r.IntN(5)
		case r.IntN(100) < 27:
			calls = 1
		}
		rec := recruiters[r.IntN(len(recruiters))]
		at := epoch.Add(-time.Duration(r.IntN(300*24)) * time.Hour)
		for range calls {
			n++
			out := callOutcomes[pickWeighted(r, callOutcomes, func(x struct {
				name   string
				weight int
			}) int {
				return x.weight
			})].name
			dur := 0
			if out != "no_answer" {
				dur = 20 + r.IntN(900)
			}
			dir := "outbound"
			if r.IntN(6) == 0 {
				dir = "inbound"
			}
			at = at.Add(time.Duration(8+r.IntN(200)) * time.Hour).Add(time.Duration(r.IntN(3600)) * time.Second)
			t.add(fmt.Sprintf("CALL-%07d", n), c.id, rec, stamp(at), dir, strconv.Itoa(dur), out)
		}
	}
	return t.done()
}

func (g *gen) genEmails() Table {
	r := rng("email_log")
	t := newTable("email_log", "email_id", "candidate_id", "sender", "subject", "sent_at", "direction", "opened")
	n := 0
	for _, c := range g.candidates {
		k := 0
		if r.IntN(100) < 16 {
			k = 1 + r.IntN(2)
		}
		if c.hot {
			k += r.IntN(3)
		}
		for range k {
			n++
			dir := "outbound"
			sender := strings.ToLower(strings.ReplaceAll(recruiters[r.IntN(len(recruiters))], " ", ".")) + "@staffing.example"
			if r.IntN(5) == 0 {
				dir, sender = "inbound", "candidate"
			}
			at := epoch.Add(-time.Duration(r.IntN(365*24*60)) * time.Minute)
			t.add(fmt.Sprintf("EM-%07d", n), c.id, sender, emailSubjects[r.IntN(len(emailSubjects))], stamp(at), dir,
				strconv.FormatBool(r.IntN(3) != 0))
		}
	}
	return t.done()
}
