# TemporalDeployer. `make demo` and `make test` install what they need (see infra/scripts/).
.PHONY: demo demo-stop test bootstrap worker bench fuzz crash-matrix postgres-start postgres-stop vet cluster cluster-stop

demo: bootstrap
	bash infra/scripts/demo.sh

demo-stop:
	bash infra/scripts/demo.sh stop

test:
	bash infra/scripts/test.sh

bootstrap:
	bash infra/scripts/bootstrap.sh

worker:
	go run ./cmd/worker

bench: bootstrap
	go test -run '^$$' -bench . -benchtime 20x -count 1 ./tests/

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
