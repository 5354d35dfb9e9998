package exposure

import (
	"strconv"

	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
)

// kubeletSetting is one kubelet setting as a check sees it, from a KubeletConfiguration or from flags.
type kubeletSetting struct {
	value string
	// known is false when the source does not decide the setting: a flags file with --config leaves unset
	// settings to the configuration file.
	known bool
	// defaulted says the value is the default, not written.
	defaulted bool
	ev        map[string]string
}

// kubeletSettingOf reads a setting: field (dotted path) from a KubeletConfiguration, with configDefault when it is
// unset there; flag from a flags file, with flagDefault — the kubelet's legacy flag default, which differs from
// the configuration file's — when neither the flag nor --config is given.
func kubeletSettingOf(s *Source, field, configValue string, configSet bool, configDefault, flag, flagDefault string) kubeletSetting {
	if s.Format == FormatKubeletConfig {
		v := configValue
		if !configSet {
			v = configDefault
		}
		ev := fieldEvidence(s, field, v)
		if !configSet {
			ev["value"] = "(unset: default " + configDefault + ")"
		}
		return kubeletSetting{value: v, known: true, defaulted: !configSet, ev: ev}
	}
	f, set := s.Flags.Get(flag)
	if set {
		v := f.Value
		if !f.HasValue {
			v = "true"
		}
		return kubeletSetting{value: v, known: true, ev: flagEvidence(flag, f, true, "")}
	}
	if _, cfg := s.Flags.Get("config"); cfg {
		return kubeletSetting{}
	}
	return kubeletSetting{value: flagDefault, known: true, defaulted: true, ev: flagEvidence(flag, Flag{}, false, flagDefault+" without --config")}
}

func kubeletAnonymous(s *Source) kubeletSetting {
	var v string
	var set bool
	if kc := s.Kubelet; kc != nil && kc.Authentication.Anonymous.Enabled != nil {
		v, set = strconv.FormatBool(*kc.Authentication.Anonymous.Enabled), true
	}
	return kubeletSettingOf(s, "authentication.anonymous.enabled", v, set, "false", "anonymous-auth", "true")
}

func kubeletAuthzMode(s *Source) kubeletSetting {
	var v string
	if kc := s.Kubelet; kc != nil {
		v = string(kc.Authorization.Mode)
	}
	return kubeletSettingOf(s, "authorization.mode", v, v != "", string(kubeletv1beta1.KubeletAuthorizationModeWebhook), "authorization-mode", string(kubeletv1beta1.KubeletAuthorizationModeAlwaysAllow))
}

func isTrue(v string) bool {
	b, err := strconv.ParseBool(v)
	return err == nil && b
}
