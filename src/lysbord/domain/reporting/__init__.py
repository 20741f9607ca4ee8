"""Reporting rules that need no database: the placeholders a report template may name."""
