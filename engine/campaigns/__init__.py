"""Campaigns: several at once, each with its own leads, sequence, templates and settings."""
