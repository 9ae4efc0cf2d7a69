"""The demo (`make demo`): a small contact center seeded through the public API, and Nancy's story played
against it: recognised across channels, routed to an agent who can resolve, credited at once; an outage
found in three customers' words and each of them told once when it is fixed."""
