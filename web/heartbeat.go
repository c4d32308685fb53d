package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"

	"github.com/statusd/statusd/web/auth"
)

// maxHeartbeatBody bounds a heartbeat report's body: a status and a few
// words from a cron job.
const maxHeartbeatBody = 16 << 10

// errUnsupportedType is a report body statusd cannot read.
var errUnsupportedType = errors.New("unsupported content type")

// heartbeatFailed reads whether a job's report says its run failed:
// status=fail (or failed, failure) in the query string, in a form body
// (application/x-www-form-urlencoded or multipart/form-data, as curl -d
// and curl -F send) or in a JSON body ({"status": "fail"}); a failure
// said anywhere counts. ok, success or nothing is a success; any other
// status is an error. The body is read up to maxHeartbeatBody.
func heartbeatFailed(query url.Values, contentType string, body io.Reader) (bool, error) {
	statuses := query["status"]
	fromBody, err := bodyStatuses(contentType, io.LimitReader(body, maxHeartbeatBody+1))
	if err != nil {
		return false, err
	}
	failed := false
	for _, s := range append(statuses, fromBody...) {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "", "ok", "success":
		case "fail", "failed", "failure":
			failed = true
		default:
			return false, fmt.Errorf("status must be ok or fail, got %q", s)
		}
	}
	return failed, nil
}

// bodyStatuses reads the status fields of a report's body.
func bodyStatuses(contentType string, body io.Reader) ([]string, error) {
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, fmt.Errorf("read the body: %w", err)
	}
	if len(b) > maxHeartbeatBody {
		return nil, errTooLarge
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil, nil
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil && contentType != "" {
		return nil, fmt.Errorf("%w %q", errUnsupportedType, contentType)
	}
	switch mt {
	case "application/x-www-form-urlencoded", "":
		// curl -d without a type is a form.
		v, err := url.ParseQuery(string(b))
		if err != nil {
			return nil, fmt.Errorf("invalid form: %w", err)
		}
		return v["status"], nil
	case "multipart/form-data":
		if params["boundary"] == "" {
			return nil, errors.New("invalid multipart form: no boundary")
		}
		form, err := multipart.NewReader(bytes.NewReader(b), params["boundary"]).ReadForm(maxHeartbeatBody)
		if err != nil {
			return nil, fmt.Errorf("invalid multipart form: %w", err)
		}
		defer func() { _ = form.RemoveAll() }()
		return form.Value["status"], nil
	case "application/json":
		var v struct {
			Status *string `json:"status"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("invalid JSON body: %w", err)
		}
		if v.Status == nil {
			return nil, nil
		}
		return []string{*v.Status}, nil
	case "text/plain":
		// A bare word: fail, ok.
		return []string{string(b)}, nil
	}
	return nil, fmt.Errorf("%w %q (send a form, multipart form, JSON or plain text)", errUnsupportedType, mt)
}

// errTooLarge is a body over its route's bound.
var errTooLarge = errors.New("body too large")

// heartbeat records a job's report: POST /api/v1/heartbeats/{resource}/{check}
// (or /{check} when the name is unique), with the check's token as a
// bearer token or ?token=, and status=fail for a failed run. The token is
// checked before any of the body is read.
func (h *handler) heartbeat(w http.ResponseWriter, r *http.Request) {
	id, ok := h.heartbeatID(w, r.PathValue("resource"), r.PathValue("check"))
	if !ok {
		return
	}
	token := r.URL.Query().Get("token")
	if t, ok := auth.Bearer(r); ok { // any case of the scheme (RFC 7235)
		token = t
	}
	if err := h.opts.Checks.AuthorizeHeartbeat(id, token); err != nil {
		h.heartbeatError(w, id, err)
		return
	}
	failed, err := heartbeatFailed(r.URL.Query(), r.Header.Get("Content-Type"), r.Body)
	switch {
	case errors.Is(err, errTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("a report's body is at most %d bytes", maxHeartbeatBody))
		return
	case errors.Is(err, errUnsupportedType):
		writeError(w, http.StatusUnsupportedMediaType, err.Error())
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	res, err := h.opts.Checks.ReportHeartbeat(r.Context(), id, token, heartbeatOf(r, failed))
	if err != nil {
		h.heartbeatError(w, id, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
