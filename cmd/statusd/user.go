package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"golang.org/x/term"

	"github.com/statusd/statusd/internal/store"
)

func (c *cli) addUser(a *kingpin.Application) {
	group := a.Command("user", "People who run statusd from a browser (the admin), with a password each.")
	var name, passwordFile string
	run := func(action string) func(context.Context) error {
		return func(ctx context.Context) error { return c.user(ctx, action, name, passwordFile) }
	}
	for _, cmd := range []*kingpin.CmdClause{
		c.command(group, "add", "Add a user; the password is asked for twice, or read from --password-file.", run("add")),
		c.command(group, "passwd", "Change a user's password.", run("passwd")),
	} {
		cmd.Arg("name", "User name (letters, digits, '-', '_' and '.').").Required().StringVar(&name)
		cmd.Flag("password-file", "Read the password from the first line of this file (- for standard input) instead of asking.").StringVar(&passwordFile)
	}
	c.command(group, "remove", "Remove a user.", run("remove")).
		Arg("name", "User name.").Required().StringVar(&name)
	c.command(group, "list", "List the users.", run("list"))
}

// user runs `statusd user add|passwd|remove|list`.
func (c *cli) user(ctx context.Context, action, name, passwordFile string) error {
	if action != "list" && !store.ValidName(name) {
		return usageError{fmt.Errorf("invalid user name %q: use up to 64 letters, digits, '-', '_' and '.'", name)}
	}
	var hash string
	if action == "add" || action == "passwd" {
		password, err := c.password(passwordFile)
		if err != nil {
			return err
		}
		if hash, err = store.HashPassword(password); err != nil {
			return usageError{err}
		}
	}
	o, err := c.open(ctx, opening{store: true})
	if err != nil {
		return err
	}
	defer o.Close()
	st, now := o.store, time.Now()
	switch action {
	case "add":
		err = st.AddUser(ctx, name, hash, now)
		if errors.Is(err, store.ErrUserExists) {
			return fmt.Errorf("a user named %q exists; statusd user passwd %s changes the password", name, name)
		}
		if err == nil {
			audit(ctx, st, "user.create", "user/"+name, nil, map[string]string{"name": name}, now)
			fmt.Fprintf(c.stdout, "user %q added\n", name)
		}
	case "passwd":
		if err = st.SetPassword(ctx, name, hash, now); err == nil {
			audit(ctx, st, "user.password", "user/"+name, nil, nil, now)
			fmt.Fprintf(c.stdout, "password of %q changed; the user's sessions have ended\n", name)
		}
	case "remove":
		if err = st.RemoveUser(ctx, name); err == nil {
			audit(ctx, st, "user.remove", "user/"+name, map[string]string{"name": name}, nil, now)
			fmt.Fprintf(c.stdout, "user %q removed\n", name)
		}
	case "list":
		var us []store.User
		if us, err = st.Users(ctx); err == nil {
			rows := make([][]string, len(us))
			for i, u := range us {
				rows[i] = []string{u.Name, u.CreatedAt.UTC().Format(time.RFC3339), u.UpdatedAt.UTC().Format(time.RFC3339)}
			}
			printTable(c.stdout, "no users (statusd user add NAME adds one)", []string{"NAME", "CREATED", "PASSWORD CHANGED"}, rows)
		}
	}
	if errors.Is(err, store.ErrNoUser) {
		return fmt.Errorf("no user named %q (statusd user list shows them)", name)
	}
	return err
}

// password reads a password from a file's first line (- is standard
// input), or asks for it twice on the terminal.
func (c *cli) password(file string) (string, error) {
	if file != "" {
		line, err := firstLine(file, 4*store.MaxPasswordLength)
		if err != nil {
			return "", usageError{fmt.Errorf("--password-file: %w", err)}
		}
		return line, nil
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", usageError{errors.New("no terminal to ask for the password on: use --password-file FILE (or - for standard input)")}
	}
	ask := func(prompt string) (string, error) {
		fmt.Fprint(c.stderr, prompt)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(c.stderr)
		return string(b), err
	}
	first, err := ask("Password: ")
	if err != nil {
		return "", err
	}
	again, err := ask("Password again: ")
	if err != nil {
		return "", err
	}
	if first != again {
		return "", usageError{errors.New("the passwords differ")}
	}
	return first, nil
}

// firstLine reads the first line of a file (- is standard input), at most
// limit bytes of it: a file with no newline (/dev/zero) is cut there, not
// read forever. Passwords and tokens are read this way.
func firstLine(file string, limit int64) (string, error) {
	var r io.Reader = os.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	}
	line, err := bufio.NewReader(io.LimitReader(r, limit)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
