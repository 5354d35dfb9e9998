"""Paste filter of the lab's Tacker (auth_strategy = noauth).

Tacker's v1 APIs (among them vnfpkgm, which onboards packages) read request.environ['tacker.context'], which only
the keystone pipeline sets; with noauth every such request fails with KeyError. This filter puts an administrator
context there. Its ids are UUID-shaped because onboarding parses the project id as a UUID. The lab's Tacker listens
on loopback only.
"""
from oslo_middleware import base
from tacker import context
import webob.dec

LAB_ID = '0123456789abcdef0123456789abcdef'


class NoAuthContext(base.ConfigurableMiddleware):
    @webob.dec.wsgify
    def __call__(self, req):
        req.environ.setdefault('tacker.context', context.Context(
            user_id=LAB_ID, project_id=LAB_ID, roles=['admin'], is_admin=True))
        return self.application
