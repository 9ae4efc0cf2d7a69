"""Knowledge: answers and known-issue status for the first agent, at first contact."""
