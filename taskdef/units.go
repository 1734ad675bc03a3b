package taskdef

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// ParseCPU converts a task-level cpu string to CPU units: plain units
// ("1024") or vCPU ("1 vCPU", "0.5 vCPU", 1 vCPU = 1024 units). The unit is
// case-insensitive and may be preceded by spaces. [INF] A vCPU value that is
// not a whole number of units ("0.3 vCPU") is rejected rather than rounded.
// The empty string is an error: callers treat "" as unset before calling.
func ParseCPU(s string) (int64, error) {
	return parseUnits(s, "vcpu", "cpu")
}

// ParseMemory converts a task-level memory string to MiB: plain MiB ("2048")
// or GB ("1GB", "0.5 GB", 1 GB = 1024 MiB), case-insensitive. As with
// [ParseCPU], fractions must give a whole number of MiB.
func ParseMemory(s string) (int64, error) {
	return parseUnits(s, "gb", "memory")
}

// maxUnitValue bounds parsed values so that sums over ten containers and
// unit conversions cannot overflow. [INF]
const maxUnitValue = 1 << 40

func parseUnits(s, unit, what string) (int64, error) {
	t := strings.TrimSpace(s)
	scaled := false
	if len(t) > len(unit) && strings.EqualFold(t[len(t)-len(unit):], unit) {
		t = strings.TrimSpace(t[:len(t)-len(unit)])
		scaled = true
	}
	if t == "" || len(t) > 20 {
		return 0, fmt.Errorf("taskdef: invalid %s value %q", what, s)
	}
	if !scaled {
		for _, c := range t {
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("taskdef: invalid %s value %q", what, s)
			}
		}
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil || n > maxUnitValue {
			return 0, fmt.Errorf("taskdef: invalid %s value %q", what, s)
		}
		return n, nil
	}
	// A decimal number: digits, optionally a dot and more digits.
	intPart, frac, hasDot := strings.Cut(t, ".")
	if intPart == "" && (!hasDot || frac == "") {
		return 0, fmt.Errorf("taskdef: invalid %s value %q", what, s)
	}
	for _, c := range intPart + frac {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("taskdef: invalid %s value %q", what, s)
		}
	}
	r, ok := new(big.Rat).SetString(t)
	if !ok {
		return 0, fmt.Errorf("taskdef: invalid %s value %q", what, s)
	}
	r.Mul(r, big.NewRat(1024, 1))
	if !r.IsInt() || !r.Num().IsInt64() || r.Num().Int64() > maxUnitValue {
		return 0, fmt.Errorf("taskdef: invalid %s value %q", what, s)
	}
	return r.Num().Int64(), nil
}
