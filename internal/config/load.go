package config

import (
	"crypto/x509"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	promconfig "github.com/prometheus/common/config"
	"go.yaml.in/yaml/v3"
)

// DefaultFile is the config file read when --config.file is not given.
const DefaultFile = "statusd.yml"

//go:embed default.yml
var defaultYAML []byte

// Env is what loading reads from the outside world; tests replace it.
type Env struct {
	LookupEnv func(string) (string, bool)
	ReadFile  func(string) ([]byte, error)
}

// OSEnv reads the real environment and file system.
func OSEnv() Env { return Env{LookupEnv: os.LookupEnv, ReadFile: os.ReadFile} }

// Load reads and validates a config file. A problem in the file returns
// Errors listing every problem with its line.
func Load(path string, env Env) (*Config, error) {
	data, err := env.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(data, path, env)
}

// LoadOrBuiltin reads a config file as Load does, except that the default
// file (DefaultFile) missing gives the built-in config, with builtin set:
// statusd runs with no setup at all. Any other file must exist.
func LoadOrBuiltin(path string, env Env) (c *Config, builtin bool, err error) {
	c, err = Load(path, env)
	if err != nil && path == DefaultFile && errors.Is(err, fs.ErrNotExist) {
		return Default(), true, nil
	}
	return c, false, err
}

// Default returns the built-in config used when no config file exists: it
// monitors statusd itself.
func Default() *Config {
	c, err := Parse(defaultYAML, "", Env{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		panic(fmt.Sprintf("built-in config is invalid: %v", err))
	}
	return c
}

// DefaultYAML returns the text of the built-in config.
func DefaultYAML() []byte { return defaultYAML }

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Parse decodes and validates config text; file names it in errors and
// anchors relative *_file paths (empty: the built-in config).
func Parse(data []byte, file string, env Env) (*Config, error) {
	name := file
	if name == "" {
		name = "<built-in>"
	}
	p := newProblems(name)
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		line := 0
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		p.atLine(line, "", "invalid YAML: %s", msg)
		return nil, p.err()
	}
	c := &Config{File: file}
	if root.Kind != 0 {
		expandEnv(&root, "", env.LookupEnv, p)
		d := newDecoder(p)
		d.decode(&root, reflect.ValueOf(c).Elem(), "")
	}
	decodeErrs := len(p.errs)
	c.applyDefaults()
	resolveSecrets(reflect.ValueOf(c).Elem(), "", c.dir(), env.ReadFile, p)
	p.readFile = env.ReadFile
	c.validate(p)
	p.errs = dropUnderFailed(p.errs, decodeErrs)
	if err := p.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// dropUnderFailed removes later errors about fields that already failed to
// decode: a bad value should be reported once, not again as "missing".
func dropUnderFailed(errs Errors, n int) Errors {
	failed := map[string]bool{}
	for _, e := range errs[:n] {
		if e.Field != "" {
			failed[e.Field] = true
		}
	}
	out := errs[:n]
	for _, e := range errs[n:] {
		under := false
		for f := e.Field; f != ""; f = parentPath(f) {
			if failed[f] {
				under = true
				break
			}
		}
		if !under {
			out = append(out, e)
		}
	}
	return out
}

var secretType = reflect.TypeOf(Secret(""))

// resolveSecrets fills every Secret field from its *_file sibling, reading
// the file relative to dir.
func resolveSecrets(v reflect.Value, path, dir string, readFile func(string) ([]byte, error), p *problems) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			resolveSecrets(v.Elem(), path, dir, readFile, p)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			// Map values are not addressable: resolve a copy and store it back.
			elem := reflect.New(iter.Value().Type()).Elem()
			elem.Set(iter.Value())
			resolveSecrets(elem, joinPath(path, iter.Key().String()), dir, readFile, p)
			v.SetMapIndex(iter.Key(), elem)
		}
	case reflect.Slice:
		if rs, ok := v.Interface().(Resources); ok {
			for _, r := range rs {
				resolveSecrets(reflect.ValueOf(r.Checks), joinPath(path, r.Name), dir, readFile, p)
			}
			return
		}
		for i := 0; i < v.Len(); i++ {
			resolveSecrets(v.Index(i), indexPath(path, i), dir, readFile, p)
		}
	case reflect.Struct:
		info := infoOf(v.Type())
		for name, idx := range info.fields {
			f := v.FieldByIndex(idx)
			fpath := joinPath(path, name)
			if owner := ownerOf(v.Type(), idx); owner.PkgPath() == promconfigPkg {
				// Prometheus's client options read their files when a
				// request is made, so that rotated credentials apply; here
				// they are only anchored and checked.
				resolvePromField(f, name, fpath, dir, readFile, p)
				continue
			}
			if f.Type() != secretType {
				resolveSecrets(f, fpath, dir, readFile, p)
				continue
			}
			fileIdx, ok := info.fields[name+"_file"]
			if !ok {
				continue
			}
			fileName := v.FieldByIndex(fileIdx).String()
			if fileName == "" {
				continue
			}
			if f.String() != "" {
				p.add(fpath+"_file", "cannot be used together with %s", name)
				continue
			}
			fileName = anchor(dir, fileName)
			b, err := readFile(fileName)
			if err != nil {
				p.add(fpath+"_file", "cannot read %s: %v", fileName, pathErr(err))
				continue
			}
			f.SetString(strings.TrimRight(string(b), "\r\n"))
		}
		// A *_file option that is no secret's (a template) is anchored
		// to the config's folder and must be readable.
		for name, idx := range info.fields {
			f := v.FieldByIndex(idx)
			base, isFile := strings.CutSuffix(name, "_file")
			sibling, ok := info.fields[base]
			secret := ok && v.FieldByIndex(sibling).Type() == secretType
			if !isFile || secret || f.Kind() != reflect.String || f.String() == "" || ownerOf(v.Type(), idx).PkgPath() == promconfigPkg {
				continue
			}
			checkFile(f, joinPath(path, name), dir, readFile, p)
		}
		if info.inlineMap != nil {
			resolveSecrets(v.FieldByIndex(info.inlineMap), path, dir, readFile, p)
		}
		for _, fi := range info.kinds {
			resolveSecrets(v.Field(fi), path, dir, readFile, p)
		}
	}
}

