package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// The lab drives the real Tacker as an NFVO does: SOL005 package management (v1) to onboard, SOL003 VNF LCM (v2) for
// the lifecycle. Every call returns an error naming the request and quoting Tacker's answer.

// TackerInstance is the part of a SOL003 VnfInstance the lab's steps read.
type TackerInstance struct {
	ID                  string `json:"id"`
	VnfdID              string `json:"vnfdId"`
	InstantiationState  string `json:"instantiationState"`
	InstantiatedVnfInfo *struct {
		VnfState    string `json:"vnfState"`
		ScaleStatus []struct {
			AspectID   string `json:"aspectId"`
			ScaleLevel int    `json:"scaleLevel"`
		} `json:"scaleStatus"`
		VnfcInfo []struct {
			ID                 string `json:"id"`
			VduID              string `json:"vduId"`
			VnfcResourceInfoID string `json:"vnfcResourceInfoId"`
		} `json:"vnfcInfo"`
		VnfcResourceInfo []struct {
			ID              string `json:"id"`
			ComputeResource struct {
				ResourceID           string `json:"resourceId"`
				VimLevelResourceType string `json:"vimLevelResourceType"`
			} `json:"computeResource"`
		} `json:"vnfcResourceInfo"`
	} `json:"instantiatedVnfInfo"`
	VimConnectionInfo map[string]json.RawMessage `json:"vimConnectionInfo"`
}

// Pods lists the pods Tacker reports as the instance's VNFCs (computeResource.resourceId).
func (i *TackerInstance) Pods() []string {
	if i.InstantiatedVnfInfo == nil {
		return nil
	}
	var out []string
	for _, r := range i.InstantiatedVnfInfo.VnfcResourceInfo {
		out = append(out, r.ComputeResource.ResourceID)
	}
	return out
}

// Onboard uploads a VNF package (POST /vnfpkgm/v1/vnf_packages, PUT its package_content) and waits until Tacker's
// conductor has onboarded it; it returns the package's id.
func (t *Tacker) Onboard(ctx context.Context, zip []byte) (string, error) {
	var pkg struct {
		ID              string `json:"id"`
		OnboardingState string `json:"onboardingState"`
	}
	if _, err := t.call(ctx, http.MethodPost, "/vnfpkgm/v1/vnf_packages", "", []byte("{}"), &pkg, http.StatusCreated); err != nil {
		return "", err
	}
	if _, err := t.call(ctx, http.MethodPut, "/vnfpkgm/v1/vnf_packages/"+pkg.ID+"/package_content", "application/zip", zip, nil, http.StatusAccepted); err != nil {
		return "", err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if _, err := t.call(ctx, http.MethodGet, "/vnfpkgm/v1/vnf_packages/"+pkg.ID, "", nil, &pkg, http.StatusOK); err != nil {
			return "", err
		}
		if pkg.OnboardingState == "ONBOARDED" {
			return pkg.ID, nil
		}
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("lab: Tacker did not onboard package %s within 2 minutes (state %s)\n%s", pkg.ID, pkg.OnboardingState, t.Logs(20))
}

// CreateInstance creates a VNF instance of the package vnfdID (POST /vnflcm/v2/vnf_instances).
func (t *Tacker) CreateInstance(ctx context.Context, vnfdID, name string) (*TackerInstance, error) {
	body, _ := json.Marshal(map[string]string{"vnfdId": vnfdID, "vnfInstanceName": name})
	var inst TackerInstance
	if _, err := t.call(ctx, http.MethodPost, "/vnflcm/v2/vnf_instances", "", body, &inst, http.StatusCreated); err != nil {
		return nil, err
	}
	return &inst, nil
}

// Instance reads one VNF instance (GET /vnflcm/v2/vnf_instances/{id}).
func (t *Tacker) Instance(ctx context.Context, id string) (*TackerInstance, error) {
	var inst TackerInstance
	if _, err := t.call(ctx, http.MethodGet, "/vnflcm/v2/vnf_instances/"+id, "", nil, &inst, http.StatusOK); err != nil {
		return nil, err
	}
	return &inst, nil
}

// InstantiateRequest is an InstantiateVnfRequest deploying the package's Kubernetes files to namespace through
// the lab's API server as tacker-vnfm.
func (t *Tacker) InstantiateRequest(namespace string, defFiles ...string) map[string]any {
	return map[string]any{
		"flavourId": "simple",
		"vimConnectionInfo": map[string]any{"vim1": map[string]any{
			"vimId":         "6a6b6c6d-0000-4000-8000-00000000a001",
			"vimType":       "kubernetes",
			"interfaceInfo": map[string]string{"endpoint": t.VIMEndpoint, "ssl_ca_cert": t.VIMCACert},
			"accessInfo":    map[string]string{"bearer_token": t.VIMToken},
		}},
		"additionalParams": map[string]any{"lcm-kubernetes-def-files": defFiles, "namespace": namespace},
	}
}

// Operation starts an LCM operation (POST /vnflcm/v2/vnf_instances/{id}/{op}: instantiate, scale, heal,
// terminate) and returns the URL of its VnfLcmOpOcc.
func (t *Tacker) Operation(ctx context.Context, id, op string, req any) (string, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return "", err
	}
	resp, err := t.call(ctx, http.MethodPost, "/vnflcm/v2/vnf_instances/"+id+"/"+op, "", body, nil, http.StatusAccepted)
	if err != nil {
		return "", err
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", fmt.Errorf("lab: Tacker answered %s of %s without a Location", op, id)
	}
	return loc, nil
}

