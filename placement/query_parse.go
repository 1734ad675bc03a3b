package placement

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The parser is a recursive-descent parser over the grammar of
// docs/semantics.md §3.4, scanning as it goes: what a piece of text means
// depends on where it is (after an operator, "and" is a value), so there is
// no separate token stream.
//
//	expr    := andExpr { ("||" | "or") andExpr }
//	andExpr := unary { ("&&" | "and") unary }
//	unary   := ("!" | "not") unary | "(" expr ")" | simple
//	simple  := subject op value | subject ("in" | "!in" | "not_in") list
//	         | subject ("exists" | "!exists" | "not_exists")
//	list    := "[" value { "," value } "]"
//	value   := bareword | "'" { char | "''" } "'"
//
// Nested and and or nodes are flattened: (a and b) and c is and(a, b, c).

// parser holds the state of one ParseExpression call.
type parser struct {
	s     string
	pos   int // byte offset of the next unread byte
	depth int // parentheses and not currently open
}

func parse(s string) (*node, error) {
	p := &parser{s: s}
	if utf8.RuneCountInString(s) > MaxExpressionLength {
		pos := 0
		for range MaxExpressionLength {
			_, size := utf8.DecodeRuneInString(s[pos:])
			pos += size
		}
		return nil, p.errorAt(pos, fmt.Sprintf("at most %d characters", MaxExpressionLength), nil)
	}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(s) {
		return nil, p.errorAt(p.pos, `"and", "or" or end of expression`, nil)
	}
	return n, nil
}

// errorAt returns a SyntaxError at byte offset pos, whose Found is the token
// there.
func (p *parser) errorAt(pos int, expected string, cause error) *SyntaxError {
	return p.errorFound(pos, expected, p.tokenAt(pos), cause)
}

func (p *parser) errorFound(pos int, expected, found string, cause error) *SyntaxError {
	return &SyntaxError{
		Expr:     p.s,
		Column:   utf8.RuneCountInString(p.s[:pos]) + 1,
		Expected: expected,
		Found:    found,
		Err:      cause,
	}
}

// tokenAt returns the text at byte offset pos for an error message: a
// delimiter, or the run of other non-space characters (at most 40 bytes).
func (p *parser) tokenAt(pos int) string {
	rest := p.s[pos:]
	if rest == "" {
		return ""
	}
	if isDelimiter(rest[0]) || isSpace(rest[0]) {
		return rest[:1]
	}
	i := 0
	for i < len(rest) && !isSpace(rest[i]) && !isDelimiter(rest[i]) {
		i++
	}
	if i > 40 {
		i = 40
		for i > 0 && !utf8.RuneStart(rest[i]) {
			i--
		}
	}
	return rest[:i]
}

func (p *parser) skipSpace() {
	for p.pos < len(p.s) && isSpace(p.s[p.pos]) {
		p.pos++
	}
}

// peekWord returns the run of word characters at the current position.
func (p *parser) peekWord() string {
	i := p.pos
	for i < len(p.s) && isWordChar(p.s[i]) {
		i++
	}
	return p.s[p.pos:i]
}

// keyword consumes sym or word (a whole word) if either comes next.
func (p *parser) keyword(sym, word string) bool {
	p.skipSpace()
	if strings.HasPrefix(p.s[p.pos:], sym) {
		p.pos += len(sym)
		return true
	}
	if p.peekWord() == word {
		p.pos += len(word)
		return true
	}
	return false
}

func (p *parser) parseOr() (*node, error) {
	return p.parseList(kindOr, "||", "or", (*parser).parseAnd)
}

func (p *parser) parseAnd() (*node, error) {
	return p.parseList(kindAnd, "&&", "and", (*parser).parseUnary)
}

// parseList parses operands joined by sym or word into a flattened node of
// the given kind.
func (p *parser) parseList(kind nodeKind, sym, word string, operand func(*parser) (*node, error)) (*node, error) {
	var kids []*node
	for {
		n, err := operand(p)
		if err != nil {
			return nil, err
		}
		if n.kind == kind {
			kids = append(kids, n.kids...)
		} else {
			kids = append(kids, n)
		}
		if !p.keyword(sym, word) {
			break
		}
	}
	if len(kids) == 1 {
		return kids[0], nil
	}
	return &node{kind: kind, kids: kids}, nil
}

// enter counts one more level of nesting at byte offset pos.
func (p *parser) enter(pos int) error {
	p.depth++
	if p.depth > MaxExpressionDepth {
		return p.errorAt(pos, fmt.Sprintf("at most %d levels of parentheses and not", MaxExpressionDepth), nil)
	}
	return nil
}

