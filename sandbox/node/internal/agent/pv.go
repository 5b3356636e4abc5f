package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
)

const (
	pvPrefix           = "sandbox-pv-"
	provisionedByLabel = "sandbox.entando.org/provisioned-by"
	pvClaimNSLabel     = "sandbox.entando.org/claim-namespace"
	pvClaimNameLabel   = "sandbox.entando.org/claim-name"
	pvProtection       = "kubernetes.io/pv-protection"
)

// PVName is the name of the volume provisioned for a claim.
func PVName(ns, claim string) string {
	n := pvPrefix + ns + "-" + claim
	if len(n) > 253 {
		n = n[:253]
	}
	return n
}

func (a *Agent) pvPath(ns, claim string) string {
	return filepath.Join(a.cfg.PVDir, ns, claim)
}

// syncVolumes releases volumes whose claim is gone, then provisions and binds
// a volume for every pending claim. One goroutine runs it, so releasing a
// directory never races with provisioning the same path again.
func (a *Agent) syncVolumes(ctx context.Context) error {
	sel := labels.SelectorFromSet(labels.Set{provisionedByLabel: a.cfg.NodeName})
	pvs, err := a.pvLister.List(sel)
	if err != nil {
		return err
	}
	var firstErr error
	note := func(err error) {
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	for _, pv := range pvs {
		if pv.DeletionTimestamp != nil {
			note(a.releasePV(ctx, pv))
			continue
		}
		ref := pv.Spec.ClaimRef
		if ref == nil {
			continue
		}
		pvc, err := a.pvcLister.PersistentVolumeClaims(ref.Namespace).Get(ref.Name)
		if err == nil && pvc.UID == ref.UID && (pvc.Spec.VolumeName == "" || pvc.Spec.VolumeName == pv.Name) {
			continue // still in use
		}
		// The cache says the claim is gone or changed: confirm with the
		// apiserver before deleting anybody's data.
		live, err := a.client.CoreV1().PersistentVolumeClaims(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			note(err)
			continue
		case live.UID == ref.UID && (live.Spec.VolumeName == "" || live.Spec.VolumeName == pv.Name):
			continue
		}
		klog.InfoS("claim is gone: deleting its volume and data", "pv", pv.Name, "claim", ref.Namespace+"/"+ref.Name)
		note(a.releasePV(ctx, pv))
	}

	pvcs, err := a.pvcLister.List(labels.Everything())
	if err != nil {
		return err
	}
	for _, pvc := range pvcs {
		if pvc.DeletionTimestamp != nil {
			continue
		}
		if pvc.Spec.VolumeName == "" {
			if pvc.Spec.Selector != nil || a.foreignVolumeMayMatch(pvc) {
				continue // left to the PV controller
			}
			note(a.provision(ctx, pvc))
		} else if strings.HasPrefix(pvc.Spec.VolumeName, pvPrefix) && pvc.Status.Phase != corev1.ClaimBound {
			if pv, err := a.pvLister.Get(pvc.Spec.VolumeName); err == nil && pv.Spec.ClaimRef != nil && pv.Spec.ClaimRef.UID == pvc.UID {
				note(a.bind(ctx, pvc, pv))
			}
		}
	}
	return firstErr
}

// foreignVolumeMayMatch is true when a volume we did not make is Available in
// the claim's class: the PV controller may want to bind it, so wait a little.
func (a *Agent) foreignVolumeMayMatch(pvc *corev1.PersistentVolumeClaim) bool {
	if time.Since(pvc.CreationTimestamp.Time) > 5*time.Second {
		return false
	}
	pvs, _ := a.pvLister.List(labels.Everything())
	class := ""
	if pvc.Spec.StorageClassName != nil {
		class = *pvc.Spec.StorageClassName
	}
	for _, pv := range pvs {
		if pv.Labels[provisionedByLabel] == "" && pv.Status.Phase == corev1.VolumeAvailable && pv.Spec.StorageClassName == class {
			go func() { time.Sleep(6 * time.Second); a.pvQueue.Add("sync") }()
			return true
		}
	}
	return false
}

func (a *Agent) provision(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	name := PVName(pvc.Namespace, pvc.Name)
	pvs := a.client.CoreV1().PersistentVolumes()
	existing, err := pvs.Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		if existing.Spec.ClaimRef != nil && existing.Spec.ClaimRef.UID == pvc.UID && existing.DeletionTimestamp == nil {
			return a.bind(ctx, pvc, existing)
		}
		// A volume of an earlier claim with the same name: finish it first.
		if err := a.releasePV(ctx, existing); err != nil {
			return err
		}
		gone := waitFor(ctx, 10*time.Second, func() bool {
			_, err := pvs.Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		})
		if !gone {
			return fmt.Errorf("old volume %s is still being deleted", name)
		}
	} else if !apierrors.IsNotFound(err) {
		return err
	}

	path := a.pvPath(pvc.Namespace, pvc.Name)
	if err := os.MkdirAll(path, 0o777); err != nil {
		return err
	}
	_ = os.Chmod(path, 0o777)
	size := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if size.IsZero() {
		size = resource.MustParse("1Gi")
	}
	modes := pvc.Spec.AccessModes
	if len(modes) == 0 {
		modes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	dirType := corev1.HostPathDirectoryOrCreate
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Labels: map[string]string{
				provisionedByLabel: a.cfg.NodeName,
				pvClaimNSLabel:     pvc.Namespace,
				pvClaimNameLabel:   truncLabel(pvc.Name),
			},
			Annotations: map[string]string{
				"pv.kubernetes.io/provisioned-by": "sandbox.entando.org/" + a.cfg.NodeName,
			},
		},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   modes,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			VolumeMode:                    pvc.Spec.VolumeMode,
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: path, Type: &dirType},
			},
			ClaimRef: &corev1.ObjectReference{
				Kind: "PersistentVolumeClaim", APIVersion: "v1",
				Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID,
				ResourceVersion: pvc.ResourceVersion,
			},
		},
	}
	if pvc.Spec.StorageClassName != nil {
		pv.Spec.StorageClassName = *pvc.Spec.StorageClassName
	}
	created, err := pvs.Create(ctx, pv, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating %s: %v", name, err)
	}
	klog.InfoS("provisioned volume", "pv", name, "claim", pvc.Namespace+"/"+pvc.Name, "path", path, "size", size.String())
	return a.bind(ctx, pvc, created)
}

