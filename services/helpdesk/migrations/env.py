from services.helpdesk.models import Base
from shared.messaging.tables import messaging_metadata
from shared.migrations import run_environment

run_environment([Base.metadata, messaging_metadata])
