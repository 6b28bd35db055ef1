"""Chat commands, one module per command. Importing this package registers them all."""

import handlers.export  # noqa: F401 - /export
import handlers.rules  # noqa: F401 - /category, /claim, /pass, /pool
import handlers.search  # noqa: F401 - /search
import handlers.show  # noqa: F401 - /show
from handlers import (  # noqa: F401 - importing a module registers its commands
    assign,  # /assign
    audit,  # /audit
    away,  # /away
    dashboard,  # /dashboard
    handover,  # /handover
    help,  # /help
    owner,  # /owner
    report,  # /report
    sla,  # /sla
)
