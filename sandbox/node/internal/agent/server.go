package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cri-streaming/pkg/streaming/portforward"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	"k8s.io/klog/v2"
	utilexec "k8s.io/utils/exec"

	"entando.dev/sandbox/node/internal/nsexec"
)

const (
	streamIdleTimeout = 4 * time.Hour
	// PortMapAnnotation maps container ports to host ports for port-forward:
	// "5432:16432,8080:18080".
	PortMapAnnotation = "sandbox.entando.org/port-map"
	copyBufferSize    = 256 << 10
)

func (a *Agent) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("/exec/{ns}/{pod}/{container}", a.serveExec)
	mux.HandleFunc("/exec/{ns}/{pod}/{uid}/{container}", a.serveExec)
	mux.HandleFunc("/portForward/{ns}/{pod}", a.servePortForward)
	mux.HandleFunc("/portForward/{ns}/{pod}/{uid}", a.servePortForward)
	mux.HandleFunc("/containerLogs/{ns}/{pod}/{container}", a.serveLogs)
	return logRequests(mux)
}

func logRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			klog.V(2).InfoS("request", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery)
		}
		h.ServeHTTP(w, r)
	})
}

// findPod resolves a pod on this node from the informer cache (or the apiserver).
func (a *Agent) findPod(ctx context.Context, ns, name, uid string) (*corev1.Pod, error) {
	pod, err := a.podLister.Pods(ns).Get(name)
	if err != nil {
		// Fresh pods may not have reached the cache yet.
		if !waitFor(ctx, 3*time.Second, func() bool {
			pod, err = a.podLister.Pods(ns).Get(name)
			return err == nil
		}) {
			return nil, fmt.Errorf("pod %s/%s not found on node %s", ns, name, a.cfg.NodeName)
		}
	}
	if uid != "" && string(pod.UID) != uid {
		return nil, fmt.Errorf("pod %s/%s with UID %s not found", ns, name, uid)
	}
	return pod, nil
}

func findContainer(pod *corev1.Pod, name string) *corev1.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	return nil
}

