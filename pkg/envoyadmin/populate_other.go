//go:build unix && !linux

package envoyadmin

func populate([]byte) {}
