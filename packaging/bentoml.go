package packaging

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/temporaldeployer/temporaldeployer/redact"
	"github.com/temporaldeployer/temporaldeployer/registry/mlflowauth"
)

var _ Packager = (*BentoML)(nil)

// BentoMLConfig configures the BentoML packager. Relative paths are taken from the working
// directory at NewBentoML.
type BentoMLConfig struct {
	TrackingURI string // MLflow tracking server, e.g. http://127.0.0.1:5000. Required; no credentials in it.
	// MLflowAuth is passed to the build script in MLflow's own variables; never logged.
	MLflowAuth mlflowauth.Credentials
	Repository string // OCI repository the images go to, e.g. 127.0.0.1:5001/models. Required.
	// BaseImage is the image the bento layer goes on top of, pulled from its registry, e.g. a
	// BentoML runtime image. Defaults to none: the image is the bento layer alone.
	BaseImage string
	// Insecure allows plain HTTP to the registries (DEPLOYER_OCI_INSECURE). Without it every
	// http:// request is refused, loopback and RFC 1918 hosts included (RegistryTransport).
	Insecure bool
	Python   string // an interpreter with bentoml and mlflow. Defaults to .cache/venv/bin/python.
	Script   string // the bento build script. Defaults to infra/bento/package.py.
	Home     string // BENTOML_HOME, the model and bento store. Defaults to .cache/bentoml; created.
	// Keychain finds registry credentials. Defaults to authn.DefaultKeychain (docker config).
	Keychain  authn.Keychain
	Transport http.RoundTripper // Defaults to remote.DefaultTransport.
	Attempts  int               // tries per registry operation. Defaults to 5.
	Backoff   time.Duration     // first wait between tries, doubling up to 30 s. Defaults to 1 s.
	// PassEnv (DEPLOYER_BENTO_ENV) names more of the worker's variables the build script gets as
	// they are, e.g. an artifact store's credentials when MLflow does not proxy its artifacts; one
	// unset is not passed, one the script gets anyway (buildEnvPassed) is passed once. Their values
	// are secrets, hidden in the packager's errors. Names the build sets itself are refused.
	PassEnv []string
	// BuildTimeout bounds one run of the build script. Defaults to 15 minutes.
	BuildTimeout time.Duration
	Log          *slog.Logger // Defaults to slog.Default().
}

// BentoML packages an MLflow model version as a bento (infra/bento/package.py: BentoML's MLflow
// integration and the project's service template), exports it, and pushes it to an OCI registry
// as a one-layer image (on an optional base) pinned by digest. The registry is the record: a
// version whose image is already there is not built or pushed again.
type BentoML struct {
	cfg   BentoMLConfig
	repo  name.Repository
	base  name.Reference // nil: no base image
	locks *keyedLock
}

// NewBentoML validates cfg and returns the packager. The interpreter and the script must exist.
func NewBentoML(cfg BentoMLConfig) (*BentoML, error) {
	cfg = withDefaults(cfg)
	var nameOpts []name.Option
	if cfg.Insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	b := &BentoML{cfg: cfg, locks: newKeyedLock()}
	var err error
	switch {
	case cfg.TrackingURI == "":
		return nil, fmt.Errorf("bentoml packager: no MLflow tracking URI")
	case redact.URL(cfg.TrackingURI) != cfg.TrackingURI:
		return nil, fmt.Errorf("bentoml packager: MLflow tracking URI %s carries credentials; give them as MLflowAuth "+
			"(MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)", redact.URL(cfg.TrackingURI))
	case cfg.Repository == "":
		return nil, fmt.Errorf("bentoml packager: no OCI repository")
	case cfg.Attempts < 1:
		return nil, fmt.Errorf("bentoml packager: attempts must be at least 1, got %d", cfg.Attempts)
	}
	if err := checkPassEnv(cfg.PassEnv); err != nil {
		return nil, fmt.Errorf("bentoml packager: %w", err)
	}
	if b.repo, err = name.NewRepository(cfg.Repository, append(nameOpts, name.StrictValidation)...); err != nil {
		return nil, fmt.Errorf("bentoml packager: OCI repository %q: %w", cfg.Repository, err)
	}
	if cfg.BaseImage != "" {
		if b.base, err = name.ParseReference(cfg.BaseImage, nameOpts...); err != nil {
			return nil, fmt.Errorf("bentoml packager: base image %q: %w", cfg.BaseImage, err)
		}
	}
	for _, p := range []*string{&b.cfg.Python, &b.cfg.Script, &b.cfg.Home} {
		if *p, err = filepath.Abs(*p); err != nil {
			return nil, fmt.Errorf("bentoml packager: %w", err)
		}
	}
	if err := executable(b.cfg.Python); err != nil {
		return nil, fmt.Errorf("bentoml packager: python %s: %w (run `make bootstrap`)", b.cfg.Python, err)
	}
	if st, err := os.Stat(b.cfg.Script); err != nil || st.IsDir() {
		return nil, fmt.Errorf("bentoml packager: build script %s: not a file (%v)", b.cfg.Script, err)
	}
	if err := os.MkdirAll(filepath.Join(b.cfg.Home, "exports"), 0o755); err != nil {
		return nil, fmt.Errorf("bentoml packager: BENTOML_HOME %s: %w", b.cfg.Home, err)
	}
	return b, nil
}

