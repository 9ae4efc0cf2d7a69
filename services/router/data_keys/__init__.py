"""Customers' data keys: the keys that seal their personal fields in events, destroyed by their erasure."""
