"""Events: the CloudEvents envelope, the catalogue of firstcall events, and the topics they travel on."""
