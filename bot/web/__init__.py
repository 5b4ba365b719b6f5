"""Web pages other than the chat: the moderation dashboard and the public story wall."""