func (a *Agent) serveExec(w http.ResponseWriter, req *http.Request) {
	ns, podName, container := req.PathValue("ns"), req.PathValue("pod"), req.PathValue("container")
	uid := req.PathValue("uid")
	opts, err := remotecommand.NewOptions(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	cmd := req.URL.Query()["command"]
	pod, err := a.findPod(req.Context(), ns, podName, uid)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	klog.InfoS("exec", "pod", ns+"/"+podName, "container", container, "command", cmd,
		"stdin", opts.Stdin, "tty", opts.TTY)
	remotecommand.ServeExec(w, req, &executor{a: a, pod: pod}, ns+"/"+podName, string(pod.UID),
		container, cmd, opts, streamIdleTimeout, remotecommand.DefaultStreamCreationTimeout,
		remotecommand.SupportedStreamingProtocols)
}

// executor runs exec requests as host processes in the pod's mount view.
type executor struct {
	a   *Agent
	pod *corev1.Pod
}

// ExecInContainer implements remotecommand.Executor.
func (e *executor) ExecInContainer(ctx context.Context, _ string, _ string, container string, cmd []string,
	in io.Reader, out, errOut io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize, _ time.Duration) error {
	if resize != nil { // no terminal is allocated: drain resize events
		go func() {
			for {
				select {
				case _, ok := <-resize:
					if !ok {
						return
					}
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	if len(cmd) == 0 {
		return errors.New("no command given")
	}
	c := findContainer(e.pod, container)
	if c == nil {
		return fmt.Errorf("container %q not found in pod %s/%s", container, e.pod.Namespace, e.pod.Name)
	}
	spec, err := e.a.buildSpec(ctx, e.pod, c, cmd)
	if err != nil {
		return err
	}
	if tty && errOut == nil {
		errOut = out
	}
	return e.a.runExec(ctx, e.pod.UID, spec, in, out, errOut)
}

// runExec runs spec with the given streams and returns a utilexec.ExitError
// carrying the exit code if it is not 0.
func (a *Agent) runExec(ctx context.Context, uid types.UID, spec nsexec.Spec, in io.Reader, out, errOut io.Writer) error {
	cmd, err := nsexec.Command(a.cfg.Self, spec)
	if err != nil {
		return err
	}
	// Output goes through pipes we own so we know when the command's side is
	// done and can bound the wait for background processes holding them.
	var pipes []*outPipe
	for i, w := range []io.Writer{out, errOut} {
		if w == nil {
			continue
		}
		r, wr, err := os.Pipe()
		if err != nil {
			return err
		}
		if i == 0 {
			cmd.Stdout = wr
		} else {
			cmd.Stderr = wr
		}
		pipes = append(pipes, &outPipe{r: r, w: wr, dst: w})
	}
	var stdinW *os.File
	if in != nil {
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		cmd.Stdin = r
		stdinW = w
		defer r.Close()
	}
	rt := a.runtimeFor(uid)
	if rt != nil {
		rt.mu.Lock()
		if rt.stopped {
			rt.mu.Unlock()
			return errors.New("pod is terminating")
		}
	}
	err = cmd.Start()
	if err == nil && rt != nil {
		rt.execs[cmd.Process] = true
	}
	if rt != nil {
		rt.mu.Unlock()
	}
	nsexec.CloseSpecPipe(cmd)
	for _, p := range pipes {
		_ = p.w.Close() // the child has its copy
	}
	if cmd.Stdin != nil {
		_ = cmd.Stdin.(*os.File).Close()
	}
	if err != nil {
		for _, p := range pipes {
			_ = p.r.Close()
		}
		if stdinW != nil {
			_ = stdinW.Close()
		}
		return err
	}
	defer func() {
		if rt != nil {
			rt.mu.Lock()
			delete(rt.execs, cmd.Process)
			rt.mu.Unlock()
		}
	}()

	if stdinW != nil {
		go func() {
			buf := make([]byte, copyBufferSize)
			_, _ = io.CopyBuffer(stdinW, in, buf)
			_ = stdinW.Close() // EOF for the command
		}()
	}
	var wg sync.WaitGroup
	for _, p := range pipes {
		wg.Add(1)
		go func() { defer wg.Done(); p.copy() }()
	}

	waitDone := make(chan error, 1)
	go func() { waitDone <- cmd.Wait() }()
	var waitErr error
	select {
	case waitErr = <-waitDone:
	case <-ctx.Done():
		// The client went away: end the command.
		killGroups([]*os.Process{cmd.Process}, 2*time.Second)
		waitErr = <-waitDone
	}
	// Drain what the command wrote; don't wait forever for background
	// processes that inherited the pipes.
	for _, p := range pipes {
		p.commandExited()
	}
	wg.Wait()
	if stdinW != nil {
		_ = stdinW.Close()
	}
	code := exitCode(cmd, waitErr)
	if code != 0 {
		return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", code), Code: code}
	}
	return nil
}

// outPipe copies a command's output pipe to a stream.
type outPipe struct {
	r, w   *os.File
	dst    io.Writer
	exited atomic.Bool
}

const drainGrace = 2 * time.Second

func (p *outPipe) commandExited() {
	p.exited.Store(true)
	_ = p.r.SetReadDeadline(time.Now().Add(drainGrace))
}

func (p *outPipe) copy() {
	defer p.r.Close()
	buf := make([]byte, copyBufferSize)
	for {
		if p.exited.Load() {
			_ = p.r.SetReadDeadline(time.Now().Add(drainGrace))
		}
		n, err := p.r.Read(buf)
		if n > 0 {
			if _, werr := p.dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (a *Agent) servePortForward(w http.ResponseWriter, req *http.Request) {
	ns, podName, uid := req.PathValue("ns"), req.PathValue("pod"), req.PathValue("uid")
	pod, err := a.findPod(req.Context(), ns, podName, uid)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	opts, err := portforward.NewV4Options(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	portMap, err := parsePortMap(pod.Annotations[PortMapAnnotation])
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	klog.InfoS("port-forward", "pod", ns+"/"+podName)
	portforward.ServePortForward(w, req, &forwarder{portMap: portMap}, ns+"/"+podName, string(pod.UID),
		opts, streamIdleTimeout, remotecommand.DefaultStreamCreationTimeout, portforward.SupportedProtocols)
}

// parsePortMap parses "5432:16432,8080:18080".
func parsePortMap(s string) (map[int32]int32, error) {
	m := map[int32]int32{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		from, to, ok := strings.Cut(part, ":")
		f, err1 := strconv.ParseUint(strings.TrimSpace(from), 10, 16)
		t, err2 := strconv.ParseUint(strings.TrimSpace(to), 10, 16)
		if !ok || err1 != nil || err2 != nil || f == 0 || t == 0 {
			return nil, fmt.Errorf("annotation %s: bad entry %q (want containerPort:hostPort)", PortMapAnnotation, part)
		}
		m[int32(f)] = int32(t)
	}
	return m, nil
}

type forwarder struct {
	portMap map[int32]int32
}

// PortForward implements portforward.PortForwarder: the pod's port is a port
// on the host's loopback (possibly remapped by the port-map annotation).
func (f *forwarder) PortForward(ctx context.Context, pod string, _ string, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	target := port
	if mapped, ok := f.portMap[port]; ok {
		target = mapped
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(hostIP, strconv.Itoa(int(target))))
	if err != nil {
		return fmt.Errorf("pod %s port %d (host port %d): %v", pod, port, target, err)
	}
	defer conn.Close()
	toPod := make(chan struct{})
	fromPod := make(chan struct{})
	go func() {
		_, _ = io.CopyBuffer(conn, stream, make([]byte, copyBufferSize))
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.CloseWrite() // pass the client's half-close on
		}
		close(toPod)
	}()
	go func() {
		_, _ = io.CopyBuffer(stream, conn, make([]byte, copyBufferSize))
		close(fromPod)
	}()
	select {
	case <-ctx.Done():
	case <-toPod:
		// The client finished sending; the pod may still be answering.
		select {
		case <-fromPod:
		case <-ctx.Done():
		}
	case <-fromPod:
		// The pod closed the connection: give the client side a moment.
		select {
		case <-toPod:
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}
