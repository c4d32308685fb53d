package evaluator

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/statusd/statusd/internal/content"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/internal/testsvc"
)

// TestNotesInAnOperatorsIncident: while an operator's incident is open
// about a service, statusd's lines about its checks are notes — they keep
// the operator's state (no "investigating" or "monitoring" claimed) and
// never resolve it — and a flapping check adds at most one per
// incidents.note_interval.
func TestNotesInAnOperatorsIncident(t *testing.T) {
	testsvc.EachDatabase(t, func(t *testing.T, dsn string) {
		st := openStore(t, dsn)
		tg := newTarget(t)
		clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
		cfgText := fmt.Sprintf(outageConfig, tg.URL) + "incidents: {note_interval: 15m}\n"
		r := newRig(t, st, clock, cfgText)
		ctx := context.Background()
		who := store.Actor{Name: "ada", Via: store.ViaAdmin}
		r.interval()
		inc, err := r.eval.OpenIncident(ctx, who, content.NewIncident{Title: "Checkout is slow", State: store.Identified,
			Services: []content.ServiceImpact{{Name: "API"}}})
		if err != nil {
			t.Fatal(err)
		}
		// The check flaps for half an hour: down for two intervals (an
		// outage), up for two (a recovery), 30 s each: 30 changes.
		for range 15 {
			tg.up.Store(false)
			r.interval()
			r.interval()
			tg.up.Store(true)
			r.interval()
			r.interval()
		}
		got, err := st.Incident(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State() != store.Identified || got.Closed {
			t.Errorf("the operator's incident is %s (closed %v), want identified and open", got.State(), got.Closed)
		}
		var notes []store.IncidentUpdate
		for _, u := range got.Updates {
			if u.Note {
				notes = append(notes, u)
				if u.State != store.Identified {
					t.Errorf("a note claims state %s", u.State)
				}
			}
		}
		// Half an hour of flapping, one note per 15 minutes at most: 2 or
		// 3 notes, not 30.
		if len(notes) < 2 || len(notes) > 3 {
			t.Errorf("%d notes in half an hour of flapping, want one per 15 minutes", len(notes))
		}
		for i := 1; i < len(notes); i++ {
			if gap := notes[i-1].CreatedAt.Sub(notes[i].CreatedAt); gap < 15*time.Minute {
				t.Errorf("notes %s apart", gap)
			}
		}
		if !strings.Contains(notes[len(notes)-1].Message, "API is in partial outage") {
			t.Errorf("the first note says %q", notes[len(notes)-1].Message)
		}
		// No incident of statusd's own beside the operator's.
		incs, _, _ := st.Incidents(ctx, store.IncidentQuery{})
		if len(incs) != 1 {
			t.Errorf("%d incidents, want the operator's only", len(incs))
		}
	})
}
