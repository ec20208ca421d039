package autograd

import (
	"fmt"
	"strings"
)

// panicMessage runs f and returns what it panicked with ("" if nothing).
func panicMessage(f func()) (msg string) {
	defer func() {
		if p := recover(); p != nil {
			msg = fmt.Sprint(p)
		}
	}()
	f()
	return ""
}

func contains(s, sub string) bool { return sub != "" && strings.Contains(s, sub) }
