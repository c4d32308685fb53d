package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/statusd/statusd/internal/content"
	"github.com/statusd/statusd/internal/status"
)

// maxBody bounds a write's JSON body: an incident update of 20,000
// characters fits many times over.
const maxBody = 256 << 10

// decodeBody reads a write's JSON body into dst, strictly: the content
// type must be JSON (415), the body at most maxBody (413), one JSON value
// with no unknown fields (400). It answers the request itself and returns
// false when the body is refused.
func decodeBody(w http.ResponseWriter, r *http.Request, dst any) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "the body must be JSON (Content-Type: application/json)")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", maxBody))
			return false
		}
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+describeJSONError(err))
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "invalid JSON body: more than one value")
		return false
	}
	return true
}

// describeJSONError says where a body went wrong, without echoing it.
func describeJSONError(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("%s (at byte %d)", syntax.Error(), syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("field %q must be %s", typ.Field, typ.Type)
		}
		return "must be " + typ.Type.String()
	case errors.Is(err, io.EOF):
		return "the body is empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the body ends too soon"
	}
	return err.Error()
}

// writeFieldErrors answers 400 with the mistakes of each field.
func writeFieldErrors(w http.ResponseWriter, fe content.FieldErrors) {
	writeJSON(w, http.StatusBadRequest, struct {
		Error  string            `json:"error"`
		Fields map[string]string `json:"fields"`
	}{"invalid request: " + fe.Error(), fe})
}

// serviceImpactJSON is a service an incident names: "name" alone, or
// {"name": …, "status": …} to set its status.
type serviceImpactJSON struct {
	Name   string                `json:"name"`
	Status *status.ServiceStatus `json:"status"`
}

func (s *serviceImpactJSON) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		s.Status = nil
		return json.Unmarshal(b, &s.Name)
	}
	type plain serviceImpactJSON
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return err
	}
	*s = serviceImpactJSON(p)
	return nil
}

func impacts(in []serviceImpactJSON) []content.ServiceImpact {
	out := make([]content.ServiceImpact, len(in))
	for i, s := range in {
		out[i] = content.ServiceImpact{Name: s.Name, Status: s.Status}
	}
	return out
}

// optionalTime is a time a PATCH may set, clear (null) or leave out.
type optionalTime struct {
	Set  bool
	Time *time.Time
}

func (o *optionalTime) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(bytes.TrimSpace(b)) == "null" {
		o.Time = nil
		return nil
	}
	var t time.Time
	if err := json.Unmarshal(b, &t); err != nil {
		return fmt.Errorf("not an RFC 3339 time: %w", err)
	}
	o.Time = &t
	return nil
}