// bind completes the binding the way the PV controller would.
func (a *Agent) bind(ctx context.Context, pvc *corev1.PersistentVolumeClaim, pv *corev1.PersistentVolume) error {
	claims := a.client.CoreV1().PersistentVolumeClaims(pvc.Namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := claims.Get(ctx, pvc.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.UID != pvc.UID {
			return fmt.Errorf("claim %s/%s was replaced", pvc.Namespace, pvc.Name)
		}
		if cur.Spec.VolumeName == "" {
			cur.Spec.VolumeName = pv.Name
			if cur.Annotations == nil {
				cur.Annotations = map[string]string{}
			}
			cur.Annotations["pv.kubernetes.io/bind-completed"] = "yes"
			cur.Annotations["pv.kubernetes.io/bound-by-controller"] = "yes"
			if cur, err = claims.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
				return err
			}
		} else if cur.Spec.VolumeName != pv.Name {
			return nil // bound elsewhere; the release pass cleans our volume up
		}
		if cur.Status.Phase == corev1.ClaimBound {
			return nil
		}
		cur.Status.Phase = corev1.ClaimBound
		cur.Status.AccessModes = pv.Spec.AccessModes
		cur.Status.Capacity = pv.Spec.Capacity
		_, err = claims.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("binding %s/%s to %s: %v", pvc.Namespace, pvc.Name, pv.Name, err)
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := a.client.CoreV1().PersistentVolumes().Get(ctx, pv.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.Status.Phase == corev1.VolumeBound {
			return nil
		}
		cur.Status.Phase = corev1.VolumeBound
		_, err = a.client.CoreV1().PersistentVolumes().UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
}

// releasePV deletes one of our volumes and its directory.
func (a *Agent) releasePV(ctx context.Context, pv *corev1.PersistentVolume) error {
	pvs := a.client.CoreV1().PersistentVolumes()
	if pv.DeletionTimestamp == nil {
		err := pvs.Delete(ctx, pv.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pv.UID}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return err
		}
	}
	// The pv-protection finalizer would wait for the PV controller to mark the
	// volume Released; the volume is ours, so lift it ourselves.
	cur, err := pvs.Get(ctx, pv.Name, metav1.GetOptions{})
	if err == nil && cur.UID == pv.UID && len(cur.Finalizers) > 0 {
		var keep []string
		for _, f := range cur.Finalizers {
			if f != pvProtection {
				keep = append(keep, f)
			}
		}
		patch := []byte(`{"metadata":{"finalizers":null}}`)
		if len(keep) > 0 {
			patch = []byte(fmt.Sprintf(`{"metadata":{"finalizers":%s}}`, jsonStrings(keep)))
		}
		if _, err := pvs.Patch(ctx, pv.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	if pv.Spec.HostPath != nil {
		p := filepath.Clean(pv.Spec.HostPath.Path)
		if rel, err := filepath.Rel(a.cfg.PVDir, p); err == nil && rel != "." && !strings.HasPrefix(rel, "..") {
			if err := os.RemoveAll(p); err != nil {
				return err
			}
			klog.InfoS("deleted volume data", "pv", pv.Name, "path", p)
		}
	}
	return nil
}

func jsonStrings(ss []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q", s)
	}
	b.WriteByte(']')
	return b.String()
}

func truncLabel(s string) string {
	if len(s) > 63 {
		s = s[:63]
	}
	return strings.TrimRight(s, "-_.")
}
