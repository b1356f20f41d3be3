"""LLM backends behind one interface: the built-in local backend and (later) OpenRouter."""
