package main

import (
	"fmt"
	"strconv"
	"time"
)

// dateSeedStride spaces the nights' seed ranges: a night's sweep may use
// up to this many seeds per scenario before it reaches the next night's.
const dateSeedStride = 100_000

// parseSeed0 reads -seed0: a number, or "date", which starts at a range of
// its own for the UTC day of now, so each night sweeps seeds no night
// swept before. The date shows in the seed: 2026-11-30 starts at
// 2026113000001.
func parseSeed0(s string, now time.Time) (int, error) {
	if s == "date" {
		y, m, d := now.UTC().Date()
		return (y*10000+int(m)*100+d)*dateSeedStride + 1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("-seed0=%q: want a seed (1 or more) or \"date\"", s)
	}
	return n, nil
}
