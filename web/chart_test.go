package web_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chartState reads the drawn chart back from the uPlot instance: for each
// series its scale and how many pixels its values span; for each y axis
// its side, its labels and whether the widest label (measured in the
// axis's own font) fits the space the axis was given.
const chartState = `(() => {
  const u = document.getElementById("chart").uplot;
  const series = u.series.slice(1).map((s, k) => {
    const d = u.data[k + 1].filter(v => v !== null);
    const lo = Math.min(...d), hi = Math.max(...d); // distinct values at distinct heights, not just off zero
    return { label: s.label, scale: s.scale, span: Math.abs(u.valToPos(hi, s.scale) - u.valToPos(lo, s.scale)) };
  });
  const axes = u.axes.slice(1).filter(a => a.show !== false).map(a => {
    u.ctx.font = a.font[0];
    const widest = Math.max(...a._values.map(v => u.ctx.measureText(String(v)).width)) / devicePixelRatio;
    return { scale: a.scale, side: a.side, labels: a._values.map(String), need: a.ticks.size + a.gap + widest, size: a._size };
  });
  const legend = [...document.querySelectorAll("#chart .u-legend .u-series")].map(e => e.textContent);
  return JSON.stringify({ series, axes, legend, plotHeight: u.bbox.height / devicePixelRatio });
})()`

type chartRead struct {
	Series []struct {
		Label string
		Scale string
		Span  float64
	}
	Axes []struct {
		Scale  string
		Side   int
		Labels []string
		Need   float64
		Size   float64
	}
	Legend     []string
	PlotHeight float64
}

func readChart(t *testing.T, p *page) chartRead {
	t.Helper()
	var raw string
	p.run(t, "read the chart", chromedp.Evaluate(chartState, &raw))
	var c chartRead
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		t.Fatalf("chart state %s: %v", raw, err)
	}
	t.Logf("chart: %s", raw)
	return c
}

// TestChartTwoMagnitudes: the chart — a second numeric series
// drawn on the first one's scale, flat at zero, and y labels clipped to
// "0,000". Two series a thousand-fold apart each get an axis and a
// visible extent, every label fits its axis and is written for its
// magnitude (k, M), the legend names both, and the series picker takes
// one away and brings it back.
func TestChartTwoMagnitudes(t *testing.T) {
	s, p := seeded(t, 3*time.Minute)
	q := "SELECT city, count(*) AS n, sum(hourly_rate) * 1000 AS big FROM candidates GROUP BY city ORDER BY n DESC, city"
	p.run(t, "run a two-series query", chromedp.Navigate(s.URL+"/#/sql"), chromedp.WaitVisible("#sql-editor", chromedp.ByID),
		chromedp.SetValue("#sql-editor", q, chromedp.ByID),
		chromedp.Evaluate(`document.getElementById("sql-params").replaceChildren()`, nil),
		chromedp.Click("#sql-run", chromedp.ByID), waitJS(`document.querySelectorAll("#sql-result tbody tr").length > 1`),
		waitJS(`document.querySelectorAll("#chart-series-list input:checked").length === 2`))

	for _, kind := range []string{"bar", "line"} {
		p.run(t, kind+" chart", chromedp.Click("#chart-"+kind, chromedp.ByID), waitJS(`!!document.getElementById("chart").uplot && document.querySelector("#chart canvas") !== null`))
		c := readChart(t, p)
		if len(c.Series) != 2 {
			t.Fatalf("%s: want 2 series, got %+v", kind, c.Series)
		}
		if c.Series[0].Scale == c.Series[1].Scale {
			t.Errorf("%s: n and big share the scale %q", kind, c.Series[0].Scale)
		}
		for _, sr := range c.Series {
			// Visible and not flat: at least a fifth of the plot's height.
			if sr.Span < c.PlotHeight/5 {
				t.Errorf("%s: series %q spans %.1f px of a %.0f px plot", kind, sr.Label, sr.Span, c.PlotHeight)
			}
		}
		if len(c.Axes) != 2 || c.Axes[0].Side == c.Axes[1].Side {
			t.Fatalf("%s: want a left and a right y axis, got %+v", kind, c.Axes)
		}
		compact := false
		for _, a := range c.Axes {
			if a.Need > a.Size {
				t.Errorf("%s: axis %s labels %v need %.1f px, the axis has %.1f", kind, a.Scale, a.Labels, a.Need, a.Size)
			}
			for _, l := range a.Labels {
				if len(l) > 7 {
					t.Errorf("%s: axis %s label %q is not written for its magnitude", kind, a.Scale, l)
				}
				if l != "" && (l[len(l)-1] == 'k' || l[len(l)-1] == 'M') {
					compact = true
				}
			}
		}
		if !compact {
			t.Errorf("%s: no label of the large series in k or M: %+v", kind, c.Axes)
		}
		if len(c.Legend) != 3 || !strings.Contains(c.Legend[1], "n (right axis)") || !strings.Contains(c.Legend[2], "big (left axis)") {
			t.Errorf("%s: legend %q", kind, c.Legend)
		}
		p.shot(t, "16-chart-two-axes-"+kind)
	}
	p.run(t, "caption", waitText("#chart-caption", "line chart of big (left axis) and n (right axis) by city"))
	p.axe(t, "sql with a two-axis chart")

	// Untick big: n alone, on one axis, still not flat.
	p.run(t, "untick big", chromedp.Click(`#chart-series-list input[value="2"]`, chromedp.ByQuery),
		waitJS(`document.getElementById("chart").uplot.series.length === 2`))
	c := readChart(t, p)
	if len(c.Series) != 1 || c.Series[0].Label != "n" || len(c.Axes) != 1 || c.Series[0].Span < c.PlotHeight/5 {
		t.Errorf("n alone: %+v", c)
	}
}
