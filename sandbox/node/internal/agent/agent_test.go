package agent

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	utilexec "k8s.io/utils/exec"

	"entando.dev/sandbox/node/internal/nsexec"
)

// The test binary doubles as the mount-namespace helper.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == nsexec.Arg {
		nsexec.Main()
	}
	os.Exit(m.Run())
}

func TestExpandVars(t *testing.T) {
	vars := map[string]string{"FOO": "bar", "EMPTY": ""}
	for in, want := range map[string]string{
		"$(FOO)":         "bar",
		"x$(FOO)y":       "xbary",
		"$(MISSING)":     "$(MISSING)",
		"$$(FOO)":        "$(FOO)",
		"$$":             "$",
		"$$$$":           "$$",
		"a$b":            "a$b",
		"$(EMPTY)-":      "-",
		"$(FOO":          "$(FOO",
		"trailing $":     "trailing $",
		"$(FOO)$(FOO)":   "barbar",
		"no vars at all": "no vars at all",
	} {
		if got := expandVars(in, vars); got != want {
			t.Errorf("expandVars(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParsePortMap(t *testing.T) {
	m, err := parsePortMap(" 5432:16432, 8080:18080 ")
	if err != nil {
		t.Fatal(err)
	}
	if m[5432] != 16432 || m[8080] != 18080 || len(m) != 2 {
		t.Fatalf("got %v", m)
	}
	if m, err := parsePortMap(""); err != nil || len(m) != 0 {
		t.Fatalf("empty: %v %v", m, err)
	}
	for _, bad := range []string{"5432", "a:b", "5432:0", "70000:1"} {
		if _, err := parsePortMap(bad); err == nil {
			t.Errorf("parsePortMap(%q) accepted", bad)
		}
	}
}

func TestTailOffset(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString("one\ntwo\nthree\n")
	for n, want := range map[int]string{0: "", 1: "three\n", 2: "two\nthree\n", 3: "one\ntwo\nthree\n", 10: "one\ntwo\nthree\n"} {
		off, err := tailOffset(f, n)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(f.Name())
		if got := string(b[off:]); got != want {
			t.Errorf("tail %d = %q, want %q", n, got, want)
		}
	}
}

func testAgent(t *testing.T) *Agent {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for mount namespaces")
	}
	return &Agent{cfg: Config{Self: os.Args[0]}, pods: map[types.UID]*podRuntime{}}
}

func run(t *testing.T, a *Agent, spec nsexec.Spec, stdin string) (string, string, error) {
	t.Helper()
	if spec.Env == nil {
		spec.Env = []string{"PATH=" + hostPath()}
	}
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var in *strings.Reader
	if stdin != "" {
		in = strings.NewReader(stdin)
	}
	var err error
	if in != nil {
		err = a.runExec(ctx, "", spec, in, nopCloser{&out}, nopCloser{&errOut})
	} else {
		err = a.runExec(ctx, "", spec, nil, nopCloser{&out}, nopCloser{&errOut})
	}
	return out.String(), errOut.String(), err
}

type nopCloser struct{ *bytes.Buffer }

func (nopCloser) Close() error { return nil }

func TestRunExecExitCodeAndStreams(t *testing.T) {
	a := testAgent(t)
	out, errOut, err := run(t, a, nsexec.Spec{Argv: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}}, "")
	var exitErr utilexec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitStatus() != 3 || !exitErr.Exited() {
		t.Fatalf("want exit 3, got %v", err)
	}
	if out != "out\n" || errOut != "err\n" {
		t.Fatalf("stdout %q stderr %q", out, errOut)
	}
	if _, _, err := run(t, a, nsexec.Spec{Argv: []string{"true"}}, ""); err != nil {
		t.Fatalf("true: %v", err)
	}
	_, errOut, err = run(t, a, nsexec.Spec{Argv: []string{"no-such-command-here"}}, "")
	if !errors.As(err, &exitErr) || exitErr.ExitStatus() != nsexec.ExitNotFound {
		t.Fatalf("want exit 127, got %v (%s)", err, errOut)
	}
}

func TestRunExecStdinEOF(t *testing.T) {
	a := testAgent(t)
	out, _, err := run(t, a, nsexec.Spec{Argv: []string{"sh", "-c", "cat; echo end"}}, "x")
	if err != nil || out != "xend\n" {
		t.Fatalf("out %q err %v", out, err)
	}
}

func TestRunExecDoesNotWaitForBackgroundChildren(t *testing.T) {
	a := testAgent(t)
	start := time.Now()
	out, _, err := run(t, a, nsexec.Spec{Argv: []string{"sh", "-c", "sleep 30 & echo started"}}, "")
	if err != nil || out != "started\n" {
		t.Fatalf("out %q err %v", out, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestRunExecMountsAndWorkdir(t *testing.T) {
	a := testAgent(t)
	tmp := t.TempDir()
	vol1, vol2 := filepath.Join(tmp, "vol1"), filepath.Join(tmp, "vol2")
	target := filepath.Join(tmp, "mnt", "data")
	for _, d := range []string{vol1, vol2} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	_ = os.WriteFile(filepath.Join(vol1, "id"), []byte("one\n"), 0o644)
	_ = os.WriteFile(filepath.Join(vol2, "id"), []byte("two\n"), 0o644)
	for vol, want := range map[string]string{vol1: "one", vol2: "two"} {
		out, errOut, err := run(t, a, nsexec.Spec{
			Mounts: []nsexec.Mount{{Source: vol, Target: target}},
			Dir:    target,
			Argv:   []string{"sh", "-c", "cat id; pwd"},
		}, "")
		if err != nil || out != want+"\n"+target+"\n" {
			t.Fatalf("out %q stderr %q err %v", out, errOut, err)
		}
	}
	// The host does not see the mounts.
	if _, err := os.Stat(filepath.Join(target, "id")); !os.IsNotExist(err) {
		t.Fatalf("mount leaked to the host: %v", err)
	}
	// Read-only mounts refuse writes.
	_, _, err := run(t, a, nsexec.Spec{
		Mounts: []nsexec.Mount{{Source: vol1, Target: target, ReadOnly: true}},
		Argv:   []string{"sh", "-c", "echo x > " + target + "/new"},
	}, "")
	if err == nil {
		t.Fatal("write to a read-only mount succeeded")
	}
}

func TestApiserverAddress(t *testing.T) {
	for _, c := range []struct{ in, host, port string }{
		{"https://127.0.0.1:16443", "127.0.0.1", "16443"},
		{"https://kubernetes.example", "kubernetes.example", "443"},
		{"https://[::1]:6443", "::1", "6443"},
	} {
		h, p, err := apiserverAddress(c.in)
		if err != nil || h != c.host || p != c.port {
			t.Errorf("apiserverAddress(%q) = %q, %q, %v; want %q, %q", c.in, h, p, err, c.host, c.port)
		}
	}
	if _, _, err := apiserverAddress("not a url"); err == nil {
		t.Error("apiserverAddress accepted a server without a host")
	}
}

// A mount over a directory that holds the next mount's source (a pod's emptyDir on /tmp with
// the state dir under /tmp) must not hide that source.
func TestRunExecMountHidingAnotherSource(t *testing.T) {
	a := testAgent(t)
	tmp := t.TempDir()
	empty, vol := filepath.Join(tmp, "empty"), filepath.Join(tmp, "vol")
	for _, d := range []string{empty, vol} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	_ = os.WriteFile(filepath.Join(vol, "id"), []byte("kept\n"), 0o644)
	target := filepath.Join(tmp, "x", "data")
	out, errOut, err := run(t, a, nsexec.Spec{
		Mounts: []nsexec.Mount{{Source: empty, Target: tmp}, {Source: vol, Target: target}},
		Argv:   []string{"cat", filepath.Join(target, "id")},
	}, "")
	if err != nil || out != "kept\n" {
		t.Fatalf("out %q stderr %q err %v", out, errOut, err)
	}
}
