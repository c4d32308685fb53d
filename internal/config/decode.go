package config

import (
	"encoding"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// decoder turns a yaml.Node tree into config structs. Unlike yaml's own
// decoder it keeps going after an error, names the field path of every
// problem, and records the line of every field so that later validation can
// point at it too. Struct fields are matched by their yaml tag; unknown keys
// are errors. A struct with fields tagged `kind:"name"` decodes the keys it
// does not know into the field selected by its `kind` key, so that each
// check kind accepts exactly its own options.
type decoder struct {
	p *problems
	// budget bounds the nodes decoded, so that nested aliases cannot blow a
	// small file up exponentially ("billion laughs").
	budget int
}

// maxNodes is how many nodes one file may expand to.
const maxNodes = 1_000_000

func newDecoder(p *problems) *decoder {
	return &decoder{p: p, budget: maxNodes}
}

// nodeDecoder is implemented by types that decode themselves with the
// decoder's help, such as the ordered resources map.
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, path string)
}

// yamlV2Unmarshaler is how types of Prometheus's config packages decode
// themselves (TLSVersion, URL…).
type yamlV2Unmarshaler interface {
	UnmarshalYAML(unmarshal func(any) error) error
}

// defaulter is implemented by kind options whose defaults must be set
// before decoding, because a zero value is a valid choice (a bool that
// defaults to true).
type defaulter interface {
	setDefaults()
}

