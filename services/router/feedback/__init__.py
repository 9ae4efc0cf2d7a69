"""Feedback as its own kind of ticket: acknowledged in the customer's words and resolved at first contact."""
