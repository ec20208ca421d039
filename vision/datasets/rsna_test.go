package datasets

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// rsnaMini returns the path of the shared rsna-mini folder, or skips.
func rsnaMini(t *testing.T) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "rsna-mini")
	if _, err := os.Stat(filepath.Join(p, TrainCSV)); err != nil {
		t.Skipf("rsna-mini not available: %v", err)
	}
	return p
}

// lines returns a simple CSV file's records split on commas (the
// rsna-mini files have no quoting), header first.
func lines(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, strings.Split(sc.Text(), ","))
	}
	return out
}

// countByHand counts the samples LoadRSNA should keep, straight from the
// CSVs: a grade, a T2 series, an SCS coordinate on it, and the file.
func countByHand(t *testing.T, root string) int {
	t2 := map[string]bool{} // study/series
	for _, r := range lines(t, filepath.Join(root, SeriesCSV))[1:] {
		if r[2] == SagittalT2 {
			t2[r[0]+"/"+r[1]] = true
		}
	}
	train := lines(t, filepath.Join(root, TrainCSV))
	labelled := map[string]bool{} // study/level
	for _, r := range train[1:] {
		for l := range Levels {
			if r[1+l] != "" { // the SCS columns come right after study_id
				labelled[r[0]+"/"+LevelName(l)] = true
			}
		}
	}
	n := 0
	for _, r := range lines(t, filepath.Join(root, CoordinatesCSV))[1:] {
		if r[3] != SpinalCanalStenosis || !t2[r[0]+"/"+r[1]] || !labelled[r[0]+"/"+r[4]] {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, ImagesDir, r[0], r[1], r[2]+".dcm")); err == nil {
			n++
		}
	}
	return n
}

func TestLoadRSNAMini(t *testing.T) {
	root := rsnaMini(t)
	d, sum, err := LoadRSNA(root)
	if err != nil {
		t.Fatal(err)
	}
	want := countByHand(t, root)
	t.Logf("rsna-mini: %d samples expected by hand, %d loaded\n%s", want, d.Len(), sum)
	if want != 39 || d.Len() != want || sum.Samples != want || sum.Studies != 12 {
		t.Fatalf("loaded %d samples (summary %d of %d studies), counted %d by hand, want 39 of 12",
			d.Len(), sum.Samples, sum.Studies, want)
	}
	// 60 cells = 39 kept + 21 skipped.
	wantSkips := map[Reason]int{NoLabel: 6, NoT2Series: 10, NoCoordinate: 5}
	for r := range numReasons {
		if got := sum.Count(r); got != wantSkips[r] {
			t.Errorf("skipped for %q: %d, want %d", r, got, wantSkips[r])
		}
	}
	skipped := map[int64]map[Reason]int{}
	for _, k := range sum.Skipped {
		if skipped[k.StudyID] == nil {
			skipped[k.StudyID] = map[Reason]int{}
		}
		skipped[k.StudyID][k.Reason]++
	}
	for _, tc := range []struct {
		study  int64
		reason Reason
		n      int
	}{
		{4007312, NoLabel, 5},         // all SCS labels empty
		{4116014985, NoLabel, 1},      // L5/S1 empty
		{3364821750, NoT2Series, 5},   // no T2 series
		{3863462180, NoT2Series, 5},   // no T2 series
		{3669052304, NoCoordinate, 5}, // SCS points on the T1 series only
	} {
		if got := skipped[tc.study][tc.reason]; got != tc.n {
			t.Errorf("study %d: %d cells skipped for %q, want %d", tc.study, got, tc.reason, tc.n)
		}
	}
	if s := sum.String(); !strings.Contains(s, "only on series 509320087 (Sagittal T1)") || !strings.Contains(s, "39 samples kept") {
		t.Errorf("summary lacks the T1 detail or the count:\n%s", s)
	}

	bySL := map[[2]int64]Sample{}
	for _, s := range Samples(d) {
		bySL[[2]int64{s.StudyID, int64(s.Level)}] = s
	}
	for _, want := range []Sample{
		{StudyID: 1198231127, SeriesID: 1357927036, InstanceNumber: 6, Level: 4, Grade: Severe, X: 149.09955857325238, Y: 176.56310869839433},
		{StudyID: 2148215207, SeriesID: 3755848296, InstanceNumber: 23, Level: 0, Grade: NormalMild, X: 136.02970724593683, Y: 64.17102104641371},
		{StudyID: 3280670013, SeriesID: 4105186962, InstanceNumber: 7, Level: 1, Grade: Severe, X: 108.6877609083028, Y: 80.710595338179},
		{StudyID: 4116014985, SeriesID: 2625169310, InstanceNumber: 7, Level: 3, Grade: Moderate, X: 78.16381238630561, Y: 110.61617675647439},
		{StudyID: 2669925636, SeriesID: 341942646, InstanceNumber: 23, Level: 4, Grade: Moderate, X: 115.8456862581169, Y: 160.61463210447405},
	} {
		got, ok := bySL[[2]int64{want.StudyID, int64(want.Level)}]
		want.ImagePath = filepath.Join(root, ImagesDir, strconv.FormatInt(want.StudyID, 10),
			strconv.FormatInt(want.SeriesID, 10), strconv.Itoa(want.InstanceNumber)+".dcm")
		if !ok || got != want {
			t.Errorf("study %d %s:\n got %+v\nwant %+v", want.StudyID, LevelName(want.Level), got, want)
		}
	}
	// The (study, level) order is sorted.
	for i := 1; i < d.Len(); i++ {
		a, b := d.Sample(i-1), d.Sample(i)
		if a.StudyID > b.StudyID || a.StudyID == b.StudyID && a.Level >= b.Level {
			t.Fatalf("samples %d and %d out of order", i-1, i)
		}
	}
	crossCheckTruth(t, root, d)
	crossCheckSummary(t, root, d, sum)

	// 1198231127's T2 series is 256 x 320 with BitsStored 12.
	i := 4
	if s := d.Sample(i); s.StudyID != 1198231127 {
		t.Fatalf("sample %d is study %d", i, s.StudyID)
	}
	m, err := d.Image(i)
	if err != nil {
		t.Fatal(err)
	}
	if m.C != 1 || m.H != 256 || m.W != 320 {
		t.Errorf("image %v, want 1x256x320", m)
	}
	for _, v := range m.Pix {
		if v < 0 || v > 4095 || v != float32(math.Round(float64(v))) {
			t.Fatalf("value %v is not a 12-bit stored value", v)
		}
	}
}

