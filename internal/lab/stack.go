package lab

import (
	"context"
	"fmt"
	"path/filepath"
)

// StartStack starts the control plane and, registered as its webhook, `binary serve` with the lab's
// configuration (ConfigYAML) and an inventory in which the packages of UPF and UDR are onboarded and nothing is
// instantiated yet. It returns the environment DefaultScenario runs in; Env.CP.Stop stops everything.
func StartStack(ctx context.Context, opts Options, binary string) (*Env, error) {
	cp, err := Start(ctx, opts)
	if err != nil {
		return nil, err
	}
	env, err := StartGuard(ctx, cp, binary)
	if err != nil {
		cp.Stop()
		return nil, err
	}
	return env, nil
}

// StartGuard starts vnfguard on a running control plane as StartStack does, for a caller that first ran something
// without it (a control run that shows an attack is real). The caller stops cp.
func StartGuard(ctx context.Context, cp *ControlPlane, binary string) (*Env, error) {
	inventory := filepath.Join(cp.WorkDir, "inventory.yaml")
	nfvo := NewNFVO(inventory, UPF, UDR)
	if _, err := nfvo.Write(); err != nil {
		return nil, err
	}
	configPath, err := WriteConfig(cp.WorkDir, inventory)
	if err != nil {
		return nil, err
	}
	// The inventory history, for the forensics of `detect --inventory-history` over the same run.
	history := filepath.Join(cp.WorkDir, "inventory-history.jsonl")
	guard, err := cp.StartVNFGuard(ctx, binary, configPath, "--inventory-history", history)
	if err != nil {
		return nil, fmt.Errorf("start vnfguard (%s): %w", binary, err)
	}
	guard.HistoryFile = history
	return &Env{CP: cp, Guard: guard, NFVO: nfvo, Logger: cp.logger}, nil
}
