"""Editorial Assistant: caption files in, LLM-drafted editorial material out."""

__version__ = "4.0.0.dev1"
