package nodesensor

import (
	"context"
	"errors"
	"fmt"
	"time"

	eventstypes "github.com/containerd/containerd/api/events"
	runcoptions "github.com/containerd/containerd/api/types/runc/options"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/typeurl/v2"
	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// KubeletNamespace is the containerd namespace of the CRI plugin, where the kubelet's containers live.
const KubeletNamespace = "k8s.io"

// Container is a container of the node's containerd, as the sensor sees it.
type Container struct {
	// Namespace is the containerd namespace (k8s.io, moby, default ...); ID the container's ID in it.
	Namespace, ID string
	// Image is the image reference it was created from.
	Image string
	// Labels are containerd's labels: claims, which anybody can write.
	Labels map[string]string
	// Created is when containerd created it.
	Created time.Time
	// ImageDigest is the digest containerd's image store resolves Image to ("" when it does not hold it).
	ImageDigest string
	// Running: its task runs (PID Pid).
	Running bool
	Pid     uint32
	// Execs are the exec processes running in its task now (found at an inventory; events report new ones).
	Execs []ExecProcess
}

// ExecProcess is an exec process of a task.
type ExecProcess struct {
	ID  string
	Pid uint32
}

// CRIContainer is what the CRI plugin's own store says of a container or pod sandbox it made. Unlike containerd's
// labels, which any containerd client can rewrite, these are the values of the kubelet's CRI request.
type CRIContainer struct {
	PodNamespace, PodName, PodUID string
	// Name is the container's name in its pod; "" for a pod sandbox.
	Name string
}

// Pod names the pod the kubelet's labels claim the container belongs to ("" when it claims none).
func (c Container) Pod() string {
	ns, name := c.Labels[labelPodNamespace], c.Labels[labelPodName]
	if name == "" {
		return ""
	}
	return ns + "/" + name
}

// Event is a change containerd reported: Topic is containerd's (/containers/create, /tasks/start,
// /tasks/exec-started, /tasks/exit, /containers/delete ...).
type Event struct {
	Time                 time.Time
	Namespace, Topic, ID string
	// ExecID and Pid for exec events.
	ExecID string
	Pid    uint32
	// Command is an exec's command line, read from /proc as soon as the event arrived (CommandErr says why not).
	Command    []string
	CommandErr error
}

// Runtime is what the sensor reads: containerd and its CRI plugin.
type Runtime interface {
	// Containers lists the containers of every containerd namespace.
	Containers(ctx context.Context) ([]Container, error)
	// Container reads one; ok false when it is gone.
	Container(ctx context.Context, namespace, id string) (c Container, ok bool, err error)
	// CRIKnows is what the CRI plugin made: its containers and pod sandboxes by ID.
	CRIKnows(ctx context.Context) (map[string]CRIContainer, error)
	// Events follows containerd's events until ctx ends.
	Events(ctx context.Context) (<-chan Event, <-chan error)
}

// Containerd is a Runtime over a containerd socket.
type Containerd struct {
	client *containerd.Client
	cri    runtimeapi.RuntimeServiceClient
	// ProcRoot is the node's /proc, where exec command lines are read (default /proc).
	ProcRoot string
	// Execs, when set, has the command lines read at execve time; /proc is read only for what it missed.
	Execs *ExecWatch
}

// command is an exec's command line: from runc's process spec, else as the kernel's process event had it, else
// from /proc now.
func (r *Containerd) command(containerID, execID string, pid uint32) ([]string, error) {
	for range 5 {
		if cmd, ok := r.Execs.ExecCommand(containerID, execID); ok {
			return cmd, nil
		}
		if cmd, ok := r.Execs.Command(pid); ok {
			return cmd, nil
		}
		if r.Execs == nil {
			break
		}
		time.Sleep(2 * time.Millisecond) // the process event may still be on its way
	}
	return readCommand(r.ProcRoot, pid)
}

// Connect dials containerd's socket (e.g. /run/containerd/containerd.sock).
func Connect(socket string) (*Containerd, error) {
	client, err := containerd.New(socket, containerd.WithTimeout(10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("nodesensor: connect to containerd at %s: %w", socket, err)
	}
	conn, ok := client.Conn().(*grpc.ClientConn)
	if !ok {
		client.Close()
		return nil, fmt.Errorf("nodesensor: containerd at %s: not a gRPC connection, the CRI cannot be asked", socket)
	}
	return &Containerd{client: client, cri: runtimeapi.NewRuntimeServiceClient(conn), ProcRoot: "/proc"}, nil
}

// Close closes the connection.
func (r *Containerd) Close() error { return r.client.Close() }

// Version is containerd's version.
func (r *Containerd) Version(ctx context.Context) (string, error) {
	v, err := r.client.Version(ctx)
	if err != nil {
		return "", fmt.Errorf("nodesensor: containerd version: %w", err)
	}
	return v.Version, nil
}

// Containers implements Runtime.
func (r *Containerd) Containers(ctx context.Context) ([]Container, error) {
	names, err := r.client.NamespaceService().List(ctx)
	if err != nil {
		return nil, fmt.Errorf("nodesensor: list containerd namespaces: %w", err)
	}
	var out []Container
	for _, ns := range names {
		nctx := namespaces.WithNamespace(ctx, ns)
		cs, err := r.client.Containers(nctx)
		if err != nil {
			return nil, fmt.Errorf("nodesensor: list the containers of containerd namespace %s: %w", ns, err)
		}
		for _, c := range cs {
			got, ok, err := r.read(nctx, ns, c)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, got)
			}
		}
	}
	return out, nil
}