func (p *parser) parseUnary() (*node, error) {
	p.skipSpace()
	start := p.pos
	switch {
	case strings.HasPrefix(p.s[p.pos:], "("):
		if err := p.enter(start); err != nil {
			return nil, err
		}
		n, err := p.parseGroup()
		if err != nil {
			return nil, err
		}
		p.depth--
		return n, nil
	case strings.HasPrefix(p.s[p.pos:], "!"), p.peekWord() == "not":
		if err := p.enter(start); err != nil {
			return nil, err
		}
		if p.s[p.pos] == '!' {
			p.pos++
		} else {
			p.pos += len("not")
		}
		// not(...) is one level, as String prints every not.
		var n *node
		var err error
		if p.skipSpace(); strings.HasPrefix(p.s[p.pos:], "(") {
			n, err = p.parseGroup()
		} else {
			n, err = p.parseUnary()
		}
		if err != nil {
			return nil, err
		}
		p.depth--
		return &node{kind: kindNot, kids: []*node{n}}, nil
	}
	return p.parseSimple()
}

// parseGroup parses "(" expr ")".
func (p *parser) parseGroup() (*node, error) {
	p.pos++ // "("
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !strings.HasPrefix(p.s[p.pos:], ")") {
		return nil, p.errorAt(p.pos, `"and", "or" or ")"`, nil)
	}
	p.pos++
	return n, nil
}

const expectedSubject = "a subject (attribute:NAME, agentConnected, agentVersion, ec2InstanceId, " +
	"registeredAt, runningTasksCount or task:group), \"not\" or \"(\""

func (p *parser) parseSimple() (*node, error) {
	start := p.pos
	word := p.peekWord()
	n := &node{kind: kindCond}
	const attrPrefix = "attribute:"
	switch name, isAttr := strings.CutPrefix(word, attrPrefix); {
	case isAttr && name == "":
		return nil, p.errorAt(start+len(attrPrefix), `an attribute name after "attribute:"`, nil)
	case isAttr:
		if i := strings.IndexByte(name, ':'); i >= 0 {
			pos := start + len(attrPrefix) + i
			return nil, p.errorFound(pos, `an attribute name of letters, digits, "-", "_", "/", "\" and "."`, ":", nil)
		}
		n.subj, n.attr = subjAttribute, name
	default:
		i := slices.Index(subjectNames[:], word)
		if word == "" || i <= int(subjAttribute) {
			return nil, p.errorAt(start, expectedSubject, nil)
		}
		n.subj = subject(i)
	}
	p.pos += len(word)

	p.skipSpace()
	opPos := p.pos
	op, opText, ok := p.scanOperator()
	if !ok || !slices.Contains(validOperators[n.subj], op) {
		spellings := make([]string, 0, 2*len(validOperators[n.subj]))
		for _, o := range validOperators[n.subj] {
			spellings = append(spellings, operatorSpellings[o]...)
		}
		expected := fmt.Sprintf("an operator valid for %s (%s)", word, strings.Join(spellings, ", "))
		return nil, p.errorAt(opPos, expected, nil)
	}
	p.pos += len(opText)
	n.op = op

	var valuePos []int
	switch {
	case op.noValue():
	case op.takesList():
		p.skipSpace()
		if !strings.HasPrefix(p.s[p.pos:], "[") {
			return nil, p.errorAt(p.pos, fmt.Sprintf(`"[" to start a list after %q`, opText), nil)
		}
		p.pos++
		after := "["
		for {
			pos, v, err := p.scanValue(after)
			if err != nil {
				return nil, err
			}
			n.values = append(n.values, v)
			valuePos = append(valuePos, pos)
			p.skipSpace()
			if strings.HasPrefix(p.s[p.pos:], ",") {
				p.pos++
				after = ","
				continue
			}
			if strings.HasPrefix(p.s[p.pos:], "]") {
				p.pos++
				break
			}
			return nil, p.errorAt(p.pos, `"," or "]"`, nil)
		}
	default:
		pos, v, err := p.scanValue(opText)
		if err != nil {
			return nil, err
		}
		n.values = []string{v}
		valuePos = []int{pos}
	}

	if i, expected, err := compileCond(n); expected != "" {
		return nil, p.errorFound(valuePos[i], expected, n.values[i], err)
	}
	return n, nil
}

// operatorSymbols are the operators written with symbols, longest first
// where one is a prefix of another.
var operatorSymbols = [...]struct {
	text string
	op   operator
}{
	{"!exists", opNotExists},
	{"!in", opNotIn},
	{"==", opEq},
	{"!=", opNe},
	{">=", opGe},
	{"<=", opLe},
	{"=~", opMatches},
	{"!~", opNotMatches},
	{">", opGt},
	{"<", opLt},
}

// scanOperator recognizes the operator at the current position without
// consuming it.
func (p *parser) scanOperator() (op operator, text string, ok bool) {
	rest := p.s[p.pos:]
	for _, s := range operatorSymbols {
		if !strings.HasPrefix(rest, s.text) {
			continue
		}
		if isWordChar(s.text[len(s.text)-1]) && len(rest) > len(s.text) && isWordChar(rest[len(s.text)]) {
			continue // e.g. "!inside"
		}
		return s.op, s.text, true
	}
	word := p.peekWord()
	for o, spellings := range operatorSpellings {
		if word != "" && slices.Contains(spellings, word) {
			return operator(o), word, true
		}
	}
	return 0, "", false
}

