package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"entando.dev/sandbox/node/internal/nsexec"
)

const (
	// killGrace is how long processes get between SIGTERM and SIGKILL.
	killGrace   = 5 * time.Second
	maxBackoff  = 30 * time.Second
	hostIP      = "127.0.0.1"
	podIP       = "127.0.0.1"
	logDirName  = "logs"
	volumesName = "volumes"
)

// errNotReady marks a transient condition (e.g. an unbound claim).
var errNotReady = errors.New("not ready")

// containerState is the agent's record of one container.
type containerState struct {
	name       string
	image      string
	init       bool
	sidecar    bool // restartable init container
	hasProcess bool

	state        corev1.ContainerState
	lastState    corev1.ContainerState
	restartCount int32
	proc         *os.Process
}

// podRuntime is the agent's record of one pod it runs.
type podRuntime struct {
	a      *Agent
	uid    types.UID
	key    string
	pod    *corev1.Pod // spec snapshot at start
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	prepared   bool
	waitReason string
	waitMsg    string
	initDone   bool
	startTime  metav1.Time
	initCs     []*containerState
	cs         []*containerState
	execs      map[*os.Process]bool
	stopped    bool
}

func now() metav1.Time { return metav1.NewTime(time.Now().Truncate(time.Second)) }

func (a *Agent) podDir(uid types.UID) string {
	return filepath.Join(a.cfg.StateDir, "pods", string(uid))
}

func (a *Agent) runtimeFor(uid types.UID) *podRuntime {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pods[uid]
}

func (a *Agent) syncPod(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pod, err := a.podLister.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		pod = nil
	} else if err != nil {
		return err
	}
	// Runtimes for an older pod of the same name (or a pod that is gone).
	a.mu.Lock()
	var stale []*podRuntime
	for uid, rt := range a.pods {
		if rt.key == key && (pod == nil || pod.UID != uid) {
			stale = append(stale, rt)
			delete(a.pods, uid)
		}
	}
	a.mu.Unlock()
	for _, rt := range stale {
		klog.InfoS("stopping pod that is gone", "pod", key, "uid", rt.uid)
		rt.stop()
		a.cleanupPod(rt.uid)
	}
	if pod == nil {
		return nil
	}

	if pod.DeletionTimestamp != nil {
		return a.terminatePod(ctx, pod)
	}

	rt := a.runtimeFor(pod.UID)
	if rt == nil {
		if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			return nil // finished before: never run again
		}
		rt = a.startPod(pod)
	}
	return a.writeStatus(ctx, pod, rt)
}

// terminatePod kills the pod's processes and deletes it with grace 0, like the
// kubelet does once containers are stopped.
func (a *Agent) terminatePod(ctx context.Context, pod *corev1.Pod) error {
	a.mu.Lock()
	rt := a.pods[pod.UID]
	delete(a.pods, pod.UID)
	already := a.deleting[pod.UID]
	a.deleting[pod.UID] = true
	a.mu.Unlock()
	if rt != nil {
		klog.InfoS("pod is being deleted: stopping its processes", "pod", rt.key)
		grace := killGrace
		if g := pod.DeletionGracePeriodSeconds; g != nil && time.Duration(*g)*time.Second < grace {
			grace = time.Duration(*g) * time.Second
		}
		rt.stopWithin(grace)
	}
	if already {
		return nil
	}
	err := a.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		a.mu.Lock()
		delete(a.deleting, pod.UID)
		a.mu.Unlock()
		return err
	}
	a.cleanupPod(pod.UID)
	go func(uid types.UID) { // forget the tombstone later
		time.Sleep(5 * time.Minute)
		a.mu.Lock()
		delete(a.deleting, uid)
		a.mu.Unlock()
	}(pod.UID)
	return nil
}

func (a *Agent) cleanupPod(uid types.UID) {
	if err := os.RemoveAll(a.podDir(uid)); err != nil {
		klog.ErrorS(err, "removing pod state", "uid", uid)
	}
}

func (a *Agent) stopAll() {
	a.mu.Lock()
	var all []*podRuntime
	for _, rt := range a.pods {
		all = append(all, rt)
	}
	a.mu.Unlock()
	var wg sync.WaitGroup
	for _, rt := range all {
		wg.Add(1)
		go func() { defer wg.Done(); rt.stop() }()
	}
	wg.Wait()
}

