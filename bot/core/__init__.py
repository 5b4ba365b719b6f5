"""Platform-neutral core: events, the dialog engine, routing, the outbox."""
