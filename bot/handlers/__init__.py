"""What the bot says and does. Handlers speak only core types."""
