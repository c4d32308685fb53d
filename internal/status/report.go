package status

import (
	"bytes"
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
func (r Report) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, res := range r {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := writeMember(&buf, res.Name, res); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// MarshalJSON encodes {check: result} in order.
func (r ResourceReport) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, c := range r.Checks {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := writeMember(&buf, c.Name, c.Result); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func writeMember(buf *bytes.Buffer, key string, v any) error {
	k, err := json.Marshal(key)
	if err != nil {
		return err
	}
	val, err := json.Marshal(v)
	if err != nil {
		return err
	}
	buf.Write(k)
	buf.WriteByte(':')
	buf.Write(val)
	return nil
}
