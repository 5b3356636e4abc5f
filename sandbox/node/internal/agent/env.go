package agent

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

func hostPath() string {
	if p := os.Getenv("PATH"); p != "" {
		return p
	}
	return defaultPath
}

// envList keeps variables in definition order with later values winning.
type envList struct {
	order []string
	vals  map[string]string
}

func (e *envList) set(k, v string) {
	if e.vals == nil {
		e.vals = map[string]string{}
	}
	if _, ok := e.vals[k]; !ok {
		e.order = append(e.order, k)
	}
	e.vals[k] = v
}

func (e *envList) list() []string {
	out := make([]string, 0, len(e.order))
	for _, k := range e.order {
		out = append(out, k+"="+e.vals[k])
	}
	return out
}

// containerEnv is the environment of a container's processes: the host's
// PATH, HOME and HOSTNAME, then the container's envFrom and env.
func (a *Agent) containerEnv(ctx context.Context, pod *corev1.Pod, c *corev1.Container) ([]string, error) {
	var env envList
	env.set("PATH", hostPath())
	env.set("HOSTNAME", pod.Name)
	env.set("HOME", "/root")
	// A kubelet gives every container the kubernetes Service's address. Its cluster IP is
	// not routable here (no kube-proxy), so pods get the apiserver's own loopback address,
	// which its certificate names: in-cluster clients work unchanged.
	env.set("KUBERNETES_SERVICE_HOST", a.apiHost)
	env.set("KUBERNETES_SERVICE_PORT", a.apiPort)
	env.set("KUBERNETES_SERVICE_PORT_HTTPS", a.apiPort)
	env.set("KUBERNETES_PORT", "tcp://"+net.JoinHostPort(a.apiHost, a.apiPort))

	cms := map[string]map[string]string{}
	secrets := map[string]map[string]string{}
	getCM := func(name string) (map[string]string, error) {
		if m, ok := cms[name]; ok {
			return m, nil
		}
		cm, err := a.client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		cms[name] = cm.Data
		return cm.Data, nil
	}
	getSecret := func(name string) (map[string]string, error) {
		if m, ok := secrets[name]; ok {
			return m, nil
		}
		s, err := a.client.CoreV1().Secrets(pod.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		for k, v := range s.Data {
			m[k] = string(v)
		}
		for k, v := range s.StringData {
			m[k] = v
		}
		secrets[name] = m
		return m, nil
	}
	isOptional := func(b *bool) bool { return b != nil && *b }

	for _, from := range c.EnvFrom {
		var data map[string]string
		var err error
		switch {
		case from.ConfigMapRef != nil:
			data, err = getCM(from.ConfigMapRef.Name)
			if err != nil && isOptional(from.ConfigMapRef.Optional) {
				err = nil
			}
		case from.SecretRef != nil:
			data, err = getSecret(from.SecretRef.Name)
			if err != nil && isOptional(from.SecretRef.Optional) {
				err = nil
			}
		}
		if err != nil {
			return nil, fmt.Errorf("envFrom: %v", err)
		}
		for k, v := range data {
			env.set(from.Prefix+k, v)
		}
	}
	for _, e := range c.Env {
		val := e.Value
		if e.ValueFrom == nil {
			val = expandVars(val, env.vals)
		} else {
			vf := e.ValueFrom
			switch {
			case vf.SecretKeyRef != nil:
				data, err := getSecret(vf.SecretKeyRef.Name)
				v, ok := data[vf.SecretKeyRef.Key]
				if err != nil || !ok {
					if isOptional(vf.SecretKeyRef.Optional) {
						continue
					}
					return nil, fmt.Errorf("env %s: secret %q key %q not found", e.Name, vf.SecretKeyRef.Name, vf.SecretKeyRef.Key)
				}
				val = v
			case vf.ConfigMapKeyRef != nil:
				data, err := getCM(vf.ConfigMapKeyRef.Name)
				v, ok := data[vf.ConfigMapKeyRef.Key]
				if err != nil || !ok {
					if isOptional(vf.ConfigMapKeyRef.Optional) {
						continue
					}
					return nil, fmt.Errorf("env %s: configmap %q key %q not found", e.Name, vf.ConfigMapKeyRef.Name, vf.ConfigMapKeyRef.Key)
				}
				val = v
			case vf.FieldRef != nil:
				v, err := fieldValue(pod, vf.FieldRef.FieldPath)
				if err != nil {
					return nil, fmt.Errorf("env %s: %v", e.Name, err)
				}
				val = v
			case vf.ResourceFieldRef != nil:
				val = resourceValue(c, vf.ResourceFieldRef)
			}
		}
		if e.Name == "PATH" {
			// Keep the host tools reachable whatever the image's PATH was.
			val = val + ":" + hostPath()
		}
		env.set(e.Name, val)
	}
	return env.list(), nil
}

func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// expandVars implements Kubernetes' $(VAR) references: $(NAME) becomes the
// value of NAME if defined (left as is otherwise) and $$ escapes a $.
func expandVars(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

func fieldValue(pod *corev1.Pod, path string) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.podIP", "status.hostIP":
		return podIP, nil
	case "status.podIPs", "status.hostIPs":
		return podIP, nil
	case "metadata.labels", "metadata.annotations":
		m := pod.Labels
		if path == "metadata.annotations" {
			m = pod.Annotations
		}
		var lines []string
		for k, v := range m {
			lines = append(lines, fmt.Sprintf("%s=%q", k, v))
		}
		return strings.Join(lines, "\n"), nil
	}
	for _, prefix := range []string{"metadata.labels['", "metadata.annotations['"} {
		if strings.HasPrefix(path, prefix) && strings.HasSuffix(path, "']") {
			key := path[len(prefix) : len(path)-2]
			if strings.HasPrefix(prefix, "metadata.labels") {
				return pod.Labels[key], nil
			}
			return pod.Annotations[key], nil
		}
	}
	return "", fmt.Errorf("unsupported fieldRef %q", path)
}

func resourceValue(c *corev1.Container, ref *corev1.ResourceFieldSelector) string {
	name := ref.Resource
	var q = c.Resources.Limits
	if strings.HasPrefix(name, "requests.") {
		q = c.Resources.Requests
		name = strings.TrimPrefix(name, "requests.")
	} else {
		name = strings.TrimPrefix(name, "limits.")
	}
	if v, ok := q[corev1.ResourceName(name)]; ok {
		return v.String()
	}
	switch name {
	case "cpu":
		return "32"
	case "memory":
		return "68719476736"
	}
	return "0"
}

// apiserverAddress splits the kubeconfig's server URL into host and port (443 if none).
func apiserverAddress(server string) (string, string, error) {
	u, err := url.Parse(server)
	if err != nil || u.Hostname() == "" {
		return "", "", fmt.Errorf("kubeconfig server %q: not a URL", server)
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	return u.Hostname(), port, nil
}
