package placement

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// This file holds the cluster query language used by memberOf constraints
// (docs/semantics.md §3.4): the compiled [Expression], the [QueryTarget] it is
// evaluated against and the [SyntaxError] that [ParseExpression] returns. The
// scanner and parser live in query_parse.go.
//
// Decisions the ECS documentation leaves open ([INF] in docs/semantics.md), each
// covered by a test in query_test.go:
//
//   - Keywords (subjects, operators, and, or, not, true, false) are
//     case-sensitive, as documented.
//   - A bareword value runs to the next whitespace, ',', '[', ']', '(', ')' or
//     '\''. It may contain ':', '.', '*', '-', '/', '&', '|', '!' and so on, so
//     `&&` and `||` must be separated from a preceding bareword by whitespace:
//     `a == b&&c` compares with the value "b&&c". A value in single quotes may
//     contain anything; a quote inside it is written twice ('it''s'), there are no
//     other escapes.
//   - attribute:NAME: the name is 1 or more letters, digits, '-', '_', '/',
//     '\\' and '.', the characters ECS allows in attribute names. Every
//     operator except !exists requires the attribute to exist: on an instance
//     without it, ==, !=, in, not_in, =~, !~, >, >=, < and <= are all false
//     (ECS documents `attribute:stack != prod` this way), while
//     not(attribute:X == v) is true. ==, !=, in and not_in compare strings
//     exactly. >, >=, < and <= compare numerically when both the attribute
//     value and the expression's value are decimal numbers (an optional sign,
//     digits, an optional fraction; no exponent), so 10 > 9; otherwise they
//     compare the strings byte by byte, so "b" > "a" and "10" < "9x".
//   - agentConnected: the value must be true or false; =~ and !~ match the
//     regular expression against the text "true" or "false".
//   - agentVersion: versions are dot-separated non-negative integers compared
//     component by component, a missing component counting as 0 (1.9.0 <
//     1.14.5, 1.14 == 1.14.0). The value in the expression must be such a
//     version. In the instance's version a leading "v" is skipped and
//     everything from the first character that is neither a digit nor a dot
//     is ignored ("1.14.5-dev" compares as 1.14.5); an instance whose version
//     does not start with a digit (unknown, empty) matches no agentVersion
//     comparison, like a missing attribute.
//   - registeredAt: the value takes one of the four documented forms; without
//     a zone it is UTC, a date alone is that UTC day. The registration time is
//     compared at the precision of the value: a second, or a whole UTC day.
//     So `registeredAt == 2018-06-18` matches any time on that day,
//     `registeredAt < 2018-06-18` any time before its midnight and
//     `registeredAt > 2018-06-18` any time from the next midnight on; <= and
//     >= are the unions, so x <= d is always x < d or x == d.
//   - runningTasksCount: the value must be a decimal integer.
//   - task:group: ==, !=, in and not_in. `task:group == g` holds when the
//     instance runs at least one task of group g; != is its negation (no task
//     of g), in holds when a task of any listed group runs there and not_in
//     when none does. ECS lists no regular-expression operators for it.
//   - =~ and !~ take a regular expression in Go's RE2 syntax, which must match
//     the whole value (g2.* matches g2.2xlarge but not xg2); it is compiled by
//     ParseExpression. ECS documents Java regular expressions; RE2 is the
//     common subset and rejects, as a [SyntaxError], backreferences (\1),
//     lookahead and lookbehind ((?=, (?!, (?<=, (?<!), atomic groups ((?>),
//     possessive quantifiers (a*+), \G, \Z, \R, \X, \h and Java's
//     \p{javaLowerCase}-style classes. Matching takes linear time.
//   - Expressions are at most [MaxExpressionLength] characters and nest at
//     most [MaxExpressionDepth] levels of parentheses and not (not(...)
//     counts once). String never nests deeper than the text it came from,
//     but it may be longer (it adds spaces and quotes), so the canonical
//     form of an expression close to the length limit may exceed it.

// MaxExpressionLength is the longest expression, in characters (Unicode code
// points), that [ParseExpression] accepts: the ECS limit for a memberOf
// expression.
const MaxExpressionLength = 2000

// MaxExpressionDepth is how deeply [ParseExpression] lets parentheses and not
// nest (not(...) counts as one level), so that no input can exhaust the
// stack.
const MaxExpressionDepth = 100

