package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"entando.dev/sandbox/node/internal/nsexec"
)

// volumeSources maps each volume of the pod to a host directory (or file).
// With materialize, configMap/secret/projected volumes are (re)written.
// It fails with errNotReady while a claim is not bound yet.
func (a *Agent) volumeSources(ctx context.Context, pod *corev1.Pod, materialize bool) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		local := filepath.Join(a.podDir(pod.UID), volumesName, v.Name)
		switch {
		case v.PersistentVolumeClaim != nil:
			p, err := a.claimPath(pod.Namespace, v.PersistentVolumeClaim.ClaimName)
			if err != nil {
				return nil, err
			}
			out[v.Name] = p
		case v.HostPath != nil:
			p := v.HostPath.Path
			t := corev1.HostPathUnset
			if v.HostPath.Type != nil {
				t = *v.HostPath.Type
			}
			if _, err := os.Stat(p); os.IsNotExist(err) {
				switch t {
				case corev1.HostPathFileOrCreate:
					_ = os.MkdirAll(filepath.Dir(p), 0o755)
					if f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
						_ = f.Close()
					}
				case corev1.HostPathDirectoryOrCreate, corev1.HostPathUnset:
					_ = os.MkdirAll(p, 0o755)
				default:
					return nil, fmt.Errorf("hostPath %s (%s) does not exist", p, t)
				}
			}
			out[v.Name] = p
		case v.ConfigMap != nil || v.Secret != nil || v.Projected != nil || v.DownwardAPI != nil:
			_, statErr := os.Stat(local)
			if materialize || statErr != nil {
				if err := a.materialize(ctx, pod, v, local); err != nil {
					return nil, err
				}
			}
			out[v.Name] = local
		default: // emptyDir and anything we cannot emulate: a private directory
			if err := os.MkdirAll(local, 0o777); err != nil {
				return nil, err
			}
			out[v.Name] = local
		}
	}
	return out, nil
}

// claimPath is the host directory behind a bound claim.
func (a *Agent) claimPath(ns, claim string) (string, error) {
	pvc, err := a.pvcLister.PersistentVolumeClaims(ns).Get(claim)
	if err != nil {
		return "", fmt.Errorf("%w: persistentvolumeclaim %q: %v", errNotReady, claim, err)
	}
	if pvc.Spec.VolumeName == "" {
		return "", fmt.Errorf("%w: persistentvolumeclaim %q is not bound yet", errNotReady, claim)
	}
	pv, err := a.pvLister.Get(pvc.Spec.VolumeName)
	if err != nil {
		// Maybe the informer lags: ask the apiserver.
		pv, err = a.client.CoreV1().PersistentVolumes().Get(context.Background(), pvc.Spec.VolumeName, metav1.GetOptions{})
		if err != nil {
			return "", fmt.Errorf("%w: persistentvolume %q: %v", errNotReady, pvc.Spec.VolumeName, err)
		}
	}
	var p string
	switch {
	case pv.Spec.HostPath != nil:
		p = pv.Spec.HostPath.Path
	case pv.Spec.Local != nil:
		p = pv.Spec.Local.Path
	default:
		return "", fmt.Errorf("persistentvolume %q is neither hostPath nor local", pv.Name)
	}
	if err := os.MkdirAll(p, 0o777); err != nil {
		return "", err
	}
	return p, nil
}

