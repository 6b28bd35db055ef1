"""Mailroom: a chat assistant for the shared mailboxes of export factories."""

__version__ = "0.1.0"
