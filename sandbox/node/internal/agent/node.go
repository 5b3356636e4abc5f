package agent

import (
	"context"
	"runtime"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

const (
	leaseNamespace     = "kube-node-lease"
	leaseDuration      = 40
	leaseRenewInterval = 10 * time.Second
	statusInterval     = 20 * time.Second
	// KubeletVersion is what the node reports; it matches the sandbox control plane.
	KubeletVersion = "v1.36.3"
)

func (a *Agent) registerNode(ctx context.Context) error {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: a.cfg.NodeName,
			Labels: map[string]string{
				"kubernetes.io/hostname":   a.cfg.NodeName,
				"kubernetes.io/os":         "linux",
				"kubernetes.io/arch":       runtime.GOARCH,
				"beta.kubernetes.io/os":    "linux",
				"beta.kubernetes.io/arch":  runtime.GOARCH,
				"sandbox.entando.org/node": "true",
			},
		},
	}
	return wait.PollUntilContextCancel(ctx, 2*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := a.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			klog.ErrorS(err, "registering node; retrying", "node", a.cfg.NodeName)
			return false, nil
		}
		if err := a.updateNodeStatus(ctx); err != nil {
			klog.ErrorS(err, "updating node status; retrying", "node", a.cfg.NodeName)
			return false, nil
		}
		klog.InfoS("node registered", "node", a.cfg.NodeName)
		return true, nil
	})
}

func (a *Agent) updateNodeStatus(ctx context.Context) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := a.client.CoreV1().Nodes().Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := metav1.Now()
		res := corev1.ResourceList{
			corev1.ResourceCPU:              resource.MustParse("32"),
			corev1.ResourceMemory:           resource.MustParse("64Gi"),
			corev1.ResourcePods:             resource.MustParse("110"),
			corev1.ResourceEphemeralStorage: resource.MustParse("200Gi"),
		}
		st := &node.Status
		st.Capacity = res
		st.Allocatable = res.DeepCopy()
		st.Phase = corev1.NodeRunning
		st.Addresses = []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: "127.0.0.1"},
			{Type: corev1.NodeHostName, Address: a.cfg.NodeName},
		}
		st.DaemonEndpoints.KubeletEndpoint.Port = a.port
		st.NodeInfo = corev1.NodeSystemInfo{
			MachineID:               "sandbox-" + a.cfg.NodeName,
			SystemUUID:              "sandbox-" + a.cfg.NodeName,
			BootID:                  bootID,
			KernelVersion:           kernelVersion(),
			OSImage:                 "kubectl-entando sandbox node",
			ContainerRuntimeVersion: "sandbox://0.1.0",
			KubeletVersion:          KubeletVersion,
			OperatingSystem:         "linux",
			Architecture:            runtime.GOARCH,
		}
		want := []corev1.NodeCondition{
			{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "sandbox node agent is posting ready status"},
			{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", Message: "sandbox node has sufficient memory available"},
			{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", Message: "sandbox node has no disk pressure"},
			{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID", Message: "sandbox node has sufficient PID available"},
		}
		for i := range want {
			want[i].LastHeartbeatTime = now
			want[i].LastTransitionTime = now
			for _, old := range st.Conditions {
				if old.Type == want[i].Type && old.Status == want[i].Status {
					want[i].LastTransitionTime = old.LastTransitionTime
				}
			}
		}
		st.Conditions = want
		_, err = a.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
		return err
	})
}

func (a *Agent) nodeStatusLoop(ctx context.Context) {
	t := time.NewTicker(statusInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.updateNodeStatus(ctx); err != nil {
				if apierrors.IsNotFound(err) {
					// Someone deleted the Node: register it again.
					_ = a.registerNode(ctx)
					continue
				}
				klog.ErrorS(err, "node status update failed")
			}
		}
	}
}

func (a *Agent) leaseLoop(ctx context.Context) {
	for {
		if err := a.renewLease(ctx); err != nil && ctx.Err() == nil {
			klog.ErrorS(err, "lease renewal failed")
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(leaseRenewInterval):
		}
	}
}

func (a *Agent) renewLease(ctx context.Context) error {
	leases := a.client.CoordinationV1().Leases(leaseNamespace)
	now := metav1.NewMicroTime(time.Now())
	lease, err := leases.Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		node, err := a.client.CoreV1().Nodes().Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		lease = &coordv1.Lease{
			ObjectMeta: metav1.ObjectMeta{
				Name:      a.cfg.NodeName,
				Namespace: leaseNamespace,
				OwnerReferences: []metav1.OwnerReference{{
					APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID,
				}},
			},
			Spec: coordv1.LeaseSpec{
				HolderIdentity:       ptr.To(a.cfg.NodeName),
				LeaseDurationSeconds: ptr.To[int32](leaseDuration),
				RenewTime:            &now,
			},
		}
		_, err = leases.Create(ctx, lease, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	lease.Spec.HolderIdentity = ptr.To(a.cfg.NodeName)
	lease.Spec.LeaseDurationSeconds = ptr.To[int32](leaseDuration)
	lease.Spec.RenewTime = &now
	_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	return err
}