func withDefaults(c BentoMLConfig) BentoMLConfig {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&c.Python, filepath.Join(".cache", "venv", "bin", "python"))
	def(&c.Script, filepath.Join("infra", "bento", "package.py"))
	def(&c.Home, filepath.Join(".cache", "bentoml"))
	if c.Keychain == nil {
		c.Keychain = authn.DefaultKeychain
	}
	if c.Transport == nil {
		c.Transport = remote.DefaultTransport
	}
	if c.Attempts == 0 {
		c.Attempts = 5
	}
	if c.Backoff <= 0 {
		c.Backoff = time.Second
	}
	if c.BuildTimeout <= 0 {
		c.BuildTimeout = 15 * time.Minute
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c
}

func executable(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("not an executable file")
	}
	return nil
}

// secrets are the values no error or log line of the packager may show: MLflow's credentials and
// the values the build gets through PassEnv.
func (b *BentoML) secrets() []string {
	s := b.cfg.MLflowAuth.Secrets()
	for _, kv := range b.passEnv(os.Getenv) {
		_, v, _ := strings.Cut(kv, "=")
		s = append(s, v)
	}
	return s
}

// Home returns BENTOML_HOME, where the bentos are kept (`bentoml serve <tag>` finds them there).
func (b *BentoML) Home() string { return b.cfg.Home }

// Package builds and publishes the artifact for r; see BentoML. Failures are *Error values.
func (b *BentoML) Package(ctx context.Context, r Request) (Artifact, error) {
	src, err := sourceOf(r)
	if err != nil {
		return Artifact{}, err
	}
	ref, err := name.NewTag(b.repo.String()+":"+ImageTag(r.BentoTag), name.WeakValidation)
	if err != nil {
		return Artifact{}, newError(KindInvalidRequest, "package "+r.BentoTag, "image tag: %v", err)
	}
	unlock, err := b.locks.lock(ctx, ref.String())
	if err != nil {
		return Artifact{}, err
	}
	defer unlock()
	log := b.cfg.Log.With("bento_tag", r.BentoTag, "model_uri", src.packaged, "image", ref.String())

	if img, found, err := b.lookup(ctx, ref); err != nil {
		return Artifact{}, err
	} else if found {
		art, err := b.existing(ref, img, src)
		if err == nil {
			log.Info("artifact already published", "digest", art.Digest)
		}
		return art, err
	}

	started := time.Now()
	built, err := b.build(ctx, src.packaged, r.BentoTag)
	if err != nil {
		return Artifact{}, err
	}
	sum, size, err := fileSHA256(built.Archive)
	if err != nil {
		return Artifact{}, newError(KindBuildFailed, "package "+r.BentoTag, "read archive: %v", err)
	}
	meta := imageMeta{src: src, built: built, sha256: sum, size: size, example: inputExampleOf(built, log)}
	img, baseName, err := b.image(ctx, meta)
	if err != nil {
		return Artifact{}, err
	}
	if err := b.push(ctx, ref, img); err != nil {
		return Artifact{}, err
	}
	art, err := artifactOf(ref, img, meta.labels(baseName), false)
	if err != nil {
		return Artifact{}, newError(KindBuildFailed, "package "+r.BentoTag, "%v", err)
	}
	art.ArchivePath = built.Archive
	log.Info("artifact published", "digest", art.Digest, "archive_bytes", size, "took", time.Since(started).Round(time.Millisecond))
	return art, nil
}

