"""Platform adapters: translate platform payloads to and from core events."""
