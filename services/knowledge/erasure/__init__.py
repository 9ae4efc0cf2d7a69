"""Knowledge's part of a customer's erasure: the suggestion records kept per ticket."""
