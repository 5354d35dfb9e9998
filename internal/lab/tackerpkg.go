package lab

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// CNFPackage is the lab's CNF as a Tacker VNF package: Tacker's own CNF test package (third_party/tacker/
// cnf-sample.zip: its ETSI SOL001 types, VNFD, deployment flavour "simple" and LCM scripts) with the lab's
// identity and workload. Its VDU2 ("vdu2") is a Deployment of the lab's image pinned by digest, meeting the
// restricted Pod Security Standard, in the given namespace; scaling aspect vdu2_aspect adds one replica a step.
type CNFPackage struct {
	VnfdID, Provider, Product, Namespace, Image string
	// DataVolume, when set, gives VDU2 data: the definition file also holds a PersistentVolumeClaim CNFDataClaim
	// of that pre-provisioned PersistentVolume (storageClassName "", volumeName DataVolume), which VDU2 mounts at
	// /data. Tacker labels the claim with the instance, as it labels every object of its files, and deletes it at
	// TERMINATE; the volume is the operator's.
	DataVolume string
}

// CNFDataClaim is the claim of the package's data volume (CNFPackage.DataVolume).
const CNFDataClaim = "cnf-data"

// CNFDefinitionFile is the package's Kubernetes definition of VDU2, for an InstantiateVnfRequest's
// additionalParams.lcm-kubernetes-def-files.
const CNFDefinitionFile = "Files/kubernetes/deployment.yaml"

// CNFWorkload is the Deployment VDU2 instantiates.
const CNFWorkload = "vdu2"

// Zip builds the package from the sample at repoRoot: its VNFD's descriptor id, provider and product replaced (in
// the VNFD and in its node type's constraints),
// deployment.yaml replaced by the lab's Deployment and its SHA-256 in TOSCA.meta updated (Tacker checks every hash
// TOSCA.meta lists when it onboards a package).
func (p CNFPackage) Zip(repoRoot string) ([]byte, error) {
	sample, err := os.ReadFile(filepath.Join(repoRoot, "third_party", "tacker", "cnf-sample.zip"))
	if err != nil {
		return nil, fmt.Errorf("lab: Tacker's sample CNF package: %w", err)
	}
	in, err := zip.NewReader(bytes.NewReader(sample), int64(len(sample)))
	if err != nil {
		return nil, fmt.Errorf("lab: Tacker's sample CNF package: %w", err)
	}
	deployment, err := p.deployment()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	out := zip.NewWriter(&buf)
	for _, f := range in.File {
		data, err := readZipFile(f)
		if err != nil {
			return nil, err
		}
		switch f.Name {
		case CNFDefinitionFile:
			data = deployment
		case "TOSCA-Metadata/TOSCA.meta":
			if data, err = replaceHash(data, CNFDefinitionFile, deployment); err != nil {
				return nil, err
			}
		case "Definitions/sample_cnf_top.vnfd.yaml", "Definitions/sample_cnf_types.yaml":
			// The VNFD and its node type (whose valid_values pin the same three).
			s := string(data)
			for _, r := range [][2]string{{"160ca070-7b09-43f9-a627-85c513a00362", p.VnfdID}, {"Company", p.Provider}, {"Sample VNF", p.Product}} {
				if !strings.Contains(s, r[0]) {
					return nil, fmt.Errorf("lab: the sample's %s has no %q", f.Name, r[0])
				}
				s = strings.ReplaceAll(s, r[0], r[1])
			}
			data = []byte(s)
		}
		w, err := out.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: f.Modified})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(data); err != nil {
			return nil, err
		}
	}
	if err := out.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// deployment is VDU2's definition: restricted, digest-pinned, in the package's namespace (after its data claim,
// when the package has one).
func (p CNFPackage) deployment() ([]byte, error) {
	labels := map[string]string{"app": CNFWorkload}
	spec := restrictedPodSpec("cnf", p.Image, []string{"/bin/sleep", "infinity"})
	var out []byte
	if p.DataVolume != "" {
		spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: CNFDataClaim}}}}
		spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		pvc := corev1.PersistentVolumeClaim{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
			ObjectMeta: metav1.ObjectMeta{Name: CNFDataClaim, Namespace: p.Namespace},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				StorageClassName: ptrTo(""), VolumeName: p.DataVolume,
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Mi")}}},
		}
		data, err := yaml.Marshal(pvc)
		if err != nil {
			return nil, fmt.Errorf("lab: CNF data claim: %w", err)
		}
		out = append(append(out, data...), "---\n"...)
	}
	d := appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: CNFWorkload, Namespace: p.Namespace},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptrTo[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
		},
	}
	data, err := yaml.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("lab: CNF deployment: %w", err)
	}
	return append(out, data...), nil
}

func readZipFile(f *zip.File) ([]byte, error) {
	r, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("lab: sample package %s: %w", f.Name, err)
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, 1<<20))
}

// replaceHash sets the Hash line of name's block in a TOSCA.meta to content's SHA-256.
func replaceHash(meta []byte, name string, content []byte) ([]byte, error) {
	sum := sha256.Sum256(content)
	re := regexp.MustCompile(`(?m)(^Name: ` + regexp.QuoteMeta(name) + `\r?\n(?:[^\n]+\n)*?Hash: )[0-9a-f]+`)
	if !re.Match(meta) {
		return nil, fmt.Errorf("lab: TOSCA.meta lists no hash of %s", name)
	}
	return re.ReplaceAll(meta, []byte("${1}"+hex.EncodeToString(sum[:]))), nil
}
