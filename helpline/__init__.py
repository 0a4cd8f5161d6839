"""Helpline: an offline AI contact-center agent."""

__version__ = "0.1.0"
