package devsite

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// dataroot is a tar stream as the engine gives it of the dataroot: each file
// under "moodledata/".
func dataroot(tb testing.TB, files map[string][]byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	if err := tw.WriteHeader(&tar.Header{Name: "moodledata/", Typeflag: tar.TypeDir, Mode: 0o750}); err != nil {
		tb.Fatal(err)
	}
	for _, name := range names {
		if err := tw.WriteHeader(&tar.Header{Name: "moodledata/" + name, Typeflag: tar.TypeReg, Mode: 0o640, Size: int64(len(files[name])), Uid: 33, Gid: 33}); err != nil {
			tb.Fatal(err)
		}
		if _, err := tw.Write(files[name]); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func TestRepackKeepsTheSitesFilesRelativeToTheDatarootAndLeavesOutTheRest(t *testing.T) {
	in := dataroot(t, map[string][]byte{
		"filedir/ab/cd/abcd1234": []byte("an uploaded file"),
		"lang/de/langconfig.php": []byte("<?php"),
		"cache/theme/all.css":    []byte("body{}"),
		"sessions/sess_1":        []byte("a session"),
	})
	var out bytes.Buffer
	files, size, err := repack(&out, bytes.NewReader(in), archiveLevel)
	if err != nil {
		t.Fatal(err)
	}
	if files != 2 || size != int64(len("an uploaded file")+len("<?php")) {
		t.Errorf("repack counted %d files of %d bytes, want the 2 kept", files, size)
	}
	zr, err := gzip.NewReader(&out)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		got = append(got, fmt.Sprintf("%s %o %d:%d %q", h.Name, h.Mode, h.Uid, h.Gid, body))
	}
	want := []string{`./ 750 0:0 ""`, `./filedir/ab/cd/abcd1234 640 33:33 "an uploaded file"`, `./lang/de/langconfig.php 640 33:33 "<?php"`}
	if !slices.Equal(got, want) {
		t.Errorf("archive holds\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// BenchmarkRepack compares gzip levels on the two kinds of moodledata content:
// uploads, compressed already (random bytes stand in for them), and text
// (language packs, plain files). It reports the archive's size against the
// files' as ratio.
//
//	go test -run '^$' -bench Repack -count 5 ./cmd/moodlectl/devsite/
func BenchmarkRepack(b *testing.B) {
	rng := rand.New(rand.NewChaCha8([32]byte{}))
	words := strings.Fields("the course quiz grade forum student teacher assignment submission feedback " +
		"lesson activity resource section enrolment <div class=\"region\"> </div> $string['name'] = 'Name';")
	contents := map[string]func() []byte{
		"uploads": func() []byte {
			p := make([]byte, 256<<10)
			for i := range p {
				p[i] = byte(rng.Uint32())
			}
			return p
		},
		"text": func() []byte {
			var sb strings.Builder
			for sb.Len() < 256<<10 {
				sb.WriteString(words[rng.IntN(len(words))])
				sb.WriteByte(' ')
			}
			return []byte(sb.String())
		},
	}
	for _, kind := range []string{"uploads", "text"} {
		files := map[string][]byte{}
		var size int64
		for i := range 64 {
			files[fmt.Sprintf("filedir/%02x/%02x/file%d", i, i, i)] = contents[kind]()
			size += 256 << 10
		}
		in := dataroot(b, files)
		for _, level := range []struct {
			name  string
			level int
		}{{"default", gzip.DefaultCompression}, {"bestspeed", gzip.BestSpeed}} {
			b.Run(kind+"/"+level.name, func(b *testing.B) {
				b.SetBytes(size)
				var out countingWriter
				for range b.N {
					out = 0
					if _, _, err := repack(&out, bytes.NewReader(in), level.level); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(out)/float64(size), "ratio")
			})
		}
	}
}

type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}