var (
	durationType    = reflect.TypeOf(model.Duration(0))
	textUnmarshaler = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
	nodeDecoderType = reflect.TypeOf((*nodeDecoder)(nil)).Elem()
	v2Unmarshaler   = reflect.TypeOf((*yamlV2Unmarshaler)(nil)).Elem()
)

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if d.budget--; d.budget < 0 {
		if d.budget == -1 {
			d.p.atLine(n.Line, path, "document expands to more than %d values (aliases nested too deep?)", maxNodes)
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		d.decode(n.Alias, v, path)
		return
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}
	if path != "" {
		if _, seen := d.p.lines[path]; !seen {
			d.p.lines[path] = n.Line
		}
	}
	if isNull(n) {
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(nodeDecoderType) {
		v.Addr().Interface().(nodeDecoder).decodeNode(d, n, path)
		return
	}
	if v.Type() == durationType {
		if !d.scalar(n, path, "a duration such as 30s, 5m or 1d") {
			return
		}
		dur, err := model.ParseDuration(n.Value)
		if err != nil {
			d.p.atLine(n.Line, path, "invalid duration %q: use a number and a unit: ms, s, m, h, d, w, y", n.Value)
			return
		}
		v.Set(reflect.ValueOf(dur))
		return
	}
	if v.Kind() != reflect.Pointer && v.CanAddr() && v.Addr().Type().Implements(textUnmarshaler) {
		if !d.scalar(n, path, "a string") {
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			d.p.atLine(n.Line, path, "%v", err)
		}
		return
	}
	if v.Kind() != reflect.Pointer && v.CanAddr() && v.Addr().Type().Implements(v2Unmarshaler) && !walkable(v.Type()) {
		// A scalar-like type of another package decodes itself; structs
		// with yaml fields are walked, so that unknown keys are caught
		// with their line.
		u := v.Addr().Interface().(yamlV2Unmarshaler)
		if err := u.UnmarshalYAML(func(x any) error { return n.Decode(x) }); err != nil {
			d.p.atLine(n.Line, path, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		nv := reflect.New(v.Type().Elem())
		d.decode(n, nv.Elem(), path)
		v.Set(nv)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.p.atLine(n.Line, path, "expected a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), indexPath(path, i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.p.atLine(n.Line, path, "expected a mapping, got %s", describe(n))
			return
		}
		if v.Type().Key().Kind() != reflect.String {
			panic("config: only string-keyed maps are supported")
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		d.eachPair(n, path, func(key string, kn, vn *yaml.Node) {
			ev := reflect.New(v.Type().Elem()).Elem()
			d.decode(vn, ev, joinPath(path, key))
			m.SetMapIndex(reflect.ValueOf(key).Convert(v.Type().Key()), ev)
		})
		v.Set(m)
	case reflect.String:
		if d.scalar(n, path, "a string") {
			v.SetString(n.Value)
		}
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		want := map[reflect.Kind]string{reflect.Bool: "true or false", reflect.Float32: "a number", reflect.Float64: "a number"}[v.Kind()]
		if want == "" {
			want = "a whole number"
		}
		if !d.scalar(n, path, want) {
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.p.atLine(n.Line, path, "expected %s, got %q", want, n.Value)
		}
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.p.atLine(n.Line, path, "%v", err)
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	default:
		panic(fmt.Sprintf("config: cannot decode into %s", v.Type()))
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// scalar reports whether n is a scalar, recording an error if not.
func (d *decoder) scalar(n *yaml.Node, path, want string) bool {
	if n.Kind == yaml.ScalarNode {
		return true
	}
	d.p.atLine(n.Line, path, "expected %s, got %s", want, describe(n))
	return false
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// eachPair walks a mapping's key/value pairs, reporting non-string and
// duplicate keys.
func (d *decoder) eachPair(n *yaml.Node, path string, fn func(key string, k, v *yaml.Node)) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.p.atLine(k.Line, path, "keys must be strings")
			continue
		}
		if seen[k.Value] {
			d.p.atLine(k.Line, joinPath(path, k.Value), "duplicate key")
			continue
		}
		seen[k.Value] = true
		fn(k.Value, k, v)
	}
}

// walkable tells whether the decoder walks a type's fields: a struct with
// yaml-tagged fields.
func walkable(t reflect.Type) bool {
	if t.Kind() != reflect.Struct {
		return false
	}
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).Tag.Get("yaml") != "" {
			return true
		}
	}
	return false
}

// structInfo describes how a struct type maps to YAML keys.
type structInfo struct {
	fields    map[string][]int // yaml key → field index path (through inline structs)
	kinds     map[string]int   // kind name → field index of its options pointer
	kindField []int            // index path of the `kind` key, when kinds is set
	inlineMap []int            // index path of an inline map taking the other keys
}

func infoOf(t reflect.Type) structInfo {
	info := structInfo{fields: map[string][]int{}}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			idx := append(append([]int(nil), prefix...), i)
			if k := f.Tag.Get("kind"); k != "" {
				if info.kinds == nil {
					info.kinds = map[string]int{}
				}
				info.kinds[k] = i
				continue
			}
			tag := f.Tag.Get("yaml")
			name, opts, _ := strings.Cut(tag, ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if opts == "inline" {
				if f.Type.Kind() == reflect.Map {
					info.inlineMap = idx
					continue
				}
				walk(f.Type, idx)
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			info.fields[name] = idx
		}
	}
	walk(t, nil)
	if info.kinds != nil {
		info.kindField = info.fields["kind"]
	}
	return info
}

// KindNames lists the kinds a struct with `kind` tags accepts, sorted.
func kindNames(info structInfo) []string {
	names := make([]string, 0, len(info.kinds))
	for k := range info.kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

type pair struct {
	key  string
	k, v *yaml.Node
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.p.atLine(n.Line, path, "expected a mapping, got %s", describe(n))
		return
	}
	if def, ok := v.Addr().Interface().(defaulter); ok {
		def.setDefaults()
	}
	info := infoOf(v.Type())
	var rest []pair
	d.eachPair(n, path, func(key string, kn, vn *yaml.Node) {
		idx, ok := info.fields[key]
		if !ok {
			switch {
			case info.kinds != nil:
				rest = append(rest, pair{key, kn, vn})
			case info.inlineMap != nil:
				m := v.FieldByIndex(info.inlineMap)
				if m.IsNil() {
					m.Set(reflect.MakeMap(m.Type()))
				}
				ev := reflect.New(m.Type().Elem()).Elem()
				d.decode(vn, ev, joinPath(path, key))
				m.SetMapIndex(reflect.ValueOf(key), ev)
			default:
				d.p.atLine(kn.Line, joinPath(path, key), "unknown field%s", suggest(key, info))
			}
			return
		}
		d.p.lines[joinPath(path, key)] = kn.Line
		d.decode(vn, v.FieldByIndex(idx), joinPath(path, key))
	})
	if info.kinds == nil {
		return
	}
	kind := v.FieldByIndex(info.kindField).String()
	fi, ok := info.kinds[kind]
	switch {
	case kind == "":
		// Validation reports the missing kind; the other keys cannot be checked.
		return
	case !ok:
		d.p.add(joinPath(path, "kind"), "unknown kind %q (known kinds: %s)", kind, strings.Join(kindNames(info), ", "))
		return
	}
	opts := reflect.New(v.Type().Field(fi).Type.Elem())
	if def, ok := opts.Interface().(defaulter); ok {
		def.setDefaults()
	}
	optInfo := infoOf(opts.Elem().Type())
	for _, p := range rest {
		idx, ok := optInfo.fields[p.key]
		if !ok {
			hint := suggest(p.key, optInfo, info)
			if to, moved := movedFields[kind][p.key]; moved {
				hint = fmt.Sprintf(" (it is now %s)", to)
			}
			d.p.atLine(p.k.Line, joinPath(path, p.key), "unknown field for kind %s%s", kind, hint)
			continue
		}
		d.p.lines[joinPath(path, p.key)] = p.k.Line
		d.decode(p.v, opts.Elem().FieldByIndex(idx), joinPath(path, p.key))
	}
	v.Field(fi).Set(opts)
}

// movedFields are options that moved, by kind, with where they went.
var movedFields = map[string]map[string]string{
	"http": {"ca_file": "tls_config.ca_file", "insecure_skip_verify": "tls_config.insecure_skip_verify", "server_name": "tls_config.server_name"},
	"tls":  {"ca_file": "tls_config.ca_file", "insecure_skip_verify": "tls_config.insecure_skip_verify", "server_name": "tls_config.server_name"},
}

// suggest proposes a known key close to a mistyped one.
func suggest(key string, infos ...structInfo) string {
	best, bestDist := "", 3
	for _, info := range infos {
		for k := range info.fields {
			if dist := editDistance(key, k); dist < bestDist || (dist == bestDist && k < best) {
				best, bestDist = k, dist
			}
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// envRef matches ${NAME} and ${NAME:-default}; $${ escapes a literal ${.
var envRef = regexp.MustCompile(`\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expandEnv replaces ${NAME} references in every scalar value (not keys).
func expandEnv(n *yaml.Node, path string, lookup func(string) (string, bool), p *problems) {
	switch n.Kind {
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return
		}
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(m string) string {
			if m == "$${" {
				return "${"
			}
			sub := envRef.FindStringSubmatch(m)
			if v, ok := lookup(sub[1]); ok {
				return v
			}
			if sub[2] != "" {
				return sub[3]
			}
			p.atLine(n.Line, path, "environment variable %s is not set (write ${%s:-default} for a fallback)", sub[1], sub[1])
			return ""
		})
		if n.Style == 0 {
			// An expanded plain scalar is resolved again: ${PORT} → 5432 is a number.
			n.Tag = ""
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			expandEnv(n.Content[i+1], joinPath(path, n.Content[i].Value), lookup, p)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			expandEnv(c, indexPath(path, i), lookup, p)
		}
	case yaml.DocumentNode:
		for _, c := range n.Content {
			expandEnv(c, path, lookup, p)
		}
	}
}
