"""Console pages, one module per noun. Each module has `setup(router)` adding its routes; list it
in ROUTE_MODULES."""

from otklik.console.views import (
    admin,
    auth,
    cases,
    dashboard,
    inbox,
    manual,
    moderation,
    notifications,
    reports,
    search,
    staffbot,
)

ROUTE_MODULES = [auth, inbox, cases, search, dashboard, reports, moderation, admin, manual, notifications, staffbot]