// Container implements Runtime.
func (r *Containerd) Container(ctx context.Context, namespace, id string) (Container, bool, error) {
	nctx := namespaces.WithNamespace(ctx, namespace)
	c, err := r.client.LoadContainer(nctx, id)
	if isNotFound(err) {
		return Container{}, false, nil
	}
	if err != nil {
		return Container{}, false, fmt.Errorf("nodesensor: load container %s/%s: %w", namespace, id, err)
	}
	return r.read(nctx, namespace, c)
}

func (r *Containerd) read(ctx context.Context, ns string, c containerd.Container) (Container, bool, error) {
	info, err := c.Info(ctx, containerd.WithoutRefreshedMetadata)
	if isNotFound(err) {
		return Container{}, false, nil // deleted between the list and now
	}
	if err != nil {
		return Container{}, false, fmt.Errorf("nodesensor: read container %s/%s: %w", ns, c.ID(), err)
	}
	out := Container{Namespace: ns, ID: c.ID(), Image: info.Image, Labels: info.Labels, Created: info.CreatedAt}
	if info.Image != "" {
		if img, err := r.client.ImageService().Get(ctx, info.Image); err == nil {
			out.ImageDigest = img.Target.Digest.String()
		}
	}
	task, err := c.Task(ctx, nil)
	switch {
	case isNotFound(err):
	case err != nil:
		return Container{}, false, fmt.Errorf("nodesensor: read the task of container %s/%s: %w", ns, c.ID(), err)
	default:
		st, err := task.Status(ctx)
		if err != nil && !isNotFound(err) {
			return Container{}, false, fmt.Errorf("nodesensor: task status of container %s/%s: %w", ns, c.ID(), err)
		}
		out.Running = err == nil && st.Status == containerd.Running
		out.Pid = task.Pid()
		if out.Running {
			out.Execs = execsOf(ctx, task)
		}
	}
	return out, true, nil
}

// CRIKnows implements Runtime.
func (r *Containerd) CRIKnows(ctx context.Context) (map[string]CRIContainer, error) {
	known := map[string]CRIContainer{}
	cs, err := r.cri.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		return nil, fmt.Errorf("nodesensor: CRI ListContainers: %w", err)
	}
	for _, c := range cs.Containers {
		cc := CRIContainer{PodNamespace: c.Labels[labelPodNamespace], PodName: c.Labels[labelPodName], PodUID: c.Labels[labelPodUID]}
		if c.Metadata != nil {
			cc.Name = c.Metadata.Name
		}
		known[c.Id] = cc
	}
	ss, err := r.cri.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return nil, fmt.Errorf("nodesensor: CRI ListPodSandbox: %w", err)
	}
	for _, s := range ss.Items {
		sc := CRIContainer{}
		if s.Metadata != nil {
			sc = CRIContainer{PodNamespace: s.Metadata.Namespace, PodName: s.Metadata.Name, PodUID: s.Metadata.Uid}
		}
		known[s.Id] = sc
	}
	return known, nil
}

// The kubelet's labels on a CRI container (read from the CRI plugin's store, not containerd's).
const (
	labelPodNamespace = "io.kubernetes.pod.namespace"
	labelPodName      = "io.kubernetes.pod.name"
	labelPodUID       = "io.kubernetes.pod.uid"
)

// Events implements Runtime.
func (r *Containerd) Events(ctx context.Context) (<-chan Event, <-chan error) {
	envelopes, errs := r.client.Subscribe(ctx, `topic~="^/(containers|tasks)/"`)
	out := make(chan Event, 256)
	outErrs := make(chan error, 1)
	go func() {
		defer close(out)
		for {
			select {
			case e := <-envelopes:
				if e == nil {
					continue
				}
				ev := Event{Time: e.Timestamp, Namespace: e.Namespace, Topic: e.Topic}
				if payload, err := typeurl.UnmarshalAny(e.Event); err == nil {
					switch p := payload.(type) {
					case *eventstypes.ContainerCreate:
						ev.ID = p.ID
					case *eventstypes.ContainerDelete:
						ev.ID = p.ID
					case *eventstypes.TaskStart:
						ev.ID, ev.Pid = p.ContainerID, p.Pid
					case *eventstypes.TaskExecStarted:
						ev.ID, ev.ExecID, ev.Pid = p.ContainerID, p.ExecID, p.Pid
						// First thing: the process may be gone milliseconds later.
						ev.Command, ev.CommandErr = r.command(p.ContainerID, p.ExecID, p.Pid)
					case *eventstypes.TaskExecAdded:
						ev.ID, ev.ExecID = p.ContainerID, p.ExecID
					case *eventstypes.TaskExit:
						ev.ID, ev.Pid = p.ContainerID, p.Pid
					}
				}
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			case err := <-errs:
				if err != nil && ctx.Err() == nil {
					outErrs <- fmt.Errorf("nodesensor: containerd events: %w", err)
				}
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, outErrs
}

// execsOf lists the exec processes of a task: the shim reports each process with its exec ID (runc's
// ProcessDetails); the main process has none. A task that cannot say is treated as having none.
func execsOf(ctx context.Context, task containerd.Task) []ExecProcess {
	procs, err := task.Pids(ctx)
	if err != nil {
		return nil
	}
	var out []ExecProcess
	for _, p := range procs {
		if p.Info == nil {
			continue
		}
		var d runcoptions.ProcessDetails
		if err := typeurl.UnmarshalTo(p.Info, &d); err == nil && d.ExecID != "" {
			out = append(out, ExecProcess{ID: d.ExecID, Pid: p.Pid})
		}
	}
	return out
}

// isNotFound: containerd's not-found, which its gRPC status carries.
// The client wraps some gRPC errors in its own messages ("no running task found: ..."), so every error of the
// chain is looked at.
func isNotFound(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if errdefs.IsNotFound(e) || errdefs.IsNotFound(errgrpc.ToNative(e)) {
			return true
		}
	}
	return false
}
