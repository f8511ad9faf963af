// Command etcd is etcd's own server entry point (the same call etcd's main
// package makes), built from the pinned release in go.mod so the real
// kube-apiserver in test/real-kube stores its objects in the etcd line that
// Kubernetes 1.33 is released against (kubeadm pins 3.5.x for 1.31–1.33).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