// WaitOperation polls an LcmOpOcc until it ends and returns its final state; an error when it did not complete.
func (t *Tacker) WaitOperation(ctx context.Context, location string, within time.Duration) error {
	path := strings.TrimPrefix(location, t.URL)
	deadline := time.Now().Add(within)
	var occ struct {
		OperationState string          `json:"operationState"`
		Operation      string          `json:"operation"`
		Error          json.RawMessage `json:"error"`
	}
	for time.Now().Before(deadline) {
		if _, err := t.call(ctx, http.MethodGet, path, "", nil, &occ, http.StatusOK); err != nil {
			return err
		}
		switch occ.OperationState {
		case "COMPLETED":
			return nil
		case "FAILED_TEMP", "FAILED", "ROLLED_BACK":
			return fmt.Errorf("lab: Tacker's %s ended %s: %s\n%s", occ.Operation, occ.OperationState, occ.Error, t.Logs(30))
		}
		if err := sleepCtx(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("lab: Tacker's %s still %s after %v\n%s", occ.Operation, occ.OperationState, within, t.Logs(30))
}

// DeleteInstance deletes a NOT_INSTANTIATED VNF instance.
func (t *Tacker) DeleteInstance(ctx context.Context, id string) error {
	_, err := t.call(ctx, http.MethodDelete, "/vnflcm/v2/vnf_instances/"+id, "", nil, nil, http.StatusNoContent)
	return err
}

// Subscriptions lists the callback URIs of Tacker's LCM subscriptions.
func (t *Tacker) Subscriptions(ctx context.Context) ([]string, error) {
	var subs []struct {
		CallbackURI string `json:"callbackUri"`
	}
	if _, err := t.call(ctx, http.MethodGet, "/vnflcm/v2/subscriptions", "", nil, &subs, http.StatusOK); err != nil {
		return nil, err
	}
	var out []string
	for _, s := range subs {
		out = append(out, s.CallbackURI)
	}
	return out, nil
}

// call sends one request: v2 paths with the Version header SOL003 requires, JSON unless contentType says
// otherwise; out receives the decoded body when not nil.
func (t *Tacker) call(ctx context.Context, method, path, contentType string, body []byte, out any, want int) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.URL+path, rd)
	if err != nil {
		return nil, err
	}
	if contentType == "" {
		contentType = "application/json"
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	if strings.HasPrefix(path, "/vnflcm/v2/") {
		req.Header.Set("Version", "2.0.0")
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("lab: Tacker %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode != want {
		return resp, fmt.Errorf("lab: Tacker %s %s: %s, want %d: %s", method, path, resp.Status, want, bytes.TrimSpace(data))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp, fmt.Errorf("lab: Tacker %s %s: decode: %w", method, path, err)
		}
	}
	return resp, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
