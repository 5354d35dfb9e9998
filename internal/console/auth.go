package console

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/cache"
	"k8s.io/client-go/kubernetes"
)

// The access a console reader needs: get on the virtual resource findings.vnfguard.io.
const (
	AccessGroup    = "vnfguard.io"
	AccessResource = "findings"
	AccessVerb     = "get"
)

// Errors of Authorize that are the reader's, not the cluster's.
var (
	ErrUnauthenticated = errors.New("the token is not valid")
	ErrForbidden       = errors.New("the token's user may not get findings.vnfguard.io")
)

// Authorizer checks console tokens against the cluster: TokenReview, then SubjectAccessReview. Answers, allowed or
// not, are cached for TTL by a hash of the token (never the token itself); errors of the API server are not.
type Authorizer struct {
	client kubernetes.Interface
	cache  *cache.LRUExpireCache
	TTL    time.Duration
}

// NewAuthorizer returns an Authorizer over client (vnfguard's own identity: it needs create on tokenreviews and
// subjectaccessreviews).
func NewAuthorizer(client kubernetes.Interface) *Authorizer {
	return &Authorizer{client: client, cache: cache.NewLRUExpireCache(4096), TTL: time.Minute}
}

type decision struct {
	user string
	err  error
}

// Authorize returns the token's user when it may read the console; ErrUnauthenticated or ErrForbidden (wrapped)
// when not; another error when the cluster could not answer.
func (a *Authorizer) Authorize(ctx context.Context, token string) (string, error) {
	if token == "" {
		return "", ErrUnauthenticated
	}
	key := sha256.Sum256([]byte(token))
	if v, ok := a.cache.Get(key); ok {
		d := v.(decision)
		return d.user, d.err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	tr, err := a.client.AuthenticationV1().TokenReviews().Create(ctx, &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("console: TokenReview: %w", err)
	}
	if !tr.Status.Authenticated {
		a.cache.Add(key, decision{err: ErrUnauthenticated}, a.TTL)
		return "", ErrUnauthenticated
	}
	u := tr.Status.User
	extra := map[string]authzv1.ExtraValue{}
	for k, v := range u.Extra {
		extra[k] = authzv1.ExtraValue(v)
	}
	sar, err := a.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User: u.Username, UID: u.UID, Groups: u.Groups, Extra: extra,
		ResourceAttributes: &authzv1.ResourceAttributes{Verb: AccessVerb, Group: AccessGroup, Resource: AccessResource},
	}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("console: SubjectAccessReview for %s: %w", u.Username, err)
	}
	d := decision{user: u.Username}
	if !sar.Status.Allowed {
		d.err = fmt.Errorf("%w (user %s)", ErrForbidden, u.Username)
	}
	a.cache.Add(key, d, a.TTL)
	return d.user, d.err
}
