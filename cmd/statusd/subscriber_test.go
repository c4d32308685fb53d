package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/store"
)

// `statusd subscriber` lists, exports and removes subscribers.
func TestSubscriberCommands(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "statusd.db")
	sub := func(args ...string) (int, string, string) {
		return runCLI(t, append([]string{"--storage.dsn", dsn, "subscriber"}, args...)...)
	}
	if code, out, errOut := sub("list"); code != 0 || !strings.Contains(out, "no subscribers") {
		t.Fatalf("list before any: %d %q %q", code, out, errOut)
	}
	st, err := store.Open(t.Context(), dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(t.Context(), func(tx *store.Tx) error {
		_, _, err := tx.Subscribe(store.Subscription{Kind: store.SubscribeEmail, Address: "ada@example.com", Language: "it", ConfirmWithin: time.Hour}, time.Now())
		return err
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if code, out, _ := sub("list"); code != 0 || !strings.Contains(out, "ada@example.com") || !strings.Contains(out, "waiting") {
		t.Errorf("list: %d %q", code, out)
	}
	if code, out, _ := sub("export"); code != 0 || !strings.HasPrefix(out, "id,kind,address") || !strings.Contains(out, "1,email,ada@example.com,it,") {
		t.Errorf("export: %d %q", code, out)
	}
	if code, _, errOut := sub("remove", "7"); code != 1 || !strings.Contains(errOut, "no subscriber 7") {
		t.Errorf("remove an unknown one: %d %q", code, errOut)
	}
	if code, out, _ := sub("remove", "1"); code != 0 || !strings.Contains(out, "subscriber 1 removed") {
		t.Errorf("remove: %d %q", code, out)
	}
	if code, _, _ := runCLI(t, "--storage.dsn", dsn, "audit"); code != 0 {
		t.Error("audit")
	}
	if _, out, _ := runCLI(t, "--storage.dsn", dsn, "audit"); !strings.Contains(out, "subscriber.delete") {
		t.Errorf("the removal is not audited: %q", out)
	}
}