// QueryTarget is what an [Expression] is evaluated against: one container
// instance. The methods are called from [Expression.Match], possibly from
// several goroutines at once if the caller shares a target.
type QueryTarget interface {
	// Attribute returns the value of the named attribute; ok is false when the
	// instance does not have it. An attribute may exist with an empty value.
	Attribute(name string) (value string, ok bool)
	// AgentConnected reports whether the container agent is connected.
	AgentConnected() bool
	// AgentVersion returns the container agent's version, e.g. "1.14.5".
	AgentVersion() string
	// EC2InstanceID returns the instance's EC2 id, e.g. "i-abcd1234".
	EC2InstanceID() string
	// RegisteredAt returns when the instance registered with the cluster.
	RegisteredAt() time.Time
	// RunningTasksCount returns the number of tasks in the RUNNING state.
	RunningTasksCount() int
	// HasTaskGroup reports whether at least one task of the group, not
	// stopped, is on the instance.
	HasTaskGroup(group string) bool
}

// Expression is a compiled cluster query language expression, as used by a
// memberOf placement constraint, e.g.
//
//	attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d
//
// Create one with [ParseExpression]. An Expression is immutable and safe for
// concurrent use; [Expression.Match] does not allocate. The zero Expression,
// like a memberOf constraint without an expression, matches every instance.
type Expression struct {
	root *node
	text string // canonical form, see String
}

// ParseExpression parses and compiles a cluster query language expression.
// Regular expressions are compiled and values (numbers, versions, times) are
// checked here, so that Match never fails. A malformed expression is reported
// as a *[SyntaxError].
func ParseExpression(s string) (*Expression, error) {
	root, err := parse(s)
	if err != nil {
		return nil, err
	}
	return newExpression(root), nil
}

// MustParseExpression is like [ParseExpression] but panics if the expression
// cannot be parsed. It simplifies initializing variables holding expressions
// known when the program is written, as [regexp.MustCompile] does.
func MustParseExpression(s string) *Expression {
	e, err := ParseExpression(s)
	if err != nil {
		panic("placement: MustParseExpression(" + quoteGo(s) + "): " + err.Error())
	}
	return e
}

func newExpression(root *node) *Expression {
	var b strings.Builder
	root.print(&b)
	return &Expression{root: root, text: b.String()}
}

// Match reports whether the instance t satisfies the expression. It does not
// allocate (unless t's methods do).
func (e *Expression) Match(t QueryTarget) bool {
	if e == nil || e.root == nil {
		return true
	}
	return e.root.eval(t)
}

// String returns the expression in canonical form, which ParseExpression
// parses back to an equivalent expression with the same canonical form:
// single spaces, the first spelling of each operator in the ECS table (==,
// !=, >, >=, <, <=, exists, !exists, in, !in, =~, !~), the words and, or and
// not(...), only the parentheses precedence needs, and values as written,
// single-quoted when they are not valid barewords. The zero Expression prints
// as "". As the canonical form may add spaces and quotes, it can exceed
// [MaxExpressionLength] (and so not parse) when the original text was close
// to it.
func (e *Expression) String() string {
	if e == nil {
		return ""
	}
	return e.text
}

// AttributeEquals exposes the part of the expression that an index can answer
// from per-attribute-value posting lists. It reports ok when the expression
// is `attribute:NAME == v` or `attribute:NAME in [v1, ...]`, or an `and` with
// such a conjunct (the one with the fewest values if several). values are the
// distinct values in increasing order, a fresh slice the caller may keep.
// Exactly one of them must be the instance's value of NAME for the expression
// to hold. exact reports whether that is also sufficient; when exact is false
// the other conjuncts remain and the candidates must still be checked with
// Match. Its cost is proportional to the size of the expression.
func (e *Expression) AttributeEquals() (name string, values []string, exact, ok bool) {
	name, values, exact, ok = e.attributeEquals()
	return name, slices.Clone(values), exact, ok
}

// SyntaxError reports a malformed cluster query language expression: where
// it is, what the parser expected there and what it found. Its message reads
// e.g.
//
//	column 24: expected a value after "==", found end of expression
type SyntaxError struct {
	// Expr is the expression being parsed.
	Expr string
	// Column is the 1-based position of the problem in Expr, counted in
	// characters (Unicode code points).
	Column int
	// Expected describes what would have been valid at Column.
	Expected string
	// Found is the text found at Column; empty means the end of the
	// expression.
	Found string
	// Err is the underlying cause, if any (e.g. from regexp or strconv).
	Err error
}

