package kubernetes_test

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// repoRoot is the repository, seen from this package's folder.
const repoRoot = "../.."

// modules maps each container to the module whose config package it runs.
var modules = map[string]string{
	"sso":              "services/sso",
	"loyalty-points":   "services/loyalty-points",
	"welcome-notifier": "services/welcome-notifier",
}

// userSecrets are the Secrets the deployment needs but does not contain,
// with their keys; README.md must document each (checked below).
var userSecrets = map[string][]string{
	"sso-db":                {"primary-dsn", "replica-dsn"},
	"sso-redis":             {"password"},
	"sso-jwt-keys":          nil, // any number of <instant>.pem keys
	"sso-oidc-key":          {"rsa.pem"},
	"ssokit-sealing-keys":   {"sealing-keys"},
	"loyalty-points-db":     {"dsn"},
	"welcome-notifier-db":   {"dsn"},
	"welcome-notifier-smtp": {"username", "password"},
}

// kafkaTopic is the part of Strimzi's KafkaTopic this deployment uses; its
// CRD has no Go types here, so unknown fields are refused against this.
type kafkaTopic struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		TopicName  string         `json:"topicName"`
		Partitions int            `json:"partitions"`
		Replicas   int            `json:"replicas"`
		Config     map[string]any `json:"config"`
	} `json:"spec"`
}

// decoders names the typed object each kind decodes into.
var decoders = map[string]func() any{
	"v1/Namespace":                                  func() any { return new(corev1.Namespace) },
	"v1/ServiceAccount":                             func() any { return new(corev1.ServiceAccount) },
	"v1/ConfigMap":                                  func() any { return new(corev1.ConfigMap) },
	"v1/Service":                                    func() any { return new(corev1.Service) },
	"apps/v1/Deployment":                            func() any { return new(appsv1.Deployment) },
	"policy/v1/PodDisruptionBudget":                 func() any { return new(policyv1.PodDisruptionBudget) },
	"autoscaling/v2/HorizontalPodAutoscaler":        func() any { return new(autoscalingv2.HorizontalPodAutoscaler) },
	"networking.k8s.io/v1/NetworkPolicy":            func() any { return new(networkingv1.NetworkPolicy) },
	"kafka.strimzi.io/v1/KafkaTopic":                func() any { return new(kafkaTopic) },
	"kustomize.config.k8s.io/v1beta1/Kustomization": nil, // checked by kustomize itself
	"kustomize.config.k8s.io/v1alpha1/Component":    nil,
}

// decodeStrict decodes one YAML document into the typed object of its kind,
// refusing unknown and duplicate fields.
func decodeStrict(doc []byte) (any, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, err
	}
	mk, known := decoders[tm.APIVersion+"/"+tm.Kind]
	if !known {
		return nil, fmt.Errorf("kind %s/%s has no typed decoder here", tm.APIVersion, tm.Kind)
	}
	if mk == nil {
		return nil, nil
	}
	obj := mk()
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return nil, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	return obj, nil
}

// documents splits a multi-document YAML file at its "---" lines,
// leaving out documents that hold only comments.
func documents(data []byte) [][]byte {
	var docs [][]byte
	var cur []byte
	meaningful := false
	flush := func() {
		if meaningful {
			docs = append(docs, cur)
		}
		cur, meaningful = nil, false
	}
	for l := range bytes.Lines(data) {
		trimmed := bytes.TrimSpace(l)
		if bytes.Equal(trimmed, []byte("---")) {
			flush()
			continue
		}
		if len(trimmed) > 0 && trimmed[0] != '#' {
			meaningful = true
		}
		cur = append(cur, l...)
	}
	flush()
	return docs
}

