package sol003

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// Subscription is the part of an LccnSubscription vnfguard reads back.
type Subscription struct {
	ID          string `json:"id"`
	CallbackURI string `json:"callbackUri"`
}

// ListSubscriptions lists the VNFM's LCM subscriptions (GET /subscriptions, following SOL013 paging like the
// instance list).
func (c *Client) ListSubscriptions(ctx context.Context) ([]Subscription, error) {
	next := c.base + "/subscriptions"
	seen := map[string]bool{}
	var out []Subscription
	for page := 1; next != ""; page++ {
		if page > maxPages || seen[next] {
			return nil, fmt.Errorf("GET %s: the VNFM's paging of subscriptions does not end", c.base+"/subscriptions")
		}
		seen[next] = true
		resp, body, err := c.do(ctx, http.MethodGet, next, nil, http.StatusOK)
		if err != nil {
			return nil, pageErr(err, page)
		}
		var items []Subscription
		if err := unmarshal(body, &items); err != nil {
			return nil, &DecodeError{Where: "GET " + next, Page: page, Index: -1, Msg: "not a list of LccnSubscriptions: " + err.Error()}
		}
		for i, s := range items {
			if s.ID == "" {
				return nil, &DecodeError{Where: "GET " + next, Page: page, Index: i, Path: "id", Msg: "is missing or empty"}
			}
		}
		out = append(out, items...)
		current := next
		if next, err = nextLink(resp, current); err != nil {
			return nil, fmt.Errorf("GET %s (page %d): %w", current, page, err)
		}
	}
	return out, nil
}

// DeleteSubscription deletes one subscription (204; a 404 means it is gone already).
func (c *Client) DeleteSubscription(ctx context.Context, id string) error {
	_, _, err := c.do(ctx, http.MethodDelete, c.base+"/subscriptions/"+url.PathEscape(id), nil, http.StatusNoContent, http.StatusNotFound)
	return err
}

// replaceEarlierSubscriptions deletes the VNFM's subscriptions to vnfguard's own callback before vnfguard
// subscribes: Tacker (11.0.0) creates a second subscription to the same URI instead of answering 303, and then
// delivers every notification once per subscription, so each restart of vnfguard would add one more copy of every
// notification. They are deleted rather than reused because a subscription's Basic credentials cannot be read
// back: an earlier one may carry a password since rotated, and its notifications would then be refused. A VNFM
// that cannot list subscriptions is subscribed to all the same (logged).
func (s *Source) replaceEarlierSubscriptions(ctx context.Context) {
	subs, err := s.client.ListSubscriptions(ctx)
	if err != nil {
		s.logger.Warn("cannot list the VNFM's subscriptions; subscribing without replacing earlier ones (notifications may arrive more than once)", "error", err.Error())
		return
	}
	for _, sub := range subs {
		if sub.CallbackURI != s.cfg.CallbackURI {
			continue
		}
		if err := s.client.DeleteSubscription(ctx, sub.ID); err != nil {
			s.logger.Warn("cannot delete an earlier subscription to vnfguard's callback; its notifications will arrive twice", "subscriptionId", sub.ID, "error", err.Error())
			continue
		}
		s.logger.Info("deleted an earlier subscription to vnfguard's callback before subscribing again", "subscriptionId", sub.ID)
	}
}
