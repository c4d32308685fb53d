package web

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/statusd/statusd/internal/alert"
)

// recordAlerts keeps what the intake decided, as the evaluator would get it.
type recordAlerts struct{ got []alert.Alert }

func (r *recordAlerts) Alerts(_ context.Context, alerts []alert.Alert) ([]alert.Outcome, error) {
	r.got = append(r.got, alerts...)
	out := make([]alert.Outcome, len(alerts))
	for i, a := range alerts {
		out[i] = alert.Outcome{Service: a.Service, To: a.Status}
	}
	return out, nil
}

// FuzzAlertmanagerIntake: whatever the body, the intake answers 2xx or
// 4xx with a JSON body, never panics, and passes on only alerts that
// name a service, with a status that is not operational.
func FuzzAlertmanagerIntake(f *testing.F) {
	f.Add([]byte(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A","statusd_service":"API","severity":"critical"},"annotations":{"summary":"s"},"startsAt":"2026-11-23T10:00:00Z","fingerprint":"f"}]}`))
	f.Add([]byte(`{"version":"4","alerts":[{"status":"resolved","labels":{"statusd_service":"API","statusd_status":"degraded"}}]}`))
	f.Add([]byte(`{"version":"4","alerts":[{"status":"firing","labels":{"statusd_service":"API","statusd_status":"operational"}}]}`))
	f.Add([]byte(`{"version":"3"}`))
	f.Add([]byte(`{"version":"4"} {}`))
	f.Add([]byte(`[]`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		sink := &recordAlerts{}
		h := &handler{opts: Options{Logger: slog.New(slog.DiscardHandler), Alerts: sink}}
		rec := httptest.NewRecorder()
		h.alertmanager(rec, httptest.NewRequest(http.MethodPost, "/api/v1/alertmanager", bytes.NewReader(body)))
		if rec.Code != 200 && (rec.Code < 400 || rec.Code > 499) {
			t.Fatalf("answered %d", rec.Code)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("answer is not JSON: %q", rec.Body)
		}
		for _, a := range sink.got {
			if a.Service == "" || a.Status < 1 || a.Status > 3 || a.Fingerprint == "" {
				t.Fatalf("passed on %+v", a)
			}
		}
	})
}