func (a *Agent) startPod(pod *corev1.Pod) *podRuntime {
	ctx, cancel := context.WithCancel(a.ctx)
	rt := &podRuntime{
		a:          a,
		uid:        pod.UID,
		key:        pod.Namespace + "/" + pod.Name,
		pod:        pod.DeepCopy(),
		ctx:        ctx,
		cancel:     cancel,
		startTime:  now(),
		execs:      map[*os.Process]bool{},
		waitReason: "ContainerCreating",
	}
	if pod.Status.StartTime != nil {
		rt.startTime = *pod.Status.StartTime
	}
	for _, c := range pod.Spec.InitContainers {
		rt.initCs = append(rt.initCs, newContainerState(c, true, pod))
	}
	for _, c := range pod.Spec.Containers {
		rt.cs = append(rt.cs, newContainerState(c, false, pod))
	}
	a.mu.Lock()
	a.pods[pod.UID] = rt
	a.mu.Unlock()
	klog.InfoS("starting pod", "pod", rt.key, "uid", pod.UID)
	rt.wg.Add(1)
	go rt.run()
	return rt
}

func newContainerState(c corev1.Container, init bool, pod *corev1.Pod) *containerState {
	cs := &containerState{
		name:       c.Name,
		image:      c.Image,
		init:       init,
		sidecar:    init && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways,
		hasProcess: len(c.Command) > 0,
		state:      corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}},
	}
	if init && !cs.sidecar {
		cs.state = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}
	}
	// Keep the restart count across agent restarts.
	statuses := pod.Status.ContainerStatuses
	if init {
		statuses = pod.Status.InitContainerStatuses
	}
	for _, s := range statuses {
		if s.Name == c.Name {
			cs.restartCount = s.RestartCount
		}
	}
	return cs
}

func (rt *podRuntime) notify() { rt.a.podQueue.Add(rt.key) }

// stop kills every process of the pod and waits for the supervisors to end.
func (rt *podRuntime) stop() { rt.stopWithin(killGrace) }

// stopWithin is stop with at most grace between SIGTERM and SIGKILL.
func (rt *podRuntime) stopWithin(grace time.Duration) {
	rt.mu.Lock()
	rt.stopped = true
	var procs []*os.Process
	for _, c := range append(append([]*containerState{}, rt.initCs...), rt.cs...) {
		if c.proc != nil {
			procs = append(procs, c.proc)
		}
	}
	for p := range rt.execs {
		procs = append(procs, p)
	}
	rt.mu.Unlock()
	rt.cancel()
	killGroups(procs, grace)
	rt.wg.Wait()
}

