package packaging

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Image config labels (and OCI manifest annotations) that trace an image back to its bento and
// MLflow model version.
const (
	LabelBentoTag       = "io.temporaldeployer.bento.tag"
	LabelBentoSHA256    = "io.temporaldeployer.bento.sha256" // hex sha256 of the .bento archive
	LabelBentoSize      = "io.temporaldeployer.bento.size"   // archive bytes
	LabelBentoMLVersion = "io.temporaldeployer.bento.bentoml-version"
	LabelModelURI       = "io.temporaldeployer.mlflow.model-uri"    // as the deployment named it
	LabelPackagedURI    = "io.temporaldeployer.mlflow.packaged-uri" // models:/<name>/<version> when registered
	LabelModelName      = "io.temporaldeployer.mlflow.registered-model"
	LabelModelVersion   = "io.temporaldeployer.mlflow.version"
	LabelModelUUID      = "io.temporaldeployer.mlflow.model-uuid"
	LabelFlavour        = "io.temporaldeployer.mlflow.flavour"
	LabelMLflowVersion  = "io.temporaldeployer.mlflow.mlflow-version"
	LabelExperimentID   = "io.temporaldeployer.experiment-id"
	LabelLifecycleID    = "io.temporaldeployer.lifecycle-id"
	LabelCreated        = "org.opencontainers.image.created" // the bento's creation time
	LabelTitle          = "org.opencontainers.image.title"
	LabelBaseName       = "org.opencontainers.image.base.name" // base image ref@digest, if any
	// The health check's predict body (Artifact.InputExample) and its source, if any.
	LabelInputExample       = "io.temporaldeployer.probe.input-example"
	LabelInputExampleSource = "io.temporaldeployer.probe.input-example-source"
	// The bento's requirements file (Artifact.BentoRequirements), newline-separated.
	LabelBentoRequirements = "io.temporaldeployer.bento.requirements"
)

// Artifact manifest keys (seed 004: lifecycle identifier, checksum, timestamp; plus the source,
// registry version, tag and digest). Values are strings.
const (
	ManifestLifecycleID      = "lifecycle_id"       // <registered model>/<version>, or the bento tag
	ManifestChecksum         = "checksum"           // sha256:<hex> of the .bento archive
	ManifestTimestamp        = "timestamp"          // when the bento was built, RFC 3339 UTC
	ManifestSourceModelURI   = "source_model_uri"   // the URI the deployment named
	ManifestRegistryModelURI = "registry_model_uri" // what was packaged: models:/<name>/<version>
	ManifestRegisteredModel  = "registered_model_name"
	ManifestRegistryVersion  = "registry_version"
	ManifestBentoTag         = "bento_tag"
	ManifestImage            = "image"        // <repository>@sha256:<digest>, what the cluster runs
	ManifestImageDigest      = "image_digest" // sha256:<digest>
	ManifestImageTag         = "image_tag"    // <repository>:<tag>, for people; never deployed
	ManifestBaseImage        = "base_image"   // base ref@digest, or "" for none
	ManifestSizeBytes        = "size_bytes"   // archive bytes
	ManifestImageSizeBytes   = "image_size_bytes"
	ManifestFlavour          = "flavour"
	ManifestPublished        = "published" // "pushed" now, or "existing" (already in the registry)
	// The health check's predict body, its first rows within MaxManifestInputExampleBytes, and its
	// source; both absent when the model has no input example or signature to build one from.
	ManifestInputExample       = "input_example"
	ManifestInputExampleSource = "input_example_source"
)

// imageMeta is what one build produced, for the labels.
type imageMeta struct {
	src     source
	built   built
	sha256  string
	size    int64
	example inputExample
}

