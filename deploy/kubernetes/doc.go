// Package kubernetes holds no code: its test validates the Kustomize base and
// overlays beside it offline (see README.md, "What the test checks").
package kubernetes
