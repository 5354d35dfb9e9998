package main

import (
	"errors"
	"log/slog"
	"net/http"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/vnfguard/vnfguard/internal/console"
	"github.com/vnfguard/vnfguard/internal/store"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// consoleRoutes puts the findings console on the routes (/console, and / redirecting to it), reading st and
// authorising readers against the cluster of restCfg.
func consoleRoutes(routes map[string]http.Handler, st store.Store, restCfg *rest.Config, inv vnf.Inventory, historyFile string, logger *slog.Logger) error {
	cs, ok := st.(console.Store)
	if !ok {
		return errors.New("the findings store does not answer the console's queries")
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return err
	}
	c, err := console.New(console.Options{Store: cs, Authorize: console.NewAuthorizer(client).Authorize, Inventory: inv, HistoryFile: historyFile, Logger: logger})
	if err != nil {
		return err
	}
	routes[console.Prefix] = c
	routes[console.Prefix+"/"] = c
	routes["/{$}"] = http.RedirectHandler(console.Prefix+"/", http.StatusFound)
	return nil
}
