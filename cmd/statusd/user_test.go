package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/statusd/statusd/internal/store"
)

// `statusd user` adds, lists, changes and removes users, stores bcrypt
// hashes only, and refuses what it cannot do with a reason.
func TestUserCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "statusd.db")
	dsn := "sqlite:" + db
	pw := filepath.Join(dir, "pw")
	write := func(password string) {
		if err := os.WriteFile(pw, []byte(password+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	user := func(args ...string) (int, string, string) {
		return runCLI(t, append([]string{"--storage.dsn", dsn, "user"}, args...)...)
	}
	if code, out, _ := user("list"); code != 0 || !strings.Contains(out, "no users") {
		t.Fatalf("list before any: %d %q", code, out)
	}
	write("correct horse battery")
	if code, out, errOut := user("add", "alice", "--password-file", pw); code != 0 || !strings.Contains(out, `user "alice" added`) {
		t.Fatalf("add: %d %q %q", code, out, errOut)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"add", "alice", "--password-file", pw}, 1, `a user named "alice" exists`},
		{[]string{"add", "bob"}, 2, "no terminal to ask for the password on: use --password-file"},
		{[]string{"add", "bad name", "--password-file", pw}, 2, `invalid user name "bad name"`},
		{[]string{"remove", "carol"}, 1, `no user named "carol"`},
		{[]string{"passwd", "carol", "--password-file", pw}, 1, `no user named "carol"`},
		{[]string{"add", "bob", "--password-file", filepath.Join(dir, "missing")}, 2, "--password-file: open"},
		{[]string{"add", "bob", "--password-file", "/dev/zero"}, 2, "bcrypt takes at most 72"},
	} {
		if code, _, errOut := user(tc.args...); code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("user %v: exit %d %q, want %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
	write("short")
	if code, _, errOut := user("add", "bob", "--password-file", pw); code != 2 || !strings.Contains(errOut, "use at least 12") {
		t.Errorf("a short password: %d %q", code, errOut)
	}
	if code, out, _ := user("list"); code != 0 || !strings.Contains(out, "alice") || strings.Contains(out, "bob") {
		t.Errorf("list: %d %q", code, out)
	}

	st, err := store.Open(t.Context(), dsn, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.UserByName(t.Context(), "alice")

	if err != nil || !strings.HasPrefix(u.Hash, "$2a$10$") || !store.CheckPassword(u.Hash, "correct horse battery") || store.CheckPassword(u.Hash, "wrong horse battery") {
		t.Fatalf("alice as stored: %q %v", u.Hash, err)
	}
	if raw, _ := os.ReadFile(db); strings.Contains(string(raw), "correct horse battery") {
		t.Error("the password is in the database file")
	}
	write("staple battery horse")
	if code, _, errOut := user("passwd", "alice", "--password-file", pw); code != 0 {
		t.Fatalf("passwd: %d %q", code, errOut)
	}
	if u, _ := st.UserByName(t.Context(), "alice"); !store.CheckPassword(u.Hash, "staple battery horse") {
		t.Error("the new password does not check")
	}
	if code, out, _ := user("remove", "alice"); code != 0 || !strings.Contains(out, `user "alice" removed`) {
		t.Errorf("remove: %d %q", code, out)
	}
	if code, out, _ := user("list"); code != 0 || !strings.Contains(out, "no users") {
		t.Errorf("list after remove: %d %q", code, out)
	}
}
