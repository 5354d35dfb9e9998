// Command etcd is etcd's own server main, built from the Go module proxy so that the end-to-end tests and the
// demo have a real etcd 3.5 without a package or a download site.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
