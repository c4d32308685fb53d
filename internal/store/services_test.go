package store

import (
	"context"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/testsvc"
)

// Two transactions deciding about one service take turns: the second
// reads the service after the first committed, so one change of status
// is recorded once (it was twice when the row was read before its lock
// was taken).
func TestServiceLockedBeforeRead(t *testing.T) {
	s := openStore(t, testsvc.Postgres(t))
	ctx := context.Background()
	if err := s.SyncConfig(ctx, nil, []ServiceSpec{{Name: "API", OnProblem: status.MajorOutage}}, t0); err != nil {
		t.Fatal(err)
	}
	setOutage := func(tx *Tx) error {
		sv, err := tx.Service("API")
		if err != nil {
			return err
		}
		_, err = tx.SetServiceStatus(sv, status.MajorOutage, false, CauseChecks, "", t0)
		return err
	}

	locked, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.Update(ctx, func(tx *Tx) error {
			sv, err := tx.Service("API")
			if err != nil {
				return err
			}
			close(locked)
			<-release
			_, err = tx.SetServiceStatus(sv, status.MajorOutage, false, CauseChecks, "", t0)
			return err
		})
	}()
	<-locked
	second := make(chan error, 1)
	go func() { second <- s.Update(ctx, setOutage) }()
	// The second transaction is waiting for the first one's row lock.
	wait, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for waiting := 0; waiting == 0; time.Sleep(time.Millisecond) {
		if err := s.db.GetContext(wait, &waiting, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FROM services WHERE % FOR UPDATE'`); err != nil {
			t.Fatalf("waiting for the second transaction to wait for the lock: %v", err)
		}
		select {
		case err := <-second:
			t.Fatalf("the second transaction did not wait for the first: %v", err)
		default:
		}
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	h, err := s.ServiceHistory(ctx, "API", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 1 {
		t.Errorf("%d changes recorded for one change of status: %+v", len(h), h)
	}
}
