package tools

// get_architecture's input and output types: their json tags and descriptions are the tool's schema.

import (
	"github.com/fixloop/fixloop/internal/kube"
)

// GetArchitectureInput selects what to describe.
type GetArchitectureInput struct {
	Namespace     string `json:"namespace,omitempty" jsonschema:"namespace to describe; empty means all namespaces"`
	LabelSelector string `json:"labelSelector,omitempty" jsonschema:"Kubernetes label selector applied to pods and workloads, e.g. app=shop"`
	Workload      string `json:"workload,omitempty" jsonschema:"kind/name of one workload to describe in detail with its pods and events, e.g. rollout/web or deployment/api (kinds: rollout deployment statefulset daemonset job pod)"`
	Limit         int    `json:"limit,omitempty" jsonschema:"workloads (or pods in workload detail) per page, default 25, max 200"`
	Continue      string `json:"continue,omitempty" jsonschema:"the next value of a previous answer, to get the next page"`
}

// GetArchitectureOutput is a compact summary: totals, workloads (unhealthy first, paginated), how they
// are wired, and recent warnings.
type GetArchitectureOutput struct {
	Namespace string         `json:"namespace,omitempty" jsonschema:"namespace described (empty: all)"`
	Totals    ArchTotals     `json:"totals" jsonschema:"counts over everything matched, before pagination"`
	Workloads []WorkloadInfo `json:"workloads" jsonschema:"this page of workloads, unhealthy first"`
	Services  []ServiceInfo  `json:"services,omitempty" jsonschema:"services with the workloads their selector reaches"`
	Ingresses []IngressInfo  `json:"ingresses,omitempty"`
	Storage   *StorageInfo   `json:"storage,omitempty" jsonschema:"PersistentVolumeClaims: counts and the ones not Bound"`
	CronJobs  []CronJobInfo  `json:"cronJobs,omitempty"`
	Warnings  []WarningEvent `json:"warnings,omitempty" jsonschema:"recent Warning events, grouped"`
	Unhealthy []UnhealthyPod `json:"unhealthy,omitempty" jsonschema:"unhealthy pods across the scope, worst first (capped)"`
	Pods      []PodInfo      `json:"pods,omitempty" jsonschema:"workload detail only: this page of the workload's pods"`
	Gaps      []string       `json:"gaps,omitempty" jsonschema:"resource types that could not be read (RBAC, missing CRDs), so the picture may be incomplete"`
	Next      string         `json:"next,omitempty" jsonschema:"pass as continue to get the next page"`
	Hint      string         `json:"hint,omitempty"`
}

type ArchTotals struct {
	Namespaces    int `json:"namespaces"`
	Workloads     int `json:"workloads"`
	Pods          int `json:"pods"`
	PodsReady     int `json:"podsReady"`
	PodsUnhealthy int `json:"podsUnhealthy"`
	Services      int `json:"services"`
	Ingresses     int `json:"ingresses"`
	HPAs          int `json:"hpas"`
	PVCs          int `json:"pvcs"`
	CronJobs      int `json:"cronJobs"`
	Jobs          int `json:"jobs"`
	JobsFailed    int `json:"jobsFailed"`
}

type WorkloadInfo struct {
	Kind       string         `json:"kind"`
	Namespace  string         `json:"namespace"`
	Name       string         `json:"name"`
	Desired    int32          `json:"desired" jsonschema:"desired replicas"`
	Ready      int32          `json:"ready" jsonschema:"ready replicas as reported by the workload"`
	Images     []string       `json:"images"`
	Resources  []string       `json:"resources,omitempty" jsonschema:"per container: requests/limits, e.g. app cpu=100m/500m mem=64Mi/128Mi"`
	Pods       PodCounts      `json:"pods"`
	Rollout    *RolloutInfo   `json:"rollout,omitempty"`
	HPA        string         `json:"hpa,omitempty" jsonschema:"autoscaler: min-max replicas, current/desired"`
	Services   []string       `json:"services,omitempty"`
	Unhealthy  []UnhealthyPod `json:"unhealthy,omitempty" jsonschema:"a few unhealthy pods of this workload"`
	Healthy    bool           `json:"healthy"`
	templateLb map[string]string
}

type PodCounts struct {
	Total        int `json:"total"`
	Running      int `json:"running"`
	Ready        int `json:"ready"`
	Pending      int `json:"pending"`
	Failed       int `json:"failed"`
	Restarts     int `json:"restarts"`
	OOMKilled    int `json:"oomKilled"`
	CrashLooping int `json:"crashLooping"`
}

type RolloutInfo struct {
	kube.Rollout
	StablePods   int           `json:"stablePods"`
	CanaryPods   int           `json:"canaryPods"`
	CanaryReady  int           `json:"canaryReady"`
	AnalysisRuns []AnalysisRun `json:"analysisRuns,omitempty"`
}

type AnalysisRun struct {
	Name    string `json:"name"`
	Phase   string `json:"phase"`
	Message string `json:"message,omitempty"`
}

type UnhealthyPod struct {
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	Reason    string `json:"reason"`
	Restarts  int    `json:"restarts,omitempty"`
	severity  int
}

type PodInfo struct {
	Name     string `json:"name"`
	Phase    string `json:"phase"`
	Ready    bool   `json:"ready"`
	Restarts int    `json:"restarts"`
	Role     string `json:"role,omitempty" jsonschema:"stable or canary for Argo Rollout pods"`
	Hash     string `json:"hash,omitempty" jsonschema:"pod-template hash"`
	Node     string `json:"node,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Age      string `json:"age"`
}

type ServiceInfo struct {
	Namespace string   `json:"namespace"`
	Name      string   `json:"name"`
	Type      string   `json:"type"`
	Selector  string   `json:"selector,omitempty"`
	Ports     []string `json:"ports,omitempty"`
	Targets   []string `json:"targets" jsonschema:"workloads (kind/name) whose pods the selector matches"`
}

type IngressInfo struct {
	Namespace string   `json:"namespace"`
	Name      string   `json:"name"`
	Routes    []string `json:"routes" jsonschema:"host/path -> service:port"`
}

type StorageInfo struct {
	Bound    int      `json:"bound"`
	NotBound []string `json:"notBound,omitempty" jsonschema:"namespace/name (phase)"`
}

type CronJobInfo struct {
	Namespace    string `json:"namespace"`
	Name         string `json:"name"`
	Schedule     string `json:"schedule"`
	Suspended    bool   `json:"suspended,omitempty"`
	Active       int    `json:"active"`
	LastSchedule string `json:"lastSchedule,omitempty"`
}

type WarningEvent struct {
	Object  string `json:"object" jsonschema:"kind/namespace/name"`
	Reason  string `json:"reason"`
	Count   int32  `json:"count"`
	Message string `json:"message"`
	Last    string `json:"last" jsonschema:"how long ago, e.g. 3m"`
}

const (
	archPage         = 500 // List page size: bounds memory on big clusters
	maxUnhealthyAll  = 15
	maxUnhealthyEach = 3
	maxWarnings      = 12
	maxListed        = 20 // services, ingresses, cronjobs listed in the summary
)
