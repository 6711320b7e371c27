// Command codec-server opens and seals payloads for the Temporal Web UI and the temporal CLI, with
// the worker's keyring (package codec): the SDK's codec HTTP endpoints (POST /encode, /decode),
// CORS for the Web UI's origin, a bearer token check. Point the Web UI at it (`temporal server
// start-dev --ui-codec-endpoint http://127.0.0.1:8081`, or the UI's codec setting) and the CLI
// (TEMPORAL_CODEC_ENDPOINT, TEMPORAL_CODEC_AUTH="Bearer <token>"). Configuration: DEPLOYER_CODEC_KEYS
// (required), DEPLOYER_CODEC_ADDR, DEPLOYER_CODEC_TOKEN, DEPLOYER_CODEC_ORIGINS (README "Encrypted
// payloads"). SIGTERM or SIGINT stops it.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/temporaldeployer/temporaldeployer/codec"
	"github.com/temporaldeployer/temporaldeployer/config"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("codec server stopped", "error", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	c := cfg.Codec
	if c.Keys == "" {
		return errors.New("DEPLOYER_CODEC_KEYS is not set: the codec server needs the keyring the worker seals with")
	}
	if err := codec.CheckListen(c.Addr, c.Token); err != nil {
		return err
	}
	ring, err := codec.LoadKeyring(c.Keys)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("codec server: %w", err)
	}
	srv := &http.Server{Handler: codec.Handler(codec.New(ring), codec.ServerOptions{Token: c.Token, Origins: c.Origins}),
		ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	log.Info("codec server listening", "addr", ln.Addr().String(), "keys", ring.IDs(), "seals_with", ring.Newest().ID,
		"token", c.Token != "", "origins", c.Origins)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("codec server stopped")
	return nil
}
