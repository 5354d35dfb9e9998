// Package danger holds the one definition of each dangerous shape that admission (internal/policy), detection
// (internal/detect) and posture (internal/posture) judge: what may not be mounted from the host because it hands
// the node to the pod. Each definition comes with a table of cases (Cases*) that the three callers' tests run
// through their own paths, so that a pod denied by admission is never ignored by detection or posture.
package danger
