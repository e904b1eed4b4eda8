"""Organisations: shared workspaces, their members and roles, and invitations by email."""
