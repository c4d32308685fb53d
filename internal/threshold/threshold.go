// Package threshold parses and evaluates the conditions that move a check's
// level from its measured value, such as "value > 2" or
// "value < 10 or value >= 1000".
//
// Grammar:
//
//	expr    = and { ("or" | "||") and }
//	and     = primary { ("and" | "&&") primary }
//	primary = "(" expr ")" | "value" op number | number op "value"
//	op      = ">" | ">=" | "<" | "<=" | "==" | "!="
//
// Numbers are decimal or scientific ("1e3") and may be negative.
package threshold

import (
	"fmt"
	"strconv"
	"strings"
)

// Expr is a parsed condition on a value. The zero value is invalid; use Parse.
type Expr struct {
	src  string
	root node
}

// Parse parses a condition.
func Parse(s string) (*Expr, error) {
	p := &parser{src: s}
	p.next()
	if p.tok.kind == tokEOF {
		return nil, fmt.Errorf("empty condition: want something like \"value > 2\"")
	}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.errorf("unexpected %s", p.tok)
	}
	return &Expr{src: strings.TrimSpace(s), root: n}, nil
}

// MustParse is Parse for constants in tests; it panics on error.
func MustParse(s string) *Expr {
	e, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return e
}

// Eval reports whether the condition holds for v.
func (e *Expr) Eval(v float64) bool { return e.root.eval(v) }

// String returns the condition as written.
func (e *Expr) String() string { return e.src }

// MarshalText returns the condition as written.
func (e *Expr) MarshalText() ([]byte, error) { return []byte(e.src), nil }

// UnmarshalText parses a condition.
func (e *Expr) UnmarshalText(b []byte) error {
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*e = *p
	return nil
}

type node interface{ eval(v float64) bool }

type orNode struct{ l, r node }

func (n orNode) eval(v float64) bool { return n.l.eval(v) || n.r.eval(v) }

type andNode struct{ l, r node }

func (n andNode) eval(v float64) bool { return n.l.eval(v) && n.r.eval(v) }

type cmpNode struct {
	op  string
	num float64
}

func (n cmpNode) eval(v float64) bool {
	switch n.op {
	case ">":
		return v > n.num
	case ">=":
		return v >= n.num
	case "<":
		return v < n.num
	case "<=":
		return v <= n.num
	case "==":
		return v == n.num
	default: // "!="
		return v != n.num
	}
}

// mirror turns "3 < value" into "value > 3".
var mirror = map[string]string{">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "==", "!=": "!="}

type tokKind int

const (
	tokEOF tokKind = iota
	tokValue
	tokNumber
	tokOp
	tokAnd
	tokOr
	tokLParen
	tokRParen
	tokBad
)

type token struct {
	kind tokKind
	text string
	pos  int
}

func (t token) String() string {
	if t.kind == tokEOF {
		return "end of condition"
	}
	return strconv.Quote(t.text)
}

type parser struct {
	src string
	pos int
	tok token
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("condition %q: column %d: %s", p.src, p.tok.pos+1, fmt.Sprintf(format, args...))
}

func (p *parser) next() {
	s := p.src
	for p.pos < len(s) && (s[p.pos] == ' ' || s[p.pos] == '\t') {
		p.pos++
	}
	start := p.pos
	if p.pos >= len(s) {
		p.tok = token{kind: tokEOF, pos: start}
		return
	}
	c := s[p.pos]
	switch {
	case c == '(':
		p.pos++
		p.tok = token{tokLParen, "(", start}
	case c == ')':
		p.pos++
		p.tok = token{tokRParen, ")", start}
	case c == '>' || c == '<' || c == '=' || c == '!':
		p.pos++
		if p.pos < len(s) && s[p.pos] == '=' {
			p.pos++
		}
		text := s[start:p.pos]
		kind := tokOp
		if text == "=" || text == "!" {
			kind = tokBad
		}
		p.tok = token{kind, text, start}
	case c == '&' || c == '|':
		if p.pos+1 < len(s) && s[p.pos+1] == c {
			p.pos += 2
			kind := tokAnd
			if c == '|' {
				kind = tokOr
			}
			p.tok = token{kind, s[start:p.pos], start}
			return
		}
		p.pos++
		p.tok = token{tokBad, s[start:p.pos], start}
	case c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9'):
		p.pos++
		for p.pos < len(s) && isNumberByte(s[p.pos], s[p.pos-1]) {
			p.pos++
		}
		p.tok = token{tokNumber, s[start:p.pos], start}
	case isLetter(c):
		for p.pos < len(s) && (isLetter(s[p.pos]) || s[p.pos] == '_') {
			p.pos++
		}
		word := s[start:p.pos]
		switch strings.ToLower(word) {
		case "value":
			p.tok = token{tokValue, word, start}
		case "and":
			p.tok = token{tokAnd, word, start}
		case "or":
			p.tok = token{tokOr, word, start}
		default:
			p.tok = token{tokBad, word, start}
		}
	default:
		p.pos++
		p.tok = token{tokBad, s[start:p.pos], start}
	}
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

func isNumberByte(c, prev byte) bool {
	switch {
	case c >= '0' && c <= '9', c == '.', c == 'e', c == 'E':
		return true
	case c == '-' || c == '+':
		return prev == 'e' || prev == 'E'
	}
	return false
}

func (p *parser) parseOr() (node, error) {
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tokOr {
		p.next()
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = orNode{l, r}
	}
	return l, nil
}

func (p *parser) parseAnd() (node, error) {
	l, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tokAnd {
		p.next()
		r, err := p.parsePrimary()
		if err != nil {
			return nil, err
		}
		l = andNode{l, r}
	}
	return l, nil
}

func (p *parser) parsePrimary() (node, error) {
	switch p.tok.kind {
	case tokLParen:
		p.next()
		n, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRParen {
			return nil, p.errorf("expected \")\", found %s", p.tok)
		}
		p.next()
		return n, nil
	case tokValue:
		p.next()
		op, err := p.expectOp()
		if err != nil {
			return nil, err
		}
		num, err := p.expectNumber()
		if err != nil {
			return nil, err
		}
		return cmpNode{op: op, num: num}, nil
	case tokNumber:
		num, err := p.expectNumber()
		if err != nil {
			return nil, err
		}
		op, err := p.expectOp()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokValue {
			return nil, p.errorf("expected \"value\", found %s", p.tok)
		}
		p.next()
		return cmpNode{op: mirror[op], num: num}, nil
	}
	return nil, p.errorf("expected \"value\", a number or \"(\", found %s", p.tok)
}

func (p *parser) expectOp() (string, error) {
	if p.tok.kind != tokOp {
		return "", p.errorf("expected a comparison (>, >=, <, <=, ==, !=), found %s", p.tok)
	}
	op := p.tok.text
	p.next()
	return op, nil
}

func (p *parser) expectNumber() (float64, error) {
	if p.tok.kind != tokNumber {
		return 0, p.errorf("expected a number, found %s", p.tok)
	}
	v, err := strconv.ParseFloat(p.tok.text, 64)
	if err != nil {
		return 0, p.errorf("invalid number %s", p.tok)
	}
	p.next()
	return v, nil
}
