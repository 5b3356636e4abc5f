//go:build tools

// Package tools only exists so that `go mod tidy` keeps the weed command that
// scripts/lib/s3.sh builds from this module.
package tools

import (
	_ "github.com/seaweedfs/seaweedfs/weed"
)