// killGroups sends SIGTERM to each process group, then SIGKILL to whatever is
// left after grace.
func killGroups(procs []*os.Process, grace time.Duration) {
	if len(procs) == 0 {
		return
	}
	for _, p := range procs {
		_ = syscall.Kill(-p.Pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		alive := false
		for _, p := range procs {
			if syscall.Kill(-p.Pid, 0) == nil {
				alive = true
			}
		}
		if !alive {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, p := range procs {
		_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
	}
}

func (rt *podRuntime) run() {
	defer rt.wg.Done()
	// Prepare volumes; claims may take a moment to be bound.
	backoff := 500 * time.Millisecond
	for {
		_, err := rt.a.volumeSources(rt.ctx, rt.pod, true)
		if err == nil {
			break
		}
		rt.mu.Lock()
		rt.waitReason, rt.waitMsg = "ContainerCreating", err.Error()
		rt.mu.Unlock()
		if !errors.Is(err, errNotReady) {
			klog.ErrorS(err, "preparing volumes", "pod", rt.key)
		}
		rt.notify()
		select {
		case <-rt.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
	rt.mu.Lock()
	rt.prepared = true
	rt.waitMsg = ""
	rt.mu.Unlock()
	rt.notify()

	// Init containers, in order.
	for i, c := range rt.pod.Spec.InitContainers {
		cs := rt.initCs[i]
		if cs.sidecar {
			rt.wg.Add(1)
			go rt.supervise(c, cs)
			continue
		}
		if !rt.runInit(c, cs) {
			return
		}
	}
	rt.mu.Lock()
	rt.initDone = true
	rt.mu.Unlock()
	for i, c := range rt.pod.Spec.Containers {
		rt.wg.Add(1)
		go rt.supervise(c, rt.cs[i])
	}
	rt.notify()
}

// runInit runs one init container to success; false if the pod should not go on.
func (rt *podRuntime) runInit(c corev1.Container, cs *containerState) bool {
	backoff := time.Second
	for {
		if !cs.hasProcess {
			rt.setState(cs, corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 0, Reason: "Completed", StartedAt: now(), FinishedAt: now(),
				ContainerID: containerID(rt.uid, cs),
			}}, false)
			return true
		}
		code, err := rt.runOnce(c, cs)
		if rt.ctx.Err() != nil {
			return false
		}
		if err == nil && code == 0 {
			return true
		}
		if rt.pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
			return false
		}
		rt.mu.Lock()
		cs.restartCount++
		cs.lastState = cs.state
		cs.state = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
			Message: fmt.Sprintf("back-off %s restarting failed container", backoff)}}
		rt.mu.Unlock()
		rt.notify()
		select {
		case <-rt.ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// supervise runs a regular (or sidecar) container until the pod stops.
func (rt *podRuntime) supervise(c corev1.Container, cs *containerState) {
	defer rt.wg.Done()
	if !cs.hasProcess {
		rt.setState(cs, corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now()}}, false)
		return
	}
	backoff := time.Second
	for {
		started := time.Now()
		code, _ := rt.runOnce(c, cs)
		if rt.ctx.Err() != nil {
			return
		}
		policy := rt.pod.Spec.RestartPolicy
		if cs.sidecar {
			policy = corev1.RestartPolicyAlways
		}
		restart := policy == corev1.RestartPolicyAlways || (policy == corev1.RestartPolicyOnFailure && code != 0)
		if !restart {
			rt.notify()
			return
		}
		if time.Since(started) > time.Minute {
			backoff = time.Second
		}
		rt.mu.Lock()
		cs.restartCount++
		cs.lastState = cs.state
		cs.state = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
			Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", backoff, cs.name, rt.key)}}
		rt.mu.Unlock()
		rt.notify()
		select {
		case <-rt.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

func (rt *podRuntime) setState(cs *containerState, st corev1.ContainerState, notify bool) {
	rt.mu.Lock()
	cs.state = st
	rt.mu.Unlock()
	_ = notify
	rt.notify()
}

func containerID(uid types.UID, cs *containerState) string {
	return fmt.Sprintf("sandbox://%s-%s-%d", uid, cs.name, cs.restartCount)
}

// runOnce starts one instance of the container's command and waits for it.
func (rt *podRuntime) runOnce(c corev1.Container, cs *containerState) (int, error) {
	a := rt.a
	spec, err := a.buildSpec(rt.ctx, rt.pod, &c, nil)
	if err != nil {
		rt.setState(cs, corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
			Reason: "CreateContainerConfigError", Message: err.Error()}}, true)
		select {
		case <-rt.ctx.Done():
		case <-time.After(2 * time.Second):
		}
		return -1, err
	}
	logDir := filepath.Join(a.podDir(rt.uid), logDirName)
	_ = os.MkdirAll(logDir, 0o755)
	logPath := filepath.Join(logDir, cs.name+".log")
	if _, err := os.Stat(logPath); err == nil {
		_ = os.Rename(logPath, filepath.Join(logDir, cs.name+".previous.log"))
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return -1, err
	}
	defer logFile.Close()
	cmd, err := nsexec.Command(a.cfg.Self, spec)
	if err != nil {
		return -1, err
	}
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	devnull, _ := os.Open(os.DevNull)
	if devnull != nil {
		cmd.Stdin = devnull
		defer devnull.Close()
	}
	rt.mu.Lock()
	if rt.stopped {
		rt.mu.Unlock()
		return -1, context.Canceled
	}
	err = cmd.Start()
	nsexec.CloseSpecPipe(cmd)
	if err != nil {
		rt.mu.Unlock()
		rt.setState(cs, corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
			Reason: "RunContainerError", Message: err.Error()}}, true)
		return -1, err
	}
	cs.proc = cmd.Process
	started := now()
	cs.state = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}
	rt.mu.Unlock()
	writePidFile(a.podDir(rt.uid), cs.name, cmd.Process.Pid)
	klog.InfoS("container started", "pod", rt.key, "container", cs.name, "pid", cmd.Process.Pid)
	rt.notify()

	waitErr := cmd.Wait()
	code := exitCode(cmd, waitErr)
	removePidFile(a.podDir(rt.uid), cs.name)
	reason := "Completed"
	if code != 0 {
		reason = "Error"
	}
	rt.mu.Lock()
	cs.proc = nil
	cs.state = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode: int32(code), Reason: reason, StartedAt: started, FinishedAt: now(),
		ContainerID: containerID(rt.uid, cs),
	}}
	rt.mu.Unlock()
	klog.InfoS("container exited", "pod", rt.key, "container", cs.name, "exitCode", code)
	rt.notify()
	return code, nil
}

