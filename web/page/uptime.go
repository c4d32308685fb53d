package page

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/statusd/statusd/internal/i18n"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

// UptimeDays is how many days the uptime bar of a service shows.
const UptimeDays = 90

// Day is one day of a service's uptime bar.
type Day struct {
	Date time.Time // UTC midnight
	// NoData is set for days before the service existed.
	NoData bool
	// Worst is the worst status the service had that day.
	Worst status.ServiceStatus
	// Maintenance is set when the service was in maintenance that day.
	Maintenance bool
	// Uptime is the share of the day the service was up, from 0 to 1: the
	// share of the time it was not in an outage, by its status history, so
	// that an outage set by hand or by an alert counts as one from the
	// checks does.
	Uptime float64
}

// ServiceDays computes a service's uptime bar: days UTC days ending with
// today (the day of now), oldest first. changes are the service's status
// changes since the first day's midnight, oldest first; current is its
// status now; created is when it was first stored; rollups are its
// checks' day rollups, summed by UTC day (Unix seconds of the bucket),
// which tell whether the service had data on a day before its history
// began.
func ServiceDays(now time.Time, days int, current status.ServiceStatus, created time.Time, changes []store.StatusChange, rollups map[int64]store.Rollup) []Day {
	now = now.UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	first := today.AddDate(0, 0, -(days - 1))
	// The status at the first midnight: what the first change left, or
	// the current status when nothing changed since.
	at := current
	maint := false
	if len(changes) > 0 {
		at = status.ServiceStatus(changes[0].Old)
	}
	out := make([]Day, days)
	next := 0
	for i := range out {
		start := first.AddDate(0, 0, i)
		end := start.AddDate(0, 0, 1)
		if end.After(now) {
			end = now
		}
		d := Day{Date: start, Worst: at, Maintenance: maint}
		from := start
		if created.After(from) {
			from = created
		}
		var up, span time.Duration
		for ; next < len(changes) && changes[next].At.Before(end); next++ {
			c := changes[next]
			if c.At.After(from) {
				span += c.At.Sub(from)
				if at < status.PartialOutage {
					up += c.At.Sub(from)
				}
				from = c.At
			}
			at, maint = status.ServiceStatus(c.New), c.Maintenance
			d.Worst = max(d.Worst, at)
			d.Maintenance = d.Maintenance || maint
		}
		if end.After(from) {
			span += end.Sub(from)
			if at < status.PartialOutage {
				up += end.Sub(from)
			}
		}
		switch {
		case !created.Before(end):
			d.NoData = true
		case span > 0:
			d.Uptime = float64(up) / float64(span)
		default:
			d.Uptime = 1
		}
		out[i] = d
	}
	return out
}

// SumDays adds the day rollups of a service's checks by day.
func SumDays(perCheck [][]store.Rollup) map[int64]store.Rollup {
	out := map[int64]store.Rollup{}
	for _, rs := range perCheck {
		for _, r := range rs {
			k := r.Bucket.Unix()
			sum := out[k]
			sum.Bucket = r.Bucket
			sum.Merge(r)
			out[k] = sum
		}
	}
	return out
}

// UptimeBar is a service's uptime bar as the template draws it.
type UptimeBar struct {
	Width int
	Days  []BarDay
	// Percent is the uptime over the days with data ("99.95%"), ""
	// before any; Label sums it up: "99.95% uptime over 90 days".
	Percent, Label string
	// Span names the first day: "90 days ago".
	Span string
}

// BarDay is one bar of an UptimeBar.
type BarDay struct {
	X     int
	Class string // s0…s3 by worst status, m for maintenance, nd without data
	Title string // the tooltip: date, uptime and worst status
}

// Bar geometry: 4 units wide, 2 apart.
const barStep = 6