// TestEveryFileDecodes decodes every YAML file of this folder as written,
// before kustomize: a typo in a field name fails here with the file's name.
func TestEveryFileDecodes(t *testing.T) {
	n := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".yaml" {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, doc := range documents(data) {
			if _, err := decodeStrict(doc); err != nil {
				t.Errorf("%s, document %d: %v", path, i+1, err)
			}
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 20 {
		t.Fatalf("decoded only %d documents", n)
	}
}

// TestKustomizationsListExistingFiles checks every path a kustomization
// names, so a missing file fails with its name even where kustomize would
// report it less plainly.
func TestKustomizationsListExistingFiles(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.Name() != "kustomization.yaml" {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var k types.Kustomization
		if err := yaml.UnmarshalStrict(data, &k); err != nil {
			t.Errorf("%s: %v", path, err)
			return nil
		}
		dir := filepath.Dir(path)
		var refs []string
		refs = append(refs, k.Resources...)
		refs = append(refs, k.Components...)
		for _, g := range k.ConfigMapGenerator {
			refs = append(refs, g.EnvSources...)
			refs = append(refs, g.FileSources...)
		}
		for _, r := range refs {
			if _, err := os.Stat(filepath.Join(dir, r)); err != nil {
				t.Errorf("%s lists %s: %v", path, r, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// build runs kustomize (the library kubectl apply -k embeds) on dir.
func build(t *testing.T, dir string) []any {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var objs []any
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		obj, err := decodeStrict(y)
		if err != nil {
			t.Errorf("%s: %s: %v", dir, r.CurId(), err)
			continue
		}
		objs = append(objs, obj)
	}
	return objs
}

// rendered is a built kustomization, by kind.
type rendered struct {
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	configMaps  map[string]*corev1.ConfigMap
	pdbs        []*policyv1.PodDisruptionBudget
	hpas        []*autoscalingv2.HorizontalPodAutoscaler
	policies    []*networkingv1.NetworkPolicy
	accounts    map[string]bool
	topics      []*kafkaTopic
	namespaces  []*corev1.Namespace
}

func sortOut(objs []any) rendered {
	r := rendered{configMaps: map[string]*corev1.ConfigMap{}, accounts: map[string]bool{}}
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.Deployment:
			r.deployments = append(r.deployments, o)
		case *corev1.Service:
			r.services = append(r.services, o)
		case *corev1.ConfigMap:
			r.configMaps[o.Name] = o
		case *policyv1.PodDisruptionBudget:
			r.pdbs = append(r.pdbs, o)
		case *autoscalingv2.HorizontalPodAutoscaler:
			r.hpas = append(r.hpas, o)
		case *networkingv1.NetworkPolicy:
			r.policies = append(r.policies, o)
		case *corev1.ServiceAccount:
			r.accounts[o.Name] = true
		case *kafkaTopic:
			r.topics = append(r.topics, o)
		case *corev1.Namespace:
			r.namespaces = append(r.namespaces, o)
		}
	}
	return r
}

func TestBase(t *testing.T) {
	r := sortOut(build(t, "base"))
	checkRendered(t, "base", r)
}

func TestExampleOverlay(t *testing.T) {
	r := sortOut(build(t, "overlays/example"))
	checkRendered(t, "overlays/example", r)
	for _, d := range r.deployments {
		if d.Namespace != "ssokit" {
			t.Errorf("overlay: Deployment %s in namespace %q", d.Name, d.Namespace)
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			if !strings.HasPrefix(c.Image, "registry.example.com/ssokit/"+c.Name+":") {
				t.Errorf("overlay: container %s runs image %q: the overlay's images entry did not apply", c.Name, c.Image)
			}
		}
	}
	if len(r.namespaces) != 1 || r.namespaces[0].Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("overlay: want one Namespace enforcing the restricted Pod Security Standard")
	}
	env := configEnv(r, "sso-config")
	if !strings.Contains(env["SSO_KAFKA_BROKERS"], "-kafka-bootstrap.") {
		t.Errorf("overlay: SSO_KAFKA_BROKERS = %q, want a Strimzi bootstrap Service", env["SSO_KAFKA_BROKERS"])
	}
	checkTopics(t, r)
}

// checkRendered runs the cross-reference checks on one built kustomization.
func checkRendered(t *testing.T, where string, r rendered) {
	t.Helper()
	if len(r.deployments) != len(modules) {
		t.Errorf("%s: %d Deployments, want %d", where, len(r.deployments), len(modules))
	}
	for _, d := range r.deployments {
		checkDeployment(t, where, r, d)
	}
	for _, s := range r.services {
		d := selected(t, where, "Service "+s.Name, r, labels.SelectorFromSet(s.Spec.Selector))
		if d == nil {
			continue
		}
		for _, p := range s.Spec.Ports {
			if !containerPort(d, p.TargetPort) {
				t.Errorf("%s: Service %s port %s targets %s, which Deployment %s does not declare", where, s.Name, p.Name, p.TargetPort.String(), d.Name)
			}
		}
	}
	for _, p := range r.pdbs {
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil {
			t.Errorf("%s: PDB %s: %v", where, p.Name, err)
			continue
		}
		selected(t, where, "PodDisruptionBudget "+p.Name, r, sel)
		if p.Spec.MaxUnavailable == nil && p.Spec.MinAvailable == nil {
			t.Errorf("%s: PDB %s allows anything", where, p.Name)
		}
	}
	for _, h := range r.hpas {
		ref := h.Spec.ScaleTargetRef
		if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || deployment(r, ref.Name) == nil {
			t.Errorf("%s: HPA %s targets %s %s, not a Deployment here", where, h.Name, ref.Kind, ref.Name)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 || h.Spec.MaxReplicas < *h.Spec.MinReplicas {
			t.Errorf("%s: HPA %s: want 2 <= minReplicas <= maxReplicas", where, h.Name)
			continue
		}
		// A drain must leave a replica serving at the HPA's minimum.
		for _, p := range r.pdbs {
			s, _ := metav1.LabelSelectorAsSelector(p.Spec.Selector)
			if d := deployment(r, ref.Name); d != nil && s.Matches(labels.Set(d.Spec.Template.Labels)) &&
				(p.Spec.MaxUnavailable == nil || p.Spec.MaxUnavailable.IntValue() >= int(*h.Spec.MinReplicas)) {
				t.Errorf("%s: PDB %s must keep a replica of %s at its minimum of %d (want maxUnavailable below it)", where, p.Name, d.Name, *h.Spec.MinReplicas)
			}
		}
	}
	for _, p := range r.policies {
		sel, err := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
		if err != nil {
			t.Errorf("%s: NetworkPolicy %s: %v", where, p.Name, err)
			continue
		}
		d := selected(t, where, "NetworkPolicy "+p.Name, r, sel)
		for _, in := range p.Spec.Ingress {
			for _, port := range in.Ports {
				if d != nil && port.Port != nil && !containerPort(d, *port.Port) {
					t.Errorf("%s: NetworkPolicy %s opens %s, not a port of %s", where, p.Name, port.Port.String(), d.Name)
				}
			}
		}
	}
	// Every Deployment has its PDB, HPA, NetworkPolicy and Service.
	for _, d := range r.deployments {
		pods := labels.Set(d.Spec.Template.Labels)
		has := func(kind string, match func() bool) {
			if !match() {
				t.Errorf("%s: Deployment %s has no %s", where, d.Name, kind)
			}
		}
		has("PodDisruptionBudget", func() bool {
			return slices.ContainsFunc(r.pdbs, func(p *policyv1.PodDisruptionBudget) bool {
				s, _ := metav1.LabelSelectorAsSelector(p.Spec.Selector)
				return s.Matches(pods)
			})
		})
		has("HorizontalPodAutoscaler", func() bool {
			return slices.ContainsFunc(r.hpas, func(h *autoscalingv2.HorizontalPodAutoscaler) bool { return h.Spec.ScaleTargetRef.Name == d.Name })
		})
		has("NetworkPolicy", func() bool {
			return slices.ContainsFunc(r.policies, func(p *networkingv1.NetworkPolicy) bool {
				s, _ := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
				return s.Matches(pods)
			})
		})
		has("Service", func() bool {
			return slices.ContainsFunc(r.services, func(s *corev1.Service) bool {
				return labels.SelectorFromSet(s.Spec.Selector).Matches(pods)
			})
		})
	}
}

// selected returns the one Deployment whose pods sel matches.
func selected(t *testing.T, where, what string, r rendered, sel labels.Selector) *appsv1.Deployment {
	t.Helper()
	if sel.Empty() {
		t.Errorf("%s: %s selects every pod", where, what)
		return nil
	}
	var hit []*appsv1.Deployment
	for _, d := range r.deployments {
		if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			hit = append(hit, d)
		}
	}
	if len(hit) != 1 {
		t.Errorf("%s: %s selects the pods of %d Deployments, want 1", where, what, len(hit))
		return nil
	}
	return hit[0]
}

func deployment(r rendered, name string) *appsv1.Deployment {
	for _, d := range r.deployments {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// containerPort reports whether a container of d declares port (a name or
// a number).
func containerPort(d *appsv1.Deployment, port intstr.IntOrString) bool {
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, p := range c.Ports {
			if port.Type == intstr.String && p.Name == port.StrVal || port.Type == intstr.Int && p.ContainerPort == port.IntVal {
				return true
			}
		}
	}
	return false
}

func configEnv(r rendered, prefix string) map[string]string {
	for name, cm := range r.configMaps {
		if name == prefix || strings.HasPrefix(name, prefix+"-") {
			return cm.Data
		}
	}
	return nil
}

func checkDeployment(t *testing.T, where string, r rendered, d *appsv1.Deployment) {
	t.Helper()
	at := where + ": Deployment " + d.Name
	pod := d.Spec.Template.Spec
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("%s: selector %v does not match its pod labels %v", at, d.Spec.Selector, d.Spec.Template.Labels)
	}
	if d.Spec.Replicas != nil {
		t.Errorf("%s: sets replicas, which its HPA owns (each apply would reset the count)", at)
	}
	if pod.ServiceAccountName == "" || !r.accounts[pod.ServiceAccountName] {
		t.Errorf("%s: service account %q is not defined here", at, pod.ServiceAccountName)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("%s: mounts an API token it never uses", at)
	}
	if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
		t.Errorf("%s: service links would add variables under the services' prefixes", at)
	}
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod must run as non-root with seccomp RuntimeDefault", at)
	}
	if len(pod.TopologySpreadConstraints) == 0 {
		t.Errorf("%s: no topology spread", at)
	}
	for _, tsc := range pod.TopologySpreadConstraints {
		s, err := metav1.LabelSelectorAsSelector(tsc.LabelSelector)
		if err != nil || !s.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("%s: topology spread over %s does not select its own pods", at, tsc.TopologyKey)
		}
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", at, len(pod.Containers))
	}
	c := pod.Containers[0]
	module, ok := modules[c.Name]
	if !ok {
		t.Fatalf("%s: container %s is none of %v", at, c.Name, slices.Sorted(maps.Keys(modules)))
	}
	csc := c.SecurityContext
	if csc == nil || csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation ||
		csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem ||
		csc.Capabilities == nil || !slices.Equal(csc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("%s: container must refuse privilege escalation, have a read-only root and drop ALL capabilities", at)
	}
	checkResources(t, at, c.Resources)

	// The environment: every variable one the service reads.
	known := readEnv(t, module)
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
		if e.ValueFrom != nil {
			checkValueFrom(t, at, r, e)
		}
	}
	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			cm, ok := r.configMaps[ef.ConfigMapRef.Name]
			if !ok {
				t.Errorf("%s: envFrom ConfigMap %s is not defined here", at, ef.ConfigMapRef.Name)
				continue
			}
			for k, v := range cm.Data {
				if _, dup := env[k]; dup {
					t.Errorf("%s: %s is set both in env and in ConfigMap %s", at, k, cm.Name)
				}
				env[k] = ef.Prefix + v
			}
		default:
			t.Errorf("%s: envFrom other than a ConfigMap: Secrets are referenced key by key", at)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(env)) {
		if !known[name] {
			t.Errorf("%s: sets %s, which %s/internal/config does not read", at, name, module)
		}
	}
	for _, suffix := range []string{"_HTTP_ADDR", "_GRPC_ADDR"} {
		for name, v := range env {
			if !strings.HasSuffix(name, suffix) || name == "LOYALTY_SSO_GRPC_ADDR" || name == "NOTIFIER_SSO_GRPC_ADDR" {
				continue
			}
			host, port, err := net.SplitHostPort(v)
			p, _ := strconv.Atoi(port)
			if err != nil || host != "0.0.0.0" || !containerPort(d, intstr.FromInt32(int32(p))) {
				t.Errorf("%s: %s=%s: want 0.0.0.0:<a declared container port>", at, name, v)
			}
		}
	}
	for _, v := range pod.Volumes {
		switch {
		case v.Secret != nil:
			if _, ok := userSecrets[v.Secret.SecretName]; !ok {
				t.Errorf("%s: volume %s mounts Secret %s, which is not documented as the user's", at, v.Name, v.Secret.SecretName)
			}
		case v.ConfigMap != nil:
			if _, ok := r.configMaps[v.ConfigMap.Name]; !ok {
				t.Errorf("%s: volume %s mounts ConfigMap %s, which is not defined here", at, v.Name, v.ConfigMap.Name)
			}
		}
	}
	for _, m := range c.VolumeMounts {
		if !slices.ContainsFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name }) {
			t.Errorf("%s: mounts undefined volume %s", at, m.Name)
		}
	}
	checkProbes(t, at, d, c, env)
	if c.Name == "sso" {
		checkSSO(t, at, pod, c, env)
	}
}

