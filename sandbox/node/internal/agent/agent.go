// Package agent implements the sandbox node: a kubelet stand-in whose pods run
// as host processes.
package agent

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
)

// Config holds the agent's settings (one per command-line flag).
type Config struct {
	Kubeconfig string
	NodeName   string
	Listen     string
	StateDir   string
	PVDir      string
	TLSCert    string
	TLSKey     string
	// Self is the path of the sandbox-node executable, re-executed as the
	// mount-namespace helper.
	Self string
}

// Agent is a running node.
type Agent struct {
	cfg    Config
	client kubernetes.Interface
	port   int32
	// apiHost and apiPort are where pods reach the apiserver (KUBERNETES_SERVICE_*).
	apiHost string
	apiPort string

	podLister corelisters.PodLister
	pvcLister corelisters.PersistentVolumeClaimLister
	pvLister  corelisters.PersistentVolumeLister

	podQueue workqueue.TypedRateLimitingInterface[string]
	pvQueue  workqueue.TypedRateLimitingInterface[string]

	mu   sync.Mutex
	pods map[types.UID]*podRuntime
	// deleting remembers pods we already asked the apiserver to delete.
	deleting map[types.UID]bool

	ctx context.Context
}

// New validates cfg and connects to the apiserver.
func New(cfg Config) (*Agent, error) {
	if cfg.NodeName == "" {
		return nil, fmt.Errorf("--node-name is required")
	}
	_, portStr, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("--listen %q: %v", cfg.Listen, err)
	}
	var port int32
	if _, err := fmt.Sscanf(portStr, "%d", &port); err != nil || port <= 0 {
		return nil, fmt.Errorf("--listen %q: bad port", cfg.Listen)
	}
	for _, d := range []string{cfg.StateDir, cfg.PVDir} {
		if d == "" {
			return nil, fmt.Errorf("--state-dir and --pv-dir are required")
		}
	}
	var err2 error
	if cfg.StateDir, err2 = filepath.Abs(cfg.StateDir); err2 != nil {
		return nil, err2
	}
	if cfg.PVDir, err2 = filepath.Abs(cfg.PVDir); err2 != nil {
		return nil, err2
	}
	if err := os.MkdirAll(filepath.Join(cfg.StateDir, "pods"), 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.PVDir, 0o755); err != nil {
		return nil, err
	}
	rc, err := clientcmd.BuildConfigFromFlags("", cfg.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %v", err)
	}
	rc.QPS = 50
	rc.Burst = 100
	rc.UserAgent = "sandbox-node/" + cfg.NodeName
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	apiHost, apiPort, err := apiserverAddress(rc.Host)
	if err != nil {
		return nil, err
	}
	return &Agent{
		cfg:      cfg,
		client:   client,
		port:     port,
		apiHost:  apiHost,
		apiPort:  apiPort,
		pods:     map[types.UID]*podRuntime{},
		deleting: map[types.UID]bool{},
		podQueue: workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		pvQueue:  workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
	}, nil
}

// Run serves until ctx is cancelled, then stops every pod process.
func (a *Agent) Run(ctx context.Context) error {
	a.ctx = ctx
	tlsCfg, err := loadOrCreateTLS(a.cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           a.handler(),
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 30 * time.Second,
		// SPDY upgrades need HTTP/1.1 connection hijacking: no HTTP/2.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	go func() {
		if err := srv.ServeTLS(ln, "", ""); err != nil && err != http.ErrServerClosed {
			klog.ErrorS(err, "kubelet endpoint server failed")
		}
	}()
	klog.InfoS("serving kubelet endpoints", "address", a.cfg.Listen)

	killOrphans(a.cfg.StateDir)

	factory := informers.NewSharedInformerFactoryWithOptions(a.client, 0)
	podFactory := informers.NewSharedInformerFactoryWithOptions(a.client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", a.cfg.NodeName).String()
		}))
	podInformer := podFactory.Core().V1().Pods()
	pvcInformer := factory.Core().V1().PersistentVolumeClaims()
	pvInformer := factory.Core().V1().PersistentVolumes()
	a.podLister = podInformer.Lister()
	a.pvcLister = pvcInformer.Lister()
	a.pvLister = pvInformer.Lister()

	enqueuePod := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			a.podQueue.Add(key)
		}
	}
	_, _ = podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueuePod,
		UpdateFunc: func(_, n any) { enqueuePod(n) },
		DeleteFunc: enqueuePod,
	})
	enqueuePV := func(any) { a.pvQueue.Add("sync") }
	_, _ = pvcInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueuePV,
		UpdateFunc: func(_, n any) { enqueuePV(n) },
		DeleteFunc: enqueuePV,
	})
	_, _ = pvInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: enqueuePV,
	})
	// Pods waiting for a claim need to hear about PVC binding.
	_, _ = pvcInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, n any) { a.kickPodsUsing(n.(*corev1.PersistentVolumeClaim)) },
	})

	if err := a.registerNode(ctx); err != nil {
		return err
	}
	go a.leaseLoop(ctx)
	go a.nodeStatusLoop(ctx)

	factory.Start(ctx.Done())
	podFactory.Start(ctx.Done())
	for t, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("cache for %v did not sync", t)
		}
	}
	for t, ok := range podFactory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("cache for %v did not sync", t)
		}
	}
	klog.InfoS("node agent ready", "node", a.cfg.NodeName)

	go a.pvWorker(ctx)
	go func() { // periodic resync of claims and pods
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				a.pvQueue.Add("sync")
				pods, _ := a.podLister.List(labels.Everything())
				for _, p := range pods {
					a.podQueue.Add(p.Namespace + "/" + p.Name)
				}
			}
		}
	}()
	for i := 0; i < 4; i++ {
		go a.podWorker(ctx)
	}

	<-ctx.Done()
	klog.InfoS("shutting down: stopping pod processes")
	a.podQueue.ShutDown()
	a.pvQueue.ShutDown()
	a.stopAll()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	return nil
}

func (a *Agent) podWorker(ctx context.Context) {
	for {
		key, quit := a.podQueue.Get()
		if quit {
			return
		}
		err := a.syncPod(ctx, key)
		if err != nil && ctx.Err() == nil {
			klog.ErrorS(err, "pod sync failed; will retry", "pod", key)
			a.podQueue.AddRateLimited(key)
		} else {
			a.podQueue.Forget(key)
		}
		a.podQueue.Done(key)
	}
}

func (a *Agent) pvWorker(ctx context.Context) {
	for {
		key, quit := a.pvQueue.Get()
		if quit {
			return
		}
		if err := a.syncVolumes(ctx); err != nil && ctx.Err() == nil {
			klog.ErrorS(err, "volume provisioning failed; will retry")
			a.pvQueue.AddRateLimited(key)
		} else {
			a.pvQueue.Forget(key)
		}
		a.pvQueue.Done(key)
	}
}

func (a *Agent) kickPodsUsing(pvc *corev1.PersistentVolumeClaim) {
	pods, err := a.podLister.Pods(pvc.Namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, p := range pods {
		for _, v := range p.Spec.Volumes {
			if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == pvc.Name {
				a.podQueue.Add(p.Namespace + "/" + p.Name)
			}
		}
	}
}
