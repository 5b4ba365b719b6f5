"""Together Bot: migrants' stories and the supporters' pledge, in chat."""
