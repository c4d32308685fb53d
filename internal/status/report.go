package status

import (
	"encoding/json"
)

// Report is check results grouped by resource, in config order. It
// encodes as {resource: {check: result}} with the keys in that order.
type Report []ResourceReport

// ResourceReport is the results of one resource's checks, in config order.
// It encodes as {check: result}.
type ResourceReport struct {
	Name   string
	Checks []CheckReport
}

// CheckReport is one check's result.
type CheckReport struct {
	Name   string
	Result Result
}

// Worst returns the worst level in the report, Fine when it is empty.
func (r Report) Worst() Level {
	w := Fine
	for _, res := range r {
		w = Worst(w, res.Worst())
	}
	return w
}

// Worst returns the worst level of the resource's checks.
func (r ResourceReport) Worst() Level {
	w := Fine
	for _, c := range r.Checks {
		w = Worst(w, c.Result.Level)
	}
	return w
}

// MarshalJSON encodes {resource: {check: result}} in order.
func (r Report) MarshalJSON() ([]byte, error) { return r.AppendJSON(nil) }

// AppendJSON appends {resource: {check: result}}, in order, to b. Each
// result is encoded once: nesting MarshalJSON methods made encoding/json
// check and compact every result's bytes again at each level, which was
// most of the time /api/v1/checks took.
func (r Report) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, '{')
	for i, res := range r {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendKey(b, res.Name); err != nil {
			return nil, err
		}
		if b, err = res.AppendJSON(b); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// MarshalJSON encodes {check: result} in order.
func (r ResourceReport) MarshalJSON() ([]byte, error) { return r.AppendJSON(nil) }

// AppendJSON appends {check: result}, in order, to b.
func (r ResourceReport) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, '{')
	for i, c := range r.Checks {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendKey(b, c.Name); err != nil {
			return nil, err
		}
		if b, err = c.Result.AppendJSON(b); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendKey appends a JSON object key and its colon.
func appendKey(b []byte, key string) ([]byte, error) {
	k, err := json.Marshal(key)
	if err != nil {
		return nil, err
	}
	return append(append(b, k...), ':'), nil
}
