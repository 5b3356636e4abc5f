//go:build tools

// Package tools only exists so that `go mod tidy` keeps etcd's server
// (package main at the root of go.etcd.io/etcd/server/v3).
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
)
