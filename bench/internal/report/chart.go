package report

import (
	"fmt"
	"image/color"
	"os"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/ssokit/platform/bench/internal/load"
)

var (
	percentiles = []struct {
		name  string
		get   func(r Run, op string) float64
		color color.RGBA
	}{
		{"p50", func(r Run, op string) float64 { return r.Ops[op].P50Ms }, color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}},
		{"p95", func(r Run, op string) float64 { return r.Ops[op].P95Ms }, color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}},
		{"p99", func(r Run, op string) float64 { return r.Ops[op].P99Ms }, color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}},
	}
	transports = []struct {
		name   string
		dashes []vg.Length
		glyph  draw.GlyphDrawer
	}{
		{"grpc", nil, draw.CircleGlyph{}},
		{"rest", []vg.Length{vg.Points(4), vg.Points(3)}, draw.TriangleGlyph{}},
	}
)

// WriteChart draws, for each operation, its p50/p95/p99 latency against
// throughput over the single-operation runs (one point per concurrency
// level; solid lines gRPC, dashed REST), as a PNG at path.
func WriteChart(r *Report, path string) error {
	var plots [][]*plot.Plot
	row := []*plot.Plot{}
	for _, op := range load.Ops {
		p, err := opPlot(r, op)
		if err != nil {
			return err
		}
		row = append(row, p)
		if len(row) == 2 {
			plots = append(plots, row)
			row = []*plot.Plot{}
		}
	}
	img := vgimg.New(vg.Points(1100), vg.Points(820))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 2, PadTop: vg.Points(12), PadBottom: vg.Points(8), PadLeft: vg.Points(8), PadRight: vg.Points(12), PadX: vg.Points(24), PadY: vg.Points(24)}
	canvases := plot.Align(plots, tiles, dc)
	for j := range plots {
		for i := range plots[j] {
			plots[j][i].Draw(canvases[j][i])
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("report: write chart: %w", err)
	}
	return f.Close()
}

func opPlot(r *Report, op string) (*plot.Plot, error) {
	p := plot.New()
	title := op
	if c, ok := r.FindCeiling(CeilingFor(op)); ok {
		title = fmt.Sprintf("%s  (%s ceiling %s/s)", op, c.Name, num(c.Limit()))
	}
	p.Title.Text = title
	p.X.Label.Text = "throughput (successful ops/s)"
	p.Y.Label.Text = "latency (ms, log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.X.Min = 0
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())

	drawn := false
	var maxX, maxY float64
	for _, tr := range transports {
		var runs []Run
		for _, run := range r.Load {
			if run.Profile == op && run.Transport == tr.name && run.Ops[op].Ops > 0 {
				runs = append(runs, run)
			}
		}
		if len(runs) == 0 {
			continue
		}
		slices.SortFunc(runs, func(a, b Run) int { return a.Concurrency - b.Concurrency })
		for _, pc := range percentiles {
			xys := make(plotter.XYs, 0, len(runs))
			for _, run := range runs {
				xys = append(xys, plotter.XY{X: run.Ops[op].Throughput, Y: max(pc.get(run, op), 0.01)})
				maxX, maxY = max(maxX, run.Ops[op].Throughput), max(maxY, pc.get(run, op))
			}
			line, points, err := plotter.NewLinePoints(xys)
			if err != nil {
				return nil, fmt.Errorf("report: chart %s: %w", op, err)
			}
			line.Color, line.Dashes = pc.color, tr.dashes
			points.Color, points.Shape, points.Radius = pc.color, tr.glyph, vg.Points(3)
			p.Add(line, points)
			p.Legend.Add(fmt.Sprintf("%s %s", tr.name, pc.name), line, points)
			drawn = true
		}
		// Label the gRPC points with their concurrency.
		if tr.name == "grpc" {
			labels := plotter.XYLabels{}
			for _, run := range runs {
				labels.XYs = append(labels.XYs, plotter.XY{X: run.Ops[op].Throughput, Y: max(run.Ops[op].P99Ms, 0.01)})
				labels.Labels = append(labels.Labels, fmt.Sprintf(" c=%d", run.Concurrency))
			}
			l, err := plotter.NewLabels(labels)
			if err != nil {
				return nil, fmt.Errorf("report: chart %s: %w", op, err)
			}
			p.Add(l)
		}
	}
	if drawn {
		// Room for the labels and the legend.
		p.X.Max = maxX * 1.15
		p.Y.Max = maxY * 4
		// The ceiling, when it is within reach of the runs.
		if c, ok := r.FindCeiling(CeilingFor(op)); ok && c.Limit() <= maxX*3 {
			p.X.Max = max(p.X.Max, c.Limit()*1.1)
			line, err := plotter.NewLine(plotter.XYs{{X: c.Limit(), Y: p.Y.Min}, {X: c.Limit(), Y: p.Y.Max}})
			if err != nil {
				return nil, fmt.Errorf("report: chart %s: %w", op, err)
			}
			line.Color = color.Gray{Y: 0x80}
			line.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
			line.Width = vg.Points(1.5)
			p.Add(line)
			p.Legend.Add(c.Name+" ceiling", line)
		}
	}
	if !drawn {
		p.Title.Text += " — not measured"
		p.Y.Scale = plot.LinearScale{}
		p.Y.Tick.Marker = plot.DefaultTicks{}
		p.Y.Min, p.Y.Max, p.X.Max = 0, 1, 1
	}
	return p, nil
}
