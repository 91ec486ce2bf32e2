"""Audit replay: any aggregate at any version or instant, projection rebuilds and log checks."""
