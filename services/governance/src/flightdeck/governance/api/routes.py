"""HTTP routes of the governance service."""

from flightdeck.governance.api import audit, changes, policies, subscriptions

routers = [changes.router, policies.router, audit.router, subscriptions.router]
