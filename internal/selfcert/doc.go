// Package selfcert lets vnfguard manage its own webhook serving certificate in Kubernetes Secrets, the way Kyverno
// does: a CA Secret (the CA's certificate and key, and the caBundle of every CA still trusted) and a TLS Secret
// (the serving certificate and key for the Service's DNS names), both in vnfguard's own namespace.
//
// Two parts:
//
//   - Issuer (every replica) creates both Secrets when they are absent, renews the serving certificate RenewBefore
//     its expiry, and rotates the CA with an overlap: a new CA joins the bundle beside the old one, signs the serving
//     certificate only once it has been in the bundle for Overlap (time for the registration's caBundle to follow),
//     and the old CA leaves the bundle Overlap after no serving certificate of it remains. Every write is
//     conditional (create fails with AlreadyExists, update carries the resourceVersion read), so replicas that
//     start or renew at the same moment converge on the one write that won: the loser re-reads and finds nothing
//     to do. The issuer deliberately does not wait for the leader election: a new replica must be able to obtain
//     a certificate while an old version of vnfguard, which knows nothing of these Secrets, holds the Lease (a
//     rolling upgrade with maxUnavailable 0 would otherwise never finish).
//   - Source (every replica) watches the two Secrets (by name, so RBAC can restrict list and watch with
//     resourceNames), serves the current certificate through tls.Config.GetCertificate without a restart, reports
//     readiness only once a certificate from the Secret is loaded, and hands every new caBundle to a callback (the
//     registration watchdog, so that the caBundle it writes and checks follows rotation).
//
// A Secret that exists but was not made by vnfguard (no label app.kubernetes.io/managed-by=vnfguard), or whose
// content does not parse, is never overwritten: the issuer reports an error naming the Secret and what to do
// (delete it, or choose other names), and the replicas keep serving the last good certificate.
package selfcert
