// Command ociregistry serves go-containerregistry's OCI distribution registry on a local address,
// for `make demo` and local development (blobs on disk, manifests in memory for the process's
// life). Production uses any OCI registry; point DEPLOYER_OCI_REPOSITORY at it.
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5001", "listen address (keep it on loopback)")
	dir := flag.String("dir", ".cache/oci", "directory for blobs")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Error("blob directory", "error", err)
		os.Exit(1)
	}
	srv := &http.Server{Addr: *addr, ReadHeaderTimeout: 10 * time.Second,
		Handler: registry.New(registry.WithBlobHandler(registry.NewDiskBlobHandler(*dir)))}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	log.Info("oci registry listening", "addr", *addr, "blobs", *dir)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("oci registry stopped", "error", err)
		os.Exit(1)
	}
}
