package datasets

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// table is a CSV file read whole, addressed by header name.
type table struct {
	path   string
	header []string
	col    map[string]int
	rows   [][]string
	lines  []int // line of each row in the file, for errors
}

// readTable reads a CSV file whose header must name every required column.
// Every record must have as many fields as the header.
func readTable(path string, required ...string) (*table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseTable(f, path, required...)
}

func parseTable(r io.Reader, path string, required ...string) (*table, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked below, with a clearer message
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file, want a header with %s", path, strings.Join(required, ","))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t := &table{path: path, header: header, col: make(map[string]int, len(header))}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		header[i] = h
		if _, dup := t.col[h]; dup {
			return nil, fmt.Errorf("%s:1: column %q appears twice in the header", path, h)
		}
		t.col[h] = i
	}
	for _, name := range required {
		if _, ok := t.col[name]; !ok {
			return nil, fmt.Errorf("%s:1: header %q lacks column %q (want %s)",
				path, strings.Join(header, ","), name, strings.Join(required, ","))
		}
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		var perr *csv.ParseError
		if errors.As(err, &perr) {
			return nil, fmt.Errorf("%s:%d: %v", path, perr.Line, perr.Err)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			return nil, fmt.Errorf("%s:%d: %d fields, want %d as in the header", path, line, len(rec), len(header))
		}
		t.rows = append(t.rows, rec)
		t.lines = append(t.lines, line)
	}
	return t, nil
}

// has reports whether the header names the column.
func (t *table) has(name string) bool { _, ok := t.col[name]; return ok }

// str returns row i's value in the named column, trimmed; "" if the
// column is absent.
func (t *table) str(i int, name string) string {
	c, ok := t.col[name]
	if !ok {
		return ""
	}
	return strings.TrimSpace(t.rows[i][c])
}

// errorf makes an error naming the file, the row's line and the column.
func (t *table) errorf(i int, name, format string, args ...any) error {
	return fmt.Errorf("%s:%d: column %s: %s", t.path, t.lines[i], name, fmt.Sprintf(format, args...))
}

func (t *table) int64(i int, name string) (int64, error) {
	s := t.str(i, name)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, t.errorf(i, name, "value %q is not an integer", s)
	}
	return v, nil
}

func (t *table) int(i int, name string) (int, error) {
	s := t.str(i, name)
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, t.errorf(i, name, "value %q is not an integer", s)
	}
	return v, nil
}

func (t *table) float(i int, name string) (float64, error) {
	s := t.str(i, name)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, t.errorf(i, name, "value %q is not a finite number", s)
	}
	return v, nil
}
