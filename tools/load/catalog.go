package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	apiclient "lakehouse/internal/client"
)

// catalogSample is what the catalog says of its datasets at one moment
// of a run: versions, parts and Iceberg metadata per dataset, and the
// commit latency histogram's totals (to turn into a mean per window).
type catalogSample struct {
	at       time.Duration
	datasets map[string]datasetFigures
	commits  float64 // lakehouse_catalog_commit_seconds_count
	seconds  float64 // lakehouse_catalog_commit_seconds_sum
}

type datasetFigures struct {
	Name          string `json:"name"`
	Versions      int    `json:"versions"`
	Latest        int    `json:"latest"`
	Parts         int    `json:"parts"`
	MetadataFiles int    `json:"metadata_files"`
	MetadataBytes int64  `json:"metadata_bytes"`
}

// catalogSampler samples the catalog every interval of a run, so a long
// run shows whether versions, parts and metadata stay bounded and commit
// latency stays flat (docs: versions that last).
type catalogSampler struct {
	api     *apiclient.Client
	every   time.Duration
	start   time.Time
	mu      sync.Mutex
	samples []catalogSample
}

func (s *catalogSampler) run(ctx context.Context) {
	s.sample(ctx)
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.sample(ctx)
		}
	}
}

func (s *catalogSampler) sample(ctx context.Context) {
	cs := catalogSample{at: time.Since(s.start), datasets: map[string]datasetFigures{}}
	var st struct {
		Datasets []datasetFigures `json:"datasets"`
	}
	if err := s.api.Call(ctx, http.MethodGet, "/v1/catalog/maintenance", nil, &st); err != nil {
		return
	}
	for _, d := range st.Datasets {
		cs.datasets[d.Name] = d
	}
	resp, err := s.api.Send(ctx, apiclient.Request{Method: http.MethodGet, Path: "/metrics"})
	if err == nil {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			line := sc.Text()
			name, val, ok := strings.Cut(line, " ")
			if !ok {
				continue
			}
			f, _ := strconv.ParseFloat(val, 64)
			switch name {
			case "lakehouse_catalog_commit_seconds_count":
				cs.commits = f
			case "lakehouse_catalog_commit_seconds_sum":
				cs.seconds = f
			}
		}
		resp.Body.Close()
	}
	s.mu.Lock()
	s.samples = append(s.samples, cs)
	s.mu.Unlock()
}

// report prints each sample of the datasets that changed during the run.
func (s *catalogSampler) report() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) < 2 {
		return
	}
	fmt.Printf("\ncatalog over the run (versions kept / latest, parts, Iceberg metadata; mean commit latency since the previous sample)\n")
	fmt.Printf("%8s %-16s %9s %7s %6s %8s %12s %11s\n", "at", "dataset", "versions", "latest", "parts", "md files", "md bytes", "commit mean")
	for i, cs := range s.samples {
		mean := "-"
		if i > 0 {
			prev := s.samples[i-1]
			if n := cs.commits - prev.commits; n > 0 {
				mean = (time.Duration((cs.seconds - prev.seconds) / n * float64(time.Second))).Round(100 * time.Microsecond).String()
			}
		}
		for _, name := range []string{"observer_events", "load_events"} {
			d, ok := cs.datasets[name]
			if !ok {
				continue
			}
			fmt.Printf("%8s %-16s %9d %7d %6d %8d %12d %11s\n", cs.at.Round(time.Second), name, d.Versions, d.Latest, d.Parts,
				d.MetadataFiles, d.MetadataBytes, mean)
		}
	}
}
