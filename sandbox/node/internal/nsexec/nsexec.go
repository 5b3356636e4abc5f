// Package nsexec runs a host command inside a private mount namespace in which
// a pod's volumes are bind-mounted at their mountPaths.
//
// The agent re-executes its own binary as `sandbox-node __nsexec` with
// CLONE_NEWNS in SysProcAttr.Unshareflags (Go then makes "/" MS_PRIVATE|MS_REC
// in the child before exec). The helper reads a JSON Spec from fd 3, performs
// the bind mounts, changes directory and execve(2)s the real command, so the
// process the agent waits on *is* the command: its exit status, stdin, stdout
// and stderr are the command's own.
package nsexec

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Arg is the argv[1] that selects the helper mode of the sandbox-node binary.
const Arg = "__nsexec"

// Mount is one bind mount.
type Mount struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// Spec describes the command to run.
type Spec struct {
	Mounts []Mount  `json:"mounts,omitempty"`
	Dir    string   `json:"dir,omitempty"`
	Env    []string `json:"env"`
	Argv   []string `json:"argv"`
}

// Exit codes used by the helper when it cannot start the command, matching
// what shells and container runtimes report.
const (
	ExitSetupFailed   = 125
	ExitCannotExecute = 126
	ExitNotFound      = 127
)

// Command prepares an *exec.Cmd that runs spec through the helper. self is the
// path of the sandbox-node binary. The caller sets Stdin/Stdout/Stderr and
// starts it. The command gets its own process group so that it and its
// children can be signalled together.
func Command(self string, spec Spec) (*exec.Cmd, error) {
	if len(spec.Argv) == 0 {
		return nil, errors.New("empty command")
	}
	data, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	// The spec is small; a pipe buffer (64 KiB) holds it unless it carries
	// huge environment values, so write from a goroutine to be safe.
	go func() {
		_, _ = w.Write(data)
		_ = w.Close()
	}()
	cmd := exec.Command(self, Arg)
	cmd.ExtraFiles = []*os.File{r}
	cmd.Env = []string{} // the helper gets the final env from the spec
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Unshareflags: syscall.CLONE_NEWNS,
		Setpgid:      true,
	}
	return cmd, nil
}

// CloseSpecPipe closes the parent's copy of the spec pipe after Start.
func CloseSpecPipe(cmd *exec.Cmd) {
	for _, f := range cmd.ExtraFiles {
		_ = f.Close()
	}
}

// Main is the helper's entry point; it never returns.
func Main() {
	f := os.NewFile(3, "spec")
	data, err := io.ReadAll(f)
	_ = f.Close()
	if err != nil {
		fail(ExitSetupFailed, "sandbox-node: reading exec spec: %v", err)
	}
	var spec Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		fail(ExitSetupFailed, "sandbox-node: decoding exec spec: %v", err)
	}
	if err := setupMounts(spec.Mounts); err != nil {
		fail(ExitSetupFailed, "sandbox-node: %v", err)
	}
	dir := spec.Dir
	if dir == "" {
		dir = "/"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fail(ExitSetupFailed, "sandbox-node: working directory %s: %v", dir, err)
	}
	if err := os.Chdir(dir); err != nil {
		fail(ExitSetupFailed, "sandbox-node: working directory %s: %v", dir, err)
	}
	path, err := lookPath(spec.Argv[0], spec.Env)
	if err != nil {
		fail(ExitNotFound, "sandbox-node: exec: %q: %v", spec.Argv[0], err)
	}
	err = unix.Exec(path, spec.Argv, spec.Env)
	code := ExitCannotExecute
	if errors.Is(err, unix.ENOENT) {
		code = ExitNotFound
	}
	fail(code, "sandbox-node: exec %q: %v", path, err)
}

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(code)
}

// setupMounts bind-mounts each source at its target, parents before children.
func setupMounts(mounts []Mount) error {
	sorted := append([]Mount(nil), mounts...)
	sort.SliceStable(sorted, func(i, j int) bool {
		return depth(sorted[i].Target) < depth(sorted[j].Target)
	})
	// Every source is opened before anything is mounted: a mount on /tmp (a pod's emptyDir)
	// would otherwise hide the sources of the next ones when the state dir is under /tmp (a
	// checkout there, as a CI clone is). The bind then goes through /proc/self/fd.
	fds := make([]int, len(sorted))
	for i := range fds {
		fds[i] = -1
	}
	defer func() {
		for _, fd := range fds {
			if fd >= 0 {
				_ = unix.Close(fd)
			}
		}
	}()
	for i, m := range sorted {
		fd, err := unix.Open(m.Source, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("volume source %s: %v", m.Source, err)
		}
		fds[i] = fd
	}
	for i, m := range sorted {
		var st unix.Stat_t
		if err := unix.Fstat(fds[i], &st); err != nil {
			return fmt.Errorf("volume source %s: %v", m.Source, err)
		}
		if err := ensureTarget(m.Target, st.Mode&unix.S_IFMT == unix.S_IFDIR); err != nil {
			return fmt.Errorf("mount point %s: %v", m.Target, err)
		}
		source := fmt.Sprintf("/proc/self/fd/%d", fds[i])
		if err := unix.Mount(source, m.Target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind mount %s on %s: %v", m.Source, m.Target, err)
		}
		if m.ReadOnly {
			if err := unix.Mount("", m.Target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
				return fmt.Errorf("read-only remount of %s: %v", m.Target, err)
			}
		}
	}
	return nil
}

func depth(p string) int { return strings.Count(filepath.Clean(p), "/") }

func ensureTarget(target string, dir bool) error {
	if dir {
		return os.MkdirAll(target, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	if _, err := os.Stat(target); err == nil {
		return nil
	}
	f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// lookPath resolves name against the PATH in env (not the helper's own).
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		if err := executable(name); err != nil {
			return "", err
		}
		return name, nil
	}
	pathVar := ""
	for _, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			pathVar = kv[len("PATH="):]
		}
	}
	for _, dir := range filepath.SplitList(pathVar) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", errors.New("executable file not found in $PATH")
}

func executable(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return errors.New("permission denied")
	}
	return nil
}
