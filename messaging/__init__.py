"""Platform-neutral messages: what handlers, jobs and notifiers pass around (no platform inside)."""
