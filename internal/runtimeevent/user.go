package runtimeevent

import authnv1 "k8s.io/api/authentication/v1"

func authnUser(name string) authnv1.UserInfo { return authnv1.UserInfo{Username: name} }
