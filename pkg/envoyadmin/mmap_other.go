//go:build !unix

package envoyadmin

import "os"

func mmapFile(*os.File, int64) (*Input, bool) { return nil, false }
