"""The voice pipeline: frames flowing through small processors, from a call's audio to the engine and back."""
