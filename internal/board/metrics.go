package board

import "github.com/prometheus/client_golang/prometheus"

var (
	serviceStatusDesc = prometheus.NewDesc("statusd_service_status",
		"Status of the service: 0 operational, 1 degraded, 2 partial outage, 3 major outage.", []string{"service", "group"}, nil)
	serviceMaintenanceDesc = prometheus.NewDesc("statusd_service_maintenance",
		"Whether a maintenance window covers the service (1) or not (0).", []string{"service"}, nil)
	worstDesc = prometheus.NewDesc("statusd_page_worst_status",
		"Worst status of all services (the status page's banner and favicon), -1 when there are no services.", nil, nil)
	incidentsOpenDesc = prometheus.NewDesc("statusd_incidents_open",
		"Incidents not resolved.", nil, nil)
	downtimeDesc = prometheus.NewDesc("statusd_downtime_active",
		"Whether downtime mode is on (1) or not (0).", nil, nil)
)

// collector exports the board as const metrics built at scrape time from
// the current snapshot.
type collector struct{ c *Cache }

func (collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{serviceStatusDesc, serviceMaintenanceDesc, worstDesc, incidentsOpenDesc, downtimeDesc} {
		ch <- d
	}
}

func (col collector) Collect(ch chan<- prometheus.Metric) {
	b := col.c.Board()
	for _, s := range b.Services {
		ch <- prometheus.MustNewConstMetric(serviceStatusDesc, prometheus.GaugeValue, float64(s.Status), s.Name, s.Group)
		m := 0.0
		if s.Maintenance {
			m = 1
		}
		ch <- prometheus.MustNewConstMetric(serviceMaintenanceDesc, prometheus.GaugeValue, m, s.Name)
	}
	worst := -1.0
	if w, ok := b.Worst(); ok {
		worst = float64(w)
	}
	ch <- prometheus.MustNewConstMetric(worstDesc, prometheus.GaugeValue, worst)
	ch <- prometheus.MustNewConstMetric(incidentsOpenDesc, prometheus.GaugeValue, float64(b.OpenIncidents()))
	down := 0.0
	if b.DowntimeActive(col.c.opts.Clock.Now()) {
		down = 1
	}
	ch <- prometheus.MustNewConstMetric(downtimeDesc, prometheus.GaugeValue, down)
}
