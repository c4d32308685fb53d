package exporter

import (
	"context"
	"fmt"

	"github.com/statusd/statusd/internal/status"
)

// Select returns the named resource, or some of its checks, as a one-item
// list; with no resource it returns every resource. Unknown names are
// status.ErrNotFound.
func (e *Exporter) Select(resource string, checks ...string) ([]Resource, error) {
	all := e.Resources()
	if resource == "" {
		return all, nil
	}
	for _, r := range all {
		if r.Name != resource {
			continue
		}
		if len(checks) == 0 {
			return []Resource{r}, nil
		}
		sel := Resource{Name: r.Name}
		for _, name := range checks {
			c, ok := e.Check(status.CheckID{Resource: resource, Check: name})
			if !ok {
				return nil, fmt.Errorf("check %s/%s %w", resource, name, status.ErrNotFound)
			}
			sel.Checks = append(sel.Checks, c)
		}
		return []Resource{sel}, nil
	}
	return nil, fmt.Errorf("resource %s %w", resource, status.ErrNotFound)
}

// Report returns the results of every check (resource ""), of a
// resource's checks (check "") or of one check, as Results does; an
// unknown name is an error wrapping status.ErrNotFound.
func (e *Exporter) Report(ctx context.Context, resource, check string, fresh bool) (status.Report, error) {
	var checks []string
	if check != "" {
		checks = []string{check}
	}
	sel, err := e.Select(resource, checks...)
	if err != nil {
		return nil, err
	}
	return e.Results(ctx, sel, fresh), nil
}

// IDs lists every configured check, in config order.
func (e *Exporter) IDs() []status.CheckID {
	var ids []status.CheckID
	for _, r := range e.Resources() {
		for _, c := range r.Checks {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// Results returns the results of the checks of some resources: the latest
// ones, or, when fresh is set, fresh ones (see Fresh). A check that has not
// run yet is at problem, "not checked yet".
func (e *Exporter) Results(ctx context.Context, resources []Resource, fresh bool) status.Report {
	var all []*Check
	for _, r := range resources {
		all = append(all, r.Checks...)
	}
	var results []status.Result
	if fresh {
		results = e.Fresh(ctx, all)
	} else {
		results = make([]status.Result, len(all))
		for i, c := range all {
			results[i] = c.Current()
		}
	}
	report := make(status.Report, len(resources))
	i := 0
	for n, r := range resources {
		report[n] = status.ResourceReport{Name: r.Name, Checks: make([]status.CheckReport, len(r.Checks))}
		for j, c := range r.Checks {
			report[n].Checks[j] = status.CheckReport{Name: c.ID.Check, Result: results[i]}
			i++
		}
	}
	return report
}

// Current is the latest result, or a problem until the first run ends.
func (c *Check) Current() status.Result {
	if res, ok := c.Latest(); ok {
		return res
	}
	return status.Result{Level: status.Problem, Message: "not checked yet"}
}
