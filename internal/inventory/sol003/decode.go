package sol003

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/vnfguard/vnfguard/internal/jsonpos"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// DecodeError is a response or notification body that vnfguard cannot use.
type DecodeError struct {
	Where string // "GET https://…/vnf_instances" or "notification"
	Page  int    // 1-based page of a paged list; 0 otherwise
	Index int    // item of a list; -1 for a single object
	Path  string // the field, e.g. instantiatedVnfInfo.vnfState; empty for the whole body
	Msg   string
}

func (e *DecodeError) Error() string {
	var b strings.Builder
	b.WriteString(e.Where)
	if e.Page > 0 {
		b.WriteString(" (page " + strconv.Itoa(e.Page) + ")")
	}
	b.WriteString(": ")
	if e.Index >= 0 {
		b.WriteString("item " + strconv.Itoa(e.Index) + ": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// SOL003's enumerations that vnfguard checks.
var (
	lcmOperations = set("INSTANTIATE", "SCALE", "SCALE_TO_LEVEL", "CHANGE_FLAVOUR", "TERMINATE", "HEAL", "OPERATE",
		"CHANGE_EXT_CONN", "MODIFY_INFO", "CREATE_SNAPSHOT", "REVERT_TO_SNAPSHOT", "CHANGE_VNFPKG")
	lcmStates     = set("STARTING", "PROCESSING", "COMPLETED", "FAILED_TEMP", "FAILED", "ROLLING_BACK", "ROLLED_BACK")
	finalStates   = set("COMPLETED", "FAILED", "ROLLED_BACK")
	notifications = set(NotificationLcmOperationOccurrence, NotificationIdentifierCreation, NotificationIdentifierDeletion)
)

func set(values ...string) map[string]bool {
	m := make(map[string]bool, len(values))
	for _, v := range values {
		m[v] = true
	}
	return m
}

// decodeInstances decodes a page of GET /vnf_instances: a JSON array of VnfInstance. Fields vnfguard does not model
// are ignored; the ones it relies on are checked.
func decodeInstances(data []byte, where string, page int) ([]*vnf.Instance, error) {
	var items []json.RawMessage
	if err := unmarshal(data, &items); err != nil {
		return nil, &DecodeError{Where: where, Page: page, Index: -1, Msg: "not a JSON array of VnfInstance: " + err.Error()}
	}
	out := make([]*vnf.Instance, 0, len(items))
	var errs []error
	for i, raw := range items {
		inst, err := decodeOne(raw, where, page, i)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, inst)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// decodeInstance decodes GET /vnf_instances/{id}.
func decodeInstance(data []byte, where string) (*vnf.Instance, error) {
	return decodeOne(data, where, 0, -1)
}

func decodeOne(raw []byte, where string, page, index int) (*vnf.Instance, error) {
	e := func(path, format string, args ...any) error {
		return &DecodeError{Where: where, Page: page, Index: index, Path: path, Msg: fmt.Sprintf(format, args...)}
	}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, e("", "is null, want a VnfInstance object")
	}
	inst := new(vnf.Instance)
	if err := unmarshal(raw, inst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, typeError(e, te)
		}
		return nil, e("", "not a VnfInstance object: %v", err)
	}
	var errs []error
	if inst.ID == "" {
		errs = append(errs, e("id", "is missing or empty"))
	}
	if inst.VnfdID == "" {
		errs = append(errs, e("vnfdId", "is missing or empty"))
	}
	switch inst.InstantiationState {
	case vnf.Instantiated, vnf.NotInstantiated:
	case "":
		errs = append(errs, e("instantiationState", "is missing; want INSTANTIATED or NOT_INSTANTIATED"))
	default:
		errs = append(errs, e("instantiationState", "is %q; want INSTANTIATED or NOT_INSTANTIATED", inst.InstantiationState))
	}
	info := inst.InstantiatedVnfInfo
	if info == nil && inst.InstantiationState == vnf.Instantiated {
		errs = append(errs, e("instantiatedVnfInfo", "is missing; SOL003 requires it for an INSTANTIATED instance"))
	}
	if info != nil {
		switch info.VnfState {
		case vnf.Started, vnf.Stopped:
		case "":
			errs = append(errs, e("instantiatedVnfInfo.vnfState", "is missing; want STARTED or STOPPED"))
		default:
			errs = append(errs, e("instantiatedVnfInfo.vnfState", "is %q; want STARTED or STOPPED", info.VnfState))
		}
		for i, r := range info.VnfcResourceInfo {
			if r.ComputeResource.ResourceID == "" {
				errs = append(errs, e(fmt.Sprintf("instantiatedVnfInfo.vnfcResourceInfo[%d].computeResource.resourceId", i), "is missing or empty"))
			}
		}
		for _, list := range []struct {
			name  string
			items []vnf.StorageResourceInfo
		}{{"virtualStorageResourceInfo", info.VirtualStorageResourceInfo}, {"vnfVirtualStorageResourceInfo", info.VnfVirtualStorageResourceInfo}} {
			for i, r := range list.items {
				if r.StorageResource.ResourceID == "" {
					errs = append(errs, e(fmt.Sprintf("instantiatedVnfInfo.%s[%d].storageResource.resourceId", list.name, i), "is missing or empty"))
				}
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	inst.Namespace = vnf.NamespaceOf(inst)
	inst.DisclosedCredentials = disclosedCredentials(raw, inst)
	return inst, nil
}

// unmarshal decodes one JSON value, rejecting trailing data, and quotes the text around a syntax error.
func unmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	err := dec.Decode(v)
	if err == nil {
		end := dec.InputOffset()
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			return fmt.Errorf("unexpected data after the JSON value that ends at offset %d: %q", end, jsonpos.Around(data, end))
		}
		return nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at offset %d near %q: %w", se.Offset, jsonpos.Around(data, se.Offset), err)
	}
	if errors.Is(err, io.EOF) || strings.Contains(err.Error(), "unexpected EOF") {
		if len(bytes.TrimSpace(data)) == 0 {
			return errors.New("the body is empty")
		}
		return fmt.Errorf("the JSON ends early (%d bytes): %w", len(data), err)
	}
	return err
}

// typeError says which field has the wrong JSON type. The path drops the Go names of embedded structs.
func typeError(e func(path, format string, args ...any) error, te *json.UnmarshalTypeError) error {
	path := strings.TrimPrefix(te.Field, "Notification.")
	if path == "" || path == "Notification" {
		return e("", "is a JSON %s, want an object", te.Value)
	}
	return e(path, "is a JSON %s, want %s", te.Value, goType(te.Type.String()))
}

// goType names a Go type the way a JSON author thinks of it.
func goType(t string) string {
	switch {
	case t == "string" || strings.HasSuffix(t, "State") || strings.HasSuffix(t, "Type"):
		return "a string"
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "vnf."), strings.HasPrefix(t, "*vnf."), strings.HasPrefix(t, "sol003."):
		return "an object"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case t == "bool":
		return "a boolean"
	}
	return t
}

// The notification types of a VNF LCM subscription.
const (
	NotificationLcmOperationOccurrence = "VnfLcmOperationOccurrenceNotification"
	NotificationIdentifierCreation     = "VnfIdentifierCreationNotification"
	NotificationIdentifierDeletion     = "VnfIdentifierDeletionNotification"
)

// Notification is the part of the three LCM notifications vnfguard acts on.
type Notification struct {
	ID                 string    `json:"id"`
	NotificationType   string    `json:"notificationType"`
	SubscriptionID     string    `json:"subscriptionId"`
	TimeStamp          time.Time `json:"-"`
	VnfInstanceID      string    `json:"vnfInstanceId"`
	NotificationStatus string    `json:"notificationStatus,omitempty"` // START or RESULT
	OperationState     string    `json:"operationState,omitempty"`
	Operation          string    `json:"operation,omitempty"`
	VnfLcmOpOccID      string    `json:"vnfLcmOpOccId,omitempty"`
	// Received is when the endpoint received it (zero for one not received through Handler).
	Received time.Time `json:"-"`
}

// DecodeNotification decodes and checks an LCM notification body.
func DecodeNotification(data []byte) (*Notification, error) {
	const where = "notification"
	e := func(path, format string, args ...any) error {
		return &DecodeError{Where: where, Index: -1, Path: path, Msg: fmt.Sprintf(format, args...)}
	}
	var wire struct {
		Notification
		TimeStamp *string `json:"timeStamp"`
	}
	if err := unmarshal(data, &wire); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, typeError(e, te)
		}
		return nil, e("", "not a notification object: %v", err)
	}
	n := wire.Notification
	var errs []error
	switch {
	case n.NotificationType == "":
		errs = append(errs, e("notificationType", "is missing"))
	case !notifications[n.NotificationType]:
		errs = append(errs, e("notificationType", "is %q; want %s, %s or %s", n.NotificationType, NotificationLcmOperationOccurrence, NotificationIdentifierCreation, NotificationIdentifierDeletion))
	}
	if n.VnfInstanceID == "" {
		errs = append(errs, e("vnfInstanceId", "is missing or empty"))
	}
	if wire.TimeStamp == nil {
		errs = append(errs, e("timeStamp", "is missing"))
	} else if t, err := time.Parse(time.RFC3339Nano, *wire.TimeStamp); err != nil {
		errs = append(errs, e("timeStamp", "%q is not an RFC 3339 date-time", *wire.TimeStamp))
	} else {
		n.TimeStamp = t
	}
	if n.NotificationType == NotificationLcmOperationOccurrence {
		if !lcmOperations[n.Operation] {
			errs = append(errs, e("operation", "is %q; want an LcmOperationType such as INSTANTIATE, OPERATE or TERMINATE", n.Operation))
		}
		if !lcmStates[n.OperationState] {
			errs = append(errs, e("operationState", "is %q; want an LcmOperationStateType such as STARTING, PROCESSING or COMPLETED", n.OperationState))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &n, nil
}