// exitCode maps a finished command to a shell-style exit code.
func exitCode(cmd *exec.Cmd, err error) int {
	if cmd.ProcessState == nil {
		if err != nil {
			return -1
		}
		return 0
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return cmd.ProcessState.ExitCode()
}

// status computes the pod status the agent wants the apiserver to show.
func (rt *podRuntime) status(pod *corev1.Pod) corev1.PodStatus {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	st := *pod.Status.DeepCopy()
	st.ObservedGeneration = pod.Generation
	st.HostIP = hostIP
	st.HostIPs = []corev1.HostIP{{IP: hostIP}}
	st.PodIP = podIP
	st.PodIPs = []corev1.PodIP{{IP: podIP}}
	st.StartTime = &rt.startTime

	toStatus := func(cs *containerState) corev1.ContainerStatus {
		s := corev1.ContainerStatus{
			Name:                 cs.name,
			Image:                cs.image,
			ImageID:              "sandbox-image://" + cs.image,
			RestartCount:         cs.restartCount,
			State:                *cs.state.DeepCopy(),
			LastTerminationState: *cs.lastState.DeepCopy(),
		}
		if !rt.prepared && s.State.Waiting != nil && rt.waitMsg != "" {
			s.State.Waiting.Message = rt.waitMsg
		}
		if cs.state.Running != nil || cs.state.Terminated != nil {
			s.ContainerID = containerID(rt.uid, cs)
		}
		running := cs.state.Running != nil
		s.Started = ptr.To(running)
		s.Ready = running
		if cs.init && !cs.sidecar {
			s.Ready = cs.state.Terminated != nil && cs.state.Terminated.ExitCode == 0
		}
		return s
	}
	st.InitContainerStatuses = nil
	for _, cs := range rt.initCs {
		st.InitContainerStatuses = append(st.InitContainerStatuses, toStatus(cs))
	}
	st.ContainerStatuses = nil
	allReady, anyRunningOrRestarting, allSucceeded := true, false, true
	for _, cs := range rt.cs {
		s := toStatus(cs)
		st.ContainerStatuses = append(st.ContainerStatuses, s)
		if !s.Ready {
			allReady = false
		}
		if cs.state.Terminated == nil {
			anyRunningOrRestarting = true
		}
		if cs.state.Terminated == nil || cs.state.Terminated.ExitCode != 0 {
			allSucceeded = false
		}
	}
	initFailed := false
	for _, cs := range rt.initCs {
		if !cs.sidecar && cs.state.Terminated != nil && cs.state.Terminated.ExitCode != 0 &&
			pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
			initFailed = true
		}
	}

	switch {
	case initFailed:
		st.Phase = corev1.PodFailed
	case !rt.prepared || !rt.initDone:
		st.Phase = corev1.PodPending
	case anyRunningOrRestarting:
		st.Phase = corev1.PodRunning
	case allSucceeded:
		st.Phase = corev1.PodSucceeded
	default:
		st.Phase = corev1.PodFailed
	}
	ready := st.Phase == corev1.PodRunning && allReady
	cond := func(t corev1.PodConditionType, ok bool, reason string) corev1.PodCondition {
		c := corev1.PodCondition{Type: t, Status: corev1.ConditionFalse, ObservedGeneration: pod.Generation}
		if ok {
			c.Status = corev1.ConditionTrue
		} else {
			c.Reason = reason
		}
		return c
	}
	want := []corev1.PodCondition{
		cond(corev1.PodReadyToStartContainers, rt.prepared, ""),
		cond(corev1.PodInitialized, rt.initDone, "ContainersNotInitialized"),
		cond(corev1.ContainersReady, ready, "ContainersNotReady"),
		cond(corev1.PodReady, ready, "ContainersNotReady"),
	}
	var conds []corev1.PodCondition
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled {
			conds = append(conds, c)
		}
	}
	for _, c := range want {
		c.LastTransitionTime = now()
		for _, old := range pod.Status.Conditions {
			if old.Type == c.Type && old.Status == c.Status {
				c.LastTransitionTime = old.LastTransitionTime
			}
		}
		conds = append(conds, c)
	}
	st.Conditions = conds
	return st
}

// writeStatus pushes the runtime's view of the pod to the apiserver if it differs.
func (a *Agent) writeStatus(ctx context.Context, pod *corev1.Pod, rt *podRuntime) error {
	want := rt.status(pod)
	if apiequality.Semantic.DeepEqual(want, pod.Status) {
		return nil
	}
	p := pod.DeepCopy()
	p.Status = want
	_, err := a.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		// A newer version is on its way through the informer; it re-queues us.
		return nil
	}
	return err
}