// crossCheckTruth compares the loaded samples with the generator's truth.
func crossCheckTruth(t *testing.T, root string, d *RSNA) {
	t.Helper()
	truth := lines(t, filepath.Join(root, "synthetic_truth.csv"))
	col := map[string]int{}
	for i, h := range truth[0] {
		col[h] = i
	}
	type fact struct {
		grade, instance int
		x, y            float64
		empty           bool
	}
	facts := map[[2]int64]fact{}
	for _, r := range truth[1:] {
		study, _ := strconv.ParseInt(r[col["study_id"]], 10, 64)
		level, err := ParseLevel(r[col["level"]])
		if err != nil {
			t.Fatal(err)
		}
		g, err := ParseGrade(r[col["severity_drawn"]])
		if err != nil {
			t.Fatal(err)
		}
		inst, _ := strconv.Atoi(r[col["instance_number"]])
		x, _ := strconv.ParseFloat(r[col["x"]], 64)
		y, _ := strconv.ParseFloat(r[col["y"]], 64)
		facts[[2]int64{study, int64(level)}] = fact{g, inst, x, y, r[col["label_cell_empty"]] == "True"}
	}
	for _, s := range Samples(d) {
		f, ok := facts[[2]int64{s.StudyID, int64(s.Level)}]
		switch {
		case !ok:
			t.Errorf("study %d %s: not in synthetic_truth.csv", s.StudyID, LevelName(s.Level))
		case f.empty || f.grade != s.Grade || f.instance != s.InstanceNumber:
			t.Errorf("study %d %s: grade %d instance %d, truth %+v", s.StudyID, LevelName(s.Level), s.Grade, s.InstanceNumber, f)
		case math.Hypot(f.x-s.X, f.y-s.Y) > 3:
			t.Errorf("study %d %s: point (%.1f, %.1f), truth (%.1f, %.1f)", s.StudyID, LevelName(s.Level), s.X, s.Y, f.x, f.y)
		}
	}
}