// scanValue scans a bareword or quoted value, the first after the text
// after (for the error message); pos is where it starts.
func (p *parser) scanValue(after string) (pos int, value string, err error) {
	p.skipSpace()
	pos = p.pos
	rest := p.s[p.pos:]
	if rest == "" || (isDelimiter(rest[0]) && rest[0] != '\'') {
		return pos, "", p.errorAt(pos, fmt.Sprintf("a value after %q", after), nil)
	}
	if rest[0] != '\'' {
		i := 0
		for i < len(rest) && !isSpace(rest[i]) && !isDelimiter(rest[i]) {
			i++
		}
		p.pos += i
		return pos, rest[:i], nil
	}
	var b strings.Builder
	i := 1
	for {
		j := strings.IndexByte(rest[i:], '\'')
		if j < 0 {
			expected := fmt.Sprintf(`"'" to end the value quoted at column %d`, utf8.RuneCountInString(p.s[:pos])+1)
			return pos, "", p.errorAt(len(p.s), expected, nil)
		}
		b.WriteString(rest[i : i+j])
		i += j + 1
		if i < len(rest) && rest[i] == '\'' { // '' is a quote
			b.WriteByte('\'')
			i++
			continue
		}
		p.pos += i
		return pos, b.String(), nil
	}
}

// compileCond checks the values of a simple expression against its subject
// and fills in what eval needs. If a value is invalid it returns its index,
// what was expected instead (non-empty) and possibly a cause.
func compileCond(n *node) (bad int, expected string, cause error) {
	if n.op.takesList() || n.op == opEq {
		n.distinct = slices.Compact(slices.Sorted(slices.Values(n.values)))
		if len(n.distinct) > smallSet {
			n.set = make(map[string]struct{}, len(n.distinct))
			for _, v := range n.distinct {
				n.set[v] = struct{}{}
			}
		}
	}
	if n.op == opMatches || n.op == opNotMatches {
		re, err := compileFullMatch(n.values[0])
		if err != nil {
			return 0, "a valid regular expression (Go RE2 syntax)", err
		}
		n.re = re
	}
	switch n.subj {
	case subjAttribute:
		if !n.op.noValue() {
			n.num, n.isNum = parseDecimal(n.values[0])
		}
	case subjAgentConnected:
		if n.re == nil {
			for i, v := range n.values {
				if v != "true" && v != "false" {
					return i, "true or false", nil
				}
			}
		}
		n.ifTrue, n.ifFalse = n.evalString("true"), n.evalString("false")
	case subjAgentVersion:
		v, ok := parseVersionLiteral(n.values[0])
		if !ok {
			return 0, "a version such as 1.14.5", nil
		}
		n.version = v
	case subjRegisteredAt:
		lo, hi, err := parseTime(n.values[0])
		if err != nil {
			return 0, "a time such as 2018-06-18T22:28:28+00:00, 2018-06-18T22:28:28Z, 2018-06-18T22:28:28 or 2018-06-18", err
		}
		n.lo, n.hi = lo, hi
	case subjRunningTasksCount:
		c, err := strconv.Atoi(n.values[0])
		if err != nil {
			return 0, "an integer", err
		}
		n.count = c
	}
	return 0, "", nil
}

// compileFullMatch compiles a regular expression that must match a whole
// string. The expression is parsed on its own first, and the anchors are
// put around its parsed form: wrapping the text itself would let a\)|\(b or
// an unterminated \Q escape the anchors.
func compileFullMatch(expr string) (*regexp.Regexp, error) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, err
	}
	return regexp.Compile(`^(?:` + re.String() + `)$`)
}

// parseTime parses a registeredAt value and returns the interval [lo, hi)
// it denotes: its second, or its UTC day for a date alone.
func parseTime(s string) (lo, hi time.Time, err error) {
	layout, precision := "", time.Second
	switch {
	case len(s) == len("2006-01-02"):
		layout = time.DateOnly
	case len(s) == len("2006-01-02T15:04:05"):
		layout = "2006-01-02T15:04:05"
	case len(s) == len("2006-01-02T15:04:05Z") && s[19] == 'Z',
		len(s) == len("2006-01-02T15:04:05+00:00") && (s[19] == '+' || s[19] == '-'):
		layout = time.RFC3339
	default:
		return lo, hi, fmt.Errorf("%q has none of the four forms", s)
	}
	lo, err = time.Parse(layout, s)
	if err != nil {
		return lo, hi, err
	}
	if layout == time.DateOnly {
		return lo, lo.AddDate(0, 0, 1), nil
	}
	return lo, lo.Add(precision), nil
}

// isSpace reports whether c is ASCII white space, which separates tokens.
func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f':
		return true
	}
	return false
}

// isDelimiter reports whether c ends a bareword.
func isDelimiter(c byte) bool {
	switch c {
	case ',', '[', ']', '(', ')', '\'':
		return true
	}
	return false
}

// isWordChar reports whether c may be part of a subject or keyword.
func isWordChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || isDigit(c) ||
		c == '_' || c == ':' || c == '.' || c == '-' || c == '/' || c == '\\'
}

func quoteGo(s string) string { return strconv.Quote(s) }
