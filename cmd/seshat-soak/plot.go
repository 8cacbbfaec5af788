package main

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"strconv"
	"strings"
	"time"
)

// writePlot draws four charts, one above the other, over the same time
// axis: throughput, p99, RSS per node, disk per node. Each is labelled
// with its name and its largest value, in a small built-in font, so the
// plot needs no font library.
func writePlot(path string, samples []sample) error {
	const w, chartH, pad = 900, 160, 24
	charts := []struct {
		title string
		unit  string
		lines [][]float64
	}{
		{"THROUGHPUT", "OPS/S", [][]float64{pick(samples, func(s sample) float64 { return s.opsPerSec })}},
		{"P99 LATENCY", "MS", [][]float64{pick(samples, func(s sample) float64 { return float64(s.p99.Microseconds()) / 1000 })}},
		{"RSS PER NODE", "MB", perNode(samples, func(s sample, i int) float64 { return float64(s.rss[i]) / (1 << 20) })},
		{"DISK PER NODE", "MB", perNode(samples, func(s sample, i int) float64 { return float64(s.disk[i]) / (1 << 20) })},
	}
	img := image.NewRGBA(image.Rect(0, 0, w, len(charts)*(chartH+pad)+pad))
	fill(img, img.Bounds(), color.White)
	colors := []color.RGBA{{0x1f, 0x77, 0xb4, 0xff}, {0xd6, 0x27, 0x28, 0xff}, {0x2c, 0xa0, 0x2c, 0xff}}
	axis := color.RGBA{0x55, 0x55, 0x55, 0xff}
	for ci, ch := range charts {
		top := pad + ci*(chartH+pad)
		area := image.Rect(60, top+14, w-20, top+chartH)
		hi := 0.0
		for _, l := range ch.lines {
			for _, v := range l {
				hi = max(hi, v)
			}
		}
		if hi == 0 {
			hi = 1
		}
		drawText(img, 60, top, ch.title+" ("+ch.unit+")   MAX "+strconv.FormatFloat(hi, 'f', 1, 64), axis)
		drawText(img, 4, area.Min.Y, strconv.FormatFloat(hi, 'f', 0, 64), axis)
		drawText(img, 4, area.Max.Y-6, "0", axis)
		for x := area.Min.X; x <= area.Max.X; x++ {
			img.Set(x, area.Max.Y, axis)
		}
		for y := area.Min.Y; y <= area.Max.Y; y++ {
			img.Set(area.Min.X, y, axis)
		}
		for li, l := range ch.lines {
			prevX, prevY := -1, -1
			for i, v := range l {
				x := area.Min.X + i*(area.Dx()-1)/max(len(l)-1, 1)
				y := area.Max.Y - int(v/hi*float64(area.Dy()-1))
				if prevX >= 0 {
					line(img, prevX, prevY, x, y, colors[li%len(colors)])
				}
				prevX, prevY = x, y
			}
		}
	}
	if len(samples) > 0 {
		drawText(img, w-200, len(charts)*(chartH+pad)+6, "TIME 0 TO "+strings.ToUpper(samples[len(samples)-1].at.Round(time.Second).String()), axis)
	}
	drawText(img, 60, len(charts)*(chartH+pad)+6, "N1 BLUE N2 RED N3 GREEN", axis)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func pick(samples []sample, f func(sample) float64) []float64 {
	out := make([]float64, len(samples))
	for i, s := range samples {
		out[i] = f(s)
	}
	return out
}

func perNode(samples []sample, f func(sample, int) float64) [][]float64 {
	out := make([][]float64, 3)
	for n := range out {
		out[n] = pick(samples, func(s sample) float64 { return f(s, n) })
	}
	return out
}

func fill(img *image.RGBA, r image.Rectangle, c color.Color) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.Set(x, y, c)
		}
	}
}

func line(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	err := dx + dy
	for {
		img.Set(x0, y0, c)
		img.Set(x0, y0+1, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		if e2 := 2 * err; e2 >= dy {
			err += dy
			x0 += sx
		} else {
			err += dx
			y0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}

// font is a 3x5 pixel font: each glyph is five rows of three bits.
var font = map[rune][5]uint8{
	'0': {7, 5, 5, 5, 7}, '1': {2, 6, 2, 2, 7}, '2': {7, 1, 7, 4, 7}, '3': {7, 1, 7, 1, 7}, '4': {5, 5, 7, 1, 1},
	'5': {7, 4, 7, 1, 7}, '6': {7, 4, 7, 5, 7}, '7': {7, 1, 1, 1, 1}, '8': {7, 5, 7, 5, 7}, '9': {7, 5, 7, 1, 7},
	'A': {2, 5, 7, 5, 5}, 'B': {6, 5, 6, 5, 6}, 'C': {7, 4, 4, 4, 7}, 'D': {6, 5, 5, 5, 6}, 'E': {7, 4, 6, 4, 7},
	'F': {7, 4, 6, 4, 4}, 'G': {7, 4, 5, 5, 7}, 'H': {5, 5, 7, 5, 5}, 'I': {7, 2, 2, 2, 7}, 'J': {1, 1, 1, 5, 7},
	'K': {5, 5, 6, 5, 5}, 'L': {4, 4, 4, 4, 7}, 'M': {5, 7, 7, 5, 5}, 'N': {6, 5, 5, 5, 5}, 'O': {7, 5, 5, 5, 7},
	'P': {7, 5, 7, 4, 4}, 'Q': {7, 5, 5, 7, 1}, 'R': {7, 5, 6, 5, 5}, 'S': {7, 4, 7, 1, 7}, 'T': {7, 2, 2, 2, 2},
	'U': {5, 5, 5, 5, 7}, 'V': {5, 5, 5, 5, 2}, 'W': {5, 5, 7, 7, 5}, 'X': {5, 5, 2, 5, 5}, 'Y': {5, 5, 2, 2, 2},
	'Z': {7, 1, 2, 4, 7}, '.': {0, 0, 0, 0, 2}, '/': {1, 1, 2, 4, 4}, '(': {1, 2, 2, 2, 1}, ')': {4, 2, 2, 2, 4},
	'-': {0, 0, 7, 0, 0}, ':': {0, 2, 0, 2, 0},
}

// drawText writes s at (x, y), each pixel of the font two pixels wide.
func drawText(img *image.RGBA, x, y int, s string, c color.Color) {
	for _, r := range strings.ToUpper(s) {
		g := font[r]
		for row := range 5 {
			for col := range 3 {
				if g[row]&(4>>col) != 0 {
					for d := range 4 {
						img.Set(x+col*2+d%2, y+row*2+d/2, c)
					}
				}
			}
		}
		x += 8
	}
}
