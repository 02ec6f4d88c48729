"""Example third-party plugin for apr-contracts."""
