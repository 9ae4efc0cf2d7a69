"""The right to erasure: a customer's personal data removed from the router, and the others told to."""