// Error implements error.
func (e *SyntaxError) Error() string {
	found := "end of expression"
	if e.Found != "" {
		found = quoteGo(e.Found)
	}
	msg := fmt.Sprintf("column %d: expected %s, found %s", e.Column, e.Expected, found)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying cause, if any.
func (e *SyntaxError) Unwrap() error { return e.Err }

// nodeKind says what a node is.
type nodeKind uint8

const (
	kindCond nodeKind = iota // a simple expression: subject operator [value]
	kindAnd
	kindOr
	kindNot
)

// subject is the left side of a simple expression.
type subject uint8

const (
	subjAttribute subject = iota
	subjAgentConnected
	subjAgentVersion
	subjEC2InstanceID
	subjRegisteredAt
	subjRunningTasksCount
	subjTaskGroup
)

var subjectNames = [...]string{
	subjAttribute:         "attribute:",
	subjAgentConnected:    "agentConnected",
	subjAgentVersion:      "agentVersion",
	subjEC2InstanceID:     "ec2InstanceId",
	subjRegisteredAt:      "registeredAt",
	subjRunningTasksCount: "runningTasksCount",
	subjTaskGroup:         "task:group",
}

// operator is the operator of a simple expression.
type operator uint8

const (
	opEq operator = iota
	opNe
	opGt
	opGe
	opLt
	opLe
	opExists
	opNotExists
	opIn
	opNotIn
	opMatches
	opNotMatches
)

// operatorSpellings lists each operator's spellings, canonical first.
var operatorSpellings = [...][]string{
	opEq:         {"==", "equals"},
	opNe:         {"!=", "not_equals"},
	opGt:         {">", "greater_than"},
	opGe:         {">=", "greater_than_equal"},
	opLt:         {"<", "less_than"},
	opLe:         {"<=", "less_than_equal"},
	opExists:     {"exists"},
	opNotExists:  {"!exists", "not_exists"},
	opIn:         {"in"},
	opNotIn:      {"!in", "not_in"},
	opMatches:    {"=~", "matches"},
	opNotMatches: {"!~", "not_matches"},
}

func (o operator) String() string { return operatorSpellings[o][0] }

// takesList reports whether the operator takes a list, noValue whether it
// takes no value at all.
func (o operator) takesList() bool { return o == opIn || o == opNotIn }
func (o operator) noValue() bool   { return o == opExists || o == opNotExists }

// validOperators lists the operators each subject accepts (docs/semantics.md
// §3.4 table), in canonical order.
var validOperators = [...][]operator{
	subjAttribute:         {opEq, opNe, opGt, opGe, opLt, opLe, opExists, opNotExists, opIn, opNotIn, opMatches, opNotMatches},
	subjAgentConnected:    {opEq, opNe, opIn, opNotIn, opMatches, opNotMatches},
	subjAgentVersion:      {opEq, opNe, opGt, opGe, opLt, opLe},
	subjEC2InstanceID:     {opEq, opNe, opIn, opNotIn, opMatches, opNotMatches},
	subjRegisteredAt:      {opEq, opNe, opGt, opGe, opLt, opLe},
	subjRunningTasksCount: {opEq, opNe, opGt, opGe, opLt, opLe},
	subjTaskGroup:         {opEq, opNe, opIn, opNotIn},
}

// smallSet is the list length up to which in and not_in scan the list;
// longer lists are looked up in a map.
const smallSet = 8

// node is one node of a compiled expression. A kindCond node holds the
// parsed simple expression and the values pre-computed from it, so that eval
// neither parses the expression's values nor allocates.
type node struct {
	kind nodeKind
	kids []*node // kindAnd, kindOr: two or more; kindNot: one

	subj   subject
	attr   string   // subjAttribute: the attribute name
	op     operator // the operator
	values []string // the values as written (one, or the list)

	distinct []string            // ==, in, not_in: values sorted, duplicates removed
	set      map[string]struct{} // in, not_in with more than smallSet distinct values
	re       *regexp.Regexp      // =~, !~: anchored
	num      decimal             // subjAttribute ordering: values[0] as a number
	isNum    bool                // whether values[0] is a number
	count    int                 // subjRunningTasksCount: values[0]
	version  []string            // subjAgentVersion: components without leading zeros
	lo, hi   time.Time           // subjRegisteredAt: [lo, hi) is the value's second or day
	ifTrue   bool                // subjAgentConnected: the result when connected
	ifFalse  bool                // subjAgentConnected: the result when not connected
}

func (n *node) eval(t QueryTarget) bool {
	switch n.kind {
	case kindAnd:
		for _, k := range n.kids {
			if !k.eval(t) {
				return false
			}
		}
		return true
	case kindOr:
		for _, k := range n.kids {
			if k.eval(t) {
				return true
			}
		}
		return false
	case kindNot:
		return !n.kids[0].eval(t)
	}
	switch n.subj {
	case subjAttribute:
		v, ok := t.Attribute(n.attr)
		switch {
		case n.op == opExists:
			return ok
		case n.op == opNotExists:
			return !ok
		case !ok:
			return false
		}
		return n.evalString(v)
	case subjAgentConnected:
		if t.AgentConnected() {
			return n.ifTrue
		}
		return n.ifFalse
	case subjAgentVersion:
		c, ok := compareVersion(t.AgentVersion(), n.version)
		return ok && holds(n.op, c)
	case subjEC2InstanceID:
		return n.evalString(t.EC2InstanceID())
	case subjRegisteredAt:
		at := t.RegisteredAt()
		c := 0
		if at.Before(n.lo) {
			c = -1
		} else if !at.Before(n.hi) {
			c = 1
		}
		return holds(n.op, c)
	case subjRunningTasksCount:
		return holds(n.op, cmpInt(t.RunningTasksCount(), n.count))
	case subjTaskGroup:
		switch n.op {
		case opEq:
			return t.HasTaskGroup(n.values[0])
		case opNe:
			return !t.HasTaskGroup(n.values[0])
		}
		found := slices.ContainsFunc(n.distinct, t.HasTaskGroup)
		return found == (n.op == opIn)
	}
	return false
}

// evalString applies a string operator to the subject's value v.
func (n *node) evalString(v string) bool {
	switch n.op {
	case opEq:
		return v == n.values[0]
	case opNe:
		return v != n.values[0]
	case opIn:
		return n.contains(v)
	case opNotIn:
		return !n.contains(v)
	case opMatches:
		return n.re.MatchString(v)
	case opNotMatches:
		return !n.re.MatchString(v)
	}
	// Ordering, only for attributes.
	if n.isNum {
		if d, ok := parseDecimal(v); ok {
			return holds(n.op, d.compare(n.num))
		}
	}
	return holds(n.op, strings.Compare(v, n.values[0]))
}

func (n *node) contains(v string) bool {
	if n.set != nil {
		_, ok := n.set[v]
		return ok
	}
	return slices.Contains(n.distinct, v)
}

// attributeEquals returns n if it is attribute:NAME == v or in [...].
func (n *node) attributeEquals() *node {
	if n.kind == kindCond && n.subj == subjAttribute && (n.op == opEq || n.op == opIn) {
		return n
	}
	return nil
}

// holds reports whether an ordering operator holds for a comparison result c
// (subject's value compared with the expression's value).
func holds(op operator, c int) bool {
	switch op {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opGt:
		return c > 0
	case opGe:
		return c >= 0
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	}
	return false
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// print writes the canonical form of n (see Expression.String).
func (n *node) print(b *strings.Builder) {
	switch n.kind {
	case kindAnd, kindOr:
		sep := " and "
		if n.kind == kindOr {
			sep = " or "
		}
		for i, k := range n.kids {
			if i > 0 {
				b.WriteString(sep)
			}
			switch {
			case k.kind == n.kind:
				// and and or are associative: print nested ones (which
				// the parser flattens but tests build) flat.
				k.print(b)
			case k.kind == kindOr:
				// and binds tighter than or.
				b.WriteByte('(')
				k.print(b)
				b.WriteByte(')')
			default:
				k.print(b)
			}
		}
	case kindNot:
		b.WriteString("not(")
		n.kids[0].print(b)
		b.WriteByte(')')
	case kindCond:
		b.WriteString(subjectNames[n.subj])
		b.WriteString(n.attr)
		b.WriteByte(' ')
		b.WriteString(n.op.String())
		switch {
		case n.op.noValue():
		case n.op.takesList():
			b.WriteString(" [")
			for i, v := range n.values {
				if i > 0 {
					b.WriteString(", ")
				}
				writeValue(b, v)
			}
			b.WriteByte(']')
		default:
			b.WriteByte(' ')
			writeValue(b, n.values[0])
		}
	}
}

// writeValue writes v as a bareword if it is one, else single-quoted with
// quotes doubled.
func writeValue(b *strings.Builder, v string) {
	bare := v != ""
	for i := 0; i < len(v) && bare; i++ {
		bare = !isSpace(v[i]) && !isDelimiter(v[i])
	}
	if bare {
		b.WriteString(v)
		return
	}
	b.WriteByte('\'')
	b.WriteString(strings.ReplaceAll(v, "'", "''"))
	b.WriteByte('\'')
}

// decimal is a decimal number split into its parts, compared exactly:
// integer digits without leading zeros, fraction digits without trailing
// zeros. Zero is never negative. It refers to the parsed string and so does
// not allocate.
type decimal struct {
	neg        bool
	int, fract string
}

// parseDecimal parses an optional sign, one or more digits and an optional
// fraction ('.' and one or more digits).
func parseDecimal(s string) (decimal, bool) {
	var d decimal
	if s != "" && (s[0] == '-' || s[0] == '+') {
		d.neg = s[0] == '-'
		s = s[1:]
	}
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == 0 {
		return decimal{}, false
	}
	d.int, s = strings.TrimLeft(s[:i], "0"), s[i:]
	if s != "" {
		if s[0] != '.' || len(s) == 1 {
			return decimal{}, false
		}
		for j := 1; j < len(s); j++ {
			if !isDigit(s[j]) {
				return decimal{}, false
			}
		}
		d.fract = strings.TrimRight(s[1:], "0")
	}
	if d.int == "" && d.fract == "" {
		d.neg = false
	}
	return d, true
}

// compare returns -1, 0 or +1 as d is less than, equal to or greater than e.
func (d decimal) compare(e decimal) int {
	if d.neg != e.neg {
		if d.neg {
			return -1
		}
		return 1
	}
	c := cmpInt(len(d.int), len(e.int))
	if c == 0 {
		c = strings.Compare(d.int, e.int)
	}
	if c == 0 {
		c = strings.Compare(d.fract, e.fract)
	}
	if d.neg {
		return -c
	}
	return c
}

// parseVersionLiteral splits a version written in an expression, one or more
// dot-separated digit strings, into components without leading zeros.
func parseVersionLiteral(s string) ([]string, bool) {
	parts := strings.Split(s, ".")
	for i, p := range parts {
		if p == "" || strings.IndexFunc(p, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
			return nil, false
		}
		parts[i] = strings.TrimLeft(p, "0")
	}
	return parts, true
}

// compareVersion compares an instance's agent version with a parsed version
// literal. ok is false when v does not start with a digit (after an optional
// "v"). Parsing stops at the first character that is neither a digit nor a
// dot.
func compareVersion(v string, lit []string) (c int, ok bool) {
	if v != "" && v[0] == 'v' {
		v = v[1:]
	}
	if v == "" || !isDigit(v[0]) {
		return 0, false
	}
	for i := 0; v != "" || i < len(lit); i++ {
		// Take v's next component.
		j := 0
		for j < len(v) && isDigit(v[j]) {
			j++
		}
		comp := strings.TrimLeft(v[:j], "0")
		switch {
		case j < len(v) && v[j] == '.':
			v = v[j+1:]
		default:
			v = "" // end, or a suffix to ignore
		}
		var want string
		if i < len(lit) {
			want = lit[i]
		}
		if c := cmpInt(len(comp), len(want)); c != 0 {
			return c, true
		}
		if c := strings.Compare(comp, want); c != 0 {
			return c, true
		}
	}
	return 0, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// attributeEquals is [Expression.AttributeEquals] without the copy, for the
// engine's hot path: values must not be modified.
func (e *Expression) attributeEquals() (name string, values []string, exact, ok bool) {
	if e == nil || e.root == nil {
		return "", nil, false, false
	}
	if c := e.root.attributeEquals(); c != nil {
		return c.attr, c.distinct, true, true
	}
	if e.root.kind != kindAnd {
		return "", nil, false, false
	}
	var best *node
	for _, k := range e.root.kids {
		if c := k.attributeEquals(); c != nil && (best == nil || len(c.distinct) < len(best.distinct)) {
			best = c
		}
	}
	if best == nil {
		return "", nil, false, false
	}
	return best.attr, best.distinct, false, true
}