// uptimeBar draws days in a language.
func uptimeBar(days []Day, l *i18n.Lang) *UptimeBar {
	b := &UptimeBar{Width: len(days)*barStep - 2, Days: make([]BarDay, len(days)), Span: l.N("uptime.days_ago", len(days))}
	var sum float64
	var n int
	for i, d := range days {
		bd := BarDay{X: i * barStep}
		date := l.ShortDay(d.Date)
		switch {
		case d.NoData:
			bd.Class, bd.Title = "nd", l.T("uptime.day_no_data", "Date", date)
		default:
			sum += d.Uptime
			n++
			bd.Class = "s" + strconv.Itoa(int(d.Worst))
			label := strings.ToLower(l.T("status." + d.Worst.String()))
			if d.Maintenance && d.Worst == status.Operational {
				bd.Class, label = "m", strings.ToLower(l.T("status.maintenance"))
			}
			bd.Title = l.T("uptime.day", "Date", date, "Percent", percent(d.Uptime, l), "Status", label)
		}
		b.Days[i] = bd
	}
	if n == 0 {
		b.Label = l.T("uptime.no_data_yet")
	} else {
		b.Percent = percent(sum/float64(n), l)
		b.Label = l.N("uptime.over", n, "Percent", b.Percent)
	}
	return b
}

// percent writes a share as an uptime, rounded down to a hundredth of a
// percent so that it never shows more than there was: 100%, 99.99%, 50%
// (in the language's way: "99,99 %").
func percent(f float64, l *i18n.Lang) string {
	if f >= 1 {
		return l.T("number.percent", "Number", "100")
	}
	v := math.Floor(f*10000+1e-9) / 10000
	decimals := 2
	switch {
	case math.Mod(v*100, 1) < 1e-9:
		decimals = 0
	case math.Mod(v*1000, 1) < 1e-9:
		decimals = 1
	}
	return l.Percent(v, decimals)
}

// Chart is a labelled response-time line over the last hours.
type Chart struct {
	Points string
	// P50 and P95 are the median and the 95th percentile of the runs'
	// response times ("120 ms"); Peak is the slowest hour's average, the
	// drawing's top; MedianY is the median's height in the drawing.
	P50, P95, Peak string
	MedianY        string
	// Label says it all, for screen readers.
	Label string
}

// Chart geometry: 240 × 48 units.
const chartW, chartH = 240.0, 48.0

// sparkline draws the average response time of an http check per hour
// from its hour rollups, with the percentiles of its stored runs'
// durations (of the hours' averages when none is stored); nil without
// two hours of data.
func sparkline(hours []store.Rollup, durations []float64, l *i18n.Lang) *Chart {
	var pts []float64
	var peak float64
	for _, r := range hours {
		if r.Runs == 0 {
			continue
		}
		avg := r.DurationSeconds / float64(r.Runs)
		pts = append(pts, avg)
		peak = max(peak, avg)
	}
	if len(pts) < 2 || peak <= 0 {
		return nil
	}
	sorted := slices.Clone(durations)
	if len(sorted) < 2 {
		sorted = slices.Clone(pts)
	}
	slices.Sort(sorted)
	median, p95 := quantile(sorted, 0.5), quantile(sorted, 0.95)
	y := func(v float64) string { return strconv.FormatFloat(chartH-1-(chartH-2)*min(v, peak)/peak, 'f', 1, 64) }
	var b strings.Builder
	step := chartW / float64(len(pts)-1)
	for i, p := range pts {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatFloat(float64(i)*step, 'f', 1, 64))
		b.WriteByte(',')
		b.WriteString(y(p))
	}
	c := &Chart{Points: b.String(), P50: millis(median, l), P95: millis(p95, l), Peak: millis(peak, l), MedianY: y(median)}
	c.Label = l.T("chart.label", "Hours", len(pts), "P50", c.P50, "P95", c.P95)
	return c
}

// quantile is the q-quantile of sorted values (linear between the two
// nearest ranks).
func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	i := int(pos)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (sorted[i+1]-sorted[i])*(pos-float64(i))
}

func millis(s float64, l *i18n.Lang) string {
	if s < 1 {
		return l.Number(s*1000, 0) + " ms"
	}
	return l.Number(s, 2) + " s"
}
