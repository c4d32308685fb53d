package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/store"
)

// amPayload is an Alertmanager webhook body (version 4) with one alert.
func amPayload(state, service string, labels map[string]string, summary string) []byte {
	l := map[string]string{"alertname": "PaymentsDown", "statusd_service": service}
	for k, v := range labels {
		l[k] = v
	}
	b, _ := json.Marshal(map[string]any{
		"version": "4", "groupKey": "{}:{}", "status": state, "receiver": "statusd",
		"groupLabels": map[string]string{}, "commonLabels": l, "commonAnnotations": map[string]string{}, "externalURL": "http://am",
		"alerts": []map[string]any{{
			"status": state, "labels": l, "annotations": map[string]string{"summary": summary},
			"startsAt": "2026-11-23T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prom", "fingerprint": "f00d" + service,
		}},
	})
	return b
}

func TestAlertmanagerIntake(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "statusd.yml")
	if err := os.WriteFile(file, []byte(`
resources:
  health:
    - {name: ping, kind: ping}
services:
  - {name: Payments}
  - {name: API, checks: [health/ping]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	dsn := "sqlite:" + filepath.Join(dir, "statusd.db")
	d := startWith(t, file, dsn)
	token := addToken(t, dsn, "alertmanager", store.ScopeWrite)
	readToken := addToken(t, dsn, "viewer", store.ScopeRead)

	post := func(tok string, body []byte) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, d.url+"/api/v1/alertmanager", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		return send(t, req)
	}
	firing := amPayload("firing", "Payments", map[string]string{"severity": "critical"}, "Card payments fail")
	// Until it has read the tokens once, statusd answers 503 (retry).
	eventually(t, "the tokens to be read", d.app.auth.Loaded)
	if code, body := post("", firing); code != 401 || !strings.Contains(body, `"error"`) {
		t.Errorf("no token: %d %s", code, body)
	}
	// Tokens take effect once the daemon read them again (every few
	// seconds): both, the write token and the read one, which a write
	// route refuses with 403.
	eventually(t, "the tokens to be known", func() bool {
		w, _ := post(token, []byte(`{}`))
		r, _ := post(readToken, firing)
		return w != 401 && r == 403
	})
	if code, body := post(token, []byte(`{"version": "3", "alerts": []}`)); code != 400 || !strings.Contains(body, "version 4") {
		t.Errorf("old version: %d %s", code, body)
	}
	if code, body := post(token, amPayload("firing", "Payments", map[string]string{"statusd_status": "broken"}, "x")); code != 400 || !strings.Contains(body, "statusd_status must be") {
		t.Errorf("bad status label: %d %s", code, body)
	}

	code, body := post(token, firing)
	if code != 200 || !strings.Contains(body, `"services":[{"service":"Payments","from":"operational","to":"major_outage"}]`) {
		t.Fatalf("firing: %d %s", code, body)
	}
	// Alertmanager repeats a firing alert: nothing more happens.
	if code, body := post(token, firing); code != 200 || !strings.Contains(body, `"from":"major_outage","to":"major_outage"`) {
		t.Errorf("repeat: %d %s", code, body)
	}
	eventually(t, "the summary to show the outage", func() bool {
		_, s := d.get(t, "/api/v1/summary")
		return strings.Contains(s, `"worst_status":"major_outage"`) && strings.Contains(s, `"title":"Payments: Card payments fail"`)
	})
	eventually(t, "the page to show it", func() bool {
		_, p := d.get(t, "/")
		return strings.Contains(p, "Some systems are experiencing major outages") && strings.Contains(p, "Card payments fail (alert PaymentsDown).")
	})
	_, hist := d.get(t, "/api/v1/services/Payments/history")
	if !strings.Contains(hist, `"to":"major_outage","maintenance":false,"cause":"alert"`) {
		t.Errorf("history: %s", hist)
	}
	if code, body := post(token, amPayload("firing", "Nope", nil, "x")); code != 200 || !strings.Contains(body, `"unknown_services":["Nope"]`) || !strings.Contains(body, `"applied":0`) {
		t.Errorf("unknown service: %d %s", code, body)
	}
	if code, body := post(token, []byte(`{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"X"}}]}`)); code != 200 || !strings.Contains(body, `"ignored":1`) {
		t.Errorf("alert without the label: %d %s", code, body)
	}

	code, body = post(token, amPayload("resolved", "Payments", map[string]string{"severity": "critical"}, "Card payments fail"))
	if code != 200 || !strings.Contains(body, `"from":"major_outage","to":"operational"`) {
		t.Fatalf("resolved: %d %s", code, body)
	}
	eventually(t, "the incident to be resolved", func() bool {
		_, s := d.get(t, "/api/v1/incidents?state=closed")
		return strings.Contains(s, "The alerts about Payments resolved (PaymentsDown).")
	})
	// The read token opens the checks dashboard.
	for token, want := range map[string]int{"": 401, readToken: 200} {
		req, _ := http.NewRequest(http.MethodGet, d.url+"/checks", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("checks with token %q: %d, want %d", token, resp.StatusCode, want)
		}
	}
}

// addToken creates an API token in the store, as statusd token add does.
func addToken(t *testing.T, dsn, name, scope string) string {
	t.Helper()
	st, err := store.Open(context.Background(), dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tok, err := st.AddToken(context.Background(), name, scope, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
