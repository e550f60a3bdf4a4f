package workflow

import (
	"lakehouse/modules/kit"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the runner's series on /metrics. A nil *metrics (a Runner
// built outside the module) counts nothing.
type metrics struct {
	runs  *prometheus.CounterVec
	nodes *prometheus.CounterVec
}

// registerMetrics adds the run and node counters and the runs in
// progress to reg, and has r count into them.
func registerMetrics(reg *kit.Metrics, r *Runner) error {
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lakehouse_workflow_runs_total", Help: "Finished workflow runs, by status (succeeded, failed)."}, []string{"status"}),
		nodes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lakehouse_workflow_nodes_total", Help: "Finished workflow nodes, by status (succeeded, failed, skipped)."}, []string{"status"}),
	}
	inProgress := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "lakehouse_workflow_runs_in_progress", Help: "Workflow runs started and not finished (at most workflow.max_runs)."},
		func() float64 {
			r.runsMu.Lock()
			defer r.runsMu.Unlock()
			return float64(r.running)
		})
	for _, c := range []prometheus.Collector{m.runs, m.nodes, inProgress} {
		if err := reg.Registry.Register(c); err != nil {
			return err
		}
	}
	r.met = m
	return nil
}

func (m *metrics) run(status string) {
	if m != nil {
		m.runs.WithLabelValues(status).Inc()
	}
}

func (m *metrics) node(status string) {
	if m != nil {
		m.nodes.WithLabelValues(status).Inc()
	}
}
