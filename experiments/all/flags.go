package main

import (
	"fmt"
	"strconv"
	"strings"
)

// The study's command line is Python argparse's: `--models a b c` takes
// every value up to the next flag (nargs='+'), and `--freeze_backbone True`
// takes its value as the next argument. Go's flag package stops at the
// first non-flag argument and reads a bool flag's value only after `=`,
// so the arguments are first rewritten into its form.

// listFlags are the flags that take several values, as argparse's nargs='+'.
var listFlags = map[string]bool{"models": true}

// joinListArgs rewrites `--models a b c` (and `-models a,b c`) into
// `--models=a,b,c`; other arguments pass through unchanged.
func joinListArgs(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		name := strings.TrimLeft(a, "-")
		if !strings.HasPrefix(a, "-") || strings.Contains(name, "=") || !listFlags[name] {
			out = append(out, a)
			continue
		}
		var vals []string
		for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			i++
			vals = append(vals, args[i])
		}
		if len(vals) == 0 {
			out = append(out, a) // the flag package reports the missing value
			continue
		}
		out = append(out, "--"+name+"="+strings.Join(vals, ","))
	}
	return out
}

// listValue is a comma-separated list flag; spaces are separators too.
type listValue []string

func (l *listValue) String() string { return strings.Join(*l, ",") }

func (l *listValue) Set(s string) error {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		out = append(out, f)
	}
	if len(out) == 0 {
		return fmt.Errorf("empty list")
	}
	*l = out
	return nil
}

// boolValue is a boolean flag that takes its value as the next argument,
// as argparse does: True/False, true/false, 1/0 (and yes/no).
type boolValue bool

func (b *boolValue) String() string {
	if *b {
		return "True"
	}
	return "False"
}

func (b *boolValue) Set(s string) error {
	switch strings.ToLower(s) {
	case "true", "1", "yes":
		*b = true
	case "false", "0", "no":
		*b = false
	default:
		return fmt.Errorf("%q: want True or False (or true/false, 1/0)", s)
	}
	return nil
}

// choiceValue is a string flag restricted to a few values.
type choiceValue struct {
	v       *string
	choices []string
}

func (c choiceValue) String() string {
	if c.v == nil {
		return ""
	}
	return *c.v
}

func (c choiceValue) Set(s string) error {
	for _, ok := range c.choices {
		if s == ok {
			*c.v = s
			return nil
		}
	}
	return fmt.Errorf("%q: want one of %s", s, strings.Join(c.choices, ", "))
}

// formatFloat prints a default as the study writes it (1e-4, 0.02).
func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
