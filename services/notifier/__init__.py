"""Notifier: many customers, one problem, and every one of them told."""
