"""Feedback clusters: what many customers said about how things are done, its owner, the decision, and every
customer told of it once."""
