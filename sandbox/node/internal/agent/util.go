package agent

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/klog/v2"
)

var bootID = func() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}()

func kernelVersion() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}

// loadOrCreateTLS loads the serving certificate, generating a self-signed one
// (and saving it at the configured paths) when the files are absent.
func loadOrCreateTLS(cfg Config) (*tls.Config, error) {
	certPath, keyPath := cfg.TLSCert, cfg.TLSKey
	if certPath == "" {
		certPath = filepath.Join(cfg.StateDir, "tls", "kubelet.crt")
	}
	if keyPath == "" {
		keyPath = filepath.Join(cfg.StateDir, "tls", "kubelet.key")
	}
	_, errC := os.Stat(certPath)
	_, errK := os.Stat(keyPath)
	if os.IsNotExist(errC) || os.IsNotExist(errK) {
		if err := writeSelfSigned(certPath, keyPath, cfg.NodeName); err != nil {
			return nil, fmt.Errorf("generating serving certificate: %v", err)
		}
		klog.InfoS("generated self-signed serving certificate", "cert", certPath)
	}
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"},
	}, nil
}

func writeSelfSigned(certPath, keyPath, nodeName string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: nodeName + "@sandbox-node"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{nodeName, "localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	for _, p := range []string{certPath, keyPath} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// Container processes are recorded in <pod dir>/pids/<container> as
// "<pid> <start time>" so that a restarted agent can kill what a crashed one
// left behind.

func procStartTime(pid int) (string, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", false
	}
	f := strings.Fields(s[i+1:])
	// Field 22 overall is starttime; after "pid (comm)" it is index 19.
	if len(f) < 20 {
		return "", false
	}
	return f[19], true
}

func writePidFile(podDir, container string, pid int) {
	st, ok := procStartTime(pid)
	if !ok {
		return
	}
	dir := filepath.Join(podDir, "pids")
	_ = os.MkdirAll(dir, 0o755)
	_ = os.WriteFile(filepath.Join(dir, container), []byte(fmt.Sprintf("%d %s", pid, st)), 0o644)
}

func removePidFile(podDir, container string) {
	_ = os.Remove(filepath.Join(podDir, "pids", container))
}

// killOrphans kills the process groups recorded by a previous agent run.
func killOrphans(stateDir string) {
	files, _ := filepath.Glob(filepath.Join(stateDir, "pods", "*", "pids", "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		_ = os.Remove(f)
		if err != nil {
			continue
		}
		parts := strings.Fields(string(b))
		if len(parts) != 2 {
			continue
		}
		pid, err := strconv.Atoi(parts[0])
		if err != nil || pid <= 1 {
			continue
		}
		if st, ok := procStartTime(pid); ok && st == parts[1] {
			klog.InfoS("killing process left by a previous agent", "pid", pid, "record", f)
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
}
