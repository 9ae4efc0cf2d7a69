"""Push to agent desktops: a server-sent-events stream per agent, read from the router's own outbox.

docs/desktop-push.md is the user's guide; docs/decisions/0006-desktop-push.md says why it is built so.
"""
