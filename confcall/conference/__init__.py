"""Call control: the flows a subscriber lives through (see DESIGN.md "Call flows").

State machines take events and return actions; they never block the reactor and never touch
hardware: B-channel audio goes through ``MediaService``, signalling through ``CallLeg``.
"""
from .media import MediaService
from .onhook import CallbackRequest, OnHookPolicy, OnHookRejector

__all__ = ["MediaService", "OnHookRejector", "OnHookPolicy", "CallbackRequest"]
