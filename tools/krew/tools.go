//go:build tools

// Package tools only exists so that `go mod tidy` keeps the Krew commands that
// scripts/lib/krew.sh builds from this module: krew (run as kubectl-krew) and
// validate-krew-manifest, krew-index's manifest check.
package tools

import (
	_ "sigs.k8s.io/krew/cmd/krew"
	_ "sigs.k8s.io/krew/cmd/validate-krew-manifest"
)
