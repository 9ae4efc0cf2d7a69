"""HTTP plumbing every service shares: app factory, middleware, health, idempotent writes."""