// promconfigPkg is the package of Prometheus's HTTP client options.
var promconfigPkg = reflect.TypeOf(promconfig.HTTPClientConfig{}).PkgPath()

// ownerOf returns the struct type that declares the field at index path
// idx of t (a field of an inline struct belongs to that struct).
func ownerOf(t reflect.Type, idx []int) reflect.Type {
	for _, i := range idx[:len(idx)-1] {
		t = t.Field(i).Type
	}
	return t
}

// resolvePromField anchors and checks one field of Prometheus's client
// options: a *_file path (or an http_headers files list) is made absolute
// and must be readable; a ca_file must hold certificates; *_ref secrets
// need a secret manager, which statusd does not have.
func resolvePromField(f reflect.Value, name, path, dir string, readFile func(string) ([]byte, error), p *problems) {
	switch {
	case strings.HasSuffix(name, "_ref") && f.Kind() == reflect.String && f.String() != "":
		p.add(path, "secret references are not supported; use %s_file", strings.TrimSuffix(name, "_ref"))
	case name == "ca_file" && f.String() != "":
		resolveCAFile(f, path, dir, readFile, p)
	case strings.HasSuffix(name, "_file") && f.Kind() == reflect.String && f.String() != "":
		checkFile(f, path, dir, readFile, p)
	case name == "files" && f.Kind() == reflect.Slice:
		for i := 0; i < f.Len(); i++ {
			checkFile(f.Index(i), indexPath(path, i), dir, readFile, p)
		}
	default:
		resolveSecrets(f, path, dir, readFile, p)
	}
}

// checkFile makes a file path absolute and checks that it can be read.
func checkFile(f reflect.Value, path, dir string, readFile func(string) ([]byte, error), p *problems) {
	name := anchor(dir, f.String())
	f.SetString(name)
	if _, err := readFile(name); err != nil {
		p.add(path, "cannot read %s: %v", name, pathErr(err))
	}
}

// pathErr drops the path an *os.PathError repeats.
func pathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// resolveCAFile makes a CA file path absolute and checks that it holds PEM
// certificates, so that a bad file is a config error with its line.
func resolveCAFile(f reflect.Value, path, dir string, readFile func(string) ([]byte, error), p *problems) {
	name := anchor(dir, f.String())
	f.SetString(name)
	b, err := readFile(name)
	if err != nil {
		p.add(path, "cannot read %s: %v", name, pathErr(err))
		return
	}
	if !x509.NewCertPool().AppendCertsFromPEM(b) {
		p.add(path, "%s holds no PEM certificates", name)
	}
}

func reflectValue(ptr any) reflect.Value { return reflect.ValueOf(ptr).Elem() }

// dir is the folder relative paths of the config are read from.
func (c *Config) dir() string {
	if c.File == "" {
		return "."
	}
	return filepath.Dir(c.File)
}

// anchor makes a path relative to the config's folder absolute.
func anchor(dir, name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(dir, name)
}