func TestSeriesFilesNumericOrder(t *testing.T) {
	root := rsnaMini(t)
	d, _, err := LoadRSNA(root)
	if err != nil {
		t.Fatal(err)
	}
	files, err := d.SeriesFiles(1198231127, 1357927036)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	want := "1.dcm 2.dcm 3.dcm 4.dcm 5.dcm 6.dcm 7.dcm 8.dcm 9.dcm 10.dcm"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// copyMini copies rsna-mini's CSVs to a temporary folder, edits one, and
// links the images.
func copyMini(t *testing.T, root, file string, edit func(string) string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{TrainCSV, SeriesCSV, CoordinatesCSV} {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if name == file {
			s = edit(s)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	abs, _ := filepath.Abs(filepath.Join(root, ImagesDir))
	if err := os.Symlink(abs, filepath.Join(dir, ImagesDir)); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadRSNAErrors(t *testing.T) {
	root := rsnaMini(t)
	replaceLine := func(n int, edit func(string) string) func(string) string {
		return func(s string) string {
			ls := strings.Split(s, "\n")
			ls[n-1] = edit(ls[n-1])
			return strings.Join(ls, "\n")
		}
	}
	tests := []struct {
		name string
		file string
		edit func(string) string
		want []string // all must appear in the error
	}{
		{"unknown grade", TrainCSV, replaceLine(3, func(l string) string { return strings.Replace(l, "Moderate", "Mild", 1) }),
			[]string{"train.csv:3", `"Mild"`, "spinal_canal_stenosis_l2_l3"}},
		{"unknown grade in another condition", TrainCSV, replaceLine(4, func(l string) string { return strings.Replace(l, "Severe", "Svere", 1) }),
			[]string{"train.csv:4", `"Svere"`}},
		{"header lacks study_id", TrainCSV, replaceLine(1, func(l string) string { return strings.Replace(l, "study_id", "study", 1) }),
			[]string{"train.csv:1", `"study_id"`}},
		{"non-numeric study id", TrainCSV, replaceLine(5, func(l string) string { return "x" + l }),
			[]string{"train.csv:5", "study_id", `"x`}},
		{"duplicate study", TrainCSV, replaceLine(4, func(string) string {
			return strings.Split(string(must(os.ReadFile(filepath.Join(root, TrainCSV)))), "\n")[2]
		}), []string{"train.csv:4", "twice"}},
		{"short series row", SeriesCSV, replaceLine(6, func(l string) string { return l[:strings.LastIndex(l, ",")] }),
			[]string{"train_series_descriptions.csv:6", "2 fields, want 3"}},
		{"bad series id", SeriesCSV, replaceLine(2, func(l string) string { return strings.Replace(l, ",", ",9z", 1) }),
			[]string{"train_series_descriptions.csv:2", "series_id", `"9z`}},
		{"bad coordinate", CoordinatesCSV, replaceLine(2, func(l string) string { return l[:strings.LastIndex(l, ",")] + ",abc" }),
			[]string{"train_label_coordinates.csv:2", `"abc"`}},
		{"bad level", CoordinatesCSV, func(s string) string {
			return strings.Replace(s, "Spinal Canal Stenosis,L1/L2", "Spinal Canal Stenosis,L0/L1", 1)
		},
			[]string{"train_label_coordinates.csv:", `"L0/L1"`}},
		{"bad instance", CoordinatesCSV, func(s string) string {
			return strings.Replace(s, "1198231127,1357927036,6,Spinal", "1198231127,1357927036,6.5,Spinal", 1)
		}, []string{"train_label_coordinates.csv:", "instance_number", `"6.5"`}},
		{"unterminated quote", CoordinatesCSV, replaceLine(3, func(l string) string { return `"` + l }),
			[]string{"train_label_coordinates.csv:"}},
		{"empty file", SeriesCSV, func(string) string { return "" }, []string{"train_series_descriptions.csv", "empty"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyMini(t, root, tc.file, tc.edit)
			_, _, err := LoadRSNA(dir)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if _, _, err := LoadRSNA(t.TempDir()); err == nil || !strings.Contains(err.Error(), SeriesCSV) {
		t.Errorf("empty folder: error %v, want one naming %s", err, SeriesCSV)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// crossCheckSummary compares the load with synthetic_summary.json.
func crossCheckSummary(t *testing.T, root string, d *RSNA, sum Summary) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "synthetic_summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var facts struct {
		Studies     int            `json:"n_studies"`
		SCSOnT2     int            `json:"n_scs_coordinate_rows_on_sagittal_t2"`
		NoT2        []int64        `json:"studies_without_sagittal_t2"`
		SCSOnT1     []int64        `json:"studies_with_scs_coordinates_on_sagittal_t1"`
		AllSCSEmpty []int64        `json:"studies_with_all_scs_labels_empty"`
		SCSLabelled map[string]int `json:"label_counts_spinal_canal_stenosis"`
	}
	if err := json.Unmarshal(b, &facts); err != nil {
		t.Fatal(err)
	}
	studiesWith := func(r Reason, n int) []int64 {
		count := map[int64]int{}
		for _, k := range sum.Skipped {
			if k.Reason == r {
				count[k.StudyID]++
			}
		}
		var ids []int64
		for id, c := range count {
			if c == n {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		return ids
	}
	sorted := func(v []int64) []int64 { return slices.Sorted(slices.Values(v)) }
	if sum.Studies != facts.Studies || d.Len() != facts.SCSOnT2 {
		t.Errorf("%d studies and %d samples, summary.json says %d and %d", sum.Studies, d.Len(), facts.Studies, facts.SCSOnT2)
	}
	for _, c := range []struct {
		name      string
		got, want []int64
	}{
		{"without T2", studiesWith(NoT2Series, Levels), sorted(facts.NoT2)},
		{"SCS on T1", studiesWith(NoCoordinate, Levels), sorted(facts.SCSOnT1)},
		{"all SCS empty", studiesWith(NoLabel, Levels), sorted(facts.AllSCSEmpty)},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("studies %s: %v, summary.json says %v", c.name, c.got, c.want)
		}
	}
	// The kept samples are the labelled cells minus the two studies
	// without T2 and the one with its points on T1.
	labelled := 0
	for _, n := range facts.SCSLabelled {
		labelled += n
	}
	if want := labelled - 10 - 5; d.Len() != want {
		t.Errorf("%d samples, want %d labelled SCS cells less 15 on studies without usable T2 points", d.Len(), want)
	}
}