// materialize writes the files of a configMap/secret/projected/downwardAPI volume.
func (a *Agent) materialize(ctx context.Context, pod *corev1.Pod, v corev1.Volume, dir string) error {
	files := map[string][]byte{}
	addCM := func(name string, items []corev1.KeyToPath, optional *bool) error {
		cm, err := a.client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			if optional != nil && *optional {
				return nil
			}
			return fmt.Errorf("%w: configmap %q: %v", errNotReady, name, err)
		}
		data := map[string][]byte{}
		for k, s := range cm.Data {
			data[k] = []byte(s)
		}
		for k, b := range cm.BinaryData {
			data[k] = b
		}
		addItems(files, data, items)
		return nil
	}
	addSecret := func(name string, items []corev1.KeyToPath, optional *bool) error {
		s, err := a.client.CoreV1().Secrets(pod.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			if optional != nil && *optional {
				return nil
			}
			return fmt.Errorf("%w: secret %q: %v", errNotReady, name, err)
		}
		addItems(files, s.Data, items)
		return nil
	}
	addDownward := func(items []corev1.DownwardAPIVolumeFile) {
		for _, it := range items {
			if it.FieldRef != nil {
				if val, err := fieldValue(pod, it.FieldRef.FieldPath); err == nil {
					files[it.Path] = []byte(val)
				}
			}
		}
	}
	switch {
	case v.ConfigMap != nil:
		if err := addCM(v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.Optional); err != nil {
			return err
		}
	case v.Secret != nil:
		if err := addSecret(v.Secret.SecretName, v.Secret.Items, v.Secret.Optional); err != nil {
			return err
		}
	case v.DownwardAPI != nil:
		addDownward(v.DownwardAPI.Items)
	case v.Projected != nil:
		for _, src := range v.Projected.Sources {
			switch {
			case src.ConfigMap != nil:
				if err := addCM(src.ConfigMap.Name, src.ConfigMap.Items, src.ConfigMap.Optional); err != nil {
					return err
				}
			case src.Secret != nil:
				if err := addSecret(src.Secret.Name, src.Secret.Items, src.Secret.Optional); err != nil {
					return err
				}
			case src.DownwardAPI != nil:
				addDownward(src.DownwardAPI.Items)
			case src.ServiceAccountToken != nil:
				if tok := a.serviceAccountToken(ctx, pod, src.ServiceAccountToken); tok != "" {
					files[src.ServiceAccountToken.Path] = []byte(tok)
				}
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, data := range files {
		p := filepath.Join(dir, filepath.Clean("/"+name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func addItems(files map[string][]byte, data map[string][]byte, items []corev1.KeyToPath) {
	if len(items) == 0 {
		for k, b := range data {
			files[k] = b
		}
		return
	}
	for _, it := range items {
		if b, ok := data[it.Key]; ok {
			files[it.Path] = b
		}
	}
}

func (a *Agent) serviceAccountToken(ctx context.Context, pod *corev1.Pod, p *corev1.ServiceAccountTokenProjection) string {
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	exp := int64(3600)
	if p.ExpirationSeconds != nil {
		exp = *p.ExpirationSeconds
	}
	var aud []string
	if p.Audience != "" {
		aud = []string{p.Audience}
	}
	tr, err := a.client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, &authv1.TokenRequest{
		Spec: authv1.TokenRequestSpec{
			Audiences:         aud,
			ExpirationSeconds: &exp,
			BoundObjectRef:    &authv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		klog.V(2).InfoS("service account token unavailable", "pod", pod.Namespace+"/"+pod.Name, "err", err)
		return ""
	}
	return tr.Status.Token
}

// buildSpec assembles how to run argv (or, if nil, the container's own
// command) in the container's mount view.
func (a *Agent) buildSpec(ctx context.Context, pod *corev1.Pod, c *corev1.Container, argv []string) (nsexec.Spec, error) {
	sources, err := a.volumeSources(ctx, pod, false)
	if err != nil {
		return nsexec.Spec{}, err
	}
	env, err := a.containerEnv(ctx, pod, c)
	if err != nil {
		return nsexec.Spec{}, err
	}
	lookup := envMap(env)
	if argv == nil {
		for _, s := range c.Command {
			argv = append(argv, expandVars(s, lookup))
		}
		for _, s := range c.Args {
			argv = append(argv, expandVars(s, lookup))
		}
	}
	var mounts []nsexec.Mount
	for _, vm := range c.VolumeMounts {
		src, ok := sources[vm.Name]
		if !ok {
			return nsexec.Spec{}, fmt.Errorf("volumeMount %q: no such volume", vm.Name)
		}
		sub := vm.SubPath
		if vm.SubPathExpr != "" {
			sub = expandVars(vm.SubPathExpr, lookup)
		}
		if sub != "" {
			src = filepath.Join(src, filepath.Clean("/"+sub))
			if _, err := os.Stat(src); os.IsNotExist(err) {
				if err := os.MkdirAll(src, 0o777); err != nil {
					return nsexec.Spec{}, err
				}
			}
		}
		mounts = append(mounts, nsexec.Mount{
			Source: src, Target: filepath.Clean("/" + vm.MountPath), ReadOnly: vm.ReadOnly,
		})
	}
	dir := c.WorkingDir
	if dir == "" {
		dir = "/"
	}
	return nsexec.Spec{Mounts: mounts, Dir: dir, Env: env, Argv: argv}, nil
}

// podKeyOf splits "ns/name".
func podKeyOf(key string) (string, string) {
	ns, name, _ := strings.Cut(key, "/")
	return ns, name
}

// waitFor polls cond until true or the deadline.
func waitFor(ctx context.Context, d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(200 * time.Millisecond):
		}
	}
	return cond()
}