func checkValueFrom(t *testing.T, at string, r rendered, e corev1.EnvVar) {
	t.Helper()
	switch {
	case e.ValueFrom.SecretKeyRef != nil:
		ref := e.ValueFrom.SecretKeyRef
		keys, ok := userSecrets[ref.Name]
		if !ok || !slices.Contains(keys, ref.Key) {
			t.Errorf("%s: %s from Secret %s key %s, which is not documented as the user's", at, e.Name, ref.Name, ref.Key)
		}
	case e.ValueFrom.ConfigMapKeyRef != nil:
		ref := e.ValueFrom.ConfigMapKeyRef
		if cm, ok := r.configMaps[ref.Name]; !ok || cm.Data[ref.Key] == "" {
			t.Errorf("%s: %s from ConfigMap %s key %s, not defined here", at, e.Name, ref.Name, ref.Key)
		}
	default:
		t.Errorf("%s: %s comes from neither a Secret nor a ConfigMap", at, e.Name)
	}
}

func checkResources(t *testing.T, at string, res corev1.ResourceRequirements) {
	t.Helper()
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okReq := res.Requests[name]
		lim, okLim := res.Limits[name]
		if !okReq || !okLim {
			t.Errorf("%s: wants a %s request and limit", at, name)
			continue
		}
		if req.Cmp(lim) > 0 {
			t.Errorf("%s: %s request %s above its limit %s", at, name, req.String(), lim.String())
		}
	}
}

