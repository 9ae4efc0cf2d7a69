"""The helpdesk bridge: firstcall's tickets in the agents' helpdesk (Request Tracker), and their work back."""