// source says what a request packages: the registry version when it names one, else its URI.
type source struct {
	requested  string // the URI the deployment was started with
	packaged   string // what the bento is built from: models:/<name>/<version>, or requested
	modelName  string
	version    string
	experiment string
	bentoTag   string
}

var bentoTagPart = regexp.MustCompile(`^[a-z0-9]([-._a-z0-9]*[a-z0-9])?$`)

func sourceOf(r Request) (source, error) {
	op := "package " + r.BentoTag
	bname, bver, ok := strings.Cut(r.BentoTag, ":")
	if !ok || !bentoTagPart.MatchString(bname) || !bentoTagPart.MatchString(bver) || len(bname) > 63 || len(bver) > 63 {
		return source{}, newError(KindInvalidRequest, op, "bento tag %q: want <name>:<version> in lowercase letters, digits, '-', '_', '.'", r.BentoTag)
	}
	s := source{requested: r.ModelURI, packaged: r.ModelURI, modelName: r.ModelName, version: r.ModelVersion,
		experiment: r.ExperimentID, bentoTag: r.BentoTag}
	if r.ModelName != "" && r.ModelVersion != "" {
		if _, err := strconv.ParseUint(r.ModelVersion, 10, 64); err != nil {
			return source{}, newError(KindInvalidRequest, op, "model version %q is not a registry version number", r.ModelVersion)
		}
		s.packaged = "models:/" + r.ModelName + "/" + r.ModelVersion
	}
	if strings.TrimSpace(s.packaged) == "" {
		return source{}, newError(KindInvalidRequest, op, "no model URI and no registry version")
	}
	if s.requested == "" {
		s.requested = s.packaged
	}
	return s, nil
}

// ImageTag turns a bento tag into an OCI tag: e2i_7_model:v3 → e2i_7_model-v3.
func ImageTag(bentoTag string) string {
	t := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			return r
		}
		return '-'
	}, bentoTag)
	t = strings.TrimLeft(t, ".-")
	if len(t) > 128 {
		t = t[:128]
	}
	return t
}

// existing returns the artifact already published under ref, if it was built from the same model.
func (b *BentoML) existing(ref name.Tag, img v1.Image, src source) (Artifact, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return Artifact{}, newError(KindRegistryUnavailable, "read "+ref.String(), "%v", err)
	}
	labels := cf.Config.Labels
	if labels[LabelPackagedURI] != src.packaged || labels[LabelBentoTag] != src.bentoTag {
		return Artifact{}, newError(KindTagConflict, "package "+src.bentoTag,
			"%s already holds bento %q built from %q, not %q; published tags are never overwritten",
			ref, labels[LabelBentoTag], labels[LabelPackagedURI], src.packaged)
	}
	return artifactOf(ref, img, labels, true)
}

// inputExampleOf is the build's predict body for the health check. One the script got wrong is
// dropped with a warning (the probe then checks readiness only): it never fails the packaging.
func inputExampleOf(b built, log *slog.Logger) inputExample {
	ex, err := parseInputExample(b.InputExampleJSON, b.InputExampleSource)
	if err != nil {
		log.Warn("input example dropped: the health check will only check readiness", "error", err)
		return inputExample{}
	}
	if ex.body == nil {
		log.Info("no input example or signature the health check can infer with", "model_tag", b.ModelTag)
	}
	return ex
}

func fileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// keyedLock serialises packaging per image tag within this worker; waiting honours ctx.
type keyedLock struct{ ch chan map[string]chan struct{} }

func newKeyedLock() *keyedLock {
	k := &keyedLock{ch: make(chan map[string]chan struct{}, 1)}
	k.ch <- map[string]chan struct{}{}
	return k
}

func (k *keyedLock) lock(ctx context.Context, key string) (func(), error) {
	for {
		m := <-k.ch
		held, busy := m[key]
		if !busy {
			done := make(chan struct{})
			m[key] = done
			k.ch <- m
			return func() {
				m := <-k.ch
				delete(m, key)
				k.ch <- m
				close(done)
			}, nil
		}
		k.ch <- m
		select {
		case <-held:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