func checkProbes(t *testing.T, at string, d *appsv1.Deployment, c corev1.Container, env map[string]string) {
	t.Helper()
	want := map[string]struct {
		probe *corev1.Probe
		path  string
	}{
		"startup":   {c.StartupProbe, "/healthz"},
		"liveness":  {c.LivenessProbe, "/healthz"},
		"readiness": {c.ReadinessProbe, "/readyz"},
	}
	for kind, w := range want {
		if w.probe == nil || w.probe.HTTPGet == nil {
			t.Errorf("%s: no HTTP %s probe", at, kind)
			continue
		}
		g := w.probe.HTTPGet
		if g.Path != w.path {
			t.Errorf("%s: %s probe GETs %s, want %s (libs/server/health.go)", at, kind, g.Path, w.path)
		}
		if !containerPort(d, g.Port) || g.Port.String() != "http" {
			t.Errorf("%s: %s probe port %s is not the declared http port", at, kind, g.Port.String())
		}
	}
	// The kubelet kills the container terminationGracePeriodSeconds after
	// the preStop hook starts: the pause and the service's own shutdown
	// (*_SHUTDOWN_TIMEOUT, 15s by default) must fit in it.
	shutdown := 15 * time.Second
	for name, v := range env {
		if strings.HasSuffix(name, "_SHUTDOWN_TIMEOUT") {
			var err error
			if shutdown, err = time.ParseDuration(v); err != nil {
				t.Errorf("%s: %s=%s: %v", at, name, v, err)
			}
		}
	}
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		t.Errorf("%s: no preStop pause for endpoint removal", at)
	} else if grace := d.Spec.Template.Spec.TerminationGracePeriodSeconds; grace == nil ||
		time.Duration(*grace)*time.Second <= time.Duration(c.Lifecycle.PreStop.Sleep.Seconds)*time.Second+shutdown {
		t.Errorf("%s: terminationGracePeriodSeconds must exceed the preStop pause plus the shutdown timeout %s", at, shutdown)
	}
}

