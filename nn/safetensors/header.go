package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"unicode/utf8"
)

// entry is one validated tensor entry of a header.
type entry struct {
	name       string
	dtype      DType
	shape      []int
	begin, end int64 // byte range within the data section
}

type header struct {
	metadata map[string]string
	entries  []entry // in header order
}

// parseHeader decodes and validates a JSON header against a data section
// of dataSize bytes. It walks the JSON token by token to keep the file's key
// order and to reject duplicate keys, which encoding/json would merge.
func parseHeader(hdr []byte, dataSize int64) (*header, error) {
	if !utf8.Valid(hdr) {
		return nil, errors.New("header is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(hdr))
	dec.UseNumber()
	if err := expectDelim(dec, '{'); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	h := &header{}
	seen := make(map[string]bool)
	for dec.More() {
		key, err := stringToken(dec)
		if err != nil {
			return nil, fmt.Errorf("header: %w", err)
		}
		if seen[key] {
			return nil, fmt.Errorf("header: duplicate key %q", key)
		}
		seen[key] = true
		if key == metadataKey {
			if h.metadata, err = parseMetadata(dec); err != nil {
				return nil, fmt.Errorf("header: %s: %w", metadataKey, err)
			}
			continue
		}
		e, err := parseEntry(dec)
		if err != nil {
			return nil, fmt.Errorf("header: tensor %q: %w", key, err)
		}
		e.name = key
		h.entries = append(h.entries, e)
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = fmt.Errorf("unexpected %v", tok)
		}
		return nil, fmt.Errorf("header: trailing data after the JSON object: %w", err)
	}
	if h.metadata == nil {
		h.metadata = map[string]string{}
	}
	if err := checkRanges(h.entries, dataSize); err != nil {
		return nil, err
	}
	return h, nil
}

func parseMetadata(dec *json.Decoder) (map[string]string, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if tok == nil { // "__metadata__": null means none, as in the reference
		return nil, nil
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("expected an object of strings, found %s", describe(tok))
	}
	m := make(map[string]string)
	for dec.More() {
		k, err := stringToken(dec)
		if err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("duplicate key %q", k)
		}
		v, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("key %q: expected a string value, found %s", k, describe(v))
		}
		m[k] = s
	}
	return m, expectDelim(dec, '}')
}

// parseEntry decodes {"dtype": ..., "shape": [...], "data_offsets": [b, e]}
// and checks it on its own; ranges across entries are checked later.
func parseEntry(dec *json.Decoder) (entry, error) {
	var e entry
	if err := expectDelim(dec, '{'); err != nil {
		return e, err
	}
	var haveDType, haveShape, haveOffsets bool
	var offsets []uint64
	for dec.More() {
		field, err := stringToken(dec)
		if err != nil {
			return e, err
		}
		switch field {
		case "dtype":
			if haveDType {
				return e, errors.New(`duplicate field "dtype"`)
			}
			haveDType = true
			tok, err := dec.Token()
			if err != nil {
				return e, fmt.Errorf("dtype: %w", err)
			}
			s, ok := tok.(string)
			if !ok {
				return e, fmt.Errorf("dtype: expected a string, found %s", describe(tok))
			}
			e.dtype = DType(s)
			if !e.dtype.Valid() {
				return e, fmt.Errorf("unknown dtype %q", s)
			}
		case "shape":
			if haveShape {
				return e, errors.New(`duplicate field "shape"`)
			}
			haveShape = true
			dims, err := uintArray(dec, -1)
			if err != nil {
				return e, fmt.Errorf("shape: %w", err)
			}
			e.shape = make([]int, len(dims))
			for i, d := range dims {
				if d > math.MaxInt {
					return e, fmt.Errorf("shape: dimension %d is out of range", d)
				}
				e.shape[i] = int(d)
			}
		case "data_offsets":
			if haveOffsets {
				return e, errors.New(`duplicate field "data_offsets"`)
			}
			haveOffsets = true
			if offsets, err = uintArray(dec, 2); err != nil {
				return e, fmt.Errorf("data_offsets: %w", err)
			}
		default: // unknown fields are ignored, as serde does by default
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return e, fmt.Errorf("field %q: %w", field, err)
			}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return e, err
	}
	switch {
	case !haveDType:
		return e, errors.New(`missing field "dtype"`)
	case !haveShape:
		return e, errors.New(`missing field "shape"`)
	case !haveOffsets:
		return e, errors.New(`missing field "data_offsets"`)
	}
	if offsets[0] > offsets[1] {
		return e, fmt.Errorf("data_offsets [%d, %d]: begin is after end", offsets[0], offsets[1])
	}
	if offsets[1] > math.MaxInt64 {
		return e, fmt.Errorf("data_offsets [%d, %d]: end is out of range", offsets[0], offsets[1])
	}
	e.begin, e.end = int64(offsets[0]), int64(offsets[1])
	n, ok := numElements(e.shape)
	size := e.dtype.Size()
	if !ok || n > math.MaxInt64/size {
		return e, fmt.Errorf("shape %v: element count overflows", e.shape)
	}
	if want := int64(n * size); want != e.end-e.begin {
		return e, fmt.Errorf("shape %v with dtype %s needs %d bytes, data_offsets [%d, %d] span %d",
			e.shape, e.dtype, want, e.begin, e.end, e.end-e.begin)
	}
	return e, nil
}

