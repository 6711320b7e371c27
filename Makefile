# TemporalDeployer. `make demo` and `make test` install what they need (see infra/scripts/).
.PHONY: demo demo-stop demo-clean test bootstrap worker worker-image bench fuzz crash-matrix postgres-start postgres-stop vet cluster cluster-stop

demo: bootstrap
	bash infra/scripts/demo.sh

demo-stop:
	bash infra/scripts/demo.sh stop

# Stops the demo and deletes its state (DEMO_DIR, default .cache/demo): the next demo starts from nothing.
demo-clean:
	bash infra/scripts/demo.sh clean

test:
	bash infra/scripts/test.sh

bootstrap:
	bash infra/scripts/bootstrap.sh

worker:
	go run ./cmd/worker

# The worker's OCI image, pushed by digest (prints REPOSITORY@sha256:...): make worker-image
# REPOSITORY=registry.example.com/temporaldeployer/worker [WORKER_IMAGE_FLAGS="-insecure -tag dev"]
worker-image:
	@test -n "$(REPOSITORY)" || { echo "make worker-image REPOSITORY=<registry>/<path>" >&2; exit 2; }
	go run ./cmd/worker-image -repository "$(REPOSITORY)" $(WORKER_IMAGE_FLAGS)

# Benchmarks, then issue 11's measurements on the real parts (each prints its table): abort → stable
# on the control plane (TestAbortLatency) and end to end from the abort signal (TestAbortEndToEnd),
# both routers; 10,000 deployments parked in their shadow hold on one worker (TestParkedHolds).
bench: bootstrap
	go test -run '^$$' -bench . -benchtime 20x -count 1 ./tests/ ./seal/ ./drift/ ./approval/ ./codec/
	CI=true MEASURE_ABORT=1 MEASURE_PARK=1 MEASURE_CODEC=1 go test -count=1 -timeout 180m -v \
		-run 'TestAbortLatency|TestAbortEndToEnd|TestParkedHolds|TestCodecOverhead' ./tests/ | grep -v '^20[0-9][0-9]/'

# Fuzz targets (input decoding and normalisation, names, signal payloads), FUZZTIME each (10m).
fuzz:
	bash infra/scripts/fuzz.sh

# The worker killed with SIGKILL at every point of a model's promotion to Production, and of
# production deploys (packaging, rollouts, shadow hold, canary steps, compensation); make test runs
# 3 of each.
crash-matrix: bootstrap
	CI=true TD_CRASH_MATRIX=all go test -count=1 -timeout 120m -run 'TestCrashMatrix|TestDeployCrashMatrix' -v ./tests/

vet:
	go vet ./...
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }

postgres-start:
	bash infra/scripts/postgres.sh install && bash infra/scripts/postgres.sh start && bash infra/scripts/postgres.sh url

postgres-stop:
	bash infra/scripts/postgres.sh stop

# A local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# KWOK), built from the Go module proxy on first use (~20 min cold); prints the kubeconfig path.
cluster:
	bash infra/cluster/build.sh && bash infra/cluster/cluster.sh start

cluster-stop:
	bash infra/cluster/cluster.sh stop