// checkSSO checks what only sso has: its signing keys come from a Secret it
// may not add to, and its memory settings fit its container.
func checkSSO(t *testing.T, at string, pod corev1.PodSpec, c corev1.Container, env map[string]string) {
	t.Helper()
	if env["SSO_JWT_KEYS_CREATE"] != "false" {
		t.Errorf("%s: SSO_JWT_KEYS_CREATE must be false: replicas would each mint a key", at)
	}
	dir := env["SSO_JWT_KEYS_DIR"]
	i := slices.IndexFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == dir })
	if i < 0 || !c.VolumeMounts[i].ReadOnly {
		t.Errorf("%s: SSO_JWT_KEYS_DIR=%s is not a read-only mount", at, dir)
	} else {
		v := pod.Volumes[slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == c.VolumeMounts[i].Name })]
		if v.Secret == nil || v.Secret.SecretName != "sso-jwt-keys" {
			t.Errorf("%s: SSO_JWT_KEYS_DIR is not the sso-jwt-keys Secret", at)
		}
	}
	if env["SSO_OIDC_KEY_CREATE"] != "false" {
		t.Errorf("%s: SSO_OIDC_KEY_CREATE must be false: replicas would each mint a key", at)
	}
	// bench/README.md: a soft limit of about 32 MiB + 1.25 x slots x the
	// argon2 memory, and the container's limit well above it.
	slots, err1 := strconv.Atoi(env["SSO_ARGON2_MAX_CONCURRENT"])
	soft, err2 := strconv.Atoi(env["SSO_MEMORY_LIMIT_MIB"])
	if err1 != nil || err2 != nil || slots < 1 {
		t.Errorf("%s: SSO_ARGON2_MAX_CONCURRENT and SSO_MEMORY_LIMIT_MIB must be set", at)
		return
	}
	argonMiB := 9.0
	if kib, err := strconv.Atoi(env["SSO_ARGON2_MEMORY_KIB"]); err == nil {
		argonMiB = float64(kib) / 1024
	}
	if need := 32 + 1.25*float64(slots)*argonMiB; float64(soft) < need {
		t.Errorf("%s: SSO_MEMORY_LIMIT_MIB=%d is below %.0f for %d hashes in flight", at, soft, need, slots)
	}
	lim := c.Resources.Limits[corev1.ResourceMemory]
	if lim.Cmp(resource.MustParse(strconv.Itoa(2*soft)+"Mi")) < 0 {
		t.Errorf("%s: memory limit %s leaves too little above the soft limit %d MiB (the binary's mapped pages and C allocations are outside it)", at, lim.String(), soft)
	}
	cpu := c.Resources.Limits[corev1.ResourceCPU]
	if cpu.MilliValue() < int64(slots)*1000 {
		t.Errorf("%s: %d hashes at once need %d CPUs, the limit is %s", at, slots, slots, cpu.String())
	}
}