// checkRanges verifies that every tensor lies inside the data section and
// that no two tensors share bytes.
func checkRanges(entries []entry, dataSize int64) error {
	for _, e := range entries {
		if e.end > dataSize {
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] run past the %d-byte data section",
				e.name, e.begin, e.end, dataSize)
		}
	}
	byBegin := make([]*entry, 0, len(entries))
	for i := range entries {
		if entries[i].end > entries[i].begin { // empty tensors overlap nothing
			byBegin = append(byBegin, &entries[i])
		}
	}
	sort.Slice(byBegin, func(i, j int) bool { return byBegin[i].begin < byBegin[j].begin })
	for i := 1; i < len(byBegin); i++ {
		prev, cur := byBegin[i-1], byBegin[i]
		if cur.begin < prev.end {
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] overlap tensor %q at [%d, %d]",
				cur.name, cur.begin, cur.end, prev.name, prev.begin, prev.end)
		}
	}
	return nil
}

// uintArray reads a JSON array of non-negative integers; want < 0 accepts
// any length. Lengths are bounded by the header, itself bounded in size.
func uintArray(dec *json.Decoder, want int) ([]uint64, error) {
	if err := expectDelim(dec, '['); err != nil {
		return nil, err
	}
	out := []uint64{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, fmt.Errorf("expected a non-negative integer, found %s", describe(tok))
		}
		v, err := strconv.ParseUint(string(num), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("expected a non-negative integer, found %s", num)
		}
		out = append(out, v)
	}
	if err := expectDelim(dec, ']'); err != nil {
		return nil, err
	}
	if want >= 0 && len(out) != want {
		return nil, fmt.Errorf("expected %d integers, found %d", want, len(out))
	}
	return out, nil
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return fmt.Errorf("expected %q, found the end of the header", d)
		}
		return err
	}
	if tok != d {
		return fmt.Errorf("expected %q, found %s", d, describe(tok))
	}
	return nil
}

func stringToken(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("expected a string key, found %s", describe(tok))
	}
	return s, nil
}

func describe(tok json.Token) string {
	switch v := tok.(type) {
	case nil:
		return "null"
	case json.Delim:
		return strconv.Quote(v.String())
	case string:
		return "string " + strconv.Quote(v)
	case json.Number:
		return "number " + v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return fmt.Sprint(tok)
}

// encodeHeader returns the length prefix, the JSON header and its padding.
func encodeHeader(f *File, names []string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("{")
	first := true
	sep := func() {
		if !first {
			b.WriteByte(',')
		}
		first = false
	}
	if len(f.Metadata) > 0 {
		sep()
		writeJSONString(&b, metadataKey)
		b.WriteString(":{")
		keys := make([]string, 0, len(f.Metadata))
		for k := range f.Metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(&b, k)
			b.WriteByte(':')
			writeJSONString(&b, f.Metadata[k])
		}
		b.WriteByte('}')
	}
	var off int64
	for _, name := range names {
		t := f.Tensors[name]
		sep()
		writeJSONString(&b, name)
		b.WriteString(`:{"dtype":`)
		writeJSONString(&b, string(t.DType))
		b.WriteString(`,"shape":[`)
		for i, d := range t.Shape {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(d))
		}
		end := off + int64(len(t.Data))
		fmt.Fprintf(&b, `],"data_offsets":[%d,%d]}`, off, end)
		off = end
	}
	b.WriteByte('}')
	// Pad so that the data section starts 8-byte aligned.
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	if b.Len() > MaxHeaderSize {
		return nil, fmt.Errorf("header of %d bytes exceeds the limit of %d", b.Len(), MaxHeaderSize)
	}
	out := make([]byte, 8+b.Len())
	binary.LittleEndian.PutUint64(out, uint64(b.Len()))
	copy(out[8:], b.Bytes())
	return out, nil
}

// writeJSONString writes s as a JSON string. Unlike json.Marshal it leaves
// <, > and & unescaped, as the reference writer does.
func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)           // cannot fail for a string
	b.Truncate(b.Len() - 1) // Encode appends a newline
}
