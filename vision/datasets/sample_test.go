package datasets

import "testing"

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"L1/L2", 0, true}, {"l1_l2", 0, true}, {"L5/S1", 4, true}, {"l5_s1", 4, true},
		{" L3-L4 ", 2, true}, {"l4/l5", 3, true},
		{"L6/L7", 0, false}, {"", 0, false}, {"L1", 0, false},
	}
	for _, tc := range tests {
		got, err := ParseLevel(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseLevel(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	for l := range Levels {
		if got, err := ParseLevel(LevelSuffix(l)); err != nil || got != l {
			t.Errorf("ParseLevel(LevelSuffix(%d) = %q) = %d, %v", l, LevelSuffix(l), got, err)
		}
	}
}

func TestParseGrade(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"Normal/Mild", 0, true}, {"normal/mild", 0, true}, {"Moderate", 1, true}, {" Severe", 2, true},
		{"2", 2, true}, {"Mild", 0, false}, {"", 0, false}, {"Severe!", 0, false},
	}
	for _, tc := range tests {
		got, err := ParseGrade(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseGrade(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