// checkTopics checks the KafkaTopics against the services' topic settings:
// each topic a service uses exists, replicated for a broker's loss, and no
// HPA runs more consumers than the topic has partitions.
func checkTopics(t *testing.T, r rendered) {
	t.Helper()
	topics := map[string]*kafkaTopic{}
	for _, k := range r.topics {
		topics[k.Spec.TopicName] = k
		if k.Labels["strimzi.io/cluster"] == "" {
			t.Errorf("KafkaTopic %s: no strimzi.io/cluster label", k.Name)
		}
		if k.Spec.Replicas != 3 || fmt.Sprint(k.Spec.Config["min.insync.replicas"]) != "2" {
			t.Errorf("KafkaTopic %s: want 3 replicas and min.insync.replicas 2", k.Name)
		}
	}
	sso := configEnv(r, "sso-config")
	main := sso["SSO_USER_EVENTS_TOPIC"]
	if topics[main] == nil {
		t.Fatalf("no KafkaTopic for SSO_USER_EVENTS_TOPIC=%s", main)
	}
	for _, c := range []struct{ cm, topic, group string }{
		{"loyalty-points-config", "LOYALTY_TOPIC", "LOYALTY_GROUP_ID"},
		{"welcome-notifier-config", "NOTIFIER_TOPIC", "NOTIFIER_GROUP_ID"},
	} {
		env := configEnv(r, c.cm)
		if env[c.topic] != main {
			t.Errorf("%s: %s=%s, sso publishes to %s", c.cm, c.topic, env[c.topic], main)
		}
		dlq := env[c.topic] + "." + env[c.group] + ".dlq" // libs/consumer DefaultDeadLetterTopic
		if topics[dlq] == nil {
			t.Errorf("no KafkaTopic for the dead letters of %s (%s)", env[c.group], dlq)
		}
	}
	for _, h := range r.hpas {
		if h.Name != "sso" && int(h.Spec.MaxReplicas) > topics[main].Spec.Partitions {
			t.Errorf("HPA %s: %d replicas, but %s has %d partitions", h.Name, h.Spec.MaxReplicas, main, topics[main].Spec.Partitions)
		}
	}
}

