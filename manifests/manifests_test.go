// Package manifests_test renders the kustomize trees under manifests/ with kustomize's own library, so a
// patch that no longer applies, or an HA install that lost a replica or its Postgres Secret, fails here
// rather than at `kubectl apply -k`.
package manifests_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// render builds the kustomization in dir (relative to this directory) from disk.
func render(t *testing.T, dir string) resmap.ResMap {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), abs)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	return m
}

// object finds kind/name in m as a generic map.
func object(t *testing.T, m resmap.ResMap, kind, name string) map[string]any {
	t.Helper()
	for _, r := range m.Resources() {
		if r.GetKind() == kind && r.GetName() == name {
			raw, err := r.AsYAML()
			if err != nil {
				t.Fatal(err)
			}
			var o map[string]any
			if err := yaml.Unmarshal(raw, &o); err != nil {
				t.Fatal(err)
			}
			return o
		}
	}
	return nil
}

func dig(o any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := o.(map[string]any)
			o = m[k]
		case int:
			l, _ := o.([]any)
			if k >= len(l) {
				return nil
			}
			o = l[k]
		}
	}
	return o
}

func TestSingleReplicaInstall(t *testing.T) {
	m := render(t, ".")
	d := object(t, m, "Deployment", "fixloop")
	if dig(d, "spec", "replicas") != float64(1) || dig(d, "spec", "strategy", "type") != "Recreate" {
		t.Fatalf("the default install is one replica recreated (one SQLite writer): %v", dig(d, "spec"))
	}
	if object(t, m, "PersistentVolumeClaim", "fixloop-state") == nil {
		t.Fatal("the default install keeps its SQLite state on a PersistentVolumeClaim")
	}
}

// The HA component on top of the install, used the way the README says (a kustomization outside).
func TestHAComponent(t *testing.T) {
	dir := t.TempDir()
	here, _ := filepath.Abs(".")
	rel, err := filepath.Rel(dir, here)
	if err != nil {
		t.Fatal(err)
	}
	k := "resources: [" + rel + "]\ncomponents: [" + filepath.Join(rel, "ha") + "]\n"
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	m := render(t, dir)
	d := object(t, m, "Deployment", "fixloop")
	if dig(d, "spec", "replicas") != float64(2) || dig(d, "spec", "strategy", "type") != "RollingUpdate" ||
		dig(d, "spec", "strategy", "rollingUpdate", "maxUnavailable") != float64(0) {
		t.Fatalf("HA deployment spec: replicas %v strategy %v", dig(d, "spec", "replicas"), dig(d, "spec", "strategy"))
	}
	c := dig(d, "spec", "template", "spec", "containers", 0)
	var store any
	env, _ := dig(c, "env").([]any)
	for _, e := range env {
		if dig(e, "name") == "FIXLOOP_STORE" {
			store = dig(e, "valueFrom", "secretKeyRef")
		}
	}
	if dig(store, "name") != "fixloop-store" || dig(store, "key") != "url" {
		t.Fatalf("FIXLOOP_STORE must come from Secret fixloop-store key url, got %v", store)
	}
	if object(t, m, "Secret", "fixloop-store") == nil {
		t.Fatal("no Secret fixloop-store")
	}
	pdb := object(t, m, "PodDisruptionBudget", "fixloop")
	if dig(pdb, "spec", "minAvailable") != float64(1) || dig(pdb, "metadata", "namespace") != "fixloop" {
		t.Fatalf("PodDisruptionBudget: %v", pdb)
	}
	if object(t, m, "PersistentVolumeClaim", "fixloop-state") != nil {
		t.Fatal("the HA install must not claim a ReadWriteOnce SQLite volume (two pods cannot share it)")
	}
	vols, _ := dig(d, "spec", "template", "spec", "volumes").([]any)
	for _, v := range vols {
		if dig(v, "name") == "state" && (dig(v, "persistentVolumeClaim") != nil || dig(v, "emptyDir") == nil) {
			t.Fatalf("state volume %v: want an emptyDir scratch", v)
		}
	}
	if object(t, m, "NetworkPolicy", "fixloop-store") == nil {
		t.Fatal("no egress to PostgreSQL")
	}
}

// The namespaced component leaves no cluster-wide grant and gives the Role every namespaced rule of
// the ClusterRole (the two cannot drift apart unnoticed).
func TestNamespacedComponent(t *testing.T) {
	dir := t.TempDir()
	here, _ := filepath.Abs(".")
	rel, err := filepath.Rel(dir, here)
	if err != nil {
		t.Fatal(err)
	}
	k := "resources: [" + rel + "]\ncomponents: [" + filepath.Join(rel, "namespaced") + "]\n"
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	m := render(t, dir)
	if object(t, m, "ClusterRole", "fixloop") != nil || object(t, m, "ClusterRoleBinding", "fixloop") != nil {
		t.Fatal("the namespaced install still grants cluster-wide rights")
	}
	role, binding := object(t, m, "Role", "fixloop"), object(t, m, "RoleBinding", "fixloop")
	if role == nil || binding == nil || dig(binding, "subjects", 0, "name") != "fixloop" || dig(binding, "subjects", 0, "namespace") != "fixloop" {
		t.Fatalf("Role %v RoleBinding %v", role, binding)
	}
	cluster := object(t, render(t, "."), "ClusterRole", "fixloop")
	clusterScoped := map[string]bool{"namespaces": true, "tokenreviews": true, "clusteranalysistemplates": true}
	for _, want := range grants(dig(cluster, "rules")) {
		if !clusterScoped[want[1]] && !slices.Contains(grants(dig(role, "rules")), want) {
			t.Errorf("the namespaced Role lacks %v of the ClusterRole", want)
		}
	}
}

// grants flattens RBAC rules to {group, resource, verb} triples.
func grants(rules any) [][3]string {
	var out [][3]string
	list, _ := rules.([]any)
	for _, r := range list {
		for _, g := range strs(dig(r, "apiGroups")) {
			for _, res := range strs(dig(r, "resources")) {
				for _, v := range strs(dig(r, "verbs")) {
					out = append(out, [3]string{g, res, v})
				}
			}
		}
	}
	return out
}

func strs(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, s := range l {
		out = append(out, fmt.Sprint(s))
	}
	return out
}
