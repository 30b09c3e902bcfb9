//go:build !linux

package main

// dropStartupPages lets go of the binary's pages that start-up mapped; on
// Linux only (see pages_linux.go).
func dropStartupPages() {}