func (m imageMeta) labels(baseName string) map[string]string {
	lifecycle := m.src.bentoTag
	if m.src.modelName != "" && m.src.version != "" {
		lifecycle = m.src.modelName + "/" + m.src.version
	}
	l := map[string]string{
		LabelBentoTag:       m.src.bentoTag,
		LabelBentoSHA256:    m.sha256,
		LabelBentoSize:      strconv.FormatInt(m.size, 10),
		LabelBentoMLVersion: m.built.BentoMLVersion,
		LabelModelURI:       m.src.requested,
		LabelPackagedURI:    m.src.packaged,
		LabelModelName:      m.src.modelName,
		LabelModelVersion:   m.src.version,
		LabelModelUUID:      m.built.ModelUUID,
		LabelFlavour:        m.built.Flavour,
		LabelMLflowVersion:  m.built.MLflowVersion,
		LabelExperimentID:   m.src.experiment,
		LabelLifecycleID:    lifecycle,
		LabelCreated:        m.built.created.Format(time.RFC3339),
		LabelTitle:          m.src.bentoTag,
	}
	if baseName != "" {
		l[LabelBaseName] = baseName
	}
	if m.example.body != nil {
		l[LabelInputExample], l[LabelInputExampleSource] = string(m.example.body), m.example.source
	}
	if reqs := strings.Join(m.built.BentoRequirements, "\n"); reqs != "" && len(reqs) <= MaxRequirementsLabelBytes {
		l[LabelBentoRequirements] = reqs
	}
	return l
}

// annotations are the labels an OCI manifest carries too, so `crane manifest` shows the source.
func annotations(labels map[string]string) map[string]string {
	a := map[string]string{}
	for _, k := range []string{LabelBentoTag, LabelBentoSHA256, LabelModelURI, LabelPackagedURI, LabelModelName,
		LabelModelVersion, LabelLifecycleID, LabelCreated, LabelTitle, LabelBaseName} {
		if v, ok := labels[k]; ok {
			a[k] = v
		}
	}
	return a
}

// artifactOf describes the image under ref, from its digest and labels.
func artifactOf(ref name.Tag, img v1.Image, labels map[string]string, existing bool) (Artifact, error) {
	d, err := img.Digest()
	if err != nil {
		return Artifact{}, fmt.Errorf("digest of %s: %w", ref, err)
	}
	mf, err := img.Manifest()
	if err != nil {
		return Artifact{}, fmt.Errorf("manifest of %s: %w", ref, err)
	}
	imageSize := mf.Config.Size
	for _, l := range mf.Layers {
		imageSize += l.Size
	}
	size, _ := strconv.ParseInt(labels[LabelBentoSize], 10, 64)
	image := ref.Context().Name() + "@" + d.String()
	published := "pushed"
	if existing {
		published = "existing"
	}
	art := Artifact{
		BentoTag:  labels[LabelBentoTag],
		Image:     image,
		Digest:    d.String(),
		SHA256:    labels[LabelBentoSHA256],
		SizeBytes: size,
		Existing:  existing,
		Manifest: map[string]string{
			ManifestLifecycleID:      labels[LabelLifecycleID],
			ManifestChecksum:         "sha256:" + labels[LabelBentoSHA256],
			ManifestTimestamp:        labels[LabelCreated],
			ManifestSourceModelURI:   labels[LabelModelURI],
			ManifestRegistryModelURI: labels[LabelPackagedURI],
			ManifestRegisteredModel:  labels[LabelModelName],
			ManifestRegistryVersion:  labels[LabelModelVersion],
			ManifestBentoTag:         labels[LabelBentoTag],
			ManifestImage:            image,
			ManifestImageDigest:      d.String(),
			ManifestImageTag:         ref.String(),
			ManifestBaseImage:        labels[LabelBaseName],
			ManifestSizeBytes:        labels[LabelBentoSize],
			ManifestImageSizeBytes:   strconv.FormatInt(imageSize, 10),
			ManifestFlavour:          labels[LabelFlavour],
			ManifestPublished:        published,
		},
	}
	withInputExample(&art, labels)
	if reqs := labels[LabelBentoRequirements]; reqs != "" && len(reqs) <= MaxRequirementsLabelBytes {
		art.BentoRequirements = strings.Split(reqs, "\n")
	}
	return art, nil
}

// MaxRequirementsLabelBytes bounds the bento requirements kept in an image label (and read back
// from one someone else pushed); a longer file is not recorded, and R12 then refuses the bento.
const MaxRequirementsLabelBytes = 16 << 10

// withInputExample sets the artifact's predict body from the image's labels (capped again: the
// labels may come from an image someone else pushed) and copies it into the manifest.
func withInputExample(art *Artifact, labels map[string]string) {
	ex, err := parseInputExample(labels[LabelInputExample], labels[LabelInputExampleSource])
	if err != nil || ex.body == nil {
		return
	}
	art.InputExample, art.InputExampleSource = ex.body, ex.source
	if m := manifestExample(ex.body); m != "" {
		art.Manifest[ManifestInputExample], art.Manifest[ManifestInputExampleSource] = m, ex.source
	}
}