// TestSecretsDocumented: every Secret the manifests expect from the user is
// described, with its keys, in README.md.
func TestSecretsDocumented(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for name, keys := range userSecrets {
		if !bytes.Contains(readme, []byte("`"+name+"`")) {
			t.Errorf("README.md does not document Secret %s", name)
		}
		for _, k := range keys {
			if !bytes.Contains(readme, []byte("`"+k+"`")) {
				t.Errorf("README.md does not document key %s of Secret %s", k, name)
			}
		}
	}
}

// readEnv returns the variables a service reads: the env tags of its config
// package, those of the libs/config structs it embeds with a prefix
// (config.Process `envPrefix:"SSO_"` reads SSO_LOG_LEVEL), and CONFIG_FILE.
func readEnv(t *testing.T, module string) map[string]bool {
	t.Helper()
	shared := map[string][]string{}
	for _, s := range structs(t, filepath.Join(repoRoot, "libs", "config")) {
		shared[s.name] = s.env
	}
	known := map[string]bool{"CONFIG_FILE": true}
	for _, s := range structs(t, filepath.Join(repoRoot, module, "internal", "config")) {
		for _, e := range s.env {
			known[e] = true
		}
		for _, emb := range s.embedded {
			for _, e := range shared[emb.typ] {
				known[emb.prefix+e] = true
			}
		}
	}
	if len(known) < 10 {
		t.Fatalf("%s: found only %d variables; has its config package moved?", module, len(known))
	}
	return known
}

type structInfo struct {
	name     string
	env      []string
	embedded []struct{ typ, prefix string }
}

// structs parses the struct types of the Go package in dir (tests left
// out) for their env tags and the config.X structs they embed.
func structs(t *testing.T, dir string) []structInfo {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s", dir)
	}
	var out []structInfo
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return true
			}
			info := structInfo{name: ts.Name.Name}
			for _, field := range st.Fields.List {
				if field.Tag == nil {
					continue
				}
				tag, err := strconv.Unquote(field.Tag.Value)
				if err != nil {
					t.Fatalf("%s: tag %s: %v", path, field.Tag.Value, err)
				}
				st := reflect.StructTag(tag)
				if name := st.Get("env"); name != "" {
					info.env = append(info.env, strings.Split(name, ",")[0])
				}
				if sel, ok := field.Type.(*ast.SelectorExpr); ok && len(field.Names) == 0 {
					if prefix, ok := st.Lookup("envPrefix"); ok {
						info.embedded = append(info.embedded, struct{ typ, prefix string }{sel.Sel.Name, prefix})
					}
				}
			}
			out = append(out, info)
			return true
		})
	}
	return out
}
