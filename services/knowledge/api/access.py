"""Who may call what on the knowledge service (keys are issued by the router; admin may do everything).

docs/knowledge.md#access is the table; tests/unit/test_access_across_services.py checks every operation
against it.
"""

from __future__ import annotations

from fastapi import Depends

from shared.web.auth import Scope, require

# Everyone who serves customers reads the knowledge base.
READ = Depends(require(Scope.CONTACT_CENTER, Scope.AGENT, Scope.SUPERVISOR, Scope.OPS))
# Agents say which article helped; supervisors (the knowledge editors) write and publish.
FEEDBACK = Depends(require(Scope.AGENT, Scope.SUPERVISOR))
EDIT = Depends(require(Scope.SUPERVISOR))
# Known issues come from the problems ops run: ops record workarounds and fixes, as supervisors may.
KNOWN_ISSUES = Depends(require(Scope.SUPERVISOR, Scope.OPS))
