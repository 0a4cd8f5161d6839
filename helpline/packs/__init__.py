"""Generators that write a business pack for a known dataset format (no core code per business)."""
